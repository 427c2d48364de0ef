"""Batch jobs in the metadata database: created when a job starts, kept current while it runs.

A running job's process renews `heartbeat_at` every few seconds. A job left "running" whose
holder is gone (its process is not alive on this host, or its heartbeat is older than
`STALE_AFTER_SECONDS`) was interrupted; `--resume` takes it over with one conditional UPDATE, so
two resumes of the same job cannot both win.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..errors import BatchJobNotFound, Conflict
from ..store import Database
from ..store.leases import new_holder_id
from ..store.tables import utcnow
from ..store.tables.batch import BatchJobRow

STALE_AFTER_SECONDS = 30.0
"""A running job whose heartbeat is older than this is taken as interrupted (heartbeats come every 2 s)."""


@dataclass(frozen=True)
class BatchJob:
    """One batch scoring job as stored: what it scored with what, where to, and its figures."""

    id: int
    model_uri: str
    model_name: str
    model_version: int
    input_uri: str
    output_uri: str
    rejects_uri: str
    input_fingerprint: str
    input_files: int
    input_bytes: int
    engine: str
    batch_rows: int
    id_column: str | None
    outputs: list[str]
    status: str
    """running, succeeded or failed; `interrupted` when a running job's process is gone."""
    rows_total: int | None
    rows_in: int
    rows_out: int
    rows_rejected: int
    parts: int
    attempts: int
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    duration_seconds: float
    error: str | None
    created_by: str
    holder: str

    def __repr__(self) -> str:
        return f"BatchJob(id={self.id}, model='{self.model_name}/{self.model_version}', status={self.status!r})"

    @property
    def version_uri(self) -> str:
        return f"models:/{self.model_name}/{self.model_version}"

    @property
    def rows_per_second(self) -> float | None:
        return self.rows_in / self.duration_seconds if self.duration_seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("started_at", "heartbeat_at", "finished_at"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        data["model_version_uri"] = self.version_uri
        data["rows_per_second"] = self.rows_per_second
        return data


def _as_job(row: BatchJobRow) -> BatchJob:
    values = {f.name: getattr(row, f.name) for f in fields(BatchJob)}
    for key in ("started_at", "heartbeat_at", "finished_at"):
        if values[key] is not None and values[key].tzinfo is None:  # SQLite hands back naive UTC
            values[key] = values[key].replace(tzinfo=utcnow().tzinfo)
    values["outputs"] = list(values["outputs"] or [])
    job = BatchJob(**values)
    if job.status == "running" and not holder_alive(job.holder, job.heartbeat_at):
        job = _replace_status(job, "interrupted")
    return job


def _replace_status(job: BatchJob, status: str) -> BatchJob:
    return BatchJob(**{**{f.name: getattr(job, f.name) for f in fields(job)}, "status": status})


def holder_alive(holder: str, heartbeat_at: datetime) -> bool:
    """Whether the process `holder` may still be running the job."""
    if utcnow() - heartbeat_at > timedelta(seconds=STALE_AFTER_SECONDS):
        return False
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class BatchJobStore:
    """Reads and writes `batch_jobs` rows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.holder = new_holder_id()

    def __repr__(self) -> str:
        return f"BatchJobStore(holder={self.holder!r})"

    def create(self, **values: Any) -> BatchJob:
        now = utcnow()
        with self.db.write() as session:
            row = BatchJobRow(**values, holder=self.holder, started_at=now, heartbeat_at=now, status="running")
            session.add(row)
            session.flush()
            return _as_job(row)

    def get(self, job_id: int) -> BatchJob:
        with self.db.read() as session:
            row = session.get(BatchJobRow, job_id)
            if row is None:
                raise BatchJobNotFound(job_id)
            return _as_job(row)

    def list(self, *, limit: int = 50, status: str | None = None) -> list[BatchJob]:
        """Newest first; `status` may be "interrupted" (stored as running, its process gone)."""
        query = select(BatchJobRow).order_by(BatchJobRow.id.desc())
        if status is not None:
            query = query.where(BatchJobRow.status == _stored_status(status))
        with self.db.read() as session:
            jobs = [_as_job(row) for row in session.scalars(query).all()]
        return [job for job in jobs if status is None or job.status == status][:limit]

    def latest_for(self, input_uri: str, output_uri: str) -> BatchJob | None:
        with self.db.read() as session:
            row = session.scalars(
                select(BatchJobRow)
                .where(BatchJobRow.input_uri == input_uri, BatchJobRow.output_uri == output_uri)
                .order_by(BatchJobRow.id.desc())
                .limit(1)
            ).first()
            return _as_job(row) if row is not None else None

    def latest_writing_to(self, output_uri: str) -> BatchJob | None:
        with self.db.read() as session:
            row = session.scalars(
                select(BatchJobRow).where(BatchJobRow.output_uri == output_uri).order_by(BatchJobRow.id.desc()).limit(1)
            ).first()
            return _as_job(row) if row is not None else None

    def take_over(self, job: BatchJob, engine: str) -> BatchJob:
        """Make this process the holder of an interrupted or failed job (`Conflict` if it still runs)."""
        if job.status == "running":
            raise Conflict(
                f"Batch job {job.id} is still running (process {job.holder}, last heartbeat "
                f"{job.heartbeat_at:%H:%M:%S} UTC); wait for it, or stop it first."
            )
        now = utcnow()
        with self.db.write() as session:
            result = session.execute(
                update(BatchJobRow)
                .where(BatchJobRow.id == job.id, BatchJobRow.holder == job.holder, BatchJobRow.status == _stored(job))
                .values(
                    holder=self.holder,
                    status="running",
                    heartbeat_at=now,
                    attempts=BatchJobRow.attempts + 1,
                    engine=engine,
                    error=None,
                    finished_at=None,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]  # CursorResult has rowcount
                raise Conflict(f"Batch job {job.id} was just taken over by another process; it is running there.")
        return self.get(job.id)

    def beat(self, job_id: int, figures: Mapping[str, Any]) -> None:
        """Renew the heartbeat and store the figures so far."""
        with self.db.write() as session:
            session.execute(
                update(BatchJobRow)
                .where(BatchJobRow.id == job_id, BatchJobRow.holder == self.holder)
                .values(heartbeat_at=utcnow(), **figures)
            )

    def finish(self, job_id: int, status: str, figures: Mapping[str, Any], error: str | None = None) -> BatchJob:
        now = utcnow()
        with self.db.write() as session:
            session.execute(
                update(BatchJobRow)
                .where(BatchJobRow.id == job_id, BatchJobRow.holder == self.holder)
                .values(status=status, finished_at=now, heartbeat_at=now, error=error, **figures)
            )
        return self.get(job_id)


def _stored_status(status: str) -> str:
    return "running" if status == "interrupted" else status


def _stored(job: BatchJob) -> str:
    return _stored_status(job.status)


__all__ = ["STALE_AFTER_SECONDS", "BatchJob", "BatchJobStore", "holder_alive"]
