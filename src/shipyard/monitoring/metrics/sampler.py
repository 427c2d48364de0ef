"""The metrics work each worker does beside requests: sample gauges, publish its traffic figures.

Runs for the worker's lifetime (a task of the app's lifespan, on every worker — unlike the
background jobs, which run on one): every `sample_seconds` it adds the request tallies to the metric
values and copies the model pool's and the prediction log's own figures into gauges; every
`flush_seconds` it publishes its request figures to the database (`TrafficPublisher`), in a thread.
At shutdown it does both once more and takes its live gauges out of the sums. (A worker killed with
SIGKILL loses at most its last `sample_seconds` of counts.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from .multiproc import mark_self_dead
from .publisher import TrafficPublisher
from .worker import WorkerMetrics

logger = logging.getLogger(__name__)

ModelsFigures = Callable[[], tuple[int, int]]
"""() → (model versions loaded, their estimated memory in bytes)."""
Stats = Callable[[], Mapping[str, Any]]


class WorkerSampler:
    def __init__(
        self,
        metrics: WorkerMetrics,
        *,
        models: ModelsFigures | None = None,
        predlog_stats: Stats | None = None,
        publisher: TrafficPublisher | None = None,
        sample_seconds: float = 1.0,
        flush_seconds: float = 10.0,
    ) -> None:
        self.metrics = metrics
        self.models = models
        self.predlog_stats = predlog_stats
        self.publisher = publisher
        self.sample_seconds = sample_seconds
        self.flush_seconds = flush_seconds

    def sample(self) -> None:
        """Copy the gauges and add the tallies to the metric values (cheap; on the event loop, where the
        pool lives and the tallies are made)."""
        if self.models is not None:
            self.metrics.set_models(*self.models())
        if self.predlog_stats is not None:
            self.metrics.set_predlog(self.predlog_stats())
        self.metrics.flush()

    async def publish(self) -> None:
        if self.publisher is None:
            return
        try:
            await asyncio.to_thread(self.publisher.flush)
        except Exception:  # the database is down: the next flush carries the same figures
            logger.warning("could not publish this worker's traffic figures; retrying", exc_info=True)

    async def run(self) -> None:
        """Until cancelled (the app's lifespan ends)."""
        next_flush = time.monotonic() + self.flush_seconds
        try:
            while True:
                with contextlib.suppress(Exception):
                    self.sample()
                if time.monotonic() >= next_flush:
                    await self.publish()
                    next_flush = time.monotonic() + self.flush_seconds
                await asyncio.sleep(self.sample_seconds)
        finally:
            await self._last_words()

    async def _last_words(self) -> None:
        # Cancelled: what this worker counted since the last flush still goes out, within a bound.
        with contextlib.suppress(Exception):
            self.metrics.flush()
        if self.publisher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(asyncio.to_thread(self.publisher.flush)), timeout=5)
        if self.metrics.multiproc_dir is not None:
            mark_self_dead(self.metrics.multiproc_dir)


__all__ = ["ModelsFigures", "WorkerSampler"]
