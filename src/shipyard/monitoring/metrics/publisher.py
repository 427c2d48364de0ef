"""Each worker's share of the per-minute request figures (see `traffic`), taken from its own counters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry

from ...store import Database
from ...store.tables import utcnow
from .traffic import Key, Traffic, minute_of, write_minute
from .worker import error_kind

logger = logging.getLogger(__name__)


def worker_totals(registry: CollectorRegistry) -> dict[Key, Traffic]:
    """Everything this process counted so far, per (endpoint, model, version), from its own metric objects.

    In multiprocess mode too, a metric object's own values are this process's (the files of the other
    workers are only read by a scrape). Requests for unknown names (version 0) are left out: they are
    no model's traffic.
    """
    totals: dict[Key, Traffic] = {}
    cumulative: dict[tuple[Key, str], list[float]] = {}
    for metric in registry.collect():
        if metric.name == "shipyard_requests":
            for sample in metric.samples:
                key = _key(sample.labels)
                if key is None or not sample.name.endswith("_total"):
                    continue
                count, status = int(sample.value), sample.labels["status"]
                figures = totals.setdefault(key, Traffic())
                figures.requests += count
                if status != "ok":
                    figures.errors += count
                    figures.server_errors += count if error_kind(status) == "server" else 0
        elif metric.name == "shipyard_request_duration_seconds":
            for sample in metric.samples:
                key = _key(sample.labels)
                if key is None:
                    continue
                if sample.name.endswith("_bucket"):  # emitted in bucket order, +Inf last
                    cumulative.setdefault((key, sample.labels["arm"]), []).append(sample.value)
                elif sample.name.endswith("_sum"):
                    totals.setdefault(key, Traffic()).latency_sum += sample.value
    for (key, _arm), counts in cumulative.items():
        buckets = [int(c - p) for c, p in zip(counts, [0.0, *counts[:-1]], strict=True)]
        totals.setdefault(key, Traffic()).add(Traffic(buckets=buckets))
    return totals


def _key(labels: dict[str, str]) -> Key | None:
    version = int(labels.get("version", "0") or 0)
    return None if version == 0 else (labels["endpoint"], labels["model"], version)


class TrafficPublisher:
    """Writes what this worker counted since its last flush into its rows of the current minute.

    It reads the metric values: flush the worker's tallies into them first (`WorkerMetrics.flush`).
    """

    def __init__(
        self, db: Database, registry: CollectorRegistry, worker: str, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.registry = registry
        self.worker = worker
        self._clock = clock
        self._published: dict[Key, Traffic] = {}
        self._minute: datetime | None = None
        self._in_minute: dict[Key, Traffic] = {}

    def flush(self) -> int:
        """Publish; returns how many rows were written. A failed write loses nothing: the next flush
        publishes the same gain (into the minute it runs in)."""
        now_totals = worker_totals(self.registry)
        minute = minute_of(self._clock())
        in_minute = {} if minute != self._minute else {k: _copy(t) for k, t in self._in_minute.items()}
        changed: dict[Key, Traffic] = {}
        for key, total in now_totals.items():
            gain = total.minus(self._published.get(key, Traffic()))
            if gain.requests <= 0:
                continue
            row = in_minute.setdefault(key, Traffic())
            row.add(gain)
            changed[key] = row
        write_minute(self.db, self.worker, minute, changed)
        self._published, self._minute, self._in_minute = now_totals, minute, in_minute
        return len(changed)


def _copy(traffic: Traffic) -> Traffic:
    return Traffic(traffic.requests, traffic.errors, traffic.server_errors, traffic.latency_sum, list(traffic.buckets))


__all__ = ["TrafficPublisher", "worker_totals"]
