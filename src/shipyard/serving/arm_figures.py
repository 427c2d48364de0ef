"""Each worker's per-arm figures for deployments, published to the database every few seconds.

An observer of the data plane: every inference answered under a deployment (its record names an
arm other than `primary`) adds to the figures of its (deployment, arm): a request, a server error
or not, its latency. The shadow runner adds comparisons and dropped copies. Every `flush_seconds`
the worker swaps its counters for empty ones and appends them as rows (`deployments.samples`);
if the database cannot take them, they are merged back and go with the next flush.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import anyio.to_thread

from ..deployments.comparison import Comparison
from ..deployments.samples import Sample, write_samples
from ..store import Database
from ..store.leases import new_holder_id
from ..store.tables import utcnow
from .events import InferenceRecord

logger = logging.getLogger(__name__)

CLIENT_ERRORS = frozenset(
    {
        "ValidationFailed",
        "RequestTooLarge",
        "ModelNotFound",
        "VersionNotFound",
        "AliasNotFound",
        "DeploymentNotFound",
        "VersionArchived",
        "Unauthorized",
        "Forbidden",
        "RateLimited",
    }
)
"""Statuses that are the caller's doing: they do not count against an arm's error rate."""


def is_server_error(status: str) -> bool:
    return status != "ok" and status not in CLIENT_ERRORS


class ArmFiguresRecorder:
    """Counts per (deployment, arm) in this worker; `run` publishes them every `flush_seconds`."""

    def __init__(self, db: Database, *, flush_seconds: float = 2.0, worker: str | None = None) -> None:
        self._db = db
        self.flush_seconds = flush_seconds
        self.worker = worker or new_holder_id()
        self._samples: dict[tuple[str, str], Sample] = {}
        self._since: datetime = utcnow()

    def _sample(self, deployment: str, arm: str, version: int) -> Sample:
        sample = self._samples.get((deployment, arm))
        if sample is None:
            sample = self._samples[(deployment, arm)] = Sample(deployment, arm, version)
        return sample

    def observe(self, record: InferenceRecord) -> None:
        if record.arm == "primary":  # a model asked for by its own name, not through a deployment
            return
        figures = self._sample(record.endpoint, record.arm, record.version).figures
        figures.add(record.latency_seconds, error=is_server_error(record.status))

    def compared(self, deployment: str, arm: str, version: int, comparison: Comparison) -> None:
        sample = self._sample(deployment, arm, version)
        if sample.comparison is None:
            sample.comparison = Comparison()
        sample.comparison.merge(comparison)

    def dropped(self, deployment: str, arm: str, version: int) -> None:
        self.compared(deployment, arm, version, Comparison(dropped=1))

    def take(self) -> tuple[datetime, datetime, list[Sample]]:
        """The counters since the last take (and a fresh, empty set in their place)."""
        samples, self._samples = list(self._samples.values()), {}
        start, self._since = self._since, utcnow()
        return start, self._since, samples

    def give_back(self, samples: list[Sample]) -> None:
        for sample in samples:
            self._sample(sample.deployment, sample.arm, sample.version).merge(sample)

    async def flush(self) -> None:
        start, end, samples = self.take()
        if not samples:
            return
        try:
            await anyio.to_thread.run_sync(write_samples, self._db, self.worker, start, end, samples)
        except Exception:
            logger.warning("cannot publish per-arm figures; keeping them for the next flush", exc_info=True)
            self.give_back(samples)

    async def run(self, _app: object = None) -> None:
        """Publish every `flush_seconds` until cancelled (an app task); publishes what is left on the way out."""
        try:
            while True:
                await asyncio.sleep(self.flush_seconds)
                await self.flush()
        finally:
            await asyncio.shield(self.flush())

    def __repr__(self) -> str:
        return f"ArmFiguresRecorder(worker={self.worker!r}, flush_seconds={self.flush_seconds})"


__all__ = ["CLIENT_ERRORS", "ArmFiguresRecorder", "is_server_error"]
