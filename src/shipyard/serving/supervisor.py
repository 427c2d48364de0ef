"""`--workers N`: the parent process that starts N worker processes on one listening socket.

Like uvicorn's multiprocess supervisor, with what a drained stop needs:

- SIGTERM or SIGINT is passed on to every worker as SIGTERM (each drains, see `serving.worker`),
  and the parent closes its own copy of the listening socket at once, so that the port stops
  accepting when the last worker closes it (a socket the parent kept open would go on queuing
  connections that nobody serves, and reset them all when the parent exits).
- The parent exits 0 when every worker exited 0, else with the first failing worker's code.
- A worker that dies on its own is replaced (after a pause, so a crash loop cannot spin). One of the
  first workers that exits with `STARTUP_FAILURE` stops everything: the next would fail alike (a bad
  setting, a port taken). A *replacement* that cannot start is tried again with a growing pause
  (1 s doubling to 30 s) while the other workers keep serving: what it lacks is usually a dependency
  that is down for a while (the database), and stopping the healthy workers would only make it worse.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

STARTUP_FAILURE = 3
"""Exit code of a worker that could not start (uvicorn's own `STARTUP_FAILURE`)."""

_RESTART_PAUSE = 1.0
_MAX_RESTART_PAUSE = 30.0

WorkerTarget = Callable[..., None]
"""A module-level function run in each worker process as `target(*args, sockets=[...])` (it is pickled: spawn)."""


class Supervisor:
    """Runs `workers` processes of `target` on `sockets` until a signal, then waits for them to drain."""

    def __init__(
        self,
        target: WorkerTarget,
        sockets: list[socket.socket],
        workers: int,
        *,
        args: tuple[Any, ...] = (),
        stop_timeout: float = 60.0,
        restart_pause: float = _RESTART_PAUSE,
    ) -> None:
        # Sockets cross to spawned processes by pickling (a duplicated file descriptor).
        multiprocessing.allow_connection_pickling()
        self._context = multiprocessing.get_context("spawn")
        self.target, self.sockets, self.workers, self.args = target, sockets, workers, args
        self.stop_timeout = stop_timeout
        self.restart_pause = restart_pause
        self.processes: list[SpawnProcess] = []
        self._replaced: set[int] = set()  # slots whose first worker died: later ones are replacements
        self._failed_starts: dict[int, int] = {}  # slot → replacements in a row that could not start
        self._restart_at: dict[int, float] = {}  # slot → when its dead worker is replaced
        self._signals: list[int] = []
        self._stopping_since: float | None = None

    def run(self) -> int:
        """Serve until stopped; the exit code the command should end with."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.processes = [self._start() for _ in range(self.workers)]
            while True:
                time.sleep(0.1)
                if self._signals:
                    self._stop(self._signals.pop(0))
                if self._stopping_since is None:
                    failed = self._replace_dead()
                    if failed is not None:
                        self._stop(signal.SIGTERM)
                        self._wait()
                        return failed
                elif self._all_exited() or self._overdue():
                    return self._wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self._signals.append(sig)

    def _start(self) -> SpawnProcess:
        process = self._context.Process(target=self.target, args=self.args, kwargs={"sockets": self.sockets})
        process.start()
        return process

    def _stop(self, sig: int) -> None:
        if self._stopping_since is not None:
            if sig == signal.SIGINT:  # a second Ctrl+C: stop waiting for requests in flight
                self._send(signal.SIGINT)
            return
        logger.info("received %s: draining %d worker(s)", signal.Signals(sig).name, len(self.processes))
        self._stopping_since = time.monotonic()
        for sock in self.sockets:
            sock.close()
        self._send(signal.SIGTERM)

    def _send(self, sig: int) -> None:
        for process in self.processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, sig)

    def _replace_dead(self) -> int | None:
        """Replace workers that died, each after its pause; the exit code to stop with when one of the
        first workers could not start."""
        now = time.monotonic()
        for index, process in enumerate(self.processes):
            if process.exitcode is None:
                continue
            if index in self._restart_at:
                if now >= self._restart_at[index]:
                    del self._restart_at[index]
                    self.processes[index] = self._start()
                continue
            if process.exitcode == STARTUP_FAILURE and index not in self._replaced:
                logger.error("worker %s could not start; stopping the server", process.pid)
                return STARTUP_FAILURE
            if process.exitcode == STARTUP_FAILURE:
                failures = self._failed_starts[index] = self._failed_starts.get(index, 0) + 1
                pause = min(self.restart_pause * 2**failures, _MAX_RESTART_PAUSE)
                logger.error(
                    "replacement worker %s could not start (is the database reachable?); the others keep "
                    "serving; trying again in %.0f s",
                    process.pid,
                    pause,
                )
            else:
                self._failed_starts.pop(index, None)
                pause = self.restart_pause
                logger.error("worker %s died (exit code %s); starting another", process.pid, process.exitcode)
            self._replaced.add(index)
            self._restart_at[index] = now + pause
        return None

    def _all_exited(self) -> bool:
        return all(p.exitcode is not None for p in self.processes)

    def _overdue(self) -> bool:
        return self._stopping_since is not None and time.monotonic() - self._stopping_since > self.stop_timeout

    def _wait(self) -> int:
        for process in self.processes:
            process.join(timeout=max(0.0, self.stop_timeout - (time.monotonic() - (self._stopping_since or 0.0))))
            if process.exitcode is None:
                logger.error("worker %s did not stop within %.0f s; killing it", process.pid, self.stop_timeout)
                process.kill()
                process.join()
        # A worker killed by a signal reads -N here; shells say 128 + N. Killed by our own SIGTERM means it
        # was still starting (importing, before it could take the signal over): it never served a request.
        # A slot still waiting to replace its dead worker says nothing about how this stop went.
        codes = [p.exitcode or 0 for i, p in enumerate(self.processes) if i not in self._restart_at]
        return next((c if c > 0 else 128 - c for c in codes if c not in (0, -signal.SIGTERM)), 0)

    def __repr__(self) -> str:
        return f"Supervisor(workers={self.workers}, pids={[p.pid for p in self.processes]})"


__all__ = ["STARTUP_FAILURE", "Supervisor", "WorkerTarget"]
