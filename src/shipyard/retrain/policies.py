"""Policies as stored: one per registered model, each change recorded in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..errors import RetrainPolicyNotFound
from ..registry import Registry
from ..store import record_event
from ..store.tables import utcnow
from ..store.tables.retraining import RetrainPolicyRow
from .policy import RetrainPolicy, parse_policy
from .runs import as_utc


@dataclass(frozen=True)
class StoredPolicy:
    model: str
    policy: RetrainPolicy
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "policy": self.policy.to_dict(),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def _stored(row: RetrainPolicyRow) -> StoredPolicy:
    # Stored policies were validated when set; imports are checked again only when a run starts.
    policy = parse_policy(row.policy, check_imports=False)
    return StoredPolicy(
        row.model, policy, as_utc(row.created_at), row.created_by, as_utc(row.updated_at), row.updated_by
    )


def set_policy(registry: Registry, model: str, document: object, *, actor: str) -> StoredPolicy:
    """Validate `document` and store it as the policy of the registered `model` (replacing any)."""
    registry.get_model(model)  # ModelNotFound with suggestions before anything is stored
    policy = parse_policy(document)
    after = policy.to_dict()
    now = utcnow()
    with registry.db.write() as session:
        row = session.get(RetrainPolicyRow, model, with_for_update=True)
        before = dict(row.policy) if row is not None else None
        if row is None:
            row = RetrainPolicyRow(
                model=model,
                policy=after,
                enabled=policy.enabled,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
            session.add(row)
        else:
            row.policy, row.enabled, row.updated_at, row.updated_by = after, policy.enabled, now, actor
        record_event(session, actor=actor, action="retrain.policy.set", target=model, before=before, after=after)
        session.flush()
        return _stored(row)


def get_policy(registry: Registry, model: str) -> StoredPolicy:
    with registry.db.read() as session:
        row = session.get(RetrainPolicyRow, model) if "\x00" not in model else None
        if row is None:
            raise RetrainPolicyNotFound(model)
        return _stored(row)


def delete_policy(registry: Registry, model: str, *, actor: str) -> None:
    with registry.db.write() as session:
        row = session.get(RetrainPolicyRow, model, with_for_update=True) if "\x00" not in model else None
        if row is None:
            raise RetrainPolicyNotFound(model)
        record_event(session, actor=actor, action="retrain.policy.delete", target=model, before=dict(row.policy))
        session.delete(row)


def list_policies(registry: Registry, *, enabled_only: bool = False) -> list[StoredPolicy]:
    query = select(RetrainPolicyRow).order_by(RetrainPolicyRow.model)
    if enabled_only:
        query = query.where(RetrainPolicyRow.enabled.is_(True))
    with registry.db.read() as session:
        return [_stored(row) for row in session.scalars(query)]


__all__ = ["StoredPolicy", "delete_policy", "get_policy", "list_policies", "set_policy"]
