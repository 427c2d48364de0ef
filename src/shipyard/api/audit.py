"""`GET /audit`: who changed what and when, newest first (`shipyard audit`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..store import list_events
from .deps import CAN_READ_AUDIT, RegistryDep
from .errors import error_responses
from .schemas import AuditEventOut

router = APIRouter(dependencies=[CAN_READ_AUDIT], tags=["audit"])


@router.get("/audit", responses=error_responses())
def audit(
    registry: RegistryDep,
    target: Annotated[
        str | None, Query(description="Only events whose target starts with this, e.g. `churn`.", max_length=512)
    ] = None,
    action: Annotated[str | None, Query(description="Only this action, e.g. `alias.set`.", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AuditEventOut]:
    """Audit events: actor, action, target, and the state before and after."""
    with registry.db.read() as session:
        events = list_events(session, target_prefix=target, action=action, limit=limit)
    return [AuditEventOut.model_validate(e.to_dict()) for e in events]


__all__ = ["router"]
