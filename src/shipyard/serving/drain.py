"""A worker's way out after SIGTERM: not ready at once, still serving for a while, then stopping.

    SIGTERM ─► draining: /v2/health/ready and gRPC ServerReady answer "not ready", every HTTP
               response says `Connection: close`, requests are still served
            ─► `seconds` later: listeners close (HTTP and gRPC), requests in flight finish
            ─► the process exits 0

The pause lets load balancers and Kubernetes see the worker leave before it stops accepting: a
connection refused then reaches only a client that ignored readiness, and no request that got in
is dropped. `Drain` is only the state and the stop hooks; `serving.workers` drives it from the
signal, the REST ready route, the gRPC servicer and `DrainMiddleware` read it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

Stopper = Callable[[], Awaitable[None]]
"""Stops one listener (e.g. the gRPC server) and returns once what it had in flight has finished."""


class Drain:
    """The shutdown state of one worker process."""

    def __init__(self, seconds: float = 0.0, *, clock: Clock = time.monotonic) -> None:
        if seconds < 0:
            raise ValueError(f"drain seconds must be >= 0, got {seconds}")
        self.seconds = seconds
        self._clock = clock
        self.started_at: float | None = None
        self.closing = False
        """True once the pause is over and the listeners are being stopped."""
        self._stoppers: list[Stopper] = []

    @property
    def draining(self) -> bool:
        """True from the signal on: readiness answers "not ready"."""
        return self.started_at is not None

    def begin(self, *, seconds: float | None = None) -> None:
        """Start draining (safe from a signal handler: it only sets attributes); `seconds` overrides the pause.

        A second call changes nothing, but may shorten the pause (a SIGINT after a SIGTERM)."""
        if seconds is not None:
            self.seconds = min(self.seconds, seconds) if self.draining else seconds
        if self.started_at is None:
            self.started_at = self._clock()

    def over(self) -> bool:
        """True once the pause after the signal has passed: time to stop accepting."""
        return self.started_at is not None and self._clock() - self.started_at >= self.seconds

    def on_stop(self, stopper: Stopper) -> None:
        """Call `stopper` when the worker stops accepting (after the pause)."""
        self._stoppers.append(stopper)

    async def stop_listeners(self) -> None:
        """Run every stopper at once and wait for all; one that fails is logged and does not stop the others."""
        self.closing = True
        stoppers, self._stoppers = self._stoppers, []
        results = await asyncio.gather(*(stop() for stop in stoppers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                logger.error("stopping a listener failed", exc_info=result)

    def __repr__(self) -> str:
        return f"Drain(seconds={self.seconds}, draining={self.draining})"


class DrainMiddleware:
    """While draining, every HTTP response carries `Connection: close`.

    A keep-alive connection would otherwise stay open to the last moment, and a request sent on it
    just as the worker closes idle connections would be lost on the way; closed after each answer,
    the client opens a fresh connection for its next request, which the load balancer (having seen
    readiness fail) sends elsewhere.
    """

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and self.drain.draining:
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, receive, closing_send)

    def __repr__(self) -> str:
        return f"DrainMiddleware(drain={self.drain!r})"


__all__ = ["Drain", "DrainMiddleware", "Stopper"]
