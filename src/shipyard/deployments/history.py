"""A deployment's history: every change with who made it and, for the controller's, the figures behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.tables.deployments import DeploymentEventRow
from .records import as_utc


@dataclass(frozen=True)
class DeploymentEvent:
    id: int
    deployment: str
    at: datetime
    actor: str
    action: str
    """create, canary, advance, promote, pause, resume, rollback, ab, shadow, shadow.stop, delete."""
    detail: dict[str, Any]
    """The arguments of the change, the state after it, and the figures when the controller decided it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "detail": self.detail,
        }

    def __repr__(self) -> str:
        return f"DeploymentEvent(id={self.id}, deployment={self.deployment!r}, action={self.action!r})"


def read_history(session: Session, deployment: str, limit: int = 100) -> list[DeploymentEvent]:
    query = (
        select(DeploymentEventRow)
        .where(DeploymentEventRow.deployment == deployment)
        .order_by(DeploymentEventRow.id.desc())
        .limit(limit)
    )
    return [
        DeploymentEvent(r.id, r.deployment, as_utc(r.at), r.actor, r.action, r.detail) for r in session.scalars(query)
    ]


__all__ = ["DeploymentEvent", "read_history"]
