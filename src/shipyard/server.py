"""The server's composition root: settings → registry, data plane, auth, management API → one app.

This is an edge module (it wires the runtime's serving app together with the management API), so
`shipyard serve`, its worker processes (`serve_worker`) and tests that want the real thing all come
through here.
"""

from __future__ import annotations

import math
import socket
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .api import create_management_api
from .config import ServerSettings, Settings, load_settings
from .deployments import DeploymentService
from .monitoring.drift import scheduled_drift
from .monitoring.feedback_service import MonitoringService
from .monitoring.metrics.multiproc import use_run_dir
from .monitoring.predlog import open_prediction_log
from .monitoring.quality_probe import FeedbackQualityProbe
from .registry import open_registry
from .retrain import trigger_job
from .retrain.factory import open_retrain_service
from .security.authenticator import Authenticator
from .serving.app import AppTask, create_app, create_plane
from .serving.background import Job, JobRunner
from .serving.drain import Drain
from .serving.memory_limit import limit_worker_memory
from .serving.metrics_http import auth_middleware
from .serving.middleware import http_middleware
from .serving.monitoring import attach_monitoring
from .serving.ratelimit import rate_limits
from .serving.rollouts import attach_deployments
from .serving.server import export_settings, grpc_task, limit_model_threads
from .serving.supervisor import STARTUP_FAILURE, Supervisor
from .serving.transport import check_exposure, load_tls
from .serving.worker import DrainingServer, EarlySignals
from .store.spill import SpillFile


def build_app(
    settings: Settings | None = None, *, extra_tasks: Sequence[AppTask] = (), drain: Drain | None = None
) -> Starlette:
    """The app of one server worker, built from `settings` (read from the environment when omitted).

    `drain` (set by `serve_worker`) turns readiness off and closes connections after each answer
    once SIGTERM has come."""
    settings = settings or load_settings()
    registry = open_registry(settings)
    plane = create_plane(registry, settings.server, redis_url=settings.redis_url)
    # Audit records of refused requests wait in the home while the database is down (docs/reliability.md).
    spill = SpillFile(settings.home / "spill", "audit")
    authenticator = Authenticator(registry.db, settings.security, spill=spill) if settings.security.auth else None
    # `/metrics` may be opened to scrapers on a private network (monitoring.metrics_public).
    public_metrics = settings.monitoring.metrics_public
    auth = auth_middleware(authenticator, public_metrics=public_metrics) if authenticator is not None else None
    jobs = JobRunner(registry.db)
    limits = rate_limits(settings.server, redis_url=settings.redis_url)
    # Features add their observers to `plane` and their background work to `jobs` here.
    # Metrics and alerts (docs/monitoring.md): the plane's observer and pool events, /metrics, each worker's
    # traffic figures, the AlertManager (every feature fires through it) and the alert rules' job.
    observability = attach_monitoring(plane, jobs, registry, settings)
    extra_tasks = (*extra_tasks, *observability.tasks)
    # Deployments: routing lives in the plane; per-arm figures, shadow copies, the canary controller here.
    # Its quality guard reads the labelled prediction log (policies with max_quality_drop).
    monitoring = MonitoringService.from_settings(settings, registry.db)
    deployments = DeploymentService(registry, status_window_seconds=settings.deployments.status_window_seconds)
    quality = FeedbackQualityProbe(monitoring, lambda name: deployments.get(name).model)
    deployment_tasks = attach_deployments(
        plane, jobs, registry, settings.deployments, alerts=observability.alerts, quality=quality, service=deployments
    )
    extra_tasks = (*extra_tasks, *deployment_tasks)
    # Prediction log (in durable mode a request is answered once its entry is in the write-ahead file), feedback and
    # quality (the job keeps each model's latest figures in the DB): docs/monitoring.md.
    prediction_log = open_prediction_log(settings, registry.db)
    if prediction_log is not None:
        plane.add_observer(prediction_log)
        extra_tasks = (*extra_tasks, prediction_log.run)
    jobs.add(Job("quality", monitoring.update_latest_quality, settings.monitoring.quality_every_seconds))
    # Drift (docs/drift.md): each model's logged window against its versions' reference profiles, stored.
    if settings.drift.schedule:
        jobs.add(Job("drift", scheduled_drift(settings, registry), settings.drift.interval_seconds))
    # Retraining (docs/retraining.md): one worker checks the policies' triggers; a run trains in a child
    # process, and runs of one model never overlap (lease `retrain:<model>`); failed runs alert.
    retrain = open_retrain_service(settings, registry, alerts=observability.alerts)
    jobs.add(trigger_job(retrain, settings.retrain.check_seconds))
    app = create_app(
        plane,
        settings.server,
        authenticator=authenticator,
        management=create_management_api(
            registry,
            actor_default=settings.actor,
            monitoring=monitoring,
            retrain=retrain,
            status_window_seconds=settings.deployments.status_window_seconds,
        ),
        middleware=[
            *http_middleware(settings, redis_url=settings.redis_url, auth=auth, limits=limits, drain=drain),
            *observability.middleware,
        ],
        extra_tasks=extra_tasks,
        jobs=jobs,
        extra_routes=observability.routes,
    )
    app.state.alerts = observability.alerts  # the server's AlertSink (AlertManager)
    # Read by the gRPC server of `worker_app`: the same drain, and the same buckets as HTTP.
    app.state.drain = drain
    app.state.rate_limits = limits
    app.state.prediction_log = prediction_log  # its stats() feed the metrics; None when logging is off
    return app


