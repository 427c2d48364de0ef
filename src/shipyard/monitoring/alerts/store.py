"""Alert rules and alert history in the metadata database.

Deduplication happens here, in one transaction per alert: an alert whose key (rule and subject) fired
less than its cooldown ago becomes a repeat of that event (`repeats` + 1, not notified again);
otherwise it is a new event to notify. The transaction holds the key's lock (SQLite: the write lock;
PostgreSQL: a transaction-scoped advisory lock on the key), so two workers firing the same alert at
once still make one event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...errors import AlertRuleNotFound, Conflict, closest
from ...store import Database, record_event
from ...store.tables import utcnow
from ...store.tables.alerts import AlertEventRow, AlertRuleRow
from ..alerting import Alert
from .rules import Rule, RuleSpec, parse_rule

_PARAMS = ("threshold", "window_minutes", "feature", "metric", "direction", "min_requests", "errors")


@dataclass(frozen=True)
class AlertEvent:
    id: int
    key: str
    rule: str
    subject: str
    severity: str
    message: str
    details: dict[str, Any]
    fired_at: datetime
    last_seen_at: datetime
    repeats: int
    resolved_at: datetime | None
    delivery: str
    deliveries: list[Any]

    @property
    def firing(self) -> bool:
        return self.resolved_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "rule": self.rule,
            "subject": self.subject,
            "severity": self.severity,
            "message": self.message,
            "details": self.details,
            "fired_at": self.fired_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "repeats": self.repeats,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "state": "firing" if self.firing else "resolved",
            "delivery": self.delivery,
            "deliveries": self.deliveries,
        }


def _event(row: AlertEventRow) -> AlertEvent:
    return AlertEvent(
        row.id,
        row.key,
        row.rule,
        row.subject,
        row.severity,
        row.message,
        dict(row.details or {}),
        _aware(row.fired_at),
        _aware(row.last_seen_at),
        row.repeats,
        _aware(row.resolved_at) if row.resolved_at else None,
        row.delivery,
        list(row.deliveries or []),
    )


def _aware(at: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; every one stored is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=utcnow().tzinfo)


def _rule(row: AlertRuleRow) -> Rule:
    spec = RuleSpec.model_validate(
        {
            "name": row.name,
            "kind": row.kind,
            "subject": row.subject,
            **{k: v for k, v in (row.params or {}).items() if k in _PARAMS},
            "severity": row.severity,
            "cooldown_seconds": row.cooldown_seconds,
            "notify": list(row.notify or []),
            "enabled": row.enabled,
            "description": row.description,
        }
    )
    return Rule(row.id, spec, _aware(row.created_at), row.created_by)


class AlertStore:
    """Rules (add, list, get, remove — each audited) and the alert history."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- rules ---------------------------------------------------------------------------------------

    def add_rule(self, spec: RuleSpec | dict[str, Any], *, actor: str, source: str | None = None) -> Rule:
        """Store a rule; `Conflict` if one has its name, `ValidationFailed` naming each bad field."""
        spec = parse_rule(spec)
        params = {k: getattr(spec, k) for k in _PARAMS}
        row = AlertRuleRow(
            name=spec.name,
            kind=spec.kind,
            subject=spec.subject,
            params=params,
            severity=spec.severity,
            cooldown_seconds=spec.cooldown_seconds,
            notify=list(spec.notify),
            enabled=spec.enabled,
            description=spec.description,
            created_by=actor,
        )
        try:
            with self.db.write() as session:
                if session.scalar(select(AlertRuleRow.id).where(AlertRuleRow.name == spec.name)) is not None:
                    raise Conflict(f"An alert rule named {spec.name!r} exists; remove it first or choose another name.")
                session.add(row)
                session.flush()
                rule = _rule(row)
                record_event(
                    session,
                    actor=actor,
                    action="alert_rule.create",
                    target=f"alert_rule:{spec.name}",
                    after=rule.to_dict(),
                    source=source,
                )
        except IntegrityError:  # created by someone else between the check and the insert
            raise Conflict(
                f"An alert rule named {spec.name!r} exists; remove it first or choose another name."
            ) from None
        return rule

    def list_rules(self, *, enabled_only: bool = False) -> list[Rule]:
        query = select(AlertRuleRow).order_by(AlertRuleRow.name)
        if enabled_only:
            query = query.where(AlertRuleRow.enabled.is_(True))
        with self.db.read() as session:
            return [_rule(row) for row in session.scalars(query)]

    def get_rule(self, name: str) -> Rule:
        with self.db.read() as session:
            row = session.scalar(select(AlertRuleRow).where(AlertRuleRow.name == name))
            if row is None:
                raise AlertRuleNotFound(name, closest(name, session.scalars(select(AlertRuleRow.name))))
            return _rule(row)

    def remove_rule(self, name: str, *, actor: str, source: str | None = None) -> Rule:
        """Delete a rule (its history stays); `AlertRuleNotFound` naming the closest names."""
        with self.db.write() as session:
            row = session.scalar(select(AlertRuleRow).where(AlertRuleRow.name == name))
            if row is None:
                raise AlertRuleNotFound(name, closest(name, session.scalars(select(AlertRuleRow.name))))
            rule = _rule(row)
            session.delete(row)
            record_event(
                session,
                actor=actor,
                action="alert_rule.delete",
                target=f"alert_rule:{name}",
                before=rule.to_dict(),
                source=source,
            )
        return rule

    # -- history -------------------------------------------------------------------------------------

    def record(self, alert: Alert, cooldown: timedelta, *, now: datetime | None = None) -> tuple[AlertEvent, bool]:
        """Record `alert`: (its event, True when it is new and must be notified; False for a repeat)."""
        now = now or utcnow()
        with self.db.write() as session:
            self._lock_key(session, alert.key)
            row = session.scalar(
                select(AlertEventRow).where(AlertEventRow.key == alert.key).order_by(AlertEventRow.id.desc()).limit(1)
            )
            if row is not None and _aware(row.fired_at) > now - cooldown:
                row.repeats += 1
                row.last_seen_at = now
                row.resolved_at = None
                row.message, row.details = alert.message, dict(alert.details)
                session.flush()
                return _event(row), False
            row = AlertEventRow(
                key=alert.key,
                rule=alert.rule,
                subject=alert.subject,
                severity=alert.severity,
                message=alert.message,
                details=dict(alert.details),
                fired_at=now,
                last_seen_at=now,
                repeats=0,
                delivery="pending",
                deliveries=[],
            )
            session.add(row)
            session.flush()
            return _event(row), True

    def _lock_key(self, session: Session, key: str) -> None:
        if self.db.dialect == "postgresql":  # SQLite's write transaction already serialises writers
            digest = int.from_bytes(hashlib.sha256(f"alert:{key}".encode()).digest()[:8], "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})

    def set_delivery(self, event_id: int, deliveries: Sequence[dict[str, Any]]) -> None:
        status = "delivered" if all(d.get("ok") for d in deliveries) else "failed"
        with self.db.write() as session:
            row = session.get(AlertEventRow, event_id)
            if row is not None:
                row.delivery, row.deliveries = status, [dict(d) for d in deliveries]

    def resolve(self, rule: str, still_firing: set[str], *, now: datetime | None = None) -> list[str]:
        """Mark resolved the firing events of `rule` whose subject is not in `still_firing`; their subjects."""
        now = now or utcnow()
        with self.db.write() as session:
            rows = session.scalars(
                select(AlertEventRow).where(AlertEventRow.rule == rule, AlertEventRow.resolved_at.is_(None))
            ).all()
            resolved = []
            for row in rows:
                if row.subject not in still_firing:
                    row.resolved_at = now
                    resolved.append(row.subject)
            return resolved

    def history(
        self,
        *,
        rule: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        firing: bool | None = None,
        limit: int = 100,
    ) -> list[AlertEvent]:
        """Events, newest first."""
        query = select(AlertEventRow).order_by(AlertEventRow.id.desc()).limit(limit)
        if rule is not None:
            query = query.where(AlertEventRow.rule == rule)
        if subject is not None:
            query = query.where(AlertEventRow.subject == subject)
        if since is not None:
            query = query.where(AlertEventRow.last_seen_at >= since)
        if firing is not None:
            query = query.where(
                AlertEventRow.resolved_at.is_(None) if firing else AlertEventRow.resolved_at.is_not(None)
            )
        with self.db.read() as session:
            return [_event(row) for row in session.scalars(query)]


__all__ = ["AlertEvent", "AlertStore"]
