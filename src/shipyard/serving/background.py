"""Background jobs of the server — drift evaluation, canary steps, alert rules, retraining triggers.

Every worker of every replica runs the same `JobRunner`; before each run a job takes its lease in
the DB (`store.leases`), so each job runs on exactly one worker at a time, and another worker
takes over within `lease_seconds` when the holder dies. A job is a plain function run in a
thread (it may use the DB freely); a failure is logged and the job runs again at its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio.to_thread

from ..store import Database
from ..store.leases import acquire, new_holder_id, release

logger = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    """Unique across the deployment of Shipyard: the lease is taken under this name."""
    run: Callable[[], object]
    every_seconds: float
    lease_seconds: float = 0.0
    """How long a holder keeps the job without renewing; 0 means 3 × every_seconds (at least 10 s)."""
    runs: int = field(default=0, init=False)
    failures: int = field(default=0, init=False)
    last_run_at: float = field(default=0.0, init=False)

    @property
    def ttl(self) -> float:
        return self.lease_seconds or max(3 * self.every_seconds, 10.0)


class JobRunner:
    """Runs jobs on their schedule, each only while this worker holds its lease."""

    def __init__(self, db: Database, jobs: list[Job] | None = None, *, holder: str | None = None) -> None:
        self.db = db
        self.jobs: list[Job] = list(jobs or [])
        self.holder = holder or new_holder_id()

    def add(self, job: Job) -> None:
        if any(j.name == job.name for j in self.jobs):
            raise ValueError(f"a job named {job.name!r} is already scheduled")
        self.jobs.append(job)

    async def run(self) -> None:
        """Forever (a task of the server's lifespan); leases are released when cancelled."""
        tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}") for job in self.jobs]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for job in self.jobs:
                with contextlib.suppress(Exception):
                    await anyio.to_thread.run_sync(release, self.db, job.name, self.holder)

    async def _loop(self, job: Job) -> None:
        while True:
            await self.tick(job)
            await asyncio.sleep(job.every_seconds)

    async def tick(self, job: Job) -> bool:
        """Run `job` once if this worker holds (or can take) its lease; True when it ran."""
        try:
            held = await anyio.to_thread.run_sync(acquire, self.db, job.name, self.holder, job.ttl)
        except Exception:  # the DB is down: nobody can take the lease, try again next tick
            logger.warning("job %s: cannot reach the database for its lease", job.name, exc_info=True)
            return False
        if not held:
            return False
        started = time.monotonic()
        try:
            await anyio.to_thread.run_sync(job.run)
        except Exception:
            job.failures += 1
            logger.exception("job %s failed; it runs again in %.0f s", job.name, job.every_seconds)
        finally:
            job.runs += 1
            job.last_run_at = time.time()
            logger.debug("job %s ran in %.3f s", job.name, time.monotonic() - started)
        return True


__all__ = ["Job", "JobRunner"]
