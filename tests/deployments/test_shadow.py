"""Shadow arms inside one worker: copies answered in the background, observed, compared; a full queue drops."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shipyard.config import ServerSettings, Settings
from shipyard.deployments import DeploymentService
from shipyard.registry import Registry, open_registry
from shipyard.serving.app import create_plane
from shipyard.serving.arm_figures import ArmFiguresRecorder
from shipyard.serving.dataplane import DataPlane
from shipyard.serving.events import InferenceRecord
from shipyard.serving.protocol import InferRequest, InferTensor
from shipyard.serving.shadow import ShadowRunner

from .fakes import FlakyModel, LabelModel

SETTINGS = ServerSettings(refresh_seconds=0.1)


class Collect:
    def __init__(self) -> None:
        self.records: list[InferenceRecord] = []

    def observe(self, record: InferenceRecord) -> None:
        self.records.append(record)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Registry]:
    """Model "s": v1 labels rows summing above 0, v2 above 2.5 (they disagree on some), v3 raises on 30 %."""
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    registry.register(LabelModel(0), "s", data=np.zeros((2, 3)))
    registry.register(LabelModel(2.5), "s", data=np.zeros((2, 3)))
    registry.register(FlakyModel(), "s", data=np.full((2, 3), 5.0))  # a sample it answers
    yield registry
    registry.db.close()


def rows(i: int) -> InferRequest:
    return InferRequest([InferTensor("x", "FP64", (1, 3), np.array([[float(i), 0.0, 1.0]]))], id=f"r{i}")


def setup(local: Registry, *, queue_size: int = 100) -> tuple[DataPlane, Collect, ArmFiguresRecorder, ShadowRunner]:
    plane = create_plane(local, SETTINGS)
    seen, recorder = Collect(), ArmFiguresRecorder(local.db, flush_seconds=60)
    plane.add_observer(seen)
    plane.add_observer(recorder)
    plane.shadows = ShadowRunner(plane, recorder, queue_size=queue_size, concurrency=2)
    return plane, seen, recorder, plane.shadows


async def until(check: Any, deadline_s: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not check():
        assert loop.time() < deadline, "not in time"
        await asyncio.sleep(0.01)


def test_copies_are_answered_observed_and_compared(local: Registry) -> None:
    service = DeploymentService(local)
    service.create("churn", "s/1")
    service.shadow("churn", 2)
    plane, seen, recorder, runner = setup(local)

    async def scenario() -> None:
        await plane.resolver.refresh()
        await plane.pool.get(("s", 1))
        await plane.pool.get(("s", 2))
        consumers = asyncio.create_task(runner.run())
        answers = [await plane.infer("churn", rows(i)) for i in range(10)]
        assert [a.model_version for a in answers] == ["1"] * 10  # callers only ever see the primary
        await until(lambda: runner.answered == 10)
        consumers.cancel()
        await asyncio.gather(consumers, return_exceptions=True)
        await recorder.flush()

    asyncio.run(scenario())
    shadows = [r for r in seen.records if r.shadow]
    primaries = [r for r in seen.records if not r.shadow]
    assert [r.arm for r in primaries] == ["v1"] * 10 and {r.arm for r in shadows} == {"shadow:v2"}
    assert sorted(r.request_id for r in shadows) == sorted(r.request_id for r in primaries)
    assert all(r.ok and r.version == 2 and r.endpoint == "churn" and r.outputs is not None for r in shadows)
    status = service.status("churn").to_dict()
    (shadow,) = status["shadows"]
    # rows sum to i + 1: v1 says 1 for every row, v2 only from i = 2 on — they agree on 8 of 10.
    assert (shadow["pairs"], shadow["agreement"], shadow["dropped"], shadow["requests"]) == (10, 0.8, 0, 10)
    assert shadow["p99_ms"] is not None and shadow["primary_p99_ms"] is not None
    assert status["arms"][0]["requests"] == 10  # the shadow's answers do not count as the primary's


def test_a_full_queue_drops_and_counts(local: Registry) -> None:
    service = DeploymentService(local)
    service.create("churn", "s/1")
    service.shadow("churn", 2)
    plane, _, recorder, runner = setup(local, queue_size=2)

    async def scenario() -> None:
        await plane.resolver.refresh()
        await plane.pool.get(("s", 1))
        await plane.pool.get(("s", 2))
        for i in range(5):  # no consumer runs: the queue fills up
            await plane.infer("churn", rows(i))
        await recorder.flush()

    asyncio.run(scenario())
    assert (runner.submitted, runner.waiting, runner.dropped) == (5, 2, 3)
    assert service.status("churn").shadows[0]["dropped"] == 3


def test_a_shadow_not_loaded_yet_drops_until_it_is(local: Registry) -> None:
    service = DeploymentService(local)
    service.create("churn", "s/1")
    plane, _, _, runner = setup(local)

    async def scenario() -> None:
        await plane.resolver.refresh()
        await plane.pool.get(("s", 1))
        service.shadow("churn", 2, percent=100)
        await plane.resolver.refresh()  # starts loading v2 in the background
        await plane.infer("churn", rows(1))
        assert runner.dropped == 1
        await until(lambda: plane.pool.get_loaded(("s", 2)) is not None)
        await plane.infer("churn", rows(2))
        assert (runner.dropped, runner.waiting) == (1, 1)

    asyncio.run(scenario())


def test_a_failing_shadow_never_fails_the_primary(local: Registry) -> None:
    service = DeploymentService(local)
    service.create("churn", "s/1")
    service.shadow("churn", 3)
    plane, seen, recorder, runner = setup(local)

    async def scenario() -> None:
        await plane.resolver.refresh()
        await plane.pool.get(("s", 1))
        await plane.pool.get(("s", 3))
        consumers = asyncio.create_task(runner.run())
        for i in range(20):
            assert (await plane.infer("churn", rows(i))).model_version == "1"
        await until(lambda: runner.answered == 20)
        consumers.cancel()
        await asyncio.gather(consumers, return_exceptions=True)
        await recorder.flush()

    asyncio.run(scenario())
    failed = [r for r in seen.records if r.shadow and not r.ok]
    assert len(failed) == 6 and {r.status for r in failed} == {"ModelFailed"}  # i = 0, 1, 2, 10, 11, 12
    shadow = service.status("churn").shadows[0]
    assert (shadow["errors"], shadow["pairs"]) == (6, 14)


def test_a_pinned_request_is_neither_mirrored_nor_counted_as_the_arms_traffic(local: Registry) -> None:
    service = DeploymentService(local)
    service.create("churn", "s/1")
    service.shadow("churn", 2)
    plane, seen, recorder, runner = setup(local)

    async def scenario() -> None:
        await plane.resolver.refresh()
        await plane.pool.get(("s", 2))
        await plane.infer("churn", rows(5), "1")
        await plane.infer("churn", rows(6), "2")  # a shadow arm, asked directly
        await recorder.flush()

    asyncio.run(scenario())
    assert runner.submitted == 0 and [r.arm for r in seen.records] == ["pinned:v1", "pinned:v2"]
    arms = service.status("churn").to_dict()["arms"]
    assert [(a["label"], a["weight"], a["kind"], a["requests"]) for a in arms] == [
        ("v1", 100.0, "primary", 0),
        ("pinned:v1", None, "pinned", 1),
        ("pinned:v2", None, "pinned", 1),
    ]
