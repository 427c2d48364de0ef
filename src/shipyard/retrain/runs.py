"""Runs as stored: one row per attempt, written when it starts and again when it ends.

Runs of one model never overlap: a run holds the DB lease `retrain:<model>` (holder: the run's id)
from before its row is written until it ends, renewing it from a heartbeat thread. A run whose
process died stops renewing; the next run takes the lapsed lease and marks the orphan failed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from ..errors import RetrainRunInProgress, RetrainRunNotFound
from ..store import Database
from ..store.leases import acquire, holder_of, release
from ..store.tables import utcnow
from ..store.tables.retraining import RetrainRunRow

logger = logging.getLogger(__name__)

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


@dataclass(frozen=True)
class RetrainRun:
    """One retraining attempt: what started it, what it trained on, both models' figures and the decision."""

    id: str
    model: str
    status: str
    trigger: dict[str, Any]
    started_at: datetime
    started_by: str
    finished_at: datetime | None
    parent_version: int | None
    challenger_version: int | None
    window: dict[str, Any] | None
    metrics: dict[str, Any]
    decision: str | None
    reason: str | None
    rollout: dict[str, Any] | None
    error: str | None
    logs: str

    @property
    def trigger_kind(self) -> str:
        return str(self.trigger.get("kind", "manual"))

    def to_dict(self, *, logs: bool = True) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "model": self.model,
            "status": self.status,
            "trigger": self.trigger,
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "parent_version": self.parent_version,
            "challenger_version": self.challenger_version,
            "window": self.window,
            "metrics": self.metrics,
            "decision": self.decision,
            "reason": self.reason,
            "rollout": self.rollout,
            "error": self.error,
        }
        if logs:
            doc["logs"] = self.logs
        return doc

    def __repr__(self) -> str:
        return f"RetrainRun(id={self.id!r}, model={self.model!r}, status={self.status!r}, decision={self.decision!r})"


def as_utc(value: datetime) -> datetime:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _to_run(row: RetrainRunRow) -> RetrainRun:
    return RetrainRun(
        id=row.id,
        model=row.model,
        status=row.status,
        trigger=dict(row.trigger or {}),
        started_at=as_utc(row.started_at),
        started_by=row.started_by,
        finished_at=as_utc(row.finished_at) if row.finished_at else None,
        parent_version=row.parent_version,
        challenger_version=row.challenger_version,
        window=row.window,
        metrics=dict(row.metrics or {}),
        decision=row.decision,
        reason=row.reason,
        rollout=row.rollout,
        error=row.error,
        logs=row.logs or "",
    )


def lease_name(model: str) -> str:
    return f"retrain:{model}"


class RunLease:
    """The lease `retrain:<model>` held by one run, renewed every third of `ttl` until `release()`."""

    def __init__(self, db: Database, model: str, run_id: str, ttl: float) -> None:
        self.db, self.model, self.run_id, self.ttl = db, model, run_id, ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> None:
        """Take the lease or raise `RetrainRunInProgress` naming the run that holds it."""
        if not acquire(self.db, lease_name(self.model), self.run_id, self.ttl):
            raise RetrainRunInProgress(self.model, holder_of(self.db, lease_name(self.model)))
        self._thread = threading.Thread(target=self._renew, name=f"retrain-lease:{self.model}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not acquire(self.db, lease_name(self.model), self.run_id, self.ttl):
                    logger.error("retraining run %s lost its lease on %s", self.run_id, self.model)
            except Exception:  # the DB is unreachable for a moment: the lease has ttl to spare
                logger.warning("retraining run %s could not renew its lease", self.run_id, exc_info=True)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl)
        try:
            release(self.db, lease_name(self.model), self.run_id)
        except Exception:  # it lapses by itself after ttl
            logger.warning("retraining run %s could not release its lease", self.run_id, exc_info=True)


@contextmanager
def run_lease(db: Database, model: str, run_id: str, ttl: float) -> Iterator[RunLease]:
    lease = RunLease(db, model, run_id, ttl)
    lease.take()
    try:
        yield lease
    finally:
        lease.release()


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def create_run(
    db: Database, run_id: str, model: str, trigger: dict[str, Any], actor: str, parent_version: int | None
) -> RetrainRun:
    """Write the run's row; any older run of `model` still `running` is an orphan (its lease lapsed)."""
    now = utcnow()
    with db.write() as session:
        session.execute(
            update(RetrainRunRow)
            .where(RetrainRunRow.model == model, RetrainRunRow.status == RUNNING)
            .values(
                status=FAILED,
                finished_at=now,
                error="interrupted: the process running it stopped before it finished",
            )
        )
        row = RetrainRunRow(
            id=run_id,
            model=model,
            status=RUNNING,
            trigger_kind=str(trigger.get("kind", "manual")),
            trigger=trigger,
            started_at=now,
            started_by=actor,
            parent_version=parent_version,
            metrics={},
            logs="",
        )
        session.add(row)
        session.flush()
        return _to_run(row)


def update_run(db: Database, run_id: str, **values: Any) -> RetrainRun:
    with db.write() as session:
        row = session.get(RetrainRunRow, run_id)
        if row is None:
            raise RetrainRunNotFound(run_id)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return _to_run(row)


def get_run(db: Database, run_id: str) -> RetrainRun:
    with db.read() as session:
        row = session.get(RetrainRunRow, run_id) if "\x00" not in run_id else None
        if row is None:
            raise RetrainRunNotFound(run_id)
        return _to_run(row)


def list_runs(
    db: Database, model: str | None = None, *, limit: int = 50, status: str | None = None
) -> list[RetrainRun]:
    """Runs newest first, of one model or all."""
    query = select(RetrainRunRow).order_by(RetrainRunRow.started_at.desc(), RetrainRunRow.id).limit(limit)
    if model is not None:
        query = query.where(RetrainRunRow.model == model)
    if status is not None:
        query = query.where(RetrainRunRow.status == status)
    with db.read() as session:
        return [_to_run(row) for row in session.scalars(query)]


def last_run(db: Database, model: str, kind: str | None = None) -> RetrainRun | None:
    query = select(RetrainRunRow).where(RetrainRunRow.model == model)
    if kind is not None:
        query = query.where(RetrainRunRow.trigger_kind == kind)
    with db.read() as session:
        row = session.scalars(query.order_by(RetrainRunRow.started_at.desc()).limit(1)).first()
        return _to_run(row) if row is not None else None


__all__ = [
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "RetrainRun",
    "RunLease",
    "as_utc",
    "create_run",
    "get_run",
    "last_run",
    "lease_name",
    "list_runs",
    "new_run_id",
    "run_lease",
    "update_run",
]
