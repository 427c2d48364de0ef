"""`/retrain/...`: retraining policies and runs (`shipyard retrain …`).

Reading policies and runs needs `monitoring.read` or `deployment.read`; setting a policy and starting
a run need `deployment.write`: a policy names code the server runs and decides what reaches users.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import Field

from ..retrain import RetrainService
from ..security.access import authorize
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, principal_of, require
from .errors import error_responses
from .params import NamePath
from .schemas import UtcTime, _In, _Out

router = APIRouter(tags=["retraining"])
CAN_WRITE = Depends(require(Action.DEPLOYMENT_WRITE))


def _can_read(request: Request) -> None:
    """Viewers of monitoring or of deployments may read: both see what retraining decided and why."""
    principal = principal_of(request)
    if principal is None:
        return
    try:
        authorize(principal, Action.MONITORING_READ)
    except PermissionError:
        authorize(principal, Action.DEPLOYMENT_READ)


CAN_READ = Depends(_can_read)


def retrain_of(request: Request, registry: RegistryDep) -> RetrainService:
    """The server's retraining service; without one (an API mounted on its own), a plain one on the registry."""
    service = getattr(request.app.state, "retrain", None)
    if not isinstance(service, RetrainService):
        service = RetrainService(registry)
        request.app.state.retrain = service
    return service


RetrainDep = Annotated[RetrainService, Depends(retrain_of)]
RunIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$", description="A run's id.", examples=["3f2a9c0d1b7e"])]


class PolicyOut(_Out):
    model: str
    policy: dict[str, Any] = Field(description="The policy as stored, every default filled in (docs/retraining.md).")
    created_at: UtcTime
    created_by: str
    updated_at: UtcTime
    updated_by: str


class RunIn(_In):
    model: str = Field(min_length=1, max_length=128, description="The model to retrain now (a manual run).")


class RunOut(_Out):
    id: str
    model: str
    status: Literal["running", "succeeded", "failed"]
    trigger: dict[str, Any] = Field(description="What started the run: `kind` and its evidence.")
    started_at: UtcTime
    started_by: str
    finished_at: UtcTime | None
    parent_version: int | None = Field(description="The champion: the production version when the run started.")
    challenger_version: int | None
    window: dict[str, Any] | None = Field(description="Sources, rows, train/holdout split and fingerprint.")
    metrics: dict[str, Any] = Field(description="`champion` and `challenger` on the holdout, `trainer` as reported.")
    decision: Literal["accepted", "rejected"] | None
    reason: str | None
    rollout: dict[str, Any] | None
    error: str | None
    logs: str | None = None


_POLICY_BODY = Body(
    description="A retraining policy as a JSON object (see docs/retraining.md), e.g. "
    '`{"trainer": {"entry_point": "churn.train:train"}, "data": {"log_period": "7d"}}`.'
)


@router.get("/retrain/policies", dependencies=[CAN_READ], responses=error_responses())
def list_retrain_policies(service: RetrainDep) -> list[PolicyOut]:
    """Every model's retraining policy."""
    return [PolicyOut.model_validate(p.to_dict()) for p in service.list_policies()]


@router.get("/retrain/policies/{name}", dependencies=[CAN_READ], responses=error_responses(404))
def get_retrain_policy(name: NamePath, service: RetrainDep) -> PolicyOut:
    """The model's retraining policy."""
    return PolicyOut.model_validate(service.get_policy(name).to_dict())


@router.put("/retrain/policies/{name}", dependencies=[CAN_WRITE], responses=error_responses(404))
def set_retrain_policy(
    name: NamePath, service: RetrainDep, actor: ActorDep, document: Annotated[dict[str, Any], _POLICY_BODY]
) -> PolicyOut:
    """Set (or replace) the model's policy. Every problem is reported with its field; nothing is stored then."""
    return PolicyOut.model_validate(service.set_policy(name, document, actor=actor).to_dict())


@router.delete("/retrain/policies/{name}", status_code=204, dependencies=[CAN_WRITE], responses=error_responses(404))
def delete_retrain_policy(name: NamePath, service: RetrainDep, actor: ActorDep) -> Response:
    """Remove the model's policy: its triggers stop; past runs stay."""
    service.delete_policy(name, actor=actor)
    return Response(status_code=204)


@router.post("/retrain/runs", status_code=202, dependencies=[CAN_WRITE], responses=error_responses(404, 409))
def start_retrain_run(body: RunIn, service: RetrainDep, actor: ActorDep) -> RunOut:
    """Start a manual run now; it goes on in the background (poll `GET /retrain/runs/{id}`).

    409 while another run of the model is going on; 404 when the model has no policy.
    """
    return RunOut.model_validate(service.start(body.model, actor=actor).to_dict())


@router.get("/retrain/runs", dependencies=[CAN_READ], responses=error_responses())
def list_retrain_runs(
    service: RetrainDep,
    model: Annotated[str | None, Query(min_length=1, max_length=128, description="Only this model's runs.")] = None,
    status: Annotated[Literal["running", "succeeded", "failed"] | None, Query(description="Only these.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunOut]:
    """Runs, newest first, without their logs."""
    return [RunOut.model_validate(r.to_dict(logs=False)) for r in service.list_runs(model, limit=limit, status=status)]


@router.get("/retrain/runs/{run_id}", dependencies=[CAN_READ], responses=error_responses(404))
def get_retrain_run(run_id: RunIdPath, service: RetrainDep) -> RunOut:
    """One run in full, with its log."""
    return RunOut.model_validate(service.get_run(run_id).to_dict())


__all__ = ["router", "retrain_of"]
