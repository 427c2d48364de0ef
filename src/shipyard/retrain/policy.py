"""A model's retraining policy: what triggers a run, how to train, on which data, how to judge and roll out.

A policy is a small document (YAML, JSON or a dict) checked here in full before anything is stored;
every problem names its field (`triggers.1.cron: '61 * * * *' is not a cron expression …`).

    trainer:    {entry_point: "churn.train:train", timeout: 30m}     # or {command: "python train.py"}
    data:       {log_period: 7d, dataset: s3://bucket/churn/, label: churned}
    evaluation: {metric: roc_auc, margin: 0.01, holdout: 0.2}
    triggers:   [{kind: drift}, {kind: quality, metric: accuracy, below: 0.8}, {kind: schedule, cron: "0 3 * * 1"}]
    rollout:    {mode: canary, steps: [10, 50, 100], interval: 10m}
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..deployments import RolloutPolicy
from ..deployments.inputs import check_policy
from ..errors import ValidationFailed, closest
from ..monitoring.quality import CLASSIFICATION_METRICS, REGRESSION_METRICS

LOWER_IS_BETTER = frozenset({"mae", "rmse", "log_loss"})
"""Metrics where a smaller figure is the better model; every other known metric is better higher."""
METRICS = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS)
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_ENTRY_POINT = re.compile(r"^(?P<module>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*):(?P<function>[A-Za-z_][\w]*)$")


def duration_seconds(value: str | float) -> float:
    """`"30s"`, `"10m"`, `"1h"`, `"7d"`, `"2w"` or a number of seconds → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a duration (a number of seconds ≥ 0, or 30s, 10m, 1h, 7d, 2w)")
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration such as 30s, 10m, 1h, 7d or 2w")
    return float(match["n"]) * _UNIT_SECONDS[match["unit"]]


def _check_duration(value: object) -> object:
    # Before the str | float union: one clear message instead of one per member of the union.
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration such as 30s, 10m, 1h, 7d or 2w")
    duration_seconds(value)
    return value


Duration = Annotated[str | float, BeforeValidator(_check_duration)]
"""A duration as written (`"10m"`, or seconds), validated; read it with `duration_seconds`."""


def check_metric(metric: str, task: str | None = None) -> str:
    """`metric` if Shipyard computes it (for `task`, when given); else ValueError naming the known ones."""
    known = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}.get(task or "", METRICS)
    if metric not in known:
        hint = closest(metric, known)
        near = f" (closest: {', '.join(hint)})" if hint else ""
        for_task = f" for {task}" if task else ""
        raise ValueError(f"unknown metric {metric!r}{for_task}{near}; known: {', '.join(known)}")
    return metric


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trainer(_Strict):
    entry_point: str | None = None
    """`package.module:function`, called as `function(frame, params)` → `model` or `(model, metrics)`."""
    command: str | None = None
    """A shell command; it reads `$SHIPYARD_RETRAIN_DIR/train.parquet` and writes `model.<ext>` there."""
    workdir: str | None = None
    """Working folder of the trainer (default: that of the process running the retraining)."""
    timeout: Duration = "1h"

    @field_validator("entry_point")
    @classmethod
    def _check_entry_point(cls, value: str | None) -> str | None:
        if value is not None and _ENTRY_POINT.match(value) is None:
            raise ValueError(f"{value!r} is not `package.module:function`")
        return value

    @field_validator("command")
    @classmethod
    def _check_command(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\x00" in value):
            raise ValueError("must be a non-empty shell command")
        return value

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: str | float) -> str | float:
        if not 0 < duration_seconds(value) <= 7 * 86_400:
            raise ValueError(f"{value!r} must be more than 0 and at most 7d")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> Trainer:
        if (self.entry_point is None) == (self.command is None):
            raise ValueError("set exactly one of entry_point (package.module:function) or command (a shell command)")
        return self