def worker_app(drain: Drain | None = None) -> Starlette:
    """The app of one worker process, with its gRPC server."""
    settings = load_settings()
    # The pool feeds arrays to models trained on numeric DataFrames once it has checked they answer
    # the same (see ServedModel.predict); scikit-learn would otherwise warn on every call.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    tls = load_tls(settings.server)
    extra = (grpc_task(settings.server, tls),) if settings.server.grpc_port is not None else ()
    return build_app(settings, extra_tasks=extra, drain=drain)


def _uvicorn_config(app: Any, server: ServerSettings, log_level: str) -> uvicorn.Config:
    tls = load_tls(server)
    return uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        workers=server.workers,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
        # No request outlives the time limit (it is answered 504 then); one second more for the answer.
        timeout_graceful_shutdown=math.ceil(server.request_timeout_seconds) + 1,
        ssl_certfile=None if tls is None else str(tls.cert_file),
        ssl_keyfile=None if tls is None else str(tls.key_file),
    )


def serve_worker(log_level: str, sockets: list[socket.socket] | None = None) -> None:
    """One worker process: its memory limit, its app (HTTP + gRPC), served until drained.

    Runs in the `shipyard serve` process itself with one worker, else in each process the supervisor
    spawns (on the listening `sockets` it hands over); settings come from the environment either way.
    """
    early = EarlySignals() if threading.current_thread() is threading.main_thread() else None
    settings = load_settings()
    limit_worker_memory(settings.server.worker_memory_mb)  # before any model is loaded
    drain = Drain(settings.server.drain_seconds)
    config = _uvicorn_config(worker_app(drain), settings.server, log_level)
    server = DrainingServer(config, drain, early_signals=early)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # the port, the TLS files or the app's start-up failed; uvicorn logged why


def run_server(settings: Settings, *, log_level: str = "warning") -> None:
    """Serve HTTP (and gRPC) until SIGTERM or SIGINT, then drain (see `serving.drain`) and return.

    Raises ConfigError before anything listens when the TLS files are unusable, or when the address
    is reachable from other machines while auth is off and `server.insecure` is not set. Exits with a
    non-zero code when a worker could not start or did not stop cleanly.
    """
    server = settings.server
    check_exposure(server, auth=settings.security.auth)
    load_tls(server)
    export_settings(server)
    limit_model_threads(server.workers)
    if settings.monitoring.metrics:  # before any worker imports prometheus_client (monitoring.metrics.multiproc)
        use_run_dir(settings.monitoring.metrics_dir or settings.home / "run" / "metrics")
    if server.workers == 1:
        serve_worker(log_level)
        return
    # The parent binds the port once; each worker accepts on the same socket.
    listener = _uvicorn_config(None, server, log_level).bind_socket()
    stop_timeout = server.drain_seconds + server.request_timeout_seconds + 30  # drain, last requests, lifespan
    code = Supervisor(serve_worker, [listener], server.workers, args=(log_level,), stop_timeout=stop_timeout).run()
    if code:
        sys.exit(code)


__all__ = ["build_app", "run_server", "serve_worker", "worker_app"]
