"""`/alerts`: alert rules (`/alerts/rules`) and the alert history (`/alerts`), as `shipyard alerts …` does.

Reading needs `monitoring.read`; adding or removing rules is operating a deployment (`deployment.write`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from ..monitoring.alerts import AlertStore, RuleSpec
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, require
from .errors import error_responses

router = APIRouter(tags=["alerts"])
CAN_READ = [Depends(require(Action.MONITORING_READ))]
CAN_WRITE = [Depends(require(Action.DEPLOYMENT_WRITE))]


class RuleOut(RuleSpec):
    id: int
    created_at: datetime
    created_by: str


class AlertOut(BaseModel):
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
    resolved_at: datetime | None = None
    state: str
    delivery: str
    deliveries: list[dict[str, Any]]


def _store(registry: RegistryDep) -> AlertStore:
    return AlertStore(registry.db)


StoreDep = Annotated[AlertStore, Depends(_store)]


def _source(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/alerts/rules", dependencies=CAN_READ, responses=error_responses())
def list_alert_rules(store: StoreDep) -> list[RuleOut]:
    """Every alert rule, by name."""
    return [RuleOut.model_validate(rule.to_dict()) for rule in store.list_rules()]


@router.post("/alerts/rules", status_code=201, dependencies=CAN_WRITE, responses=error_responses(409))
def create_alert_rule(body: RuleSpec, store: StoreDep, actor: ActorDep, request: Request) -> RuleOut:
    """Add a rule; the server evaluates it at its next pass. 409 when a rule has the name."""
    return RuleOut.model_validate(store.add_rule(body, actor=actor, source=_source(request)).to_dict())


@router.get("/alerts/rules/{name}", dependencies=CAN_READ, responses=error_responses(404))
def get_alert_rule(name: str, store: StoreDep) -> RuleOut:
    return RuleOut.model_validate(store.get_rule(name).to_dict())


@router.delete("/alerts/rules/{name}", dependencies=CAN_WRITE, responses=error_responses(404))
def delete_alert_rule(name: str, store: StoreDep, actor: ActorDep, request: Request) -> RuleOut:
    """Remove a rule; the alerts it fired stay in the history."""
    return RuleOut.model_validate(store.remove_rule(name, actor=actor, source=_source(request)).to_dict())


@router.get("/alerts", dependencies=CAN_READ, responses=error_responses())
def list_alerts(
    store: StoreDep,
    rule: str | None = None,
    subject: str | None = None,
    state: Annotated[str | None, Query(pattern="^(firing|resolved)$")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AlertOut]:
    """Alerts fired, newest first; `state=firing` for those still firing."""
    firing = None if state is None else state == "firing"
    return [
        AlertOut.model_validate(e.to_dict())
        for e in store.history(rule=rule, subject=subject, firing=firing, limit=limit)
    ]


__all__ = ["router"]
