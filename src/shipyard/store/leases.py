"""Leases in the metadata DB: background work runs exactly once across workers and replicas.

A lease is one row per job name: its holder and when it expires. Taking or renewing it is one
conditional UPDATE (`holder = me OR expired`), which both SQLite (the write lock) and PostgreSQL
(the row lock) make atomic, so at most one holder wins. A holder that dies stops renewing and
another worker takes over once the lease expires.

A row rather than a PostgreSQL advisory lock: an advisory lock belongs to one connection, and a
pooled connection that is recycled, or a network blip, would drop it silently; an expiring row is
the same on both databases and survives connection churn.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .database import Database
from .tables import LeaseRow, utcnow

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # a new row's expiry: free for the first taker


def new_holder_id() -> str:
    """A name for this process that no other worker or replica shares (host, pid, random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(db: Database, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew the lease `name` for `ttl_seconds`; True when `holder` has it now."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    with db.write() as session:
        dialect = postgresql if db.dialect == "postgresql" else sqlite
        session.execute(
            dialect.insert(LeaseRow)
            .values(name=name, holder="", acquired_at=now, expires_at=_NEVER)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        current = session.scalar(select(LeaseRow.holder).where(LeaseRow.name == name))
        values: dict[str, object] = {"holder": holder, "expires_at": expires}
        if current != holder:
            values["acquired_at"] = now
        result = session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, (LeaseRow.holder == holder) | (LeaseRow.expires_at < now))
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at once (on shutdown), so another worker need not wait for it to expire."""
    with db.write() as session:
        session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.holder == holder)
            .values(holder="", expires_at=utcnow())
        )


def holder_of(db: Database, name: str) -> str | None:
    """Who holds `name` now (None when nobody does or it expired)."""
    with db.read() as session:
        row = session.get(LeaseRow, name)
        if row is None or not row.holder or row.expires_at.replace(tzinfo=utcnow().tzinfo) < utcnow():
            return None
        return row.holder


def forget(db: Database, name: str) -> None:
    with db.write() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.name == name))


__all__ = ["acquire", "forget", "holder_of", "new_holder_id", "release"]
