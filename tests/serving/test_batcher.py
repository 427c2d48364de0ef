"""The batcher in isolation: merging concurrent work, splitting it back, failures kept to their batch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection
from typing import Any

import numpy as np
import pytest

from shipyard.serving.batcher import Batcher


class Gate:
    """A predict function that blocks until released, so tests decide what queues up behind it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []

    def __call__(self, rows: Any, outputs: Collection[str]) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(timeout=10)
        self.batches.append(len(rows))
        if np.any(rows == 13):
            raise RuntimeError("unlucky")
        return {"predict": rows.sum(axis=1)}


async def _submit_all(batcher: Batcher, gate: Gate, values: list[float]) -> list[Any]:
    """Submit the first value, wait until the model is busy with it, then submit the rest behind it."""

    def submit(v: float) -> asyncio.Task[Any]:
        return asyncio.create_task(batcher.submit(np.array([[v, 1.0]]), 1, ("predict",)))

    tasks = [submit(values[0])]
    deadline = asyncio.get_running_loop().time() + 10
    while not gate.entered.is_set():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.001)
    tasks += [submit(v) for v in values[1:]]
    await asyncio.sleep(0)
    gate.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_requests_waiting_behind_a_call_ride_together_and_get_their_own_rows() -> None:
    gate = Gate()
    results = asyncio.run(_submit_all(Batcher(gate, max_batch_size=64), gate, [float(i) for i in range(10)]))
    assert gate.batches == [1, 9]  # the first ran at once, the nine that queued meanwhile ran as one
    assert [r["predict"].tolist() for r in results] == [[i + 1.0] for i in range(10)]


def test_max_batch_size_caps_a_batch() -> None:
    gate = Gate()
    asyncio.run(_submit_all(Batcher(gate, max_batch_size=4), gate, [float(i) for i in range(10)]))
    assert gate.batches == [1, 4, 4, 1]


def test_a_failing_batch_fails_only_its_own_requests() -> None:
    gate = Gate()
    batcher = Batcher(gate, max_batch_size=3)
    results = asyncio.run(_submit_all(batcher, gate, [1.0, 13.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    # batches: [1] ok, [13, 2, 3] fails together, [4, 5, 6] ok
    assert gate.batches == [1, 3, 3]
    assert [isinstance(r, RuntimeError) for r in results] == [False, True, True, True, False, False, False]
    assert batcher.stats.batches == 3 and batcher.stats.requests == 7


def test_idle_batcher_adds_no_wait() -> None:
    gate = Gate()
    gate.release.set()
    batcher = Batcher(gate, max_batch_size=64)

    async def one() -> Any:
        return await batcher.submit(np.array([[2.0, 3.0]]), 1, ("predict",))

    assert asyncio.run(one())["predict"].tolist() == [5.0]
    assert batcher.stats.to_dict()["mean_requests_per_batch"] == 1.0


@pytest.mark.parametrize("latency_ms", [5.0])
def test_max_latency_lets_a_small_batch_wait_for_company(latency_ms: float) -> None:
    gate = Gate()
    gate.release.set()
    batcher = Batcher(gate, max_batch_size=8, max_latency_ms=latency_ms)

    async def staggered() -> None:
        first = asyncio.create_task(batcher.submit(np.array([[1.0, 1.0]]), 1, ("predict",)))
        await asyncio.sleep(0.001)
        second = asyncio.create_task(batcher.submit(np.array([[2.0, 1.0]]), 1, ("predict",)))
        await asyncio.gather(first, second)

    asyncio.run(staggered())
    assert gate.batches == [2]
