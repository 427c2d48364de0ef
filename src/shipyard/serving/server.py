"""Running the server: uvicorn for HTTP (one or more worker processes) and gRPC in each worker.

`shipyard serve` writes its options into the environment as `SHIPYARD_SERVER__*`, so every worker
process builds the same `Settings` through `worker_app()`, the factory uvicorn calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import warnings

from starlette.applications import Starlette

from ..config import ServerSettings, Settings, load_settings
from .app import AppTask, build_app
from .transport import TlsFiles, check_exposure, load_tls

logger = logging.getLogger(__name__)


def _grpc_task(server: ServerSettings, tls: TlsFiles | None) -> AppTask:
    async def run(app: Starlette) -> None:
        from .grpc_server import start_grpc_server

        grpc = await start_grpc_server(
            app.state.plane,
            server.host,
            server.grpc_port or 0,
            max_message_bytes=server.max_body_bytes,
            tls=None if tls is None else (tls.key_pem, tls.cert_pem),
            reuse_port=server.workers > 1,  # every worker binds the same port on purpose
            request_timeout=server.request_timeout_seconds,
            authenticator=app.state.authenticator,
        )
        try:
            await asyncio.Event().wait()  # until the lifespan cancels this task
        finally:
            await grpc.stop(grace=5)

    return run


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory)."""
    settings = load_settings()
    # The pool feeds arrays to models trained on numeric DataFrames once it has checked they answer
    # the same (see ServedModel.predict); scikit-learn would otherwise warn on every call.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    tls = load_tls(settings.server)
    extra = (_grpc_task(settings.server, tls),) if settings.server.grpc_port is not None else ()
    return build_app(settings, extra_tasks=extra)


def export_settings(server: ServerSettings) -> None:
    """Hand the server options to worker processes through the environment."""
    for name, value in server.model_dump().items():
        key = f"SHIPYARD_SERVER__{name.upper()}"
        if value is None:
            os.environ[key] = "null"  # read back as None (Settings' env_parse_none_str)
        elif isinstance(value, list | dict):
            os.environ[key] = json.dumps(value)  # pydantic-settings reads complex values as JSON
        else:
            os.environ[key] = str(value).lower() if isinstance(value, bool) else str(value)


def limit_model_threads(workers: int) -> None:
    """Share the cores between workers: OpenMP/BLAS pools (HistGradientBoosting, XGBoost, numpy) otherwise
    start one thread per core in every worker, and N workers × all cores threads fight over the CPU
    (measured: a 2-worker server on 2 cores answered HGB 2.4× faster with one thread per worker).
    A value the user set is kept."""
    if workers <= 1:
        return
    per_worker = str(max(1, (os.cpu_count() or 1) // workers))
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, per_worker)


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
        "shipyard.serving.server:worker_app",
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


__all__ = ["export_settings", "limit_model_threads", "run_server", "worker_app"]
