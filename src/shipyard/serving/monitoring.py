"""Metrics and alerts in a server worker: what `build_app` adds for them, made in one place.

- metrics (`monitoring.metrics`): the data plane's observer, the model pool's events, `/metrics`,
  the in-flight gauge around HTTP inference, and the per-worker task that samples gauges and
  publishes this worker's traffic figures;
- alerts (`monitoring.alerts`): the `AlertManager` (every alert of the server goes through it) and the
  leased job evaluating the rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from ..config import Settings
from ..monitoring.alerts import AlertManager, AlertStore, DatabaseFigures, RuleEvaluator, WebhookOptions
from ..monitoring.metrics.figures import CachedFigures
from ..monitoring.metrics.multiproc import configured_dir, mark_dead_workers
from ..monitoring.metrics.results import DatabaseResults
from ..monitoring.predlog import PredictionLog
from ..registry import Registry
from .app import AppTask
from .background import Job, JobRunner
from .dataplane import DataPlane
from .metrics_http import InFlightMiddleware, metrics_route


@dataclass
class Monitoring:
    """What `build_app` hands on: tasks for the lifespan, routes, innermost middleware, the alert sink."""

    alerts: AlertManager
    tasks: list[AppTask] = field(default_factory=list)
    routes: list[BaseRoute] = field(default_factory=list)
    middleware: list[Middleware] = field(default_factory=list)


def _alert_manager(registry: Registry, settings: Settings) -> AlertManager:
    mon = settings.monitoring
    return AlertManager(
        AlertStore(registry.db),
        default_notify=mon.alert_webhooks,
        cooldown_seconds=mon.alert_cooldown_seconds,
        webhook=WebhookOptions(
            mon.alert_webhook_attempts, mon.alert_webhook_backoff_seconds, mon.alert_webhook_timeout_seconds
        ),
    )


def _closing(manager: AlertManager) -> AppTask:
    async def run(app: Starlette) -> None:
        try:
            await asyncio.Event().wait()  # until the lifespan ends
        finally:  # deliver what is queued (bounded), then stop the thread
            with contextlib.suppress(Exception):
                await asyncio.to_thread(manager.close, 10.0)

    return run


def _predlog_stats(plane: DataPlane) -> Mapping[str, Any]:
    # Looked up at each sample, so the prediction log may be added to the plane before or after this.
    for observer in plane.observers:
        if isinstance(observer, PredictionLog):
            return observer.stats()
    return {}


def attach_monitoring(plane: DataPlane, jobs: JobRunner, registry: Registry, settings: Settings) -> Monitoring:
    """Wire metrics (unless `monitoring.metrics` is off) and alerts into the worker being built."""
    mon = settings.monitoring
    results = CachedFigures(DatabaseResults(registry.db), mon.figures_cache_seconds)
    monitoring = Monitoring(_alert_manager(registry, settings))
    monitoring.tasks.append(_closing(monitoring.alerts))
    if mon.alerts:
        evaluator = RuleEvaluator(
            monitoring.alerts,
            DatabaseFigures(registry.db, results),
            traffic_retention=timedelta(hours=mon.traffic_retention_hours),
            traffic=mon.metrics,
        )
        jobs.add(Job("alerts.evaluate", evaluator.run_once, every_seconds=mon.alert_interval_seconds))
    if not mon.metrics:
        return monitoring
    # Imported here, not at the top: prometheus_client must first see PROMETHEUS_MULTIPROC_DIR (run_server sets it).
    from ..monitoring.metrics.exposition import MetricsExporter
    from ..monitoring.metrics.publisher import TrafficPublisher
    from ..monitoring.metrics.sampler import WorkerSampler
    from ..monitoring.metrics.worker import WorkerMetrics

    folder = configured_dir()
    if folder is not None:
        mark_dead_workers(folder)  # a worker that died before this one started
    metrics = WorkerMetrics(folder)
    plane.add_observer(metrics)
    plane.pool.events = metrics
    sampler = WorkerSampler(
        metrics,
        models=lambda: (len(plane.pool.loaded()), plane.pool.memory_bytes()),
        predlog_stats=lambda: _predlog_stats(plane),
        publisher=TrafficPublisher(registry.db, metrics.registry, jobs.holder),
        sample_seconds=mon.metrics_sample_seconds,
        flush_seconds=mon.traffic_flush_seconds,
    )

    async def sample(app: Starlette) -> None:
        await sampler.run()

    monitoring.tasks.append(sample)
    monitoring.routes.append(metrics_route(MetricsExporter(metrics, results)))
    monitoring.middleware.append(Middleware(InFlightMiddleware, gauge=metrics))
    return monitoring


__all__ = ["Monitoring", "attach_monitoring"]
