"""Routing inside one worker: weights, sticky keys, pinned arms, fallback while loading, names and metadata."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import chisquare
from starlette.testclient import TestClient

from shipyard.config import ServerSettings, Settings
from shipyard.deployments import DeploymentService, RolloutPolicy, StickySpec
from shipyard.registry import Registry, open_registry
from shipyard.serving.app import create_app, create_plane
from shipyard.serving.events import CallContext
from shipyard.serving.protocol import InferRequest, InferTensor
from shipyard.serving.router import DeploymentRouter, RoutingTable

from .fakes import ScaleModel

SETTINGS = ServerSettings(refresh_seconds=0.1)


def body(rows: Any, **extra: Any) -> dict[str, Any]:
    array = np.asarray(rows, dtype=float)
    return {
        "inputs": [{"name": "x", "shape": list(array.shape), "datatype": "FP64", "data": array.ravel().tolist()}],
        **extra,
    }


def infer_request(**parameters: Any) -> InferRequest:
    return InferRequest([InferTensor("x", "FP64", (1, 3), np.ones((1, 3)))], parameters=parameters)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Registry]:
    """A SQLite registry: model "m" versions 1-3 (1×, 2×, 3× the row sum) and an unrelated model "churn"."""
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    for factor in (1, 2, 3):
        registry.register(ScaleModel(factor), "m", data=np.zeros((2, 3)))
    registry.register(ScaleModel(100), "churn", data=np.zeros((2, 3)))
    yield registry
    registry.db.close()


@pytest.fixture
def service(local: Registry) -> DeploymentService:
    return DeploymentService(local)


def router(local: Registry, seed: int = 7) -> DeploymentRouter:
    plane = create_plane(local, SETTINGS)
    return DeploymentRouter(plane.resolver, plane.pool, rng=random.Random(seed))


def test_ten_thousand_requests_follow_the_weights(local: Registry, service: DeploymentService) -> None:
    service.create("churn", "m/1")
    table = RoutingTable.build(service.ab("churn", {1: 70, 2: 20, 3: 10}), None)
    chosen = router(local)
    counts = Counter(chosen.choose(table, infer_request(), CallContext()) for _ in range(10_000))
    assert chisquare([counts[1], counts[2], counts[3]], [7000, 2000, 1000]).pvalue > 0.001


def test_sticky_keys_always_reach_the_same_arm_on_every_worker(local: Registry, service: DeploymentService) -> None:
    service.create("churn", "m/1")
    by_header = RoutingTable.build(service.ab("churn", {1: 50, 2: 50}, sticky=StickySpec("header", "x-user-id")), None)
    workers = [router(local, seed) for seed in (1, 2)]  # two workers, each with its own random numbers
    calls = [CallContext("v2", None, {"x-user-id": f"user-{i}"}) for i in range(2000)]
    first = [workers[0].choose(by_header, infer_request(), c) for c in calls]
    assert first == [workers[1].choose(by_header, infer_request(), c) for c in calls]
    assert first == [workers[0].choose(by_header, infer_request(), c) for c in calls]
    assert chisquare(list(Counter(first).values())).pvalue > 0.001  # users split evenly too
    by_param = RoutingTable.build(service.ab("churn", {1: 50, 2: 50}, sticky=StickySpec("param", "user")), None)
    picks = {workers[w].choose(by_param, infer_request(user=b"u-9"), CallContext()) for w in (0, 1) for _ in range(20)}
    assert len(picks) == 1  # bytes or text, one key, one arm


def test_requests_without_the_key_are_spread_at_random(local: Registry, service: DeploymentService) -> None:
    service.create("churn", "m/1")
    table = RoutingTable.build(service.ab("churn", {1: 50, 2: 50}, sticky=StickySpec("header", "x-user-id")), None)
    chosen = router(local)
    assert set(chosen.choose(table, infer_request(), CallContext()) for _ in range(200)) == {1, 2}


def test_changing_weights_moves_only_the_keys_that_must_move(local: Registry, service: DeploymentService) -> None:
    service.create("churn", "m/1")
    sticky = StickySpec("header", "x-user-id")
    before = RoutingTable.build(service.ab("churn", {1: 50, 2: 30, 3: 20}, sticky=sticky), None)
    after = RoutingTable.build(service.ab("churn", {1: 40, 2: 30, 3: 30}), None)
    chosen = router(local)
    calls = [CallContext("v2", None, {"x-user-id": f"user-{i}"}) for i in range(5000)]
    moves = Counter(
        (chosen.choose(before, infer_request(), c), chosen.choose(after, infer_request(), c)) for c in calls
    )
    assert {pair for pair in moves if pair[0] != pair[1]} == {(1, 3)}  # only v1 → v3, the one change needed
    assert moves[(1, 3)] / 5000 == pytest.approx(0.10, abs=0.02)


def test_an_archived_arm_sends_its_share_to_the_stable_arm(local: Registry, service: DeploymentService) -> None:
    service.create("churn", "m/1")
    deployment = service.ab("churn", {1: 50, 2: 50})
    local.archive("m", 2)
    plane = create_plane(local, SETTINGS)
    asyncio.run(plane.resolver.refresh())
    table = RoutingTable.build(deployment, plane.resolver.snapshot["m"])
    assert set(table.versions) == {1}


@pytest.fixture
def client(local: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(create_plane(local, SETTINGS), SETTINGS), raise_server_exceptions=False) as test:
        yield test


def wait_for(check: Any, what: str, deadline_s: float = 10) -> Any:
    deadline = time.monotonic() + deadline_s
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
    return result


def test_a_deployment_name_routes_and_every_answer_names_its_version(
    client: TestClient, service: DeploymentService
) -> None:
    assert client.post("/v2/models/churn/infer", json=body([[1, 1, 1]])).json()["outputs"][0]["data"] == [300.0]
    service.create("churn", "m/2")  # takes precedence over the model "churn" once the workers see it

    def routed() -> Any:
        answer = client.post("/v2/models/churn/infer", json=body([[1, 1, 1]])).json()
        return answer if answer["model_version"] == "2" else None

    answer = wait_for(routed, "the deployment within 2 s", deadline_s=2)
    assert (answer["model_name"], answer["model_version"], answer["outputs"][0]["data"]) == ("churn", "2", [6.0])
    v1 = client.post("/v1/models/churn:predict", json={"instances": [[1, 1, 1]]})
    assert v1.json() == {"predictions": [6.0]} and v1.headers["x-model-version"] == "2"
    service.delete("churn")

    def model_again() -> bool:
        return bool(
            client.post("/v2/models/churn/infer", json=body([[1, 1, 1]])).json()["outputs"][0]["data"] == [300.0]
        )

    wait_for(model_again, "the model churn again once the deployment is gone")


def test_pinned_arms_metadata_and_readiness(client: TestClient, service: DeploymentService) -> None:
    service.create("web", "m/1")
    service.shadow("web", 3)
    wait_for(lambda: client.get("/v2/models/web/ready").status_code == 200, "the deployment within 2 s", 2)
    pinned = client.post("/v2/models/web/versions/3/infer", json=body([[1, 1, 1]])).json()
    assert (pinned["model_version"], pinned["outputs"][0]["data"]) == ("3", [9.0])
    unknown = client.post("/v2/models/web/versions/2/infer", json=body([[1, 1, 1]]))
    assert unknown.status_code == 404 and "Closest: 1, 3" in unknown.json()["error"]
    metadata = client.get("/v2/models/web").json()
    assert (metadata["name"], metadata["versions"], metadata["parameters"]["model"]) == ("web", ["1", "3"], "m")
    assert client.get("/v2/models/web/ready").json() == {"name": "web", "ready": True}
    missing = client.post("/v2/models/wbe/infer", json=body([[1, 1, 1]]))
    assert missing.status_code == 404 and "Closest: web" in missing.json()["error"]
    bad = client.post("/v2/models/web/infer", json=body([[1, 1]]))
    assert bad.status_code == 400 and "x" in bad.json()["error"]
    assert client.post("/v1/models/web:predict", json={"instances": [[1, 1, 1]], "parameters": 3}).status_code == 400


def test_a_new_arm_loads_before_it_answers(local: Registry, service: DeploymentService) -> None:
    service.create("churn", "m/1")
    plane = create_plane(local, SETTINGS)

    async def scenario() -> list[str]:
        await plane.resolver.refresh()
        await plane.pool.get(("m", 1))
        service.canary("churn", 2, policy=RolloutPolicy(steps=(100,)))  # all traffic to a version not loaded yet
        await plane.resolver.refresh()  # starts loading v2 in the background
        versions = [(await plane.infer("churn", infer_request())).model_version or ""]
        while plane.pool.get_loaded(("m", 2)) is None:
            await asyncio.sleep(0.01)
        versions.append((await plane.infer("churn", infer_request())).model_version or "")
        return versions

    assert asyncio.run(scenario()) == ["1", "2"]  # the stable arm answered while v2 loaded
