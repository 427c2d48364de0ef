"""What an alert rule is: its kind, what it watches and the figures it compares — checked once, here,
for the API, the CLI and Python alike.

| kind | fires when | figures |
|---|---|---|
| `drift_share` | the latest drift run's share of drifted features is above `threshold` (0-1) | drift results |
| `feature_drift` | `feature` drifted in the latest run (or its score passed `threshold`) | drift results |
| `quality` | quality `metric` is below `threshold` (above, for error metrics such as `rmse`) | quality results |
| `error_rate` | failed / all requests over `window_minutes` is above `threshold` (0-1) | request figures |
| `latency_p99` | the 99th percentile of latency over `window_minutes` is above `threshold` ms | request figures |
| `no_traffic` | no request at all for `window_minutes` | request figures |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ...errors import ValidationFailed
from ..quality import CLASSIFICATION_METRICS, REGRESSION_METRICS

RuleKind = Literal["drift_share", "feature_drift", "quality", "error_rate", "latency_p99", "no_traffic"]
KINDS: tuple[str, ...] = RuleKind.__args__  # type: ignore[attr-defined]  # a Literal's values
QUALITY_METRICS = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})
TRAFFIC_KINDS = frozenset({"error_rate", "latency_p99", "no_traffic"})
_NEEDS_THRESHOLD = {"drift_share", "quality", "error_rate", "latency_p99"}
_FRACTION = {"drift_share", "error_rate"}
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SUBJECT = r"^(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,127})$"


def _problem(message: str) -> PydanticCustomError:
    # A custom error keeps the message as written (a ValueError would read "Value error, ...").
    return PydanticCustomError("alert_rule", message)


class RuleSpec(BaseModel):
    """An alert rule as a user writes it. Unknown fields, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(pattern=_NAME, description="Unique; letters, digits, `_ . -`.")
    kind: RuleKind
    subject: str = Field("*", pattern=_SUBJECT, description="A model or deployment name, or `*` for each.")
    threshold: float | None = Field(
        None,
        ge=0,
        validate_default=True,
        description="drift_share and error_rate: a fraction 0-1; latency_p99: milliseconds; quality: the metric's "
        "value; feature_drift: the deciding method's score, a p-value for ks/chisquare (optional: default is the "
        "drift run's own verdict).",
    )
    window_minutes: int = Field(5, ge=1, le=7 * 24 * 60, description="Traffic rules: the window looked at.")
    feature: str | None = Field(None, min_length=1, max_length=256, validate_default=True)
    metric: str | None = Field(
        None, validate_default=True, description=f"quality: one of {', '.join(QUALITY_METRICS)}."
    )
    direction: Literal["above", "below"] | None = Field(
        None,
        description="quality: fire when the metric is below (default; above for log_loss, mae, rmse) the threshold.",
    )
    min_requests: int = Field(
        10, ge=0, le=10**9, description="error_rate, latency_p99: judge only windows with this many."
    )
    errors: Literal["all", "server"] = Field(
        "all", description="error_rate: count every failure, or server errors only."
    )
    severity: Literal["info", "warning", "critical"] = "warning"
    cooldown_seconds: int | None = Field(None, ge=0, le=7 * 86_400, description="Default: the server's.")
    notify: list[str] = Field(default_factory=list, max_length=10, description="`log` and/or webhook URLs.")
    enabled: bool = True
    description: str | None = Field(None, max_length=1000)

    @field_validator("threshold")
    @classmethod
    def _check_threshold(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if value is None and kind in _NEEDS_THRESHOLD:
            raise _problem(f"required for a {kind} rule")
        if value is not None and kind == "no_traffic":
            raise _problem("a no_traffic rule has no threshold: set window_minutes")
        if value is not None and kind in _FRACTION and value > 1:
            raise _problem(f"a {kind} rule's threshold is a fraction between 0 and 1, not {value}")
        if value is not None and kind == "latency_p99" and value <= 0:
            raise _problem("a latency_p99 threshold is a positive number of milliseconds")
        return value

    @field_validator("feature")
    @classmethod
    def _check_feature(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if value is None and kind == "feature_drift":
            raise _problem("required for a feature_drift rule: the feature's name")
        if value is not None and kind != "feature_drift":
            raise _problem(f"only a feature_drift rule names a feature, not a {kind} rule")
        return value

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if value is None and kind == "quality":
            raise _problem(f"required for a quality rule: one of {', '.join(QUALITY_METRICS)}")
        if value is not None and kind != "quality":
            raise _problem(f"only a quality rule names a metric, not a {kind} rule")
        if value is not None and value not in QUALITY_METRICS:
            raise _problem(f"{value!r} is not one of {', '.join(QUALITY_METRICS)}")
        return value

    @field_validator("notify")
    @classmethod
    def _check_notify(cls, value: list[str]) -> list[str]:
        for target in value:
            if target != "log" and (target.split("://", 1)[0] not in ("http", "https") or "://" not in target):
                raise _problem(f"{target!r} is neither `log` nor an http(s) webhook URL")
        return value

    def fires_below(self) -> bool:
        """quality rules: whether a value under the threshold is the bad side."""
        if self.direction is not None:
            return self.direction == "below"
        return self.metric not in LOWER_IS_BETTER


def parse_rule(data: Any) -> RuleSpec:
    """A `RuleSpec` from user data, or `ValidationFailed` naming every bad field."""
    if isinstance(data, RuleSpec):
        return data
    try:
        return RuleSpec.model_validate(data)
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]) or "rule", e["msg"]) for e in exc.errors()]
        raise ValidationFailed(problems) from None


@dataclass(frozen=True)
class Rule:
    """A stored rule."""

    id: int
    spec: RuleSpec
    created_at: datetime
    created_by: str

    @property
    def name(self) -> str:
        return self.spec.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.model_dump(),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


__all__ = ["KINDS", "LOWER_IS_BETTER", "QUALITY_METRICS", "TRAFFIC_KINDS", "Rule", "RuleKind", "RuleSpec", "parse_rule"]
