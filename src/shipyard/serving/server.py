"""What each server worker runs beside HTTP, and how workers share settings and cores.

`shipyard serve` writes its options into the environment as `SHIPYARD_SERVER__*`, so every worker
process builds the same `Settings` (see `shipyard.server`, the composition root uvicorn calls).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

from starlette.applications import Starlette

from ..config import ServerSettings
from .app import AppTask
from .drain import Drain
from .transport import TlsFiles

logger = logging.getLogger(__name__)


def grpc_task(server: ServerSettings, tls: TlsFiles | None) -> AppTask:
    """The gRPC server of one worker, started and stopped with the app's lifespan."""

    async def run(app: Starlette) -> None:
        from .grpc_server import start_grpc_server

        drain: Drain | None = getattr(app.state, "drain", None)
        grpc = await start_grpc_server(
            app.state.plane,
            server.host,
            server.grpc_port or 0,
            max_message_bytes=server.max_body_bytes,
            tls=None if tls is None else (tls.key_pem, tls.cert_pem),
            reuse_port=server.workers > 1,  # every worker binds the same port on purpose
            request_timeout=server.request_timeout_seconds,
            authenticator=app.state.authenticator,
            rate_limits=getattr(app.state, "rate_limits", None),
            drain=drain,
        )
        # Calls in flight may run up to the request time limit; after it they are answered anyway.
        grace = server.request_timeout_seconds + 1
        if drain is not None:  # with HTTP's listener, once the drain pause is over

            async def stop() -> None:
                await asyncio.sleep(0.1)  # new calls are refused UNAVAILABLE meanwhile (grpc_server)
                await grpc.stop(grace)

            drain.on_stop(stop)
        try:
            await asyncio.Event().wait()  # until the lifespan cancels this task
        finally:
            await grpc.stop(grace)

    return run


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


__all__ = ["export_settings", "grpc_task", "limit_model_threads"]
