"""`/metrics` over HTTP: the route, the in-flight gauge around inference requests, and the opt-in
public access for scrapers (`monitoring.metrics_public`).

This module does not import prometheus_client (the composition root imports the metrics only once
the multiprocess folder is set; see `monitoring.metrics.multiproc`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import anyio.to_thread
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..security.authenticator import Authenticator
from ..security.http_auth import AuthMiddleware
from .middleware import inference_model

if TYPE_CHECKING:
    from ..monitoring.metrics.exposition import MetricsExporter


class InFlight(Protocol):
    def inflight(self, delta: int) -> None: ...


def metrics_route(exporter: MetricsExporter) -> Route:
    """`GET /metrics`: the Prometheus text format (read off the event loop: it reads files and the DB)."""
    from ..monitoring.metrics.exposition import CONTENT_TYPE

    async def metrics(request: Request) -> Response:
        exporter.metrics.flush()  # this worker's latest tallies, on the loop where they are made
        body = await anyio.to_thread.run_sync(exporter.render)
        return Response(body, media_type=CONTENT_TYPE)

    return Route("/metrics", metrics, methods=["GET"])


class InFlightMiddleware:
    """Counts HTTP inference requests (V2 and V1) from arrival to the end of their answer."""

    def __init__(self, app: ASGIApp, gauge: InFlight) -> None:
        self.app = app
        self.gauge = gauge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or inference_model(scope.get("method", ""), scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        self.gauge.inflight(1)
        try:
            await self.app(scope, receive, send)
        finally:
            self.gauge.inflight(-1)


class PublicMetricsAuth:
    """The auth middleware, except for `GET /metrics`, which anyone may read.

    Only with `monitoring.metrics_public = true`: for a Prometheus scraping over a private network that
    holds no key. The figures name models and deployments but carry no inputs, outputs or keys.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.auth = AuthMiddleware(app, authenticator)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics" and scope.get("method") in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        await self.auth(scope, receive, send)


def auth_middleware(authenticator: Authenticator, *, public_metrics: bool) -> Middleware:
    """The auth middleware of the server: `PublicMetricsAuth` when `/metrics` is public, else `AuthMiddleware`."""
    return Middleware(PublicMetricsAuth if public_metrics else AuthMiddleware, authenticator=authenticator)


__all__ = ["InFlightMiddleware", "PublicMetricsAuth", "auth_middleware", "metrics_route"]
