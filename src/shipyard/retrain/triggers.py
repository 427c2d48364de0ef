"""When a policy's triggers fire: pure checks over the evidence (drift results, live quality, the clock).

Evidence counts only when it is newer than the model's last run, so one drift episode starts one
run, not one per check; and no automatic run starts within the policy's cooldown of the last one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .policy import (
    DriftTrigger,
    FeatureDriftTrigger,
    QualityTrigger,
    RetrainPolicy,
    ScheduleTrigger,
    Trigger,
    duration_seconds,
)


@dataclass(frozen=True)
class Fired:
    """A trigger that fired, with the evidence: it becomes the run's `trigger` record."""

    kind: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, **self.evidence}


@dataclass(frozen=True)
class DriftEvidence:
    """The latest drift result of the model's version under watch, as the drift job stored it."""

    version: int | None
    computed_at: datetime
    dataset_drift: bool
    share: float
    """Share of the features that drifted, 0..1."""
    drifted_features: frozenset[str]
    window: str = ""


@dataclass(frozen=True)
class QualityEvidence:
    """The latest live quality of the model's version under watch, as the quality job stored it."""

    version: int
    computed_at: datetime
    labelled: int
    metrics: Mapping[str, float]


def manual(actor: str) -> Fired:
    return Fired("manual", f"started by {actor}", {"by": actor})


def in_cooldown(policy: RetrainPolicy, last_started: datetime | None, now: datetime) -> bool:
    return last_started is not None and now - last_started < timedelta(seconds=duration_seconds(policy.cooldown))


def check_drift(trigger: DriftTrigger, drift: DriftEvidence | None, since: datetime | None) -> Fired | None:
    if drift is None or not _newer(drift.computed_at, since) or not drift.dataset_drift:
        return None
    if drift.share < trigger.min_share:
        return None
    return Fired(
        "drift",
        f"dataset drift on v{drift.version}: {drift.share:.0%} of the features drifted"
        f"{f' over {drift.window}' if drift.window else ''}",
        _drift_evidence(drift),
    )


def check_feature_drift(
    trigger: FeatureDriftTrigger, drift: DriftEvidence | None, since: datetime | None
) -> Fired | None:
    if drift is None or not _newer(drift.computed_at, since) or trigger.feature not in drift.drifted_features:
        return None
    evidence = {**_drift_evidence(drift), "feature": trigger.feature}
    return Fired("feature_drift", f"feature {trigger.feature!r} drifted on v{drift.version}", evidence)


def _drift_evidence(drift: DriftEvidence) -> dict[str, Any]:
    return {
        "version": drift.version,
        "computed_at": drift.computed_at.isoformat(),
        "share": drift.share,
        "drifted_features": sorted(drift.drifted_features),
        "window": drift.window,
    }


def check_quality(trigger: QualityTrigger, quality: QualityEvidence | None, since: datetime | None) -> Fired | None:
    if quality is None or not _newer(quality.computed_at, since) or trigger.metric not in quality.metrics:
        return None
    value, rows = quality.metrics[trigger.metric], quality.labelled
    if rows < trigger.min_rows:
        return None
    if trigger.below is not None and value < trigger.below:
        relation = f"below {trigger.below:g}"
    elif trigger.above is not None and value > trigger.above:
        relation = f"above {trigger.above:g}"
    else:
        return None
    evidence = {
        "metric": trigger.metric,
        "value": value,
        "rows": rows,
        "threshold": relation,
        "version": quality.version,
        "computed_at": quality.computed_at.isoformat(),
    }
    return Fired(
        "quality", f"{trigger.metric} of v{quality.version} is {value:.4f} on {rows} labelled predictions, {relation}",
        evidence,
    )  # fmt: skip


def check_schedule(trigger: ScheduleTrigger, last_fired: datetime, now: datetime) -> Fired | None:
    """Fires once when a time of the cron schedule has passed since `last_fired` (missed times fold into one)."""
    from croniter import croniter

    due: datetime = croniter(trigger.cron, last_fired).get_next(datetime)
    if due > now:
        return None
    return Fired(
        "schedule", f"scheduled ({trigger.cron}) for {due.isoformat()}", {"cron": trigger.cron, "due": due.isoformat()}
    )


def _newer(at: datetime, since: datetime | None) -> bool:
    return since is None or at > since


def first_fired(
    triggers: Sequence[Trigger],
    *,
    drift: DriftEvidence | None,
    quality: QualityEvidence | None,
    last_started: datetime | None,
    last_scheduled: datetime,
    now: datetime,
) -> Fired | None:
    """The first of `triggers` that fires, given the latest evidence and the model's last runs."""
    for trigger in triggers:
        fired: Fired | None
        if isinstance(trigger, DriftTrigger):
            fired = check_drift(trigger, drift, last_started)
        elif isinstance(trigger, FeatureDriftTrigger):
            fired = check_feature_drift(trigger, drift, last_started)
        elif isinstance(trigger, QualityTrigger):
            fired = check_quality(trigger, quality, last_started)
        else:
            fired = check_schedule(trigger, last_scheduled, now)
        if fired is not None:
            return fired
    return None


__all__ = [
    "DriftEvidence",
    "Fired",
    "QualityEvidence",
    "check_drift",
    "check_feature_drift",
    "check_quality",
    "check_schedule",
    "first_fired",
    "in_cooldown",
    "manual",
]
