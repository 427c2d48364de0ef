"""`/api/v1/drift/{model}`: stored runs, a run on demand, settings; roles; bad input answered 4xx
with the field named, and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.testclient import TestClient

from shipyard.api import create_management_api
from shipyard.monitoring.drift import store
from shipyard.monitoring.feedback_service import MonitoringService
from shipyard.registry import Registry

from ..api.conftest import FakeAuthMiddleware
from ._drift import ThresholdModel, frame, write_log

ADMIN = {"X-Test-Subject": "key:admin", "X-Test-Roles": "admin"}
VIEWER = {"X-Test-Subject": "key:viewer", "X-Test-Roles": "viewer"}
DEPLOYER = {"X-Test-Subject": "key:deployer", "X-Test-Roles": "deployer"}


@pytest.fixture
def client(registry: Registry, tmp_path: Path) -> Iterator[TestClient]:
    registry.register(ThresholdModel(), "churn", data=frame(1500, seed=0))
    registry.register(ThresholdModel(), "bare")  # no data: no reference profile
    log = tmp_path / "predictions"
    now = datetime.now(UTC)
    write_log(log, "churn", 1, frame(1200, seed=1, drift=True), now - timedelta(minutes=5))
    write_log(log, "bare", 1, frame(50, seed=2), now - timedelta(minutes=5))
    monitoring = MonitoringService(registry.db, str(log))
    api = create_management_api(registry, actor_default="api-default", monitoring=monitoring)
    app = Starlette(routes=[Mount("/api/v1", app=api)], middleware=[Middleware(FakeAuthMiddleware)])
    with TestClient(app, base_url="http://testserver/api/v1") as test_client:
        yield test_client


def test_run_on_demand_then_read_it_back(client: TestClient, registry: Registry) -> None:
    ran = client.post("/drift/churn", json={"since": "1h"}, headers=DEPLOYER)
    assert ran.status_code == 200, ran.text
    [run] = ran.json()["runs"]
    assert run["model"] == "churn" and run["version"] == 1 and run["rows"] == 1200 and run["dataset_drift"]
    assert sorted(run["drifted_features"]) == ["city", "x1", "x2"] and run["trigger"] == "api"
    x1 = next(f for f in run["results"] if f["name"] == "x1")
    assert x1["method"] == "wasserstein" and x1["drifted"] and x1["statistics"]["ks_pvalue"] is not None
    assert store.latest_run(registry.db, "churn").id == run["id"]
    assert store.list_runs(registry.db, "churn")[0].trigger == "api"

    listed = client.get("/drift/churn", headers=VIEWER).json()["runs"]
    assert [r["id"] for r in listed] == [run["id"]] and listed[0]["results"] is None
    assert client.get("/drift/churn?results=true", headers=VIEWER).json()["runs"][0]["results"]
    latest = client.get("/drift/churn/latest", headers=VIEWER).json()
    assert latest["id"] == run["id"] and latest["window_start"] == run["window_start"]
    assert client.get(f"/drift/churn/runs/{run['id']}", headers=VIEWER).json()["results"] == run["results"]


def test_settings_round_trip(client: TestClient) -> None:
    assert client.get("/drift/churn/settings", headers=VIEWER).json()["share_threshold"] == 0.5
    body = {"numeric_method": "ks", "thresholds": {"ks": 0.01}, "share_threshold": 0.3, "ignore": ["x3"]}
    put = client.put("/drift/churn/settings", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert put.json()["thresholds"] == {"ks": 0.01} and put.json()["ignore"] == ["x3"]
    [run] = client.post("/drift/churn", json={}, headers=ADMIN).json()["runs"]
    assert {f["name"] for f in run["results"]} >= {"x1", "city"} and "x3" not in {f["name"] for f in run["results"]}
    assert next(f for f in run["results"] if f["name"] == "x1")["method"] == "ks"


def test_roles(client: TestClient) -> None:
    assert client.post("/drift/churn", json={}, headers=VIEWER).status_code == 403
    assert client.put("/drift/churn/settings", json={}, headers=VIEWER).status_code == 403
    predictor = {"X-Test-Subject": "key:app", "X-Test-Roles": "predictor"}
    assert client.get("/drift/churn", headers=predictor).status_code == 403


BAD_INPUT = [
    ("get", "/drift/nope", None, 404, "Model 'nope' is not registered"),
    ("post", "/drift/nope", {}, 404, "Model 'nope' is not registered"),
    ("post", "/drift/churn", {"since": "yesterday"}, 400, "since"),
    ("post", "/drift/churn", {"since": 5}, 400, "since"),
    ("post", "/drift/churn", {"since": "1" * 100}, 400, "since"),
    ("post", "/drift/churn", [1, 2], 400, "body"),
    ("get", "/drift/churn?limit=100000", None, 400, "limit"),
    ("post", "/drift/churn", {"since": "1h", "until": "2h"}, 400, "until"),
    ("post", "/drift/churn", {"since": "3d", "until": "2d"}, 404, "No logged predictions of model 'churn'"),
    ("post", "/drift/churn", {"version": 7}, 404, "has no version 7"),
    ("post", "/drift/churn", {"version": 0}, 400, "version"),
    ("post", "/drift/churn", {"window": "1h"}, 400, "window"),
    ("post", "/drift/bare", {}, 409, "no reference profile"),
    ("get", "/drift/churn/latest", None, 404, "There is no drift run of model"),
    ("get", "/drift/churn/runs/99", None, 404, "drift run 99"),
    ("get", "/drift/churn/runs/abc", None, 400, "run_id"),
    ("get", "/drift/churn?limit=0", None, 400, "limit"),
    ("put", "/drift/churn/settings", {"numeric_method": "chisquare"}, 400, "numeric_method"),
    ("put", "/drift/churn/settings", {"share_threshold": 2}, 400, "share_threshold"),
    ("put", "/drift/churn/settings", {"thresholds": {"ks": 1.5}}, 400, "thresholds.ks"),
    ("put", "/drift/churn/settings", {"methods": {"x1": "magic"}}, 400, "methods.x1"),
    ("put", "/drift/churn/settings", {"thresholds": {"ks": "low"}}, 400, "thresholds.ks"),
    ("put", "/drift/churn/settings", {"enabled": "yes"}, 400, "enabled"),
]


def test_bad_input(client: TestClient, registry: Registry) -> None:
    # One set-up for every case (each registers models and writes a log): the cases only read.
    for method, path, body, status, words in BAD_INPUT:
        response = client.request(method.upper(), path, json=body, headers=ADMIN)
        assert response.status_code == status, (method, path, body, response.text)
        assert words in response.json()["error"], (method, path, body)
    assert store.list_runs(registry.db, "churn") == [] and store.get_config(registry.db, "churn").share_threshold == 0.5
