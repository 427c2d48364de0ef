"""`/drift/{model}`: stored drift runs, a run on demand, and the model's drift settings.

Reading needs `monitoring.read`. Running on demand and changing settings need `deployment.write`:
a run reads a whole window of the prediction log on a serving worker and stores its result, and the
settings decide what the scheduled runs (and the alerts on them) report; viewers read the results.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from ..monitoring.drift import DriftConfig, DriftReport, DriftService, store
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, require
from .errors import error_responses
from .logs import monitoring_of
from .params import NamePath
from .schemas import UtcTime, _In, _Out

router = APIRouter(tags=["drift"])
CAN_READ = Depends(require(Action.MONITORING_READ))
CAN_RUN = Depends(require(Action.DEPLOYMENT_WRITE))

Window = Annotated[str, Field(min_length=1, max_length=64)]
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this version.")]


def drift_of(request: Request) -> DriftService:
    """The API's drift service, over the same prediction log as `/logs` (made on first use)."""
    service = getattr(request.app.state, "drift", None)
    if not isinstance(service, DriftService):
        monitoring = monitoring_of(request)
        service = DriftService(
            request.app.state.registry, monitoring.log_location, storage_options=monitoring.storage_options
        )
        request.app.state.drift = service
    return service


DriftDep = Annotated[DriftService, Depends(drift_of)]


class FeatureDriftOut(_Out):
    name: str
    kind: Literal["numeric", "categorical"]
    role: Literal["input", "prediction"]
    method: str = Field(description="The deciding method: ks, wasserstein, psi, jensenshannon or chisquare.")
    threshold: float
    score: float | None = Field(description="The deciding method's figure (a p-value for ks and chisquare).")
    score_is_p_value: bool
    drifted: bool
    statistics: dict[str, float | None] = Field(description="Every statistic of the column's kind.")
    reference_rows: int
    current_rows: int
    current_missing: int
    current_missing_share: float | None
    reference_missing_share: float | None
    histogram: dict[str, Any] | None = Field(description="Reference and current shares per bin, for plots.")
    error: str | None = Field(description="Why the column could not be compared, if it could not.")


class DriftRunOut(_Out):
    id: int | None
    model: str
    version: int
    window_start: UtcTime | None
    window_end: UtcTime | None
    computed_at: UtcTime | None
    trigger: str | None
    rows: int
    dataset_drift: bool
    share: float = Field(description="Share of the evaluated input features that drifted.")
    share_threshold: float
    drifted_features: list[str]
    features: int
    prediction_drift: bool | None
    seconds: float
    notes: list[str]
    results: list[FeatureDriftOut] | None = Field(None, description="Per feature; left out of lists.")


class DriftRunIn(_In):
    since: Window = Field("1h", description="Start of the window: a duration ago (`1h`, `30m`) or an ISO time.")
    until: Window | None = Field(None, description="End of the window (default: now), same forms.")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Only this version (default: every one logged).")


class DriftRunsOut(_Out):
    runs: list[DriftRunOut]


class DriftSettingsIn(_In):
    numeric_method: Literal["ks", "wasserstein", "psi", "jensenshannon"] | None = None
    categorical_method: Literal["chisquare", "psi", "jensenshannon"] | None = None
    methods: dict[str, str] = Field(default_factory=dict, description="Column → deciding method.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Method → threshold.")
    column_thresholds: dict[str, float] = Field(default_factory=dict, description="Column → threshold.")
    share_threshold: float = Field(0.5, gt=0, le=1, description="Dataset drift at this share of drifted features.")
    ignore: list[str] = Field(default_factory=list, description="Columns left out.")
    enabled: bool = Field(True, description="Evaluated by the server's scheduled job.")


class DriftSettingsOut(_Out):
    model: str
    numeric_method: str | None
    categorical_method: str | None
    methods: dict[str, str]
    thresholds: dict[str, float]
    column_thresholds: dict[str, float]
    share_threshold: float
    ignore: list[str]
    enabled: bool


def _run(report: DriftReport, *, full: bool) -> DriftRunOut:
    doc = report.to_dict() if full else report.summary()
    return DriftRunOut.model_validate(doc)


@router.get("/drift/{model}", dependencies=[CAN_READ], responses=error_responses(404))
def list_drift_runs(
    model: NamePath,
    registry: RegistryDep,
    version: VersionQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    results: Annotated[bool, Query(description="Include every feature's figures.")] = False,
) -> DriftRunsOut:
    """Stored drift runs of `model`, newest first."""
    registry.get_model(model)
    runs = store.list_runs(registry.db, model, version=version, limit=limit)
    return DriftRunsOut(runs=[_run(r, full=results) for r in runs])


@router.get("/drift/{model}/latest", dependencies=[CAN_READ], responses=error_responses(404))
def latest_drift_run(model: NamePath, registry: RegistryDep, version: VersionQuery = None) -> DriftRunOut:
    """The newest stored drift run of `model` (of `version`), with every feature's figures."""
    registry.get_model(model)
    return _run(store.latest_run(registry.db, model, version=version), full=True)


@router.get("/drift/{model}/runs/{run_id}", dependencies=[CAN_READ], responses=error_responses(404))
def get_drift_run(
    model: NamePath, run_id: Annotated[int, Path(ge=1, le=2**63 - 1)], registry: RegistryDep
) -> DriftRunOut:
    """One stored drift run, with every feature's figures."""
    registry.get_model(model)
    return _run(store.get_run(registry.db, model, run_id), full=True)


@router.post("/drift/{model}", dependencies=[CAN_RUN], responses=error_responses(404, 409))
def run_drift(model: NamePath, service: DriftDep, actor: ActorDep, body: DriftRunIn | None = None) -> DriftRunsOut:
    """Measure drift now over a window of the prediction log (one run per version logged in it) and
    store it. 404 when the model is unknown or the window holds no predictions; 409 when a version
    has no reference profile (registered without data)."""
    body = body or DriftRunIn()
    reports = service.evaluate(model, body.since, body.until, version=body.version, trigger="api", actor=actor)
    return DriftRunsOut(runs=[_run(r, full=True) for r in reports])


@router.get("/drift/{model}/settings", dependencies=[CAN_READ], responses=error_responses(404))
def get_drift_settings(model: NamePath, registry: RegistryDep) -> DriftSettingsOut:
    """How drift of `model` is decided (the defaults when never set)."""
    registry.get_model(model)
    return DriftSettingsOut(model=model, **store.get_config(registry.db, model).to_dict())


@router.put("/drift/{model}/settings", dependencies=[CAN_RUN], responses=error_responses(404))
def put_drift_settings(
    model: NamePath, body: DriftSettingsIn, registry: RegistryDep, actor: ActorDep
) -> DriftSettingsOut:
    """Replace the drift settings of `model`; writes a `drift.settings` audit event."""
    registry.get_model(model)
    config = DriftConfig.from_dict(body.model_dump())
    store.set_config(registry.db, model, config, actor=actor, source="api")
    return DriftSettingsOut(model=model, **config.to_dict())


__all__ = ["DriftDep", "drift_of", "router"]
