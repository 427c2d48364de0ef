"""The server's composition root: settings → registry, data plane, auth, management API → one app.

This is an edge module (it wires the runtime's serving app together with the management API), so
`shipyard serve`, uvicorn's worker factory and tests that want the real thing all come through here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware

from .api import create_management_api
from .config import Settings, load_settings
from .registry import open_registry
from .security.authenticator import Authenticator
from .security.http_auth import AuthMiddleware
from .serving.app import AppTask, create_app, create_plane
from .serving.background import JobRunner
from .serving.middleware import http_middleware
from .serving.server import export_settings, grpc_task, limit_model_threads
from .serving.transport import check_exposure, load_tls


def build_app(settings: Settings | None = None, *, extra_tasks: Sequence[AppTask] = ()) -> Starlette:
    """The app of one server worker, built from `settings` (read from the environment when omitted)."""
    settings = settings or load_settings()
    registry = open_registry(settings)
    plane = create_plane(registry, settings.server, redis_url=settings.redis_url)
    authenticator = Authenticator(registry.db, settings.security) if settings.security.auth else None
    auth = Middleware(AuthMiddleware, authenticator=authenticator) if authenticator is not None else None
    jobs = JobRunner(registry.db)
    # Features add their observers to `plane` and their background work to `jobs` here.
    return create_app(
        plane,
        settings.server,
        authenticator=authenticator,
        management=create_management_api(registry, actor_default=settings.actor),
        middleware=http_middleware(settings, redis_url=settings.redis_url, auth=auth),
        extra_tasks=extra_tasks,
        jobs=jobs,
    )


def worker_app() -> Starlette:
    """The app of one worker process, with its gRPC server (uvicorn's factory)."""
    settings = load_settings()
    # The pool feeds arrays to models trained on numeric DataFrames once it has checked they answer
    # the same (see ServedModel.predict); scikit-learn would otherwise warn on every call.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    tls = load_tls(settings.server)
    extra = (grpc_task(settings.server, tls),) if settings.server.grpc_port is not None else ()
    return build_app(settings, extra_tasks=extra)


def run_server(settings: Settings, *, log_level: str = "warning") -> None:
    """Serve HTTP (and gRPC) until interrupted.

    Raises ConfigError before anything listens when the TLS files are unusable, or when the address
    is reachable from other machines while auth is off and `server.insecure` is not set.
    """
    import uvicorn

    server = settings.server
    check_exposure(server, auth=settings.security.auth)
    tls = load_tls(server)
    export_settings(server)
    limit_model_threads(server.workers)
    uvicorn.run(
        "shipyard.server:worker_app",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
        ssl_certfile=None if tls is None else str(tls.cert_file),
        ssl_keyfile=None if tls is None else str(tls.key_file),
    )


__all__ = ["build_app", "run_server", "worker_app"]
