"""Every metric Shipyard exposes on `/metrics`: name, type, labels, help — the one list.

The worker metrics are built from it, `docs/monitoring.md` lists it, and the exported alerting rules
and dashboard are checked against it (every expression must name a metric that exists).

`source` says where a value comes from:
- `worker`: counted by each worker process and summed across workers (prometheus_client's
  multiprocess files), e.g. requests, latency, batch sizes;
- `scrape`: read when `/metrics` is scraped, from the database (the latest drift and quality figures),
  so every worker and replica shows the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]
GaugeMode = Literal["livesum", "max", "min", "mostrecent", "liveall"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: from sub-millisecond model calls to requests that hit the 30 s time limit."""
ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536)
LOAD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

REQUEST_LABELS = ("endpoint", "model", "version", "arm", "protocol", "status")
LATENCY_LABELS = ("endpoint", "model", "version", "arm")
MODEL_LABELS = ("model", "version")


@dataclass(frozen=True)
class MetricInfo:
    name: str
    """Without the `_total` suffix a counter gets on the wire."""
    kind: Kind
    labels: tuple[str, ...]
    help: str
    source: Literal["worker", "scrape"] = "worker"
    mode: GaugeMode = "livesum"
    """How a worker gauge combines across workers (ignored for other kinds)."""
    buckets: tuple[float, ...] = ()

    @property
    def samples(self) -> tuple[str, ...]:
        """The sample names this metric produces in the text format."""
        if self.kind == "counter":
            return (f"{self.name}_total",)
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_count", f"{self.name}_sum")
        return (self.name,)