class DataWindow(_Strict):
    log_period: Duration | None = None
    """Predictions logged over this last period that have feedback, joined with it (e.g. `7d`)."""
    dataset: str | None = None
    """A Parquet or CSV file, a folder of them, or a URL (`s3://bucket/prefix/`) with labelled rows."""
    label: str = Field("label", min_length=1, max_length=256)
    """The dataset's label column (the prediction log's ground truth is always `label`)."""
    time_column: str | None = Field(None, min_length=1, max_length=256)
    """A column ordering the dataset's rows in time; without one, file order is time order."""
    features: tuple[str, ...] | None = None
    """The model's input columns; default: the production version's signature inputs."""
    min_rows: int = Field(50, ge=2, le=10**9)
    """A run with fewer labelled rows in its window fails instead of training on too little."""

    @field_validator("dataset")
    @classmethod
    def _check_dataset(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\x00" in value):
            raise ValueError("must be a file, folder or URL")
        return value

    @model_validator(mode="after")
    def _some_source(self) -> DataWindow:
        if self.log_period is None and self.dataset is None:
            raise ValueError("set log_period (e.g. 7d: the prediction log joined with feedback), dataset, or both")
        if self.log_period is not None and duration_seconds(self.log_period) <= 0:
            raise ValueError("log_period must be longer than 0")
        return self


class Evaluation(_Strict):
    metric: str | None = None
    """The metric that decides (default: accuracy for classification, rmse for regression)."""
    margin: float = Field(0.0, ge=0, allow_inf_nan=False)
    """The challenger must beat the champion by more than 0 and at least this much on `metric`."""
    holdout: float = Field(0.2, gt=0, le=0.9, allow_inf_nan=False)
    """Fraction of the window, the most recent rows, kept out of training to compare both models on."""
    task: Literal["classification", "regression"] | None = None
    """Default: classification when the production model has `predict_proba`, else regression."""

    @model_validator(mode="after")
    def _known_metric(self) -> Evaluation:
        if self.metric is not None:
            check_metric(self.metric, self.task)
        return self


class DriftTrigger(_Strict):
    kind: Literal["drift"]
    min_share: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)
    """Fire only when at least this share of the features drifted (besides the dataset-drift verdict)."""


class FeatureDriftTrigger(_Strict):
    kind: Literal["feature_drift"]
    feature: str = Field(min_length=1, max_length=256)


class QualityTrigger(_Strict):
    kind: Literal["quality"]
    metric: str
    below: float | None = Field(None, allow_inf_nan=False)
    above: float | None = Field(None, allow_inf_nan=False)
    min_rows: int = Field(50, ge=1, le=10**9)
    """Fewer labelled predictions than this behind the figure: too little to judge, the trigger does not fire."""

    @model_validator(mode="after")
    def _threshold(self) -> QualityTrigger:
        check_metric(self.metric)
        if (self.below is None) == (self.above is None):
            raise ValueError(f"set exactly one of below or above (e.g. {self.metric} below 0.8)")
        lower_better = self.metric in LOWER_IS_BETTER
        if lower_better and self.below is not None:
            raise ValueError(f"lower {self.metric} is better: fire when it goes `above` a threshold")
        if not lower_better and self.above is not None:
            raise ValueError(f"higher {self.metric} is better: fire when it goes `below` a threshold")
        return self


def _check_cron(value: str) -> str:
    from croniter import croniter

    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(f"{value!r} is not a cron expression of 5 fields (minute hour day month weekday), in UTC")
    return value


class ScheduleTrigger(_Strict):
    kind: Literal["schedule"]
    cron: Annotated[str, AfterValidator(_check_cron)]
    """Standard 5-field cron, in UTC: `0 3 * * 1` is Mondays at 03:00."""


Trigger = Annotated[DriftTrigger | FeatureDriftTrigger | QualityTrigger | ScheduleTrigger, Field(discriminator="kind")]


