"""`/metrics`: this worker's (or, in multiprocess mode, every worker's) metrics and the latest figures,
in the Prometheus text format."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from .catalog import BY_NAME
from .figures import FigureSource, NoFigures
from .multiproc import mark_dead_workers
from .worker import WorkerMetrics

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The classic text format every Prometheus reads (what prometheus_client's own handler answers by default)."""


def _family(name: str) -> GaugeMetricFamily:
    info = BY_NAME[name]
    return GaugeMetricFamily(name, info.help, labels=info.labels)


class FiguresCollector:
    """prometheus_client collector: the figures of a `FigureSource` as `shipyard_drift_*` / `shipyard_quality`.

    A source that fails (the database is down) costs the scrape these gauges, never the scrape itself.
    """

    def __init__(self, source: FigureSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        try:
            drift, quality = self.source.drift(), self.source.quality()
        except Exception:
            logger.warning("drift and quality figures unavailable for /metrics", exc_info=True)
            return
        share, detected = _family("shipyard_drift_share"), _family("shipyard_drift_detected")
        stamp = _family("shipyard_drift_timestamp_seconds")
        score, flagged = _family("shipyard_feature_drift_score"), _family("shipyard_feature_drifted")
        for run in drift:
            labels = [run.model, str(run.version)]
            share.add_metric(labels, run.share)
            detected.add_metric(labels, 1.0 if run.detected else 0.0)
            stamp.add_metric(labels, run.computed_at.timestamp())
            for feature in run.features:
                for statistic, value in (feature.statistics or {feature.method: feature.score}).items():
                    if math.isfinite(value):
                        score.add_metric([*labels, feature.feature, statistic], value)
                flagged.add_metric([*labels, feature.feature], 1.0 if feature.drifted else 0.0)
        figures = _family("shipyard_quality")
        for figure in quality:
            if math.isfinite(figure.value):
                figures.add_metric([figure.model, str(figure.version), figure.metric], figure.value)
        yield from (share, detected, stamp, score, flagged, figures)


class _Collected:
    """Adapts a registry (or anything with `collect`) so another registry can include it."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


class MetricsExporter:
    """Renders `/metrics` for one worker: the workers' counts plus the figures of `figures`."""

    def __init__(self, metrics: WorkerMetrics, figures: FigureSource | None = None) -> None:
        self.metrics = metrics
        self.figures = figures or NoFigures()

    def render(self) -> bytes:
        """The exposition text. Reads files and the database: call it off the event loop."""
        registry = CollectorRegistry(auto_describe=False)
        folder = self.metrics.multiproc_dir
        if folder is not None:
            mark_dead_workers(folder)
            MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]  # untyped upstream
        else:
            registry.register(_Collected(self.metrics.registry))
        registry.register(FiguresCollector(self.figures))
        return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "FiguresCollector", "MetricsExporter"]
