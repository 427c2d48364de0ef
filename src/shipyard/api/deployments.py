"""`/deployments`: create, canary, shadow, A/B, promote, pause, resume, rollback, status, history, delete
(`shipyard deploy …`). Reading needs `deployment.read`, changing `deployment.write`; every change
writes an audit event recorded as the authenticated caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from ..deployments import DeploymentService, RolloutPolicy
from ..deployments.inputs import check_interval, parse_interval, parse_sticky
from ..deployments.spec import Deployment
from ..deployments.transitions import KEEP
from ..registry.records import MAX_VERSION
from ..registry.uri import NAME_PATTERN
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, require
from .errors import error_responses
from .schemas import UtcTime, _In, _Out

router = APIRouter(tags=["deployments"])
CAN_READ = Depends(require(Action.DEPLOYMENT_READ))
CAN_WRITE = Depends(require(Action.DEPLOYMENT_WRITE))

DeploymentPath = Annotated[
    str,
    Path(
        pattern=NAME_PATTERN.pattern,
        description="Deployment name: 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit.",
        examples=["churn"],
    ),
]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION, description="A version of the deployment's model.")]
Number = float  # strict models: ints and floats, never booleans or strings


class ArmOut(_Out):
    version: int
    weight: float = Field(description="Percent of traffic (primary) or of requests mirrored (shadow).")
    kind: str = Field(examples=["primary", "shadow"])
    label: str = Field(examples=["v4", "shadow:v5"])


class RolloutOut(_Out):
    canary_version: int
    stable_version: int
    state: str = Field(examples=["running", "paused", "promoted", "rolled_back"])
    step: int = Field(description="1-based step number.")
    steps: int
    weight: float
    policy: dict[str, Any]
    started_at: UtcTime
    step_started_at: UtcTime
    ended_at: UtcTime | None
    reason: str | None


class DeploymentOut(_Out):
    name: str
    model: str
    stable_version: int
    mode: str = Field(examples=["single", "canary", "ab"])
    arms: list[ArmOut]
    sticky: str | None = Field(examples=["header:x-user-id"])
    rollout: RolloutOut | None
    description: str | None
    revision: int
    created_at: UtcTime | None
    created_by: str
    updated_at: UtcTime | None
    updated_by: str


class StatusOut(_Out):
    deployment: DeploymentOut
    window_seconds: float
    arms: list[dict[str, Any]] = Field(description="Per arm: weight, requests, req/s, error rate, p50/p99 in ms.")
    shadows: list[dict[str, Any]] = Field(description="Per shadow arm: its figures and the comparison of answers.")
    rollout: dict[str, Any] | None


class EventOut(_Out):
    id: int
    deployment: str
    at: UtcTime
    actor: str
    action: str
    detail: dict[str, Any]


class CreateIn(_In):
    name: str = Field(pattern=NAME_PATTERN.pattern, examples=["churn"])
    model: str = Field(min_length=1, max_length=300, description="`churn@production`, `churn/3` or `churn`.")
    sticky: str | None = Field(None, max_length=200, examples=["header:x-user-id", "param:user"])
    description: str | None = Field(None, max_length=1000)


class CanaryIn(_In):
    version: Version
    steps: list[Number] = Field(default_factory=lambda: [5.0, 25.0, 50.0, 100.0], max_length=100)
    interval: Number | str = Field(600.0, description="Seconds, or a duration such as `10m`.")
    max_error_rate: Number | None = Field(0.01, description="null turns the guard off.")
    max_p99_ratio: Number | None = Field(1.5, description="null turns the guard off.")
    max_quality_drop: Number | None = None
    min_requests: int = Field(20, ge=1, le=10**9)


class ShadowIn(_In):
    version: Version
    percent: Number = Field(100.0, description="Percent of requests mirrored.")


class SplitIn(_In):
    split: dict[str, Number] = Field(examples=[{"3": 50, "4": 50}], max_length=100)
    sticky: str | None = Field(
        None, max_length=200, description="`header:NAME`, `param:NAME`, or null to route at random; omit to keep."
    )


class PromoteIn(_In):
    version: Version | None = None


class RollbackIn(_In):
    reason: str | None = Field(None, max_length=1000)


def _service(registry: RegistryDep, request: Request) -> DeploymentService:
    window: float = getattr(request.app.state, "status_window_seconds", 60.0)
    return DeploymentService(registry, status_window_seconds=window)


ServiceDep = Annotated[DeploymentService, Depends(_service)]


def _source(request: Request) -> str | None:
    return request.client.host if request.client else None


def _out(deployment: Deployment) -> DeploymentOut:
    return DeploymentOut.model_validate(deployment.to_dict())


@router.get("/deployments", dependencies=[CAN_READ], responses=error_responses())
def list_deployments(service: ServiceDep) -> list[DeploymentOut]:
    """Every deployment with its arms, weights and rollout."""
    return [_out(d) for d in service.list()]


@router.post("/deployments", status_code=201, dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def create_deployment(body: CreateIn, service: ServiceDep, actor: ActorDep, request: Request) -> DeploymentOut:
    """A named endpoint serving one version of a model at 100 % (the reference is resolved now)."""
    sticky = parse_sticky(body.sticky)
    return _out(
        service.create(
            body.name, body.model, sticky=sticky, description=body.description, actor=actor, source=_source(request)
        )
    )


@router.get("/deployments/{name}", dependencies=[CAN_READ], responses=error_responses(404))
def get_deployment(name: DeploymentPath, service: ServiceDep) -> DeploymentOut:
    return _out(service.get(name))


@router.delete("/deployments/{name}", status_code=204, dependencies=[CAN_WRITE], responses=error_responses(404))
def delete_deployment(name: DeploymentPath, service: ServiceDep, actor: ActorDep, request: Request) -> Response:
    """Remove the deployment; its history stays, and its name then means the model of that name, if any."""
    service.delete(name, actor=actor, source=_source(request))
    return Response(status_code=204)


@router.get("/deployments/{name}/status", dependencies=[CAN_READ], responses=error_responses(404))
def deployment_status(
    name: DeploymentPath,
    service: ServiceDep,
    window: Annotated[
        float | None,
        Query(gt=0, le=86_400, description="Seconds of figures to show; default `deployments.status_window_seconds`."),
    ] = None,
) -> StatusOut:
    """Arms, weights, req/s, error rate, p50/p99 per arm, the rollout's step and the shadow comparison."""
    return StatusOut.model_validate(service.status(name, window_seconds=window).to_dict())


