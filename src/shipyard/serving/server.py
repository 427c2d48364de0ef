"""Running the server: uvicorn for HTTP (one or more worker processes) and gRPC in each worker.

`shipyard serve` writes its options into the environment as `SHIPYARD_SERVER__*`, so every worker
process builds the same `Settings` through `worker_app()`, the factory uvicorn calls.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from starlette.applications import Starlette

from ..config import ServerSettings, Settings, load_settings
from ..registry import open_registry
from .app import create_app, create_plane
from .dataplane import DataPlane

logger = logging.getLogger(__name__)


def _grpc_task(server: ServerSettings) -> Any:
    async def run(plane: DataPlane) -> None:
        import asyncio

        from .grpc_server import start_grpc_server

        grpc = await start_grpc_server(
            plane,
            server.host,
            server.grpc_port or 0,
            max_message_bytes=server.max_body_bytes,
            reuse_port=server.workers > 1,  # every worker binds the same port on purpose
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
    registry = open_registry(settings)
    extra = (_grpc_task(settings.server),) if settings.server.grpc_port is not None else ()
    plane = create_plane(registry, settings.server, redis_url=settings.redis_url)
    return create_app(plane, settings.server, extra_tasks=extra)


def export_settings(server: ServerSettings) -> None:
    """Hand the server options to worker processes through the environment."""
    for name, value in server.model_dump().items():
        key = f"SHIPYARD_SERVER__{name.upper()}"
        if value is None:
            os.environ[key] = "null"  # read back as None (Settings' env_parse_none_str)
        else:
            os.environ[key] = str(value).lower() if isinstance(value, bool) else str(value)


def run_server(settings: Settings, *, log_level: str = "warning") -> None:
    import uvicorn

    export_settings(settings.server)
    server = settings.server
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
    )


__all__ = ["export_settings", "run_server", "worker_app"]
