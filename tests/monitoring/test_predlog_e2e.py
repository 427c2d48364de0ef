"""Durability, end to end: `shipyard serve --workers 2` under load, a worker and then the whole server
killed with SIGKILL, a restart; every request whose answer reached its client is in the log, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.config import Settings
from shipyard.monitoring.predlog import read_log
from shipyard.registry import open_registry

from .._services import free_port, wait_ready

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _serve(home: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_MONITORING__LOG_FLUSH_SECONDS": "0.5",
        "SHIPYARD_MONITORING__LOG_RECOVER_SECONDS": "0.5",
        "PYTHONWARNINGS": "ignore",
    }
    command = [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc", "--workers", "2"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class Load:
    """Threads sending inference requests with their own ids; `answered` holds the ids of 200 answers."""

    def __init__(self, url: str, headers: dict[str, str], threads: int = 6) -> None:
        self.url, self.headers = url, headers
        self.answered: set[str] = set()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, thread: int) -> None:
        with httpx.Client(headers=self.headers, timeout=5) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                request_id = f"t{thread}-{n}"
                body = {
                    "id": request_id,
                    "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [n, 1]}],
                }
                try:
                    response = client.post(f"{self.url}/v2/models/tiny/infer", json=body)
                except httpx.TransportError:
                    time.sleep(0.01)
                    continue
                if response.status_code == 200 and response.json()["id"] == request_id:
                    with self._lock:
                        self.answered.add(request_id)

    def wait_for(self, count: int, deadline_s: float = 60) -> None:
        deadline = time.monotonic() + deadline_s
        while len(self.answered) < count:
            assert time.monotonic() < deadline, f"only {len(self.answered)} answers"
            time.sleep(0.02)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    X = np.random.default_rng(0).normal(size=(50, 2))
    registry.register(LogisticRegression().fit(X, X[:, 0] > 0), "tiny", data=X)
    registry.db.close()
    yield home


def test_every_answered_request_survives_kill_9(home: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(home, port)
    try:
        wait_ready(url, server)
        headers = {"Authorization": f"Bearer {(home / 'admin.key').read_text().strip()}"}
        with Load(url, headers) as load:
            load.wait_for(150)
            workers = _children(server.pid)
            os.kill(max(workers), signal.SIGKILL)  # one worker, mid-load; the supervisor replaces it
            load.wait_for(len(load.answered) + 150)
            for pid in [*_children(server.pid), server.pid]:  # then everything at once
                os.kill(pid, signal.SIGKILL)
            server.wait(10)
            time.sleep(0.2)  # let in-flight client calls fail before the load stops counting
        answered = set(load.answered)
    finally:
        if server.poll() is None:
            server.kill()
    restarted = _serve(home, port)
    try:
        wait_ready(url, restarted)
        deadline = time.monotonic() + 60
        while True:
            table = read_log(str(home / "predictions"), "tiny", since="1h")
            logged = table.column("request_id").to_pylist()
            if answered <= set(logged):
                break
            assert time.monotonic() < deadline, f"{len(answered - set(logged))} answered requests are not in the log"
            time.sleep(0.2)
        assert len(logged) == len(set(logged)), "a request was logged twice"
        assert len(answered) >= 300
    finally:
        restarted.terminate()
        restarted.wait(30)
