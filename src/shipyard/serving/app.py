"""The ASGI application: `create_app` wires given parts. The composition root that builds them from
settings is `shipyard.server.build_app` (an edge: it also mounts the management API)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from ..config import ServerSettings
from ..errors import ShipyardError
from ..registry import Registry
from ..security.authenticator import Authenticator
from .background import JobRunner
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
    return DataPlane(resolver, pool, max_rows=server.max_rows)


async def preload(plane: DataPlane) -> None:
    for name in plane.resolver.names():
        with contextlib.suppress(ShipyardError):
            await plane.served(name)


_YOUNG_GC_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def _tune_garbage_collector() -> None:
    """Everything imported and loaded so far lives as long as the worker: keep it out of the garbage
    collector's scans, which otherwise stall requests for tens of milliseconds (`freeze`). And collect
    the young generation less often: each collection walks every object of the requests in flight,
    and at Python's default of 700 allocations a busy worker ran ~600 of them a second — about 8% of
    its CPU (measured with gc.callbacks under the serving benchmark's load; ~2% at 10,000)."""
    gc.freeze()
    gc.set_threshold(_YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


AppTask = Callable[[Starlette], Awaitable[None]]
"""Background work run for the app's lifetime (e.g. the gRPC server), given the app."""


def create_app(
    plane: DataPlane,
    server: ServerSettings,
    *,
    authenticator: Authenticator | None = None,
    management: ASGIApp | None = None,
    middleware: Sequence[Middleware] = (),
    extra_tasks: Sequence[AppTask] = (),
    jobs: JobRunner | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The app around a data plane: V2 and V1 routes, `/api/v1` when `management` is given, and
    `extra_routes` (e.g. `/metrics`).

    Its lifespan refreshes the registry snapshot (and the authenticator's keys) in the background
    and runs `jobs` (each on one worker at a time, under its lease).
    `middleware` is outermost first; put `AuthMiddleware` in it to protect every route.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plane.resolver.refresh()
        if authenticator is not None:
            await authenticator.refresh()
        if server.preload:
            await preload(plane)
        _tune_garbage_collector()
        tasks = [asyncio.create_task(plane.resolver.run())]
        if authenticator is not None:
            tasks.append(asyncio.create_task(authenticator.run()))
        if jobs is not None and jobs.jobs:
            tasks.append(asyncio.create_task(jobs.run()))
        tasks += [asyncio.ensure_future(task(app)) for task in extra_tasks]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if authenticator is not None:
                await authenticator.aclose()

    routes: list[BaseRoute] = [*v2_routes(), *v1_routes(), Route("/debug/batching", batching_stats, methods=["GET"])]
    routes += extra_routes
    if management is not None:
        routes.insert(0, Mount("/api/v1", app=management))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=list(middleware),
        exception_handlers={ShipyardError: handle_shipyard_error, Exception: handle_unexpected},
    )
    app.state.plane = plane
    app.state.authenticator = authenticator
    app.state.jobs = jobs
    app.state.max_body_bytes = server.max_body_bytes
    return app


__all__ = ["AppTask", "create_app", "create_plane"]
