"""One server worker process: uvicorn's `Server`, with the drain of `serving.drain` on SIGTERM.

What changes from uvicorn's own shutdown, and why:

- SIGTERM does not stop the worker at once: readiness turns false and it keeps serving for
  `drain.seconds`, so load balancers stop sending first (SIGINT, a person at a terminal, skips
  the pause; a second SIGINT forces the exit).
- When it stops accepting, connections the kernel had already queued are still accepted (see
  `serving.listener`), and a connection accepted a moment earlier whose request has not arrived
  yet is given `first_request_grace` seconds to send it. uvicorn closes such a connection at once,
  and the client, which had connected successfully, sees its request reset.
- The gRPC server stops accepting at the same moment, and its calls in flight finish too.
- The signal is not raised again at the end (uvicorn does, to exit "killed by SIGTERM"): a
  drained worker exits 0, which is what init systems and orchestrators call a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from types import FrameType

import uvicorn

from .drain import Drain
from .listener import queued_connections, refuse_new_connections

logger = logging.getLogger(__name__)

_HANDLED = (signal.SIGINT, signal.SIGTERM)


class EarlySignals:
    """Holds SIGTERM/SIGINT from the first moment of a worker process until its server takes them over.

    Building the app (imports, the registry, preloaded models) takes seconds; a SIGTERM then would
    otherwise kill the worker outright (exit -15) instead of starting its drain.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        for sig in _HANDLED:
            signal.signal(sig, self._note)

    def _note(self, sig: int, frame: FrameType | None) -> None:
        self.received.append(sig)

    def take(self) -> list[int]:
        received, self.received = self.received, []
        return received


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains on SIGTERM (see the module docstring)."""

    def __init__(
        self,
        config: uvicorn.Config,
        drain: Drain,
        *,
        first_request_grace: float = 1.0,
        early_signals: EarlySignals | None = None,
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.first_request_grace = first_request_grace
        self._early = early_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _HANDLED}
        if self._early is not None:  # signals that came while the worker was still being built
            for sig in self._early.take():
                self.handle_exit(sig, None)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in the main thread between two bytecodes: it only sets flags, which `on_tick` reads.
        if sig == signal.SIGINT and self.drain.draining and self.drain.seconds == 0:
            self.force_exit = self.should_exit = True  # a second Ctrl+C: stop waiting for requests
            return
        self.drain.begin(seconds=0.0 if sig == signal.SIGINT else None)
        if self.drain.draining:
            logger.info("draining: not ready, serving for %.1f s more before closing the ports", self.drain.seconds)

    async def on_tick(self, counter: int) -> bool:
        if not self.should_exit and self.drain.over():
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        logger.info("Shutting down: closing the ports, finishing requests in flight")
        listeners = asyncio.ensure_future(self.drain.stop_listeners())
        await self._close_ports(sockets or [])
        await self._wait_for_first_requests()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                await self._wait_tasks_to_complete()
        except TimeoutError:
            logger.error("cancelling %d request(s) still running after the grace period", len(self.server_state.tasks))
            for task in self.server_state.tasks:
                task.cancel(msg="still running after the graceful shutdown timeout")
        await listeners
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _close_ports(self, sockets: list[socket.socket]) -> None:
        """Stop accepting: no new connection gets in, those the kernel had queued are served (`serving.listener`)."""
        filenos = {sock.fileno() for server in self.servers for sock in server.sockets or ()}
        filenos |= {sock.fileno() for sock in sockets}
        if refuse_new_connections(filenos):
            # At least a moment for handshakes begun before the filter to complete and join the queue.
            settled, deadline = time.monotonic() + 0.05, time.monotonic() + 1.0
            while time.monotonic() < deadline and (
                time.monotonic() < settled or any(queued_connections(f) for f in filenos)
            ):
                await asyncio.sleep(0.005)  # the event loop accepts them meanwhile
        for server in self.servers:
            server.close()
        for sock in sockets:
            sock.close()

    async def _wait_for_first_requests(self) -> None:
        """Until every connection has a request (or had one), or the grace has passed."""
        deadline = time.monotonic() + self.first_request_grace
        while time.monotonic() < deadline and any(_awaits_first_request(c) for c in self.server_state.connections):
            await asyncio.sleep(0.01)


def _awaits_first_request(connection: object) -> bool:
    # uvicorn's HTTP protocols (httptools and h11) create `cycle` once a request's headers are in;
    # None means the connection was accepted and nothing has been read from it yet.
    return getattr(connection, "cycle", False) is None and not _closing(connection)


def _closing(connection: object) -> bool:
    transport = getattr(connection, "transport", None)
    return transport is None or bool(transport.is_closing())


__all__ = ["DrainingServer", "EarlySignals"]
