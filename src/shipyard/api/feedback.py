"""`/feedback` (ground truth for logged predictions) and `/quality` (the figures it yields).

Posting feedback needs `feedback.write`; a key limited to some models may label only their
predictions (the model is known only once the body is read, so it is checked here). Reading
quality needs `monitoring.read`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ..registry.uri import NAME_PATTERN
from ..security.access import authorize
from ..security.permissions import Action
from .deps import ActorDep, RegistryDep, principal_of, require
from .errors import error_responses
from .logs import MonitoringDep, Since, Until, json_safe
from .params import NamePath
from .schemas import UtcTime, _Out

router = APIRouter(tags=["monitoring"])
CAN_READ = Depends(require(Action.MONITORING_READ))
CAN_SEND = Depends(require(Action.FEEDBACK_WRITE))

Label = Annotated[
    bool | int | float | str,
    Field(description="The true class (text, integer, bool) or value (number)", examples=[1, "churned", 3.5]),
]


class FeedbackItemIn(BaseModel):
    # Not the strict `_In` (whose strict mode would turn JSON 1 into an error for a float|int union):
    # each item is checked again, and named `items[i]…`, by `monitoring.feedback.parse_feedback`.
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=128, description="The id the inference response carried.")
    label: Label
    row: int = Field(0, ge=0, le=2**31 - 1, description="The row of the request the label is for (default 0).")
    model: str | None = Field(None, pattern=NAME_PATTERN.pattern, description="Optional: else found in the log.")


class FeedbackOut(_Out):
    stored: int = Field(description="Labels written (new or replacing).")
    replaced: int = Field(description="Of those, labels that replaced an earlier one for the same row.")


class QualityWindowOut(_Out):
    version: int
    start: UtcTime
    end: UtcTime
    task: str = Field(examples=["classification", "regression"])
    labelled: int = Field(description="Labelled predictions the figures rest on.")
    metrics: dict[str, float] = Field(description="accuracy, precision, recall, f1, roc_auc, log_loss | mae, rmse, r2")


class QualityOut(_Out):
    model: str
    windows: list[QualityWindowOut]


class LatestQualityOut(_Out):
    model: str
    version: int
    task: str
    window_start: UtcTime
    window_end: UtcTime
    labelled: int
    coverage: float = Field(description="Share of the window's logged rows that have a label.")
    metrics: dict[str, float]
    computed_at: UtcTime


@router.post("/feedback", dependencies=[CAN_SEND], responses=error_responses(404))
def post_feedback(
    request: Request,
    monitoring: MonitoringDep,
    actor: ActorDep,
    items: Annotated[list[FeedbackItemIn], Body(description="Labels: `[{request_id, label, row?, model?}]`.")],
    model: Annotated[
        str | None, Query(pattern=NAME_PATTERN.pattern, description="The model of items that do not name one.")
    ] = None,
) -> FeedbackOut:
    """Store ground-truth labels; a label for a row already labelled replaces it (and is counted)."""
    principal = principal_of(request)

    def check(name: str) -> None:
        if principal is not None:
            authorize(principal, Action.FEEDBACK_WRITE, name)

    raw = [item.model_dump(exclude_none=True) for item in items]
    result = monitoring.submit_feedback(raw, actor=actor, model=model, authorize=check)
    return FeedbackOut(**result.to_dict())


@router.get("/quality", dependencies=[CAN_READ], responses=error_responses())
def latest_quality(monitoring: MonitoringDep) -> list[LatestQualityOut]:
    """The latest figures of every model version, as the quality job last computed them."""
    return [LatestQualityOut.model_validate(json_safe(row)) for row in monitoring.latest_quality()]


@router.get("/quality/{model}", dependencies=[CAN_READ], responses=error_responses(404))
def model_quality(
    model: NamePath,
    registry: RegistryDep,
    monitoring: MonitoringDep,
    since: Since,
    until: Until = None,
    window: Annotated[str | None, Query(max_length=32, description="Split into windows: `1h`, `1d`, …")] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    task: Annotated[Literal["classification", "regression"] | None, Query()] = None,
) -> QualityOut:
    """Quality of the labelled predictions of `model` per version (and window), computed now."""
    registry.get_model(model)
    windows = monitoring.quality(model, since, until, window=window, version=version, task=task)
    return QualityOut(model=model, windows=[QualityWindowOut.model_validate(w.to_dict()) for w in windows])


__all__ = ["router"]