class Rollout(_Strict):
    mode: Literal["none", "staging", "shadow", "canary"] = "staging"
    """What an accepted challenger gets: nothing more, the `alias`, a shadow arm or a canary."""
    alias: str = Field("staging", min_length=1, max_length=64)
    deployment: str | None = Field(None, min_length=1, max_length=128)
    """The deployment to roll out on (shadow, canary); default: the model's name, created from its
    production version when it does not exist yet."""
    steps: tuple[float, ...] = (10.0, 50.0, 100.0)
    """Canary: the challenger's share of traffic at each step, in percent, ending at 100."""
    interval: Duration = "10m"
    """Canary: how long each step must stay healthy before the next."""
    percent: float = Field(100.0, gt=0, le=100, allow_inf_nan=False)
    """Shadow: the share of requests mirrored to the challenger."""
    max_error_rate: float | None = Field(None, allow_inf_nan=False)
    max_p99_ratio: float | None = Field(None, allow_inf_nan=False)
    max_quality_drop: float | None = Field(None, allow_inf_nan=False)
    min_requests: int | None = None
    """Canary guards, as `shipyard deploy canary` takes them; unset: the deployment service's defaults."""

    def canary_policy(self) -> RolloutPolicy:
        guards = {
            k: v
            for k in ("max_error_rate", "max_p99_ratio", "max_quality_drop", "min_requests")
            if (v := getattr(self, k)) is not None
        }
        policy = RolloutPolicy(steps=self.steps, interval_seconds=duration_seconds(self.interval), **guards)
        return check_policy(policy)

    @model_validator(mode="after")
    def _check_canary(self) -> Rollout:
        try:
            self.canary_policy()  # the deployment service's own checks, so a policy cannot fail at rollout
        except ValidationFailed as exc:
            raise ValueError("; ".join(f"{field}: {message}" for field, message in exc.problems)) from None
        return self


class RetrainPolicy(_Strict):
    """One model's retraining policy, validated (build it with `parse_policy`)."""

    trainer: Trainer
    data: DataWindow
    evaluation: Evaluation = Evaluation()
    triggers: tuple[Trigger, ...] = ()
    rollout: Rollout = Rollout()
    cooldown: Duration = "1h"
    """No automatic run starts within this long after the last run of the model began."""
    enabled: bool = True
    """Off: triggers are not checked; manual runs still work."""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _field(loc: tuple[int | str, ...]) -> str:
    # pydantic names the member of a tagged union (`triggers.0.schedule.cron`); the user wrote `triggers.0.cron`
    parts = [str(p) for p in loc if str(p) not in ("drift", "feature_drift", "quality", "schedule")]
    return ".".join(parts) or "policy"


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_invalid":
        return "unknown trigger kind; use drift, feature_drift, quality or schedule"
    if kind == "union_tag_not_found":
        return "each trigger needs a kind: drift, feature_drift, quality or schedule"
    if kind == "finite_number":
        return "must be a finite number (not NaN or infinity)"
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


def parse_policy(document: object, *, check_imports: bool = True) -> RetrainPolicy:
    """Validate a policy document (a mapping, as read from YAML or JSON) into a `RetrainPolicy`.

    Raises `ValidationFailed` listing every problem with its field. With `check_imports`, an entry
    point's module must be importable here (its function is looked up when a run starts).
    """
    if isinstance(document, RetrainPolicy):
        policy = document
    elif not isinstance(document, Mapping):
        raise ValidationFailed([("policy", f"must be a mapping of settings, not {type(document).__name__}")])
    else:
        try:
            policy = RetrainPolicy.model_validate(dict(document))
        except ValidationError as exc:
            raise ValidationFailed([(_field(tuple(e["loc"])), _message(e)) for e in exc.errors()]) from None
    if check_imports and policy.trainer.entry_point is not None:
        _check_importable(policy.trainer.entry_point)
    return policy


def _check_importable(entry_point: str) -> None:
    module = entry_point.split(":", 1)[0]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing or fails to import
        found = False
    if not found:
        raise ValidationFailed(
            [("trainer.entry_point", f"module {module!r} cannot be found on the Python path of this process")]
        )


def parse_policy_text(text: str, *, check_imports: bool = True) -> RetrainPolicy:
    """A policy from YAML (JSON is YAML too); `ValidationFailed` on a syntax error, naming the line."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed([("policy", f"not valid YAML{where}: {problem}")]) from None
    return parse_policy(document, check_imports=check_imports)


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


__all__ = [
    "LOWER_IS_BETTER",
    "METRICS",
    "DataWindow",
    "DriftTrigger",
    "Duration",
    "Evaluation",
    "FeatureDriftTrigger",
    "QualityTrigger",
    "RetrainPolicy",
    "Rollout",
    "ScheduleTrigger",
    "Trainer",
    "Trigger",
    "check_metric",
    "duration_seconds",
    "higher_is_better",
    "parse_policy",
    "parse_policy_text",
]
