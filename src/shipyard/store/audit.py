"""Append-only audit events: who did what, when, with the state before and after.

Events are written in the same transaction as the change they describe, so a change without
its event (or the reverse) cannot happen. Nothing in Shipyard updates or deletes an event.

Events that describe no change of stored state (a failed authentication, a refused request) are
written on their own, later, maybe from a spill file after a database outage (`store.spill`):
those carry an `event_key`, unique in the table, so writing one twice stores it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .tables import AuditEventRow


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "source": self.source,
        }

    def __repr__(self) -> str:
        return f"AuditEvent(id={self.id}, action={self.action!r}, target={self.target!r}, actor={self.actor!r})"


audit_source: ContextVar[str | None] = ContextVar("audit_source", default=None)
"""Where the change being made comes from (the caller's address), when an edge knows it: the management
API sets it per request, so every event its routes cause carries it without each service passing it on.
`record_event` uses it for events that name no `source` of their own."""


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    source: str | None = None,
    at: datetime | None = None,
    key: str | None = None,
) -> None:
    """Add one event to `session`'s transaction. `at` defaults to now; `key` makes it idempotent (see
    `record_keyed_events`)."""
    if source is None:
        source = audit_source.get()
    row = AuditEventRow(actor=actor, action=action, target=target, before=before, after=after, source=source)
    if at is not None:
        row.at = at
    row.event_key = key
    session.add(row)


_KEY_CHUNK = 500  # keys per IN (...) query, well under every database's limit on parameters


def record_keyed_events(session: Session, events: Iterable[Mapping[str, Any]]) -> int:
    """Add the events whose `key` the table does not hold yet; the number added.

    Each event is a mapping with `key`, `at` (ISO 8601), `actor`, `action`, `target` and optional
    `before`, `after`, `source`: the form they take in a spill file.
    """
    fresh = {str(e["key"]): e for e in events}  # a key twice in one batch counts once
    keys = list(fresh)
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        for known in session.scalars(select(AuditEventRow.event_key).where(AuditEventRow.event_key.in_(chunk))):
            fresh.pop(str(known), None)
    for key, event in fresh.items():
        record_event(
            session,
            actor=str(event["actor"]),
            action=str(event["action"]),
            target=str(event["target"]),
            before=event.get("before"),
            after=event.get("after"),
            source=event.get("source"),
            at=datetime.fromisoformat(str(event["at"])),
            key=key,
        )
    return len(fresh)


def list_events(
    session: Session, *, target_prefix: str | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    if "\x00" in f"{target_prefix}{action}":
        return []  # nothing stored holds NUL, and PostgreSQL refuses it even in a query
    query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if target_prefix:
        query = query.where(AuditEventRow.target.startswith(target_prefix, autoescape=True))
    if action:
        query = query.where(AuditEventRow.action == action)
    return [
        AuditEvent(r.id, r.at, r.actor, r.action, r.target, r.before, r.after, r.source) for r in session.scalars(query)
    ]


__all__ = ["AuditEvent", "audit_source", "list_events", "record_event", "record_keyed_events"]
