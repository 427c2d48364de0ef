"""The drain of a worker after SIGTERM, piece by piece: its state, readiness and `Connection: close`
on the real app, and closing a listening socket without resetting what the kernel had queued."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from shipyard.config import Settings, load_settings
from shipyard.errors import ConfigError
from shipyard.server import build_app
from shipyard.serving.drain import Drain
from shipyard.serving.listener import queued_connections, refuse_new_connections
from shipyard.serving.supervisor import Supervisor


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def test_drain_state_goes_not_ready_then_over_after_its_pause() -> None:
    clock = FakeClock()
    drain = Drain(2.0, clock=clock)
    assert not drain.draining and not drain.over()
    drain.begin()
    assert drain.draining and not drain.over()
    clock.now += 1.9
    drain.begin()  # a second SIGTERM changes nothing
    assert not drain.over()
    clock.now += 0.1
    assert drain.over()


def test_sigint_after_sigterm_shortens_the_pause() -> None:
    clock = FakeClock()
    drain = Drain(30.0, clock=clock)
    drain.begin()
    drain.begin(seconds=0.0)
    assert drain.over() and drain.seconds == 0.0
    drain.begin(seconds=5.0)  # never longer again
    assert drain.seconds == 0.0


def test_stop_listeners_runs_every_stopper_even_when_one_fails() -> None:
    import asyncio

    stopped: list[str] = []
    drain = Drain()

    async def ok() -> None:
        stopped.append("grpc")

    async def broken() -> None:
        raise RuntimeError("already closed")

    drain.on_stop(broken)
    drain.on_stop(ok)
    asyncio.run(drain.stop_listeners())
    assert stopped == ["grpc"] and drain.closing


@pytest.mark.parametrize("seconds", [-1, "soon"])
def test_drain_seconds_must_be_a_non_negative_number(seconds: object) -> None:
    with pytest.raises(ConfigError, match="DRAIN_SECONDS"):
        load_settings(server={"drain_seconds": seconds})
    with pytest.raises(ValueError, match="drain seconds"):
        Drain(-1.0)


@pytest.fixture
def drained_app(tmp_path: Path) -> Iterator[tuple[TestClient, Drain]]:
    drain = Drain(5.0)
    app = build_app(Settings(home=tmp_path / "home", security={"auth": False}), drain=drain)
    with TestClient(app) as client:
        yield client, drain


def test_readiness_answers_503_and_connections_close_once_draining(drained_app: tuple[TestClient, Drain]) -> None:
    client, drain = drained_app
    ready = client.get("/v2/health/ready")
    assert ready.status_code == 200 and "connection" not in ready.headers
    drain.begin()
    not_ready = client.get("/v2/health/ready")
    assert not_ready.status_code == 503 and not_ready.json() == {"ready": False}
    assert not_ready.headers["connection"] == "close"
    live = client.get("/v2/health/live")  # alive, and still serving: only leaving
    assert live.status_code == 200 and live.headers["connection"] == "close"
    assert client.get("/v2").status_code == 200


def test_a_filtered_listener_takes_no_new_connection_but_keeps_the_queued_ones() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=8)
    address = listener.getsockname()
    queued = socket.create_connection(address, timeout=2)  # the kernel completes the handshake alone
    deadline = time.monotonic() + 2
    while queued_connections(listener.fileno()) < 1:
        assert time.monotonic() < deadline, "the connection never showed in the accept queue"
        time.sleep(0.01)
    assert refuse_new_connections([listener.fileno()])
    late = socket.socket()
    late.settimeout(0.3)
    with pytest.raises(TimeoutError):  # its SYN is dropped: no answer, and nothing queued
        late.connect(address)
    accepted, _ = listener.accept()  # the queued one is still there to serve
    queued.sendall(b"ping")
    assert accepted.recv(4) == b"ping"
    assert queued_connections(listener.fileno()) == 0
    listener.close()
    for sock in (accepted, queued, late):
        sock.close()
    refused = socket.socket()
    refused.settimeout(2)
    with pytest.raises(ConnectionRefusedError):  # once closed, a clean refusal
        refused.connect(address)
    refused.close()


def _exit_with(code: int, sockets: list[socket.socket]) -> None:
    raise SystemExit(code)


def test_the_supervisor_stops_when_a_worker_cannot_start() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    supervisor = Supervisor(_exit_with, [listener], 1, args=(3,), stop_timeout=30)
    assert supervisor.run() == 3  # STARTUP_FAILURE: starting it again would fail alike
    listener.close()


def _fails_to_start_twice_after_a_crash(folder: str, sockets: list[socket.socket]) -> None:
    """Worker 1 crashes (it served, then died); 2 and 3 cannot start (the database is down); 4 starts,
    asks the supervisor to stop and drains."""
    attempts = Path(folder) / "attempts"
    with attempts.open("a") as out:
        out.write("x")
    count = len(attempts.read_text())
    if count == 1:
        raise SystemExit(1)
    if count in (2, 3):
        raise SystemExit(3)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    os.kill(os.getppid(), signal.SIGTERM)
    assert stopped.wait(30)


def test_a_replacement_that_cannot_start_is_tried_again_while_the_others_serve(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    supervisor = Supervisor(
        _fails_to_start_twice_after_a_crash, [listener], 1, args=(str(tmp_path),), stop_timeout=30, restart_pause=0.05
    )
    assert supervisor.run() == 0  # stopped by the fourth worker's request, after it drained
    listener.close()
    assert (tmp_path / "attempts").read_text() == "xxxx"
