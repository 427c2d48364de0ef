"""The metrics one server worker counts: an inference observer, the model pool's hooks, gauges.

`WorkerMetrics.observe` runs on the event loop for every inference, so it does as little as it can:
one dict lookup for the label set's tallies (made once per label set) and a few additions in plain
Python, about 1 µs; the tallies reach prometheus_client's values (memory-mapped files in multiprocess
mode, 1-3 µs per write) once per `flush`, not once per request. `bench/metrics/bench_observe.py`
measures it (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ... import errors
from .catalog import BY_NAME, CATALOG, MetricInfo

logger = logging.getLogger(__name__)

UNKNOWN = "_unknown"
"""Endpoint and model label of a request for a name that resolved to nothing: callers choose those
names, and one series per typo would let anyone grow the metrics without bound. (Registered names
start with a letter or digit, so this cannot clash with one.)"""

_CLIENT_ERRORS = (
    errors.NotFound,
    errors.ValidationFailed,
    errors.UnsupportedModel,
    errors.RequestTooLarge,
    errors.Conflict,
    errors.Unauthorized,
    errors.Forbidden,
    errors.RateLimited,
    errors.PickleRefused,
)

BatchHook = Callable[[int, int, Sequence[float], float], None]
_PREDLOG_COUNTERS = {
    "shipyard_predlog_dropped": "dropped",
    "shipyard_predlog_written": "written",
    "shipyard_predlog_spilled": "spilled",
    "shipyard_predlog_store_errors": "store_errors",
    "shipyard_predlog_lost": "lost_at_start",
}
"""Counter → the key of `PredictionLog.stats()` holding its running total in this worker."""


class CallFacts(Protocol):
    @property
    def protocol(self) -> str: ...


class InferenceFacts(Protocol):
    """What the metrics read of an inference (`serving.events.InferenceRecord` has it; the domain does
    not import the runtime, so it is stated here as a protocol)."""

    @property
    def endpoint(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def arm(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def latency_seconds(self) -> float: ...
    @property
    def cached(self) -> bool: ...
    @property
    def call(self) -> CallFacts: ...


@cache
def error_kind(status: str) -> str:
    """`client` for errors the caller caused (4xx: bad input, unknown model, refused), else `server`."""
    cls = getattr(errors, status, None)
    return "client" if isinstance(cls, type) and issubclass(cls, _CLIENT_ERRORS) else "server"


def _build(info: MetricInfo, registry: CollectorRegistry) -> Any:
    labels = list(info.labels)
    if info.kind == "counter":
        return Counter(info.name, info.help, labels, registry=registry)
    if info.kind == "histogram":
        return Histogram(info.name, info.help, labels, registry=registry, buckets=info.buckets)
    return Gauge(info.name, info.help, labels, registry=registry, multiprocess_mode=info.mode)


class _Count:
    """Increments of one counter child not yet added to it."""

    __slots__ = ("child", "n")

    def __init__(self, child: Any) -> None:
        self.child, self.n = child, 0

    def flush(self) -> None:
        if self.n:
            n, self.n = self.n, 0
            self.child.inc(n)


class _Observations:
    """Observations of one histogram child not yet added to it, already counted per bucket.

    prometheus_client has no public way to add pre-counted observations to a histogram, so the flush
    adds them to the child's own values (`_sum` and the per-bucket `_buckets`, what `observe` itself
    increments; unchanged since prometheus_client 0.4).
    """

    __slots__ = ("bounds", "child", "counts", "total")

    def __init__(self, child: Any, bounds: tuple[float, ...]) -> None:
        self.child, self.bounds = child, bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # `le` buckets: value <= bound
        self.total += value

    def flush(self) -> None:
        if not any(self.counts):
            return
        counts, total = self.counts, self.total
        self.counts, self.total = [0] * len(counts), 0.0
        self.child._sum.inc(total)
        for index, count in enumerate(counts):
            if count:
                self.child._buckets[index].inc(count)


class WorkerMetrics:
    """Counts what this worker does. In multiprocess mode (`multiproc_dir` set) the values live in that
    folder's files, which the scrape merges across workers; otherwise in this process.

    Use it as the data plane's observer (`plane.add_observer(m)`), the model pool's events
    (`pool.events = m`), and call `inflight` around HTTP inference requests. Requests, batches and the
    in-flight count are tallied in plain Python and added to the metric values by `flush()`, which
    the worker calls every `monitoring.metrics_sample_seconds` and before answering a scrape — all on
    the event loop, where the tallies are made, so no lock is needed.
    """

    def __init__(self, multiproc_dir: Path | None = None) -> None:
        import prometheus_client

        # `_created` series double every counter and histogram for little use; off for this process.
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.multiproc_dir = multiproc_dir
        self.registry = CollectorRegistry(auto_describe=False)
        self.metrics: dict[str, Any] = {i.name: _build(i, self.registry) for i in CATALOG if i.source == "worker"}
        self._series: dict[tuple[str, str, int, str, str, str], tuple[_Count, _Observations, _Count | None]] = {}
        self._latency: dict[tuple[str, ...], _Observations] = {}
        self._cache: dict[tuple[str, int, bool], _Count] = {}
        self._cached_versions: set[tuple[str, int]] = set()
        self._pending: list[_Count | _Observations] = []
        self._inflight = 0
        self._predlog_seen: dict[str, float] = {}
        self.metrics["shipyard_workers"].set(1)

    def flush(self) -> None:
        """Add what was tallied since the last flush to the metric values (call it on the event loop)."""
        for pending in list(self._pending):  # a copy: batch hooks are made in the pool's loading thread
            pending.flush()
        self.metrics["shipyard_inflight_requests"].set(self._inflight)

    def _count(self, name: str, labels: Sequence[str]) -> _Count:
        tally = _Count(self.metrics[name].labels(*labels))
        self._pending.append(tally)
        return tally

    def _observations(self, name: str, labels: Sequence[str]) -> _Observations:
        tally = _Observations(self.metrics[name].labels(*labels), BY_NAME[name].buckets)
        self._pending.append(tally)
        return tally

    # -- the data plane's observer -------------------------------------------------------------------

    def observe(self, record: InferenceFacts) -> None:
        key = (record.endpoint, record.model, record.version, record.arm, record.call.protocol, record.status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._series_for(*key)
        series[0].n += 1
        series[1].observe(record.latency_seconds)
        if series[2] is not None:
            series[2].n += 1
        if record.cached:
            self._cache_tally(record.model, record.version, True).n += 1
        elif self._cached_versions and (record.model, record.version) in self._cached_versions:
            self._cache_tally(record.model, record.version, False).n += 1

    def _series_for(
        self, endpoint: str, model: str, version: int, arm: str, protocol: str, status: str
    ) -> tuple[_Count, _Observations, _Count | None]:
        if version == 0:  # the name resolved to nothing: do not make a series of it
            endpoint = model = UNKNOWN
        labels = (endpoint, model, str(version), arm)
        latency = self._latency.get(labels)
        if latency is None:
            latency = self._latency[labels] = self._observations("shipyard_request_duration_seconds", labels)
        failed = None
        if status != "ok":
            failed = self._count("shipyard_request_errors", (*labels, protocol, status, error_kind(status)))
        return self._count("shipyard_requests", (*labels, protocol, status)), latency, failed

    def _cache_tally(self, model: str, version: int, hit: bool) -> _Count:
        tally = self._cache.get((model, version, hit))
        if tally is None:
            name = "shipyard_cache_hits" if hit else "shipyard_cache_misses"
            tally = self._cache[(model, version, hit)] = self._count(name, (model, str(version)))
        return tally

    # -- the model pool's events ---------------------------------------------------------------------

    def model_loaded(self, name: str, version: int, seconds: float, cached: bool) -> None:
        self.metrics["shipyard_model_load_seconds"].labels(name, str(version)).observe(seconds)
        if cached:
            self._cached_versions.add((name, version))

    def model_load_failed(self, name: str, version: int) -> None:
        self.metrics["shipyard_model_load_failures"].labels(name, str(version)).inc()

    def batch_hook(self, name: str, version: int) -> BatchHook:
        """What the batcher of (name, version) calls after each model call (on the event loop)."""
        labels = (name, str(version))
        rows_h = self._observations("shipyard_batch_rows", labels)
        queue_h = self._observations("shipyard_queue_seconds", labels)
        call_h = self._observations("shipyard_model_call_seconds", labels)

        def on_batch(rows: int, requests: int, queued: Sequence[float], call_seconds: float) -> None:
            rows_h.observe(rows)
            call_h.observe(call_seconds)
            for seconds in queued:
                queue_h.observe(seconds)

        return on_batch

    # -- gauges and sampled figures ------------------------------------------------------------------

    def inflight(self, delta: int) -> None:
        self._inflight += delta

    def set_models(self, loaded: int, memory_bytes: int) -> None:
        self.metrics["shipyard_models_loaded"].set(loaded)
        self.metrics["shipyard_model_memory_bytes"].set(memory_bytes)

    def set_predlog(self, stats: Mapping[str, Any]) -> None:
        """Copy the prediction log's own figures: its backlog now, and what it dropped or wrote since last time.

        Read from the writer's `stats()`; keys this does not know are ignored, missing ones left alone.
        """
        backlog = _number(stats, "backlog")
        if backlog is not None:
            self.metrics["shipyard_predlog_backlog"].set(backlog)
        for metric, key in _PREDLOG_COUNTERS.items():
            total = _number(stats, key)
            if total is None:
                continue
            delta = total - self._predlog_seen.get(metric, 0.0)
            if delta > 0:
                self.metrics[metric].inc(delta)
            self._predlog_seen[metric] = total


def _number(stats: Mapping[str, Any], key: str) -> float | None:
    value = stats.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


__all__ = ["UNKNOWN", "BatchHook", "InferenceFacts", "WorkerMetrics", "error_kind"]
