"""Adaptive batching: requests that arrive while the model is busy ride together in the next call.

There is no timer on the fast path: an idle model runs a request at once (batching adds no latency
when nothing is waiting), and whatever queued up during a call becomes the next batch, up to
`max_batch_size` rows. Under load the batch size grows by itself to fit the arrival rate.
`max_latency_ms` > 0 additionally lets a batch that is smaller than `max_batch_size` wait that long
for company — useful on accelerators where one big call is much cheaper than several small ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from .outputs import split_outputs
from .tabular import Rows, merge_rows

logger = logging.getLogger(__name__)

Array = Any
PredictFn = Callable[[Rows, Collection[str]], dict[str, Array]]
BatchHook = Callable[[int, int, Sequence[float], float], None]
"""`on_batch(rows, requests, queue_seconds of each request, call_seconds)`, told after every model call (metrics)."""


@dataclass
class _Pending:
    rows: Rows
    size: int
    outputs: frozenset[str]
    future: asyncio.Future[dict[str, Array]]
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class BatchStats:
    """What the batcher has done, for metrics and the debug endpoint."""

    batches: int = 0
    rows: int = 0
    requests: int = 0
    max_batch_rows: int = 0
    queue_seconds: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "batches": self.batches,
            "requests": self.requests,
            "rows": self.rows,
            "mean_batch_rows": self.rows / self.batches if self.batches else 0.0,
            "mean_requests_per_batch": self.requests / self.batches if self.batches else 0.0,
            "max_batch_rows": self.max_batch_rows,
            "mean_queue_ms": 1000 * self.queue_seconds / self.requests if self.requests else 0.0,
        }


class Batcher:
    """Queues requests for one model version and runs them in batches, one model call at a time."""

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch_size: int = 256,
        max_latency_ms: float = 0.0,
        on_batch: BatchHook | None = None,
    ) -> None:
        self._predict = predict
        self.on_batch = on_batch
        self.max_batch_size = max_batch_size
        self.max_latency = max_latency_ms / 1000
        self._queue: deque[_Pending] = deque()
        self._running = False
        self.stats = BatchStats()

    async def submit(self, rows: Rows, size: int, outputs: Collection[str]) -> dict[str, Array]:
        """The outputs for these rows, computed in some batch; raises what the model raised."""
        future: asyncio.Future[dict[str, Array]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(rows, size, frozenset(outputs), future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    def _take_batch(self) -> list[_Pending]:
        first = self._queue.popleft()
        batch, rows = [first], first.size
        # Only same-shaped work merges: equal requested outputs and the same kind of rows.
        while self._queue and rows + self._queue[0].size <= self.max_batch_size:
            nxt = self._queue[0]
            if nxt.outputs != first.outputs or isinstance(nxt.rows, dict) != isinstance(first.rows, dict):
                break
            batch.append(self._queue.popleft())
            rows += nxt.size
        return batch

    async def _drain(self) -> None:
        try:
            while self._queue:
                if self.max_latency and self._queued_rows() < self.max_batch_size:
                    await self._wait_for_company()
                await self._run(self._take_batch())
        finally:
            self._running = False

    def _queued_rows(self) -> int:
        return sum(p.size for p in self._queue)

    async def _wait_for_company(self) -> None:
        deadline = self._queue[0].queued_at + self.max_latency
        while self._queued_rows() < self.max_batch_size and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.0005))

    async def _run(self, batch: list[_Pending]) -> None:
        started = time.monotonic()
        sizes = [p.size for p in batch]
        try:
            merged = merge_rows([p.rows for p in batch])
            outputs = await anyio.to_thread.run_sync(self._predict, merged, batch[0].outputs)
            parts = split_outputs(outputs, sizes)
        except Exception as exc:
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        finally:
            self._record(batch, started)
        for pending, part in zip(batch, parts, strict=True):
            if not pending.future.done():
                pending.future.set_result(part)

    def _record(self, batch: list[_Pending], started: float) -> None:
        stats = self.stats
        rows = sum(p.size for p in batch)
        stats.batches += 1
        stats.requests += len(batch)
        stats.rows += rows
        stats.max_batch_rows = max(stats.max_batch_rows, rows)
        queued = [started - p.queued_at for p in batch]
        stats.queue_seconds += sum(queued)
        if self.on_batch is not None:
            try:
                self.on_batch(rows, len(batch), queued, time.monotonic() - started)
            except Exception:  # a metrics bug must not fail the requests of this batch
                logger.exception("on_batch hook failed")


__all__ = ["BatchHook", "BatchStats", "Batcher"]
