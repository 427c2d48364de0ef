"""The ASGI application: `create_app` wires given parts (tests), `build_app` builds them from settings."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..config import ServerSettings, Settings, load_settings
from ..errors import ShipyardError
from ..registry import Registry, open_registry
from .cache import CachePolicy
from .dataplane import DataPlane
from .http_errors import handle_shipyard_error, handle_unexpected
from .pool import BatchingDefaults, ModelPool
from .resolver import ModelResolver
from .rest_v1 import v1_routes
from .rest_v2 import v2_routes

logger = logging.getLogger(__name__)


async def batching_stats(request: Request) -> Response:
    plane: DataPlane = request.app.state.plane
    return JSONResponse(
        {
            "models": [
                {
                    "name": m.version.name,
                    "version": m.version.version,
                    "memory_bytes": m.memory_bytes,
                    "load_seconds": m.load_seconds,
                    "batching": m.batcher.stats.to_dict(),
                    "cache": {"hits": m.cache.hits, "misses": m.cache.misses} if m.cache else None,
                }
                for m in plane.pool.loaded()
            ]
        }
    )


def create_plane(registry: Registry, server: ServerSettings, *, redis_url: str | None = None) -> DataPlane:
    resolver = ModelResolver(registry.db, refresh_seconds=server.refresh_seconds)
    pool = ModelPool(
        registry,
        memory_budget_bytes=server.model_memory_mb * 2**20,
        batching=BatchingDefaults(server.max_batch_size, server.max_latency_ms),
        cache_policy=CachePolicy(enabled=server.cache, max_entries=server.cache_entries, redis_url=redis_url),
    )
    return DataPlane(resolver, pool)


async def preload(plane: DataPlane) -> None:
    for name in plane.resolver.names():
        with contextlib.suppress(ShipyardError):
            await plane.served(name)


def create_app(plane: DataPlane, server: ServerSettings, *, extra_tasks: tuple[Any, ...] = ()) -> Starlette:
    """The app around a data plane. Its lifespan refreshes the registry snapshot in the background."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plane.resolver.refresh()
        if server.preload:
            await preload(plane)
        # Everything imported and loaded so far lives as long as the worker: keep it out of the
        # garbage collector's scans, which otherwise stall requests for tens of milliseconds.
        gc.freeze()
        tasks = [asyncio.create_task(plane.resolver.run())] + [asyncio.create_task(t(plane)) for t in extra_tasks]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

    app = Starlette(
        routes=[*v2_routes(), *v1_routes(), Route("/debug/batching", batching_stats, methods=["GET"])],
        lifespan=lifespan,
        exception_handlers={ShipyardError: handle_shipyard_error, Exception: handle_unexpected},
    )
    app.state.plane = plane
    app.state.max_body_bytes = server.max_body_bytes
    return app


def build_app(settings: Settings | None = None) -> Starlette:
    """The composition root of a server worker: settings → registry → data plane → app."""
    settings = settings or load_settings()
    registry = open_registry(settings)
    return create_app(create_plane(registry, settings.server, redis_url=settings.redis_url), settings.server)


__all__ = ["build_app", "create_app", "create_plane"]
