"""`/logs/{model}`: the prediction log of a model (`shipyard logs`), and its redaction settings.

Reading needs `monitoring.read`; changing which fields are dropped or hashed is operating a
deployment (`deployment.write`) and writes an audit event.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from ..errors import NotReady
from ..monitoring.feedback_service import MonitoringService
from ..monitoring.predlog.redaction import Redaction
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, require
from .errors import error_responses
from .params import NamePath
from .schemas import UtcTime, _In, _Out

router = APIRouter(tags=["monitoring"])
CAN_READ = Depends(require(Action.MONITORING_READ))
CAN_CHANGE = Depends(require(Action.DEPLOYMENT_WRITE))

Since = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        description="Start of the window: a duration ago (`1h`, `30m`, `2d`) or an ISO time.",
        examples=["1h"],
    ),
]
Until = Annotated[str | None, Query(max_length=64, description="End of the window (default: now), same forms.")]


def monitoring_of(request: Request) -> MonitoringService:
    service = getattr(request.app.state, "monitoring", None)
    if not isinstance(service, MonitoringService):
        raise NotReady("monitoring", "this API was started without the prediction log and feedback store")
    return service


MonitoringDep = Annotated[MonitoringService, Depends(monitoring_of)]


class LogRowOut(_Out):
    request_id: str
    row: int
    time: UtcTime
    endpoint: str
    model: str
    version: int
    arm: str
    shadow: bool
    protocol: str
    caller: str | None
    latency_ms: float
    status: str
    inputs: dict[str, Any] = Field(description="One field per input feature (dropped fields absent, hashed ones hex).")
    outputs: dict[str, Any] = Field(description="`predict`, `predict_proba` (a list per row), …")


class LogsOut(_Out):
    model: str
    count: int
    rows: list[LogRowOut] = Field(description="The newest `limit` rows of the window, oldest first.")


class RedactionIn(_In):
    drop: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list, max_length=1000, description="Input fields left out of the log."
    )
    hash: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list, max_length=1000, description="Input fields logged as a salted sha256 (hex)."
    )


class RedactionOut(_Out):
    model: str
    drop: list[str]
    hash: list[str]


def json_safe(value: Any) -> Any:
    """Logged values as JSON: NaN and infinities (allowed in some inputs) become null, times ISO text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


@router.get("/logs/{model}", dependencies=[CAN_READ], responses=error_responses(404))
def read_logs(
    model: NamePath,
    registry: RegistryDep,
    monitoring: MonitoringDep,
    since: Since,
    until: Until = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    arm: Annotated[str | None, Query(max_length=128)] = None,
    shadow: Annotated[bool, Query(description="Include answers of shadow arms (never seen by callers).")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> LogsOut:
    """Logged rows of `model` in the window (what workers have flushed: entries appear within
    `monitoring.log_flush_seconds`)."""
    registry.get_model(model)
    table = monitoring.logs(model, since, until, version=version, arm=arm, include_shadow=shadow, limit=limit)
    rows = [LogRowOut.model_validate(json_safe(r)) for r in table.to_pylist()]
    return LogsOut(model=model, count=len(rows), rows=rows)


@router.get("/logs/{model}/redaction", dependencies=[CAN_READ], responses=error_responses(404))
def get_redaction(model: NamePath, registry: RegistryDep, monitoring: MonitoringDep) -> RedactionOut:
    """The input fields of `model` dropped or hashed before logging."""
    registry.get_model(model)
    return _out(model, monitoring.redaction(model))


@router.put("/logs/{model}/redaction", dependencies=[CAN_CHANGE], responses=error_responses(404))
def put_redaction(
    model: NamePath, body: RedactionIn, registry: RegistryDep, monitoring: MonitoringDep, actor: ActorDep
) -> RedactionOut:
    """Replace the redaction of `model` (empty lists: log every field); every worker applies it to new
    entries within `monitoring.log_settings_refresh_seconds`."""
    registry.get_model(model)
    return _out(model, monitoring.set_redaction(model, drop=body.drop, hash=body.hash, actor=actor))


def _out(model: str, rule: Redaction) -> RedactionOut:
    return RedactionOut(model=model, **rule.to_dict())


__all__ = ["MonitoringDep", "json_safe", "monitoring_of", "router"]
