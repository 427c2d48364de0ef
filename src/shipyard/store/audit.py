"""Append-only audit events: who did what, when, with the state before and after.

Events are written in the same transaction as the change they describe, so a change without
its event (or the reverse) cannot happen. Nothing in Shipyard updates or deletes an event.
"""

from __future__ import annotations

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


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    source: str | None = None,
) -> None:
    session.add(AuditEventRow(actor=actor, action=action, target=target, before=before, after=after, source=source))


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


__all__ = ["AuditEvent", "list_events", "record_event"]
