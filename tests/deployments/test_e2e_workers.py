"""Sticky A/B on a real `shipyard serve --workers 2`: each key reaches the same arm whichever worker answers,
every worker agrees on a change within 2 seconds, and changing weights moves only the keys that must move."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from shipyard.config import Settings
from shipyard.deployments import DeploymentService, StickySpec
from shipyard.deployments.routing import point_for_key
from shipyard.registry import open_registry
from shipyard.serving.router import RoutingTable
from shipyard.store.tables.deployments import DeploymentSampleRow

from ._server import Server, poll, serve
from .fakes import ScaleModel

pytestmark = pytest.mark.integration

KEYS = [f"user-{i}" for i in range(60)]
BODY = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 1, 1]}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("deploy-workers") / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    for factor in (1, 2):
        registry.register(ScaleModel(factor), "m", data=np.zeros((2, 3)))
    registry.db.close()
    with serve(home, workers=2) as running:
        yield running


def expected(service: DeploymentService) -> dict[str, int]:
    """Where each key must go, from the stored segments alone (what every worker computes)."""
    table = RoutingTable.build(service.get("ab"), None)
    return {key: table.version_at(point_for_key("ab", key)) for key in KEYS}


def answers(server: Server, keys: list[str]) -> dict[str, set[int]]:
    """Versions that answered each key. Every call opens its own connection, so both workers take some."""

    def ask(key: str) -> tuple[str, int]:
        headers = {**server.headers, "x-user-id": key}
        response = httpx.post(f"{server.url}/v2/models/ab/infer", json=BODY, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return key, int(response.json()["model_version"])

    seen: dict[str, set[int]] = {key: set() for key in keys}
    with ThreadPoolExecutor(6) as pool:
        for key, version in pool.map(ask, keys):
            seen[key].add(version)
    return seen


def ready_everywhere(server: Server) -> bool:
    # A deployment is ready on a worker once every arm with traffic has loaded there; 16 ready answers in a
    # row over new connections mean both workers are (a worker left out of all 16 has odds of 1 in 32,768).
    return all(
        httpx.get(f"{server.url}/v2/models/ab/ready", headers=server.headers).status_code == 200 for _ in range(16)
    )


def test_sticky_keys_across_two_workers(server: Server) -> None:
    registry = open_registry(Settings(home=server.home, user="alice"))
    service = DeploymentService(registry)
    service.create("ab", "m/1")
    service.ab("ab", {1: 50, 2: 50}, sticky=StickySpec("header", "x-user-id"))
    before = expected(service)
    assert 0.25 < sum(v == 2 for v in before.values()) / len(KEYS) < 0.75
    poll(lambda: ready_everywhere(server), "both workers ready", 60)
    assert answers(server, KEYS * 2) == {key: {version} for key, version in before.items()}

    service.ab("ab", {1: 70, 2: 30})
    changed = time.monotonic()
    after = expected(service)
    movers = [k for k in KEYS if before[k] != after[k]]
    stayers = [k for k in KEYS if before[k] == after[k]][:10]
    assert {(before[k], after[k]) for k in movers} == {(2, 1)}  # only keys of the shrinking arm move
    assert 0.1 < len(movers) / len(KEYS) < 0.35

    late: list[float] = []

    def moved() -> bool:
        asked = time.monotonic() - changed
        seen = answers(server, (movers + stayers) * 2)
        agreed = all(seen[k] == {after[k]} for k in movers + stayers)
        if not agreed:
            late.append(asked)
        return agreed

    poll(moved, "every worker on the new weights", 20)
    # Within 2 s every worker routes by the new weights: no pass that began later than that may still see
    # the old routing (the workers here re-read every 0.25 s, so a busy machine has 1.75 s of slack).
    assert all(t < 2.0 for t in late), late
    assert answers(server, KEYS * 2) == {key: {version} for key, version in after.items()}

    def workers() -> int:
        with registry.db.read() as session:
            query = select(DeploymentSampleRow.worker).where(DeploymentSampleRow.deployment == "ab")
            return len(set(session.scalars(query)))

    assert poll(lambda: workers() >= 2, "figures from both workers (each answered some keys)", 5)
    registry.db.close()
