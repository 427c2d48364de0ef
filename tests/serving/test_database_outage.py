"""The metadata database stopped under load (a throw-away PostgreSQL, stopped and started again).

Inference from loaded models goes on without a failure; management calls answer 503 naming the
database; the audit events of refused requests (401 and 403) wait in the spill file under the home
and reach `/api/v1/audit` once the database is back, each exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from shipyard.config import Settings
from shipyard.registry import open_registry

from .._services import free_port, wait_ready
from ._postgres import PostgresInstance, postgres_instance
from .fakes import SumModel

BAD_KEYS = [f"sy_{i:012x}_{'x' * 43}" for i in range(0xBAD000, 0xBAD000 + 12)]
DENIED = 3


def poll(check: Callable[[], Any], deadline_s: float, what: str) -> Any:
    deadline = time.monotonic() + deadline_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s} s"
        time.sleep(0.05)
    return result


@pytest.fixture
def postgres() -> Iterator[PostgresInstance]:
    with postgres_instance() as instance:
        yield instance


def start_server(home: Path, db_url: str) -> tuple[str, subprocess.Popen[bytes], Path]:
    port = free_port()
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_DB_URL": db_url,
        "SHIPYARD_SERVER__REFRESH_SECONDS": "0.25",
        "SHIPYARD_SERVER__DRAIN_SECONDS": "0",
        "PYTHONWARNINGS": "ignore",
    }
    log = home.parent / "server.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc, deadline_s=90)
    return url, proc, log


def infer_body() -> dict[str, Any]:
    return {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}


def spilled(home: Path) -> list[dict[str, Any]]:
    lines = [line for path in sorted((home / "spill").glob("audit-*.jsonl")) for line in path.read_text().splitlines()]
    return [json.loads(line) for line in lines if line.strip()]


def counted(events: list[dict[str, Any]], action: str) -> int:
    return sum(e["after"]["count"] for e in events if e["action"] == action and e["source"] == "127.0.0.1")


@pytest.mark.integration
def test_database_stopped_mid_load(tmp_path: Path, postgres: PostgresInstance) -> None:
    home = tmp_path / "home"
    registry = open_registry(Settings(home=home, db_url=postgres.url, user="alice"))
    registry.register(SumModel(), "sum", data=np.zeros((2, 3)))
    registry.db.close()
    url, proc, log = start_server(home, postgres.url)
    admin = {"Authorization": f"Bearer {(home / 'admin.key').read_text().strip()}"}
    created = httpx.post(f"{url}/api/v1/keys", json={"name": "dash", "roles": ["viewer"]}, headers=admin)
    viewer = {"Authorization": f"Bearer {created.json()['key']}"}
    poll(lambda: httpx.get(f"{url}/v2/models/sum", headers=viewer).status_code == 200, 10, "viewer key known")
    assert httpx.post(f"{url}/v2/models/sum/infer", json=infer_body(), headers=admin).status_code == 200  # loaded

    answered: list[float] = []
    failed: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(headers=admin, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post(f"{url}/v2/models/sum/infer", json=infer_body())
                except httpx.TransportError as exc:
                    failed.append(repr(exc))
                    continue
                if response.status_code == 200 and response.json()["outputs"][0]["data"] == [6.0]:
                    answered.append(time.monotonic())
                else:
                    failed.append(f"{response.status_code} {response.text}")

    clients = [threading.Thread(target=load) for _ in range(2)]
    try:
        for client in clients:
            client.start()
        poll(lambda: len(answered) >= 20, 10, "load running")
        postgres.stop()
        down_at = time.monotonic()
        assert not postgres.answers

        # Changes need the database: a clear 503 that says so, not a 500.
        for response in (
            httpx.put(f"{url}/api/v1/models/sum/aliases/production", json={"version": 1}, headers=admin),
            httpx.post(f"{url}/api/v1/keys", json={"name": "x", "roles": ["viewer"]}, headers=admin),
            httpx.get(f"{url}/api/v1/models", headers=admin),
        ):
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert "metadata database (postgresql) cannot be reached" in error and "retry" in error, error

        # Refused requests are audited all the same: they wait on local disk.
        for key in BAD_KEYS:
            assert (
                httpx.post(
                    f"{url}/v2/models/sum/infer", json=infer_body(), headers={"Authorization": f"Bearer {key}"}
                ).status_code
                == 401
            )
        for _ in range(DENIED):
            assert httpx.post(f"{url}/v2/models/sum/infer", json=infer_body(), headers=viewer).status_code == 403
        lines = poll(
            lambda: (
                (s := spilled(home))
                and counted(s, "auth.failed") == len(BAD_KEYS)
                and counted(s, "auth.denied") == DENIED
                and s
            ),
            10,
            "refusals spilled to disk",
        )
        assert all(len(line["key"]) == 32 and line["at"] for line in lines)
        assert httpx.get(f"{url}/v2/health/ready").status_code == 200  # loaded models still serve
        poll(lambda: len([t for t in answered if t > down_at + 1.5]) >= 20, 10, "inference during the outage")

        postgres.start()
        poll(lambda: not spilled(home), 20, "spilled events written once the database is back")
        audit = httpx.get(f"{url}/api/v1/audit", params={"limit": 1000}, headers=admin).json()
        assert counted(audit, "auth.failed") == len(BAD_KEYS)  # each exactly once: none lost, none twice
        assert counted(audit, "auth.denied") == DENIED
        denial = next(e for e in audit if e["action"] == "auth.denied")
        assert denial["actor"] == f"key:{created.json()['id']}" and denial["target"] == "sum"
        assert denial["after"]["action"] == "model.infer" and denial["after"]["what"] == "POST /v2/models/sum/infer"
        targets = {t for e in audit if e["action"] == "auth.failed" for t in e["after"]["targets"]}
        assert {f"key:{k.split('_')[1]}" for k in BAD_KEYS[:5]} <= targets
        moved = httpx.put(f"{url}/api/v1/models/sum/aliases/production", json={"version": 1}, headers=admin)
        assert moved.status_code == 200, moved.text
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert failed == [], failed[:5]
    assert code == 0, log.read_text()[-3000:]
