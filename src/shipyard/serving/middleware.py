"""The HTTP limits around the app: security headers, CORS, a time limit per request, rate limits.

Each is plain ASGI (no `BaseHTTPMiddleware`): nothing is buffered and a request costs a few
attribute lookups. `http_middleware(settings, redis_url=…)` returns them in order, outermost
first, with the auth middleware (when given) between the time limit and the rate limits:

    [drain →] security headers → CORS → time limit → auth → rate limits → app

- The drain (`serving.drain`, only in a worker `shipyard serve` runs) closes connections after
  each answer once SIGTERM has come.
- Security headers outermost, so every answer gets them, a 401, 429 or 504 included.
- CORS next: a browser's preflight carries no credentials and must be answered before auth,
  and a 401 or 429 needs the CORS headers for the page to read it.
- The time limit covers everything that may wait (auth's key lookup, Redis, the model).
- Rate limits after auth, which hands them the caller (`scope["state"]["principal"]`).
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import ServerSettings, Settings
from ..errors import RateLimited
from ..security.permissions import Principal
from .drain import Drain, DrainMiddleware
from .http_errors import handle_shipyard_error, json_error
from .ratelimit import Limit, RateLimiter, RateLimits, caller_key, rate_limiter, rate_limits

logger = logging.getLogger(__name__)

_BASE_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
_API_PREFIXES = ("/v1/", "/v2", "/api/", "/metrics", "/debug/")
_JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
_HSTS = "max-age=31536000; includeSubDomains"
# The same segments as the inference routes' `{model}` (Starlette matches [^/]+, `:predict` included).
_INFERENCE_PATH = re.compile(
    r"^/(?:v2/models/(?P<v2>[^/]+)(?:/versions/[^/]+)?/infer|v1/models/(?P<v1>[^/]+)(?:/versions/[^/]+)?:predict)$"
)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return (path[len(root) :] or "/") if root and path.startswith(root) else path


class SecurityHeadersMiddleware:
    """Adds headers that keep browsers from sniffing, framing or caching answers; never replaces the app's own.

    Every response: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy:
    no-referrer`. API and inference responses: `Cache-Control: no-store` (they may hold predictions or
    keys). JSON: `Content-Security-Policy: default-src 'none'`. Over HTTPS: `Strict-Transport-Security`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = _route_path(scope).startswith(_API_PREFIXES)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _BASE_HEADERS:
                    headers.setdefault(name, value)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
                if headers.get("content-type", "").startswith("application/json"):
                    headers.setdefault("Content-Security-Policy", _JSON_CSP)
                if https:
                    headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TimeoutMiddleware:
    """Cancels an HTTP request still running after `timeout_seconds` and answers 504 `{"error": …}`.

    The model call itself runs in a worker thread, which cannot be interrupted: it finishes in the
    background and its result is dropped (the request's future was cancelled with the request), so
    a timeout frees the client but not the model. When the response had already started (a stream),
    no second one can be sent: the request is cut off and the server closes the connection.
    """

    def __init__(self, app: ASGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        timeout = asyncio.timeout(self.timeout_seconds)
        try:
            async with timeout:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not timeout.expired():
                raise  # the app's own TimeoutError (a socket, a client library): not ours to answer
            self._timed_out(scope)
            if not started:
                response = json_error(504, self._message())
                await response(scope, receive, send)

    def _message(self) -> str:
        return (
            f"The request took longer than {self.timeout_seconds:g} s and was stopped "
            "(SHIPYARD_SERVER__REQUEST_TIMEOUT_SECONDS). Retry later, or send fewer rows per request."
        )

    def _timed_out(self, scope: Scope) -> None:
        logger.warning("%s %s timed out after %g s", scope.get("method"), _route_path(scope), self.timeout_seconds)

    def __repr__(self) -> str:
        return f"TimeoutMiddleware(timeout_seconds={self.timeout_seconds})"


def inference_model(method: str, path: str) -> str | None:
    """The model (or deployment) name of an inference request, None for any other request."""
    if method != "POST":
        return None
    match = _INFERENCE_PATH.match(path)
    return None if match is None else match["v2"] or match["v1"]


def caller_identity(scope: Scope) -> tuple[str, str]:
    """(bucket key, words for messages) of an HTTP request's caller (see `ratelimit.caller_key`)."""
    principal = (scope.get("state") or {}).get("principal")
    client = scope.get("client")
    return caller_key(principal if isinstance(principal, Principal) else None, str(client[0]) if client else None)


class RateLimitMiddleware:
    """Charges each inference request to its caller's bucket and its model's (`RateLimits`); 429 with
    Retry-After when either is empty."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        *,
        per_key: Limit | None = None,
        per_model: Limit | None = None,
    ) -> None:
        self.app = app
        self.limits = RateLimits(limiter, per_key=per_key, per_model=per_model)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model = inference_model(scope.get("method", ""), _route_path(scope)) if scope["type"] == "http" else None
        if model is not None:
            try:
                await self.limits.charge(caller_identity(scope), model)
            except RateLimited as refusal:
                response = await handle_shipyard_error(Request(scope), refusal)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"RateLimitMiddleware({self.limits!r})"


def http_middleware(
    settings: Settings,
    *,
    redis_url: str | None,
    auth: Middleware | None = None,
    limits: RateLimits | None = None,
    drain: Drain | None = None,
) -> list[Middleware]:
    """The HTTP middleware, outermost first, for `Starlette(middleware=…)`; `auth` goes where it must be.

    `limits` shares its buckets with gRPC (default: built from the settings); `drain` adds
    `DrainMiddleware` outermost."""
    server: ServerSettings = settings.server
    stack = [Middleware(DrainMiddleware, drain=drain)] if drain is not None else []
    stack.append(Middleware(SecurityHeadersMiddleware))
    if server.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=server.cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "Inference-Header-Content-Length"],
                expose_headers=["Retry-After", "Inference-Header-Content-Length"],
                max_age=600,
            )
        )
    stack.append(Middleware(TimeoutMiddleware, timeout_seconds=server.request_timeout_seconds))
    if auth is not None:
        stack.append(auth)
    limits = limits or rate_limits(server, redis_url=redis_url)
    if limits is not None:
        # The limiter object holds the buckets: handing it over shares them with whoever else holds `limits`.
        stack.append(
            Middleware(RateLimitMiddleware, limiter=limits.limiter, per_key=limits.per_key, per_model=limits.per_model)
        )
    return stack


__all__ = [
    "Limit",
    "RateLimitMiddleware",
    "SecurityHeadersMiddleware",
    "TimeoutMiddleware",
    "caller_identity",
    "http_middleware",
    "inference_model",
    "rate_limiter",
]
