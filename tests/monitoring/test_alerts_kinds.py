"""Each rule kind, firing and not firing, on figures given directly (the kinds are pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shipyard.monitoring.alerts import Rule, RuleSpec, evaluate
from shipyard.monitoring.metrics.catalog import LATENCY_BUCKETS
from shipyard.monitoring.metrics.figures import DriftFigures, FeatureDrift, QualityFigure
from shipyard.monitoring.metrics.traffic import Traffic

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rule(created: datetime = NOW - timedelta(days=1), **spec: Any) -> Rule:
    return Rule(1, RuleSpec.model_validate({"name": "r", **spec}), created, "alice")


def latency(seconds: float, count: int) -> list[int]:
    buckets = [0] * (len(LATENCY_BUCKETS) + 1)
    index = next((i for i, bound in enumerate(LATENCY_BUCKETS) if seconds <= bound), len(LATENCY_BUCKETS))
    buckets[index] = count
    return buckets


class Figures:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, Traffic]] = {}  # endpoint → (model, traffic)
        self.runs: list[DriftFigures] = []
        self.figures: list[QualityFigure] = []
        self.asked: list[tuple[str | None, datetime]] = []

    def traffic(self, subject: str | None, since: datetime) -> Mapping[str, Traffic]:
        self.asked.append((subject, since))
        return {e: t for e, (m, t) in self.rows.items() if subject is None or subject in (e, m)}

    def drift(self) -> list[DriftFigures]:
        return self.runs

    def quality(self) -> list[QualityFigure]:
        return self.figures


def drift_run(model: str, share: float, at: datetime = NOW, version: int = 3) -> DriftFigures:
    features = (
        FeatureDrift("age", "ks", 0.001, True, 0.05, True),
        FeatureDrift("plan", "psi", 0.05, False, 0.1, False),
        FeatureDrift("output:predict", "ks", 0.001, True, 0.05, True, role="prediction"),
    )
    return DriftFigures(model, version, share, share >= 0.5, at, features)


def test_drift_share() -> None:
    figures = Figures()
    figures.runs = [drift_run("churn", 0.2, NOW - timedelta(hours=1)), drift_run("churn", 0.6), drift_run("fraud", 0.1)]
    [finding] = evaluate(rule(kind="drift_share", threshold=0.5), figures, NOW)
    assert finding.subject == "churn" and finding.value == 0.6 and "60%" in finding.message  # the latest run
    assert finding.details["drifted"] == ["age"]  # the features the share counts; predictions beside them
    assert finding.details["drifted_predictions"] == ["output:predict"]
    assert evaluate(rule(kind="drift_share", threshold=0.6), figures, NOW) == []  # equal does not fire
    assert evaluate(rule(kind="drift_share", threshold=0.05, subject="fraud"), figures, NOW)[0].subject == "fraud"
    assert evaluate(rule(kind="drift_share", threshold=0.05, subject="nobody"), figures, NOW) == []


def test_feature_drift_by_verdict_and_by_threshold() -> None:
    figures = Figures()
    figures.runs = [drift_run("churn", 0.5)]
    [finding] = evaluate(rule(kind="feature_drift", feature="age"), figures, NOW)
    assert finding.subject == "churn" and "age" in finding.message and "below" in finding.message  # a p-value
    assert evaluate(rule(kind="feature_drift", feature="plan"), figures, NOW) == []
    # Thresholds of their own: a p-value fires below it, a distance above it.
    assert evaluate(rule(kind="feature_drift", feature="age", threshold=0.0001), figures, NOW) == []
    assert evaluate(rule(kind="feature_drift", feature="plan", threshold=0.01), figures, NOW)[0].value == 0.05
    assert evaluate(rule(kind="feature_drift", feature="missing"), figures, NOW) == []


def test_quality_below_and_above() -> None:
    figures = Figures()
    figures.figures = [
        QualityFigure("churn", 3, "accuracy", 0.95, NOW - timedelta(hours=2)),
        QualityFigure("churn", 3, "accuracy", 0.72, NOW),
        QualityFigure("churn", 3, "rmse", 4.0, NOW),
        QualityFigure("fraud", 1, "accuracy", float("nan"), NOW),
    ]
    [finding] = evaluate(rule(kind="quality", metric="accuracy", threshold=0.8), figures, NOW)
    assert (finding.subject, finding.value) == ("churn", 0.72) and "below 0.8" in finding.message
    assert evaluate(rule(kind="quality", metric="accuracy", threshold=0.7), figures, NOW) == []
    assert evaluate(rule(kind="quality", metric="rmse", threshold=3.0), figures, NOW)[0].value == 4.0  # error metric
    assert evaluate(rule(kind="quality", metric="rmse", threshold=5.0), figures, NOW) == []
    flipped = rule(kind="quality", metric="accuracy", threshold=0.7, direction="above")
    assert evaluate(flipped, figures, NOW)[0].subject == "churn"
    assert evaluate(rule(kind="quality", metric="f1", threshold=0.9), figures, NOW) == []  # no figure: quiet


def test_error_rate() -> None:
    figures = Figures()
    figures.rows = {
        "churn": ("churn", Traffic(requests=100, errors=12, server_errors=2)),
        "fraud": ("fraud", Traffic(requests=5, errors=5, server_errors=5)),
    }
    [finding] = evaluate(rule(kind="error_rate", threshold=0.1, window_minutes=10), figures, NOW)
    assert finding.subject == "churn" and finding.value == 0.12 and finding.details["requests"] == 100
    assert figures.asked[-1] == (None, NOW - timedelta(minutes=10))
    assert evaluate(rule(kind="error_rate", threshold=0.1, errors="server"), figures, NOW) == []
    assert evaluate(rule(kind="error_rate", threshold=0.1, min_requests=5), figures, NOW)[1].subject == "fraud"
    assert evaluate(rule(kind="error_rate", threshold=0.12), figures, NOW) == []
    assert evaluate(rule(kind="error_rate", threshold=0.1, subject="fraud"), figures, NOW) == []  # too few requests


def test_error_rate_of_a_subject_sums_its_endpoints() -> None:
    figures = Figures()
    figures.rows = {
        "churn": ("churn", Traffic(requests=50, errors=0)),
        "churn-prod": ("churn", Traffic(requests=50, errors=20)),
    }
    [finding] = evaluate(rule(kind="error_rate", threshold=0.1, subject="churn"), figures, NOW)
    assert finding.subject == "churn" and finding.value == 0.2


def test_latency_p99() -> None:
    figures = Figures()
    slow = Traffic(requests=100, buckets=[a + b for a, b in zip(latency(0.004, 95), latency(0.8, 5), strict=True)])
    figures.rows = {"churn": ("churn", slow), "fast": ("fast", Traffic(requests=100, buckets=latency(0.004, 100)))}
    [finding] = evaluate(rule(kind="latency_p99", threshold=200), figures, NOW)
    assert finding.subject == "churn" and 500 < finding.value <= 1000 and "ms" in finding.message
    assert evaluate(rule(kind="latency_p99", threshold=2000), figures, NOW) == []
    assert evaluate(rule(kind="latency_p99", threshold=200, min_requests=101), figures, NOW) == []


def test_no_traffic() -> None:
    figures = Figures()
    assert evaluate(rule(kind="no_traffic", window_minutes=15), figures, NOW)[0].subject == "*"
    assert evaluate(rule(kind="no_traffic", subject="churn"), figures, NOW)[0].message.startswith(
        "no request reached churn"
    )
    # A rule younger than its window has not watched long enough.
    assert evaluate(rule(created=NOW - timedelta(minutes=3), kind="no_traffic", window_minutes=5), figures, NOW) == []
    figures.rows = {"churn": ("churn", Traffic(requests=1))}
    assert evaluate(rule(kind="no_traffic", subject="churn"), figures, NOW) == []
    assert evaluate(rule(kind="no_traffic"), figures, NOW) == []
    assert evaluate(rule(kind="no_traffic", subject="fraud"), figures, NOW)[0].subject == "fraud"
