"""The rule kinds: each one a small pure function from a rule and the current figures to its findings.

A finding is one subject (model, deployment or endpoint) over the line, with the number that put it
there; no finding means the rule does not fire (and an earlier alert of it resolves). A rule on `*`
is judged per subject: every model with drift or quality results, every endpoint with traffic.
Comparisons are strict: a figure equal to its threshold does not fire.

To add a kind: write `def my_kind(rule, figures, now) -> list[Finding]`, add it to `KIND_FUNCTIONS`
and to `rules.RuleKind` (with its checks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..metrics.figures import DriftFigures, QualityFigure
from ..metrics.traffic import Traffic
from .rules import Rule


@dataclass(frozen=True)
class Finding:
    subject: str
    value: float
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class Figures(Protocol):
    def traffic(self, subject: str | None, since: datetime) -> Mapping[str, Traffic]:
        """Request figures per endpoint since `since`; `subject` limits them to that model or endpoint."""

    def drift(self) -> Sequence[DriftFigures]: ...

    def quality(self) -> Sequence[QualityFigure]: ...


KindFunction = Callable[[Rule, Figures, datetime], list[Finding]]


def _latest_per_model(runs: Iterable[Any], subject: str) -> list[Any]:
    """The most recent of `runs` (drift results or quality figures) per model, limited to `subject`."""
    latest: dict[str, Any] = {}
    for run in runs:
        if subject != "*" and run.model != subject:
            continue
        if run.model not in latest or run.computed_at > latest[run.model].computed_at:
            latest[run.model] = run
    return [latest[m] for m in sorted(latest)]


def drift_share(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    threshold = float(rule.spec.threshold or 0.0)
    return [
        Finding(
            run.model,
            run.share,
            f"{run.share:.0%} of the features of {run.model} v{run.version} drifted (threshold {threshold:.0%})",
            {
                "version": run.version,
                "share": run.share,
                "threshold": threshold,
                "computed_at": run.computed_at.isoformat(),
                "drifted": [f.feature for f in run.features if f.drifted and f.role == "input"],
                "drifted_predictions": [f.feature for f in run.features if f.drifted and f.role == "prediction"],
            },
        )
        for run in _latest_per_model(figures.drift(), rule.spec.subject)
        if run.share > threshold
    ]


def feature_drift(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    spec, found = rule.spec, []
    for run in _latest_per_model(figures.drift(), spec.subject):
        feature = next((f for f in run.features if f.feature == spec.feature), None)
        if feature is None:
            continue
        fired = feature.drifted if spec.threshold is None else feature.beyond(spec.threshold)
        if fired:
            side = "below" if feature.lower_is_drift else "over"
            limit = f"{side} its threshold" if spec.threshold is None else f"{side} {spec.threshold:g}"
            found.append(
                Finding(
                    run.model,
                    feature.score,
                    f"feature {feature.feature} of {run.model} v{run.version} drifted: {feature.method} "
                    f"{feature.score:.4g} ({limit})",
                    {
                        "version": run.version,
                        "feature": feature.feature,
                        "method": feature.method,
                        "score": feature.score,
                        "threshold": spec.threshold if spec.threshold is not None else feature.threshold,
                    },
                )
            )
    return found


def quality(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    spec, found = rule.spec, []
    threshold, below = float(spec.threshold or 0.0), spec.fires_below()
    wanted = (f for f in figures.quality() if f.metric == spec.metric)
    for figure in _latest_per_model(wanted, spec.subject):
        if not math.isfinite(figure.value):
            continue
        if (figure.value < threshold) if below else (figure.value > threshold):
            side = "below" if below else "above"
            found.append(
                Finding(
                    figure.model,
                    figure.value,
                    f"{spec.metric} of {figure.model} v{figure.version} is {figure.value:.4g}, {side} {threshold:g}",
                    {
                        "version": figure.version,
                        "metric": spec.metric,
                        "value": figure.value,
                        "threshold": threshold,
                        "count": figure.count,
                        "computed_at": figure.computed_at.isoformat(),
                    },
                )
            )
    return found


def _windows(rule: Rule, figures: Figures, now: datetime) -> dict[str, Traffic]:
    """Traffic over the rule's window: per endpoint for `*`, else the subject's total."""
    since = now - timedelta(minutes=rule.spec.window_minutes)
    if rule.spec.subject == "*":
        return dict(figures.traffic(None, since))
    total = Traffic()
    for traffic in figures.traffic(rule.spec.subject, since).values():
        total.add(traffic)
    return {rule.spec.subject: total}


def error_rate(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    spec, found = rule.spec, []
    threshold, server_only = float(spec.threshold or 0.0), spec.errors == "server"
    for subject, traffic in sorted(_windows(rule, figures, now).items()):
        if traffic.requests < max(spec.min_requests, 1):
            continue
        rate = traffic.error_rate(server_only=server_only)
        if rate > threshold:
            errors = traffic.server_errors if server_only else traffic.errors
            found.append(
                Finding(
                    subject,
                    rate,
                    f"{rate:.1%} of the {traffic.requests} requests to {subject} failed in the last "
                    f"{spec.window_minutes} min (threshold {threshold:.1%})",
                    {
                        "requests": traffic.requests,
                        "errors": errors,
                        "rate": rate,
                        "threshold": threshold,
                        "window_minutes": spec.window_minutes,
                        "errors_counted": spec.errors,
                    },
                )
            )
    return found


def latency_p99(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    spec, found = rule.spec, []
    threshold_ms = float(spec.threshold or 0.0)
    for subject, traffic in sorted(_windows(rule, figures, now).items()):
        if traffic.requests < max(spec.min_requests, 1):
            continue
        p99_ms = 1000 * traffic.quantile(0.99)
        if p99_ms > threshold_ms:
            found.append(
                Finding(
                    subject,
                    p99_ms,
                    f"p99 latency of {subject} is {p99_ms:.1f} ms over the last {spec.window_minutes} min "
                    f"(threshold {threshold_ms:g} ms, {traffic.requests} requests)",
                    {
                        "p99_ms": p99_ms,
                        "threshold_ms": threshold_ms,
                        "requests": traffic.requests,
                        "window_minutes": spec.window_minutes,
                    },
                )
            )
    return found


def no_traffic(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    spec = rule.spec
    window = timedelta(minutes=spec.window_minutes)
    if rule.created_at > now - window:  # a rule younger than its window has not watched long enough
        return []
    requests = sum(
        t.requests for t in figures.traffic(None if spec.subject == "*" else spec.subject, now - window).values()
    )
    if requests:
        return []
    what = "the server" if spec.subject == "*" else spec.subject
    return [
        Finding(
            spec.subject,
            0.0,
            f"no request reached {what} in the last {spec.window_minutes} min",
            {"window_minutes": spec.window_minutes},
        )
    ]


KIND_FUNCTIONS: dict[str, KindFunction] = {
    "drift_share": drift_share,
    "feature_drift": feature_drift,
    "quality": quality,
    "error_rate": error_rate,
    "latency_p99": latency_p99,
    "no_traffic": no_traffic,
}


def evaluate(rule: Rule, figures: Figures, now: datetime) -> list[Finding]:
    return KIND_FUNCTIONS[rule.spec.kind](rule, figures, now)


__all__ = ["KIND_FUNCTIONS", "Figures", "Finding", "KindFunction", "evaluate"]
