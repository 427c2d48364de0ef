"""A real `shipyard serve` process for deployment tests, with short intervals, and a load generator."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from .._services import free_port, poll

FAST = {
    "SHIPYARD_SERVER__REFRESH_SECONDS": "0.25",
    "SHIPYARD_DEPLOYMENTS__CONTROLLER_SECONDS": "0.5",
    "SHIPYARD_DEPLOYMENTS__FLUSH_SECONDS": "0.5",
    "SHIPYARD_DEPLOYMENTS__STATUS_WINDOW_SECONDS": "30",
}


@dataclass
class Server:
    url: str
    grpc: str | None
    home: Path
    log: Path
    proc: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)

    def infer(
        self, name: str, rows: Any, *, headers: dict[str, str] | None = None, client: Any = httpx
    ) -> httpx.Response:
        return client.post(  # type: ignore[no-any-return]
            f"{self.url}/v2/models/{name}/infer",
            json=v2_body(rows),
            headers={**self.headers, **(headers or {})},
            timeout=30,
        )


def v2_body(rows: Any) -> dict[str, Any]:
    array = np.asarray(rows, dtype=float)
    return {"inputs": [{"name": "x", "shape": list(array.shape), "datatype": "FP64", "data": array.ravel().tolist()}]}


@contextmanager
def serve(home: Path, *, workers: int = 1, grpc: bool = False) -> Iterator[Server]:
    port = free_port()
    grpc_port = free_port() if grpc else None
    args = ["--port", str(port), "--workers", str(workers)]
    args += ["--grpc-port", str(grpc_port)] if grpc_port else ["--no-grpc"]
    env = {**os.environ, **FAST, "SHIPYARD_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    log = home.parent / f"server-{port}.log"
    with log.open("wb") as stderr:  # a file, not a pipe: a chatty server must never block on a full pipe
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", *args], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    url = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: _ready(url, proc, log), "shipyard serve ready", 90)
        key = (home / "admin.key").read_text().strip()
        yield Server(
            url, f"127.0.0.1:{grpc_port}" if grpc_port else None, home, log, proc, {"Authorization": f"Bearer {key}"}
        )
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> bool:
    assert proc.poll() is None, f"shipyard serve exited early: {log.read_text()}"
    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class Load:
    """`threads` clients sending requests for `name` back to back until stopped; every answer is kept."""

    def __init__(self, server: Server, name: str, threads: int = 3, rows: Callable[[int], Any] | None = None) -> None:
        self.server, self.name = server, name
        self.rows = rows or (lambda i: [[float(i % 97), 1.0, 2.0]])
        self.answers: list[tuple[int, str, float]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]
        self._lock = threading.Lock()

    def _run(self, offset: int) -> None:
        with httpx.Client(timeout=30) as client:
            i = offset
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    response = self.server.infer(self.name, self.rows(i), client=client)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                finally:
                    i += 7
                elapsed = time.perf_counter() - started
                version = response.json().get("model_version", "") if response.status_code == 200 else ""
                with self._lock:
                    self.answers.append((response.status_code, version, elapsed))
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code}: {response.text[:200]}")

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def versions(self) -> set[str]:
        with self._lock:
            return {v for status, v, _ in self.answers if status == 200}

    def count(self) -> int:
        with self._lock:
            return len(self.answers)
