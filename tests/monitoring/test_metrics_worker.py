"""The worker's metric objects through their public methods, and the drift/quality gauges of a scrape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from shipyard.monitoring.metrics.exposition import MetricsExporter
from shipyard.monitoring.metrics.figures import CachedFigures, DriftFigures, FeatureDrift, QualityFigure
from shipyard.monitoring.metrics.worker import UNKNOWN, WorkerMetrics, error_kind

from ._metrics import parse, value
from ._promtool import check_metrics

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Call:
    protocol: str = "v2"


@dataclass
class Record:
    endpoint: str = "churn"
    model: str = "churn"
    version: int = 3
    arm: str = "primary"
    status: str = "ok"
    latency_seconds: float = 0.004
    cached: bool = False
    call: Call = field(default_factory=Call)


def render(metrics: WorkerMetrics, figures: Any = None) -> dict[Any, float]:
    metrics.flush()
    text = MetricsExporter(metrics, figures).render().decode()
    assert check_metrics(text).returncode == 0
    return parse(text)


def test_error_kinds() -> None:
    assert error_kind("ValidationFailed") == "client"
    assert error_kind("ModelNotFound") == "client"
    assert error_kind("RateLimited") == "client"
    assert error_kind("ModelFailed") == "server"
    assert error_kind("NotReady") == "server"
    assert error_kind("TimeoutError") == "server"  # not a Shipyard error: the server's fault


def test_observe_counts_and_buckets_latency() -> None:
    metrics = WorkerMetrics()
    for latency in (0.0004, 0.004, 0.004, 2.0):
        metrics.observe(Record(latency_seconds=latency))
    metrics.observe(Record(status="ModelFailed", call=Call("grpc")))
    samples = render(metrics)
    labels = {"endpoint": "churn", "model": "churn", "version": "3", "arm": "primary"}
    assert value(samples, "shipyard_requests_total", **labels, protocol="v2", status="ok") == 4
    assert value(samples, "shipyard_requests_total", **labels, protocol="grpc", status="ModelFailed") == 1
    assert value(samples, "shipyard_request_errors_total", **labels, kind="server") == 1
    assert value(samples, "shipyard_request_duration_seconds_bucket", **labels, le="0.0005") == 1
    assert value(samples, "shipyard_request_duration_seconds_bucket", **labels, le="0.005") == 4
    assert value(samples, "shipyard_request_duration_seconds_bucket", **labels, le="1.0") == 4
    assert value(samples, "shipyard_request_duration_seconds_bucket", **labels, le="+Inf") == 5
    assert value(samples, "shipyard_request_duration_seconds_sum", **labels) == pytest.approx(2.0124)


def test_unresolved_names_share_one_series() -> None:
    metrics = WorkerMetrics()
    for name in ("typo1", "typo2", "typo3"):
        metrics.observe(Record(endpoint=name, model=name, version=0, status="ModelNotFound"))
    samples = render(metrics)
    assert value(samples, "shipyard_requests_total", endpoint=UNKNOWN, model=UNKNOWN, status="ModelNotFound") == 3
    assert not any("typo" in str(labels) for (_, labels) in samples)


def test_shadow_arms_are_their_own_series() -> None:
    metrics = WorkerMetrics()
    metrics.observe(Record(endpoint="churn-prod", arm="v3"))
    metrics.observe(Record(endpoint="churn-prod", arm="shadow:v4", version=4))
    samples = render(metrics)
    assert value(samples, "shipyard_requests_total", endpoint="churn-prod", arm="v3") == 1
    assert value(samples, "shipyard_requests_total", endpoint="churn-prod", arm="shadow:v4", version="4") == 1


def test_cache_hits_and_misses_only_for_cached_versions() -> None:
    metrics = WorkerMetrics()
    metrics.model_loaded("churn", 3, 0.25, cached=True)
    metrics.model_loaded("plain", 1, 0.5, cached=False)
    metrics.observe(Record(cached=True))
    metrics.observe(Record())
    metrics.observe(Record(endpoint="plain", model="plain", version=1))
    samples = render(metrics)
    assert value(samples, "shipyard_cache_hits_total", model="churn") == 1
    assert value(samples, "shipyard_cache_misses_total", model="churn") == 1
    assert value(samples, "shipyard_cache_misses_total", model="plain") == 0
    assert value(samples, "shipyard_model_load_seconds_sum", model="plain") == 0.5


def test_batch_hook_and_load_failures() -> None:
    metrics = WorkerMetrics()
    hook = metrics.batch_hook("churn", 3)
    hook(24, 3, [0.001, 0.002, 0.0], 0.01)
    hook(1, 1, [0.0], 0.002)
    metrics.model_load_failed("churn", 4)
    metrics.model_load_failed("churn", 4)
    samples = render(metrics)
    assert value(samples, "shipyard_batch_rows_count", model="churn", version="3") == 2
    assert value(samples, "shipyard_batch_rows_sum", model="churn", version="3") == 25
    assert value(samples, "shipyard_batch_rows_bucket", model="churn", version="3", le="1.0") == 1
    assert value(samples, "shipyard_queue_seconds_count", model="churn") == 4
    assert value(samples, "shipyard_model_call_seconds_sum", model="churn") == pytest.approx(0.012)
    assert value(samples, "shipyard_model_load_failures_total", model="churn", version="4") == 2


def test_prediction_log_figures_are_copied_as_deltas() -> None:
    metrics = WorkerMetrics()
    metrics.set_predlog({"backlog": 40.0, "dropped": 2.0, "written": 100.0, "spilled": 0.0, "queued": 3.0})
    metrics.set_predlog({"backlog": 5.0, "dropped": 2.0, "written": 180.0, "lost_at_start": 7.0})
    metrics.set_predlog({"backlog": "lots", "written": None, "dropped": True})  # garbage is ignored
    samples = render(metrics)
    assert value(samples, "shipyard_predlog_backlog") == 5
    assert value(samples, "shipyard_predlog_dropped_total") == 2
    assert value(samples, "shipyard_predlog_written_total") == 180
    assert value(samples, "shipyard_predlog_lost_total") == 7


class Figures:
    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    def drift(self) -> list[DriftFigures]:
        self.reads += 1
        if self.fail:
            raise ConnectionError("database down")
        features = (
            FeatureDrift("age", "ks", 0.001, True, 0.05, True, {"ks_statistic": 0.4, "ks_pvalue": 0.001}),
            FeatureDrift("plan", "psi", 0.02, False, 0.1, False, {"psi": 0.02, "jensenshannon": float("nan")}),
        )
        return [DriftFigures("churn", 3, 0.5, True, AT, features)]

    def quality(self) -> list[QualityFigure]:
        return [QualityFigure("churn", 3, "accuracy", 0.91, AT, 200), QualityFigure("churn", 3, "f1", float("nan"), AT)]


def test_drift_and_quality_gauges() -> None:
    samples = render(WorkerMetrics(), Figures())
    assert value(samples, "shipyard_drift_share", model="churn", version="3") == 0.5
    assert value(samples, "shipyard_drift_detected", model="churn") == 1
    assert value(samples, "shipyard_drift_timestamp_seconds", model="churn") == AT.timestamp()
    assert value(samples, "shipyard_feature_drift_score", feature="age", statistic="ks_pvalue") == 0.001
    assert value(samples, "shipyard_feature_drift_score", feature="age", statistic="ks_statistic") == 0.4
    assert (
        "shipyard_feature_drift_score",
        frozenset({("model", "churn"), ("version", "3"), ("feature", "plan"), ("statistic", "jensenshannon")}),
    ) not in samples  # NaN is left out, not exported
    assert value(samples, "shipyard_feature_drifted", feature="age") == 1
    assert value(samples, "shipyard_feature_drifted", feature="plan") == 0
    assert value(samples, "shipyard_quality", model="churn", metric="accuracy") == 0.91
    assert not any(n == "shipyard_quality" and ("metric", "f1") in ls for (n, ls) in samples)


def test_a_failing_figure_source_costs_only_its_gauges() -> None:
    figures = Figures()
    figures.fail = True
    metrics = WorkerMetrics()
    metrics.observe(Record())
    samples = render(metrics, figures)
    assert value(samples, "shipyard_requests_total") == 1
    assert not any(n.startswith("shipyard_drift") for (n, _) in samples)


def test_cached_figures_read_once_per_ttl() -> None:
    now = [0.0]
    source = Figures()
    cached = CachedFigures(source, ttl_seconds=5, clock=lambda: now[0])
    cached.drift()
    cached.drift()
    assert source.reads == 1
    now[0] = 5.0
    cached.drift()
    assert source.reads == 2