@router.get("/deployments/{name}/history", dependencies=[CAN_READ], responses=error_responses(404))
def deployment_history(
    name: DeploymentPath, service: ServiceDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> list[EventOut]:
    """Every change, newest first: who, when, and the figures behind the controller's decisions."""
    return [EventOut.model_validate(e.to_dict()) for e in service.history(name, limit=limit)]


@router.post("/deployments/{name}/canary", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def start_canary(
    name: DeploymentPath, body: CanaryIn, service: ServiceDep, actor: ActorDep, request: Request
) -> DeploymentOut:
    """Send the first step's share of traffic to `version`; the controller advances it while healthy."""
    interval = parse_interval(body.interval) if isinstance(body.interval, str) else check_interval(body.interval)
    policy = RolloutPolicy(
        steps=tuple(body.steps),
        interval_seconds=interval,
        max_error_rate=body.max_error_rate,
        max_p99_ratio=body.max_p99_ratio,
        max_quality_drop=body.max_quality_drop,
        min_requests=body.min_requests,
    )
    return _out(service.canary(name, body.version, policy=policy, actor=actor, source=_source(request)))


@router.post("/deployments/{name}/shadow", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def start_shadow(
    name: DeploymentPath, body: ShadowIn, service: ServiceDep, actor: ActorDep, request: Request
) -> DeploymentOut:
    """Mirror requests to `version` in the background; its answers are compared and logged, never returned."""
    return _out(service.shadow(name, body.version, percent=body.percent, actor=actor, source=_source(request)))


@router.delete("/deployments/{name}/shadow/{version}", dependencies=[CAN_WRITE], responses=error_responses(404))
def stop_shadow(
    name: DeploymentPath,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    service: ServiceDep,
    actor: ActorDep,
    request: Request,
) -> DeploymentOut:
    return _out(service.stop_shadow(name, version, actor=actor, source=_source(request)))


@router.post("/deployments/{name}/ab", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def split_traffic(
    name: DeploymentPath, body: SplitIn, service: ServiceDep, actor: ActorDep, request: Request
) -> DeploymentOut:
    """Split traffic between versions; with `sticky`, each user always reaches the same arm."""
    sticky: Any = parse_sticky(body.sticky) if "sticky" in body.model_fields_set else KEEP
    return _out(service.ab(name, body.split, sticky=sticky, actor=actor, source=_source(request)))


@router.post("/deployments/{name}/promote", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def promote(
    name: DeploymentPath, service: ServiceDep, actor: ActorDep, request: Request, body: PromoteIn | None = None
) -> DeploymentOut:
    """The canary (or `version`) becomes the one version served, at 100 %."""
    version = body.version if body is not None else None
    return _out(service.promote(name, version, actor=actor, source=_source(request)))


@router.post("/deployments/{name}/pause", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def pause(name: DeploymentPath, service: ServiceDep, actor: ActorDep, request: Request) -> DeploymentOut:
    """Freeze the canary at its step; its guards still roll it back on a breach."""
    return _out(service.pause(name, actor=actor, source=_source(request)))


@router.post("/deployments/{name}/resume", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def resume(name: DeploymentPath, service: ServiceDep, actor: ActorDep, request: Request) -> DeploymentOut:
    return _out(service.resume(name, actor=actor, source=_source(request)))


@router.post("/deployments/{name}/rollback", dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def rollback(
    name: DeploymentPath, service: ServiceDep, actor: ActorDep, request: Request, body: RollbackIn | None = None
) -> DeploymentOut:
    """Back to the stable version at 100 %: the canary (or the other A/B arms) get 0 %."""
    reason = body.reason if body is not None else None
    return _out(service.rollback(name, reason=reason, actor=actor, source=_source(request)))


__all__ = ["router"]