CATALOG: tuple[MetricInfo, ...] = (
    MetricInfo(
        "shipyard_requests",
        "counter",
        REQUEST_LABELS,
        "Inference requests answered or failed, by endpoint (deployment or model), model version, arm, protocol "
        "and status (ok or the error's name).",
    ),
    MetricInfo(
        "shipyard_request_errors",
        "counter",
        (*REQUEST_LABELS, "kind"),
        "Failed inference requests; kind is client (bad input, unknown model: 4xx) or server (5xx).",
    ),
    MetricInfo(
        "shipyard_request_duration_seconds",
        "histogram",
        LATENCY_LABELS,
        "Time the data plane took to answer an inference request (resolve, validate, queue, model, cache).",
        buckets=LATENCY_BUCKETS,
    ),
    MetricInfo(
        "shipyard_inflight_requests",
        "gauge",
        (),
        "HTTP inference requests being answered now, all workers together.",
    ),
    MetricInfo(
        "shipyard_batch_rows",
        "histogram",
        MODEL_LABELS,
        "Rows per model call (the batch size after adaptive batching merged queued requests).",
        buckets=ROWS_BUCKETS,
    ),
    MetricInfo(
        "shipyard_queue_seconds",
        "histogram",
        MODEL_LABELS,
        "Time a request waited in its model's batching queue before the model call started.",
        buckets=LATENCY_BUCKETS,
    ),
    MetricInfo(
        "shipyard_model_call_seconds",
        "histogram",
        MODEL_LABELS,
        "Duration of one model call (one batch), merging and splitting included.",
        buckets=LATENCY_BUCKETS,
    ),
    MetricInfo(
        "shipyard_cache_hits",
        "counter",
        MODEL_LABELS,
        "Requests answered from the response cache.",
    ),
    MetricInfo(
        "shipyard_cache_misses",
        "counter",
        MODEL_LABELS,
        "Requests to a model version with a response cache that the cache could not answer.",
    ),
    MetricInfo(
        "shipyard_model_load_seconds",
        "histogram",
        MODEL_LABELS,
        "Time to load a model version into a worker (fetch, verify, unpack, deserialise).",
        buckets=LOAD_BUCKETS,
    ),
    MetricInfo(
        "shipyard_model_load_failures",
        "counter",
        MODEL_LABELS,
        "Model loads that failed (artifact unreadable, corrupt, missing dependency...).",
    ),
    MetricInfo("shipyard_models_loaded", "gauge", (), "Model versions held in memory, summed over workers."),
    MetricInfo(
        "shipyard_model_memory_bytes",
        "gauge",
        (),
        "Estimated memory of the loaded models, summed over workers.",
    ),
    MetricInfo("shipyard_workers", "gauge", (), "Server worker processes alive."),
    MetricInfo(
        "shipyard_predlog_backlog",
        "gauge",
        (),
        "Prediction-log records accepted but not yet written to a segment, all workers together.",
    ),
    MetricInfo(
        "shipyard_predlog_dropped",
        "counter",
        (),
        "Prediction-log records dropped (queue full); each one is also reported by the log itself.",
    ),
    MetricInfo("shipyard_predlog_written", "counter", (), "Prediction-log records written into segments."),
    MetricInfo(
        "shipyard_predlog_spilled",
        "counter",
        (),
        "Prediction-log records kept on local disk because the store failed (written later).",
    ),
    MetricInfo("shipyard_predlog_store_errors", "counter", (), "Failed writes of prediction-log segments."),
    MetricInfo(
        "shipyard_predlog_lost",
        "counter",
        (),
        "Prediction-log records of dead workers that never reached a write-ahead file (found at start).",
    ),
    MetricInfo(
        "shipyard_drift_share",
        "gauge",
        MODEL_LABELS,
        "Share of features (0-1) found drifting by the latest drift run of a model version.",
        source="scrape",
    ),
    MetricInfo(
        "shipyard_drift_detected",
        "gauge",
        MODEL_LABELS,
        "1 when the latest drift run found dataset drift (the drifted share passed its threshold), else 0.",
        source="scrape",
    ),
    MetricInfo(
        "shipyard_drift_timestamp_seconds",
        "gauge",
        MODEL_LABELS,
        "When the latest drift run of a model version was computed (Unix time).",
        source="scrape",
    ),
    MetricInfo(
        "shipyard_feature_drift_score",
        "gauge",
        (*MODEL_LABELS, "feature", "statistic"),
        "The drift statistic of one feature (or prediction) in the latest drift run.",
        source="scrape",
    ),
    MetricInfo(
        "shipyard_feature_drifted",
        "gauge",
        (*MODEL_LABELS, "feature"),
        "1 when the latest drift run flagged the feature as drifted, else 0.",
        source="scrape",
    ),
    MetricInfo(
        "shipyard_quality",
        "gauge",
        (*MODEL_LABELS, "metric"),
        "The latest quality figure against ground truth (accuracy, f1, roc_auc, mae, rmse, ...).",
        source="scrape",
    ),
)

BY_NAME: dict[str, MetricInfo] = {m.name: m for m in CATALOG}


def sample_names() -> frozenset[str]:
    """Every sample name `/metrics` may show (`shipyard_requests_total`, `..._bucket`, ...)."""
    return frozenset(s for m in CATALOG for s in m.samples)


def markdown_table() -> str:
    """The catalog as the table docs/monitoring.md shows (a test keeps the two equal)."""
    lines = ["| metric | type | labels | what |", "|---|---|---|---|"]
    for m in CATALOG:
        kind = f"gauge ({m.mode})" if m.kind == "gauge" and m.source == "worker" else m.kind
        kind += ", read from the DB at scrape" if m.source == "scrape" else ""
        labels = ", ".join(f"`{label}`" for label in m.labels) or "—"
        lines.append(f"| `{m.samples[0] if m.kind == 'counter' else m.name}` | {kind} | {labels} | {m.help} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "BY_NAME",
    "CATALOG",
    "LATENCY_BUCKETS",
    "LATENCY_LABELS",
    "MODEL_LABELS",
    "REQUEST_LABELS",
    "MetricInfo",
    "markdown_table",
    "sample_names",
]
