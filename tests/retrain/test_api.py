"""`/api/v1/retrain/...`: roles, bad input (400 naming the field, nothing stored), a run started and polled."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.testclient import TestClient

from shipyard.api import create_management_api
from shipyard.registry import Registry
from shipyard.retrain import RetrainService

from ..api.conftest import FakeAuthMiddleware
from .conftest import RecordingSink, policy
from .trainers import TRAIN_SCRIPT

# An adapter over the service, whose storage tests run on both databases.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

VIEWER = {"X-Test-Subject": "key:viewer", "X-Test-Roles": "viewer"}
PREDICTOR = {"X-Test-Subject": "key:app", "X-Test-Roles": "predictor"}
DEPLOYER = {"X-Test-Subject": "key:ops", "X-Test-Roles": "deployer"}


@pytest.fixture
def client(registry: Registry, sink: RecordingSink) -> Iterator[TestClient]:
    api = create_management_api(registry, actor_default="api", retrain=RetrainService(registry, alerts=sink))
    app = Starlette(routes=[Mount("/api/v1", app=api)], middleware=[Middleware(FakeAuthMiddleware)])
    with TestClient(app, base_url="http://testserver/api/v1") as test_client:
        yield test_client


def wait_for(client: TestClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        run = client.get(f"/retrain/runs/{run_id}", headers=VIEWER).json()
        if run["status"] != "running":
            return dict(run)
        assert time.monotonic() < deadline, "the run never finished"
        time.sleep(0.05)


def test_policy_roles_and_a_run_started_and_polled(
    client: TestClient, stale_champion: object, fresh_dataset: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    script = tmp_path / "train.py"
    script.write_text(
        f"import pathlib, time\nwhile not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.05)\n" + TRAIN_SCRIPT
    )
    doc = policy(fresh_dataset, trainer={"command": f"{sys.executable} {script}"})
    assert client.put("/retrain/policies/churn", json=doc, headers=VIEWER).status_code == 403
    assert client.put("/retrain/policies/churn", json=doc, headers=PREDICTOR).status_code == 403
    stored = client.put("/retrain/policies/churn", json=doc, headers=DEPLOYER)
    assert stored.status_code == 200 and stored.json()["updated_by"] == "key:ops"
    assert client.get("/retrain/policies/churn", headers=VIEWER).json()["policy"] == stored.json()["policy"]
    assert client.get("/retrain/policies/churn", headers=PREDICTOR).status_code == 403
    assert [p["model"] for p in client.get("/retrain/policies", headers=VIEWER).json()] == ["churn"]

    assert client.post("/retrain/runs", json={"model": "churn"}, headers=VIEWER).status_code == 403
    started = client.post("/retrain/runs", json={"model": "churn"}, headers=DEPLOYER)
    assert started.status_code == 202 and started.json()["status"] == "running"
    run_id = started.json()["id"]
    again = client.post("/retrain/runs", json={"model": "churn"}, headers=DEPLOYER)
    assert again.status_code == 409 and run_id in again.json()["error"]
    gate.touch()
    run = wait_for(client, run_id)
    assert run["status"] == "succeeded" and run["decision"] == "accepted" and run["started_by"] == "key:ops"
    assert "wrote model.skops" in run["logs"]
    listed = client.get("/retrain/runs", params={"model": "churn", "status": "succeeded"}, headers=VIEWER).json()
    assert [r["id"] for r in listed] == [run_id] and listed[0]["logs"] is None
    assert client.delete("/retrain/policies/churn", headers=DEPLOYER).status_code == 204
    assert client.get("/retrain/policies/churn", headers=VIEWER).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("PUT", "/retrain/policies/churn", {"trainer": {}, "data": {"dataset": "x"}}, 400, "trainer: set exactly one"),
        ("PUT", "/retrain/policies/churn", {"evaluation": {"metric": "acc"}}, 400, "unknown metric 'acc'"),
        ("PUT", "/retrain/policies/churn", [1, 2], 400, "body"),
        ("PUT", "/retrain/policies/nope", policy("x.parquet"), 404, "'nope' is not registered"),
        ("PUT", "/retrain/policies/bad%20name", policy("x.parquet"), 400, "name"),
        ("POST", "/retrain/runs", {"model": "churn"}, 404, "has no retraining policy"),
        ("POST", "/retrain/runs", {"model": 3}, 400, "model"),
        ("POST", "/retrain/runs", {}, 400, "model"),
        ("GET", "/retrain/runs/0123456789ab", None, 404, "does not exist"),
        ("GET", "/retrain/runs/NOT-AN-ID", None, 400, "run_id"),
        ("GET", "/retrain/runs?limit=0", None, 400, "limit"),
        ("GET", "/retrain/runs?status=done", None, 400, "status"),
        ("DELETE", "/retrain/policies/churn", None, 404, "has no retraining policy"),
    ],
)
def test_bad_requests_get_4xx_naming_the_problem_and_store_nothing(
    client: TestClient, stale_champion: object, method: str, path: str, body: Any, status: int, text: str
) -> None:
    response = client.request(method, path, json=body, headers=DEPLOYER)
    assert response.status_code == status and text in response.json()["error"], response.text
    assert client.get("/retrain/policies", headers=VIEWER).json() == []
    assert client.get("/retrain/runs", headers=VIEWER).json() == []
