"""The canary controller: advance a healthy canary step by step, roll a failing one back at once.

`judge` is the whole decision, a pure function of the rollout and the figures of the stable and
canary arms since the current step began (summed over every worker and replica). The
`CanaryController` reads those figures, applies the verdict through the service (a change of the
revision it judged, so a manual command issued meanwhile wins) and fires an alert on a rollback.
The server runs it as a background job on exactly one worker of all replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from ..errors import Conflict, NotFound
from ..monitoring.alerting import Alert, AlertSink, LogAlertSink
from ..store.tables import utcnow
from .figures import ArmFigures
from .samples import prune_samples, read_samples
from .service import DeploymentService
from .spec import Deployment, Rollout, arm_label

logger = logging.getLogger(__name__)

CONTROLLER_ACTOR = "shipyard:canary-controller"
ALERT_RULE = "deployment.rollback"


class QualityProbe(Protocol):
    def __call__(self, deployment: str, version: int, since: datetime) -> float | None:
        """Quality of `version`'s answers on `deployment` since `since` (higher is better, e.g. accuracy,
        or −RMSE), from ground-truth feedback; None when there is not enough feedback to say."""


@dataclass(frozen=True)
class Verdict:
    action: Literal["hold", "advance", "rollback"]
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _figures(
    rollout: Rollout, stable: ArmFigures, canary: ArmFigures, quality: tuple[float | None, float | None]
) -> dict[str, Any]:
    policy = rollout.policy
    return {
        "step": rollout.step + 1,
        "weight": rollout.weight,
        "canary": {"version": rollout.canary_version, **canary.summary()},
        "stable": {"version": rollout.stable_version, **stable.summary()},
        "quality": {"stable": quality[0], "canary": quality[1]},
        "limits": {
            "max_error_rate": policy.max_error_rate,
            "max_p99_ratio": policy.max_p99_ratio,
            "max_quality_drop": policy.max_quality_drop,
            "min_requests": policy.min_requests,
        },
    }


def _breach(
    rollout: Rollout, stable: ArmFigures, canary: ArmFigures, quality: tuple[float | None, float | None]
) -> str | None:
    """Why the canary must go, or None. Judged only once the canary has `min_requests` in this step."""
    policy = rollout.policy
    if canary.requests < policy.min_requests:
        return None
    rate = canary.error_rate or 0.0
    if policy.max_error_rate is not None and rate > policy.max_error_rate:
        return (
            f"error rate {rate:.4f} > {policy.max_error_rate:g} "
            f"({canary.errors} errors in {canary.requests} requests of v{rollout.canary_version})"
        )
    canary_p99, stable_p99 = canary.quantile(0.99), stable.quantile(0.99)
    if (
        policy.max_p99_ratio is not None
        and stable.requests >= policy.min_requests
        and canary_p99 is not None
        and stable_p99 is not None
        and canary_p99 > policy.max_p99_ratio * stable_p99
        and (canary_p99 - stable_p99) * 1000 >= policy.min_p99_delta_ms
    ):
        return (
            f"p99 latency {canary_p99 * 1000:.1f} ms > {policy.max_p99_ratio:g} × the stable arm's "
            f"{stable_p99 * 1000:.1f} ms"
        )
    stable_q, canary_q = quality
    if policy.max_quality_drop is not None and stable_q is not None and canary_q is not None:
        if stable_q - canary_q > policy.max_quality_drop:
            drop = stable_q - canary_q
            return (
                f"quality {canary_q:.4f} is {drop:.4f} below the stable arm's {stable_q:.4f} "
                f"(limit {policy.max_quality_drop:g})"
            )
    return None


def judge(
    rollout: Rollout,
    stable: ArmFigures,
    canary: ArmFigures,
    now: datetime,
    quality: tuple[float | None, float | None] = (None, None),
) -> Verdict:
    """Roll back on a breach (even while paused); advance once the step has lasted its interval healthily
    with at least `min_requests` canary requests; otherwise hold."""
    figures = _figures(rollout, stable, canary, quality)
    breach = _breach(rollout, stable, canary, quality)
    if breach is not None:
        return Verdict("rollback", breach, figures)
    if rollout.state == "paused":
        return Verdict("hold", "paused", figures)
    elapsed = (now - rollout.step_started_at).total_seconds()
    if elapsed < rollout.policy.interval_seconds:
        return Verdict(
            "hold",
            f"step {rollout.step + 1} healthy for {elapsed:.0f} s of {rollout.policy.interval_seconds:g} s",
            figures,
        )
    if canary.requests < rollout.policy.min_requests:
        return Verdict(
            "hold", f"waiting for {rollout.policy.min_requests} canary requests ({canary.requests} so far)", figures
        )
    return Verdict("advance", f"step {rollout.step + 1} healthy for {elapsed:.0f} s", figures)


class CanaryController:
    """Applies `judge` to every active rollout; fires an alert through `alerts` when it rolls one back."""

    def __init__(
        self,
        service: DeploymentService,
        *,
        alerts: AlertSink | None = None,
        quality: QualityProbe | None = None,
        retention_hours: float = 24.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.service = service
        self.alerts: AlertSink = alerts or LogAlertSink()
        self.quality = quality
        self.retention = timedelta(hours=retention_hours)
        self.clock = clock
        self._pruned_at: datetime | None = None

    def run_once(self) -> dict[str, Verdict]:
        """Judge every active rollout once; deployment name → verdict. (The server's job calls this.)"""
        verdicts = {}
        for deployment in self.service.list():
            if deployment.rollout is not None and deployment.rollout.active:
                verdicts[deployment.name] = self.check(deployment)
        self._prune()
        return verdicts

    def check(self, deployment: Deployment) -> Verdict:
        rollout = deployment.rollout
        assert rollout is not None  # only active rollouts are checked
        samples = read_samples(self.service.db, deployment.name, rollout.step_started_at)
        stable = samples.get(arm_label(rollout.stable_version))
        canary = samples.get(arm_label(rollout.canary_version))
        verdict = judge(
            rollout,
            stable.figures if stable else ArmFigures(),
            canary.figures if canary else ArmFigures(),
            self.clock(),
            self._quality(deployment.name, rollout),
        )
        try:
            self._apply(deployment, verdict)
        except (Conflict, NotFound) as exc:  # changed or deleted meanwhile: judge it again next time
            logger.info("canary of %s: %s", deployment.name, exc)
        return verdict

    def _quality(self, name: str, rollout: Rollout) -> tuple[float | None, float | None]:
        if self.quality is None or rollout.policy.max_quality_drop is None:
            return None, None
        since = rollout.step_started_at
        try:
            return self.quality(name, rollout.stable_version, since), self.quality(name, rollout.canary_version, since)
        except Exception:  # a broken quality source must not stop the other guards
            logger.exception("quality probe failed for %s", name)
            return None, None

    def _apply(self, deployment: Deployment, verdict: Verdict) -> None:
        name, revision = deployment.name, deployment.revision
        if verdict.action == "advance":
            self.service.advance(name, figures=verdict.figures, expect_revision=revision, actor=CONTROLLER_ACTOR)
            logger.info("canary of %s advanced: %s", name, verdict.reason)
        elif verdict.action == "rollback":
            self.service.rollback(
                name, reason=verdict.reason, figures=verdict.figures, expect_revision=revision, actor=CONTROLLER_ACTOR
            )
            rollout = deployment.rollout
            assert rollout is not None
            self.alerts.fire(
                Alert(
                    ALERT_RULE,
                    name,
                    f"canary v{rollout.canary_version} of {name} rolled back to v{rollout.stable_version}: "
                    + verdict.reason,
                    "critical",
                    verdict.figures,
                )
            )

    def _prune(self) -> None:
        now = self.clock()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(minutes=10):
            return
        self._pruned_at = now
        removed = prune_samples(self.service.db, now - self.retention)
        if removed:
            logger.info("deleted %d per-arm samples older than %s", removed, self.retention)


__all__ = ["ALERT_RULE", "CONTROLLER_ACTOR", "CanaryController", "QualityProbe", "Verdict", "judge"]
