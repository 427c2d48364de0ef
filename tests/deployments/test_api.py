"""`/api/v1/deployments` on SQLite and PostgreSQL: every command of `shipyard deploy`, roles, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.testclient import TestClient

from shipyard.api import create_management_api
from shipyard.deployments import DeploymentService
from shipyard.registry import Registry
from shipyard.store import list_events

from ..api.conftest import FakeAuthMiddleware, mount
from .conftest import stored

ADMIN = {"X-Test-Subject": "key:admin1", "X-Test-Roles": "admin"}
DEPLOYER = {"X-Test-Subject": "key:dep1", "X-Test-Roles": "deployer"}
VIEWER = {"X-Test-Subject": "key:view1", "X-Test-Roles": "viewer"}
PREDICTOR = {"X-Test-Subject": "key:pred1", "X-Test-Roles": "predictor"}


@pytest.fixture
def api(registry: Registry, model: str) -> Iterator[TestClient]:
    with TestClient(mount(registry), base_url="http://testserver/api/v1") as client:
        yield client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_the_whole_life_of_a_deployment(api: TestClient, registry: Registry) -> None:
    created = ok(api.post("/deployments", json={"name": "churn", "model": "m/1"}, headers=DEPLOYER), 201)
    assert (created["stable_version"], created["mode"], created["arms"][0]["label"]) == (1, "single", "v1")
    canary = ok(
        api.post(
            "/deployments/churn/canary",
            json={"version": 2, "steps": [10, 50, 100], "interval": "10m", "max_p99_ratio": None},
            headers=DEPLOYER,
        )
    )
    assert canary["mode"] == "canary" and canary["rollout"]["policy"]["interval_seconds"] == 600
    assert canary["rollout"]["policy"]["max_p99_ratio"] is None and canary["rollout"]["step"] == 1
    assert ok(api.post("/deployments/churn/pause", headers=DEPLOYER))["rollout"]["state"] == "paused"
    assert ok(api.post("/deployments/churn/resume", headers=DEPLOYER))["rollout"]["state"] == "running"
    status = ok(api.get("/deployments/churn/status", params={"window": 30}, headers=VIEWER))
    assert [a["label"] for a in status["arms"]] == ["v1", "v2"] and status["window_seconds"] == 30
    assert status["rollout"]["next_step_in_seconds"] == pytest.approx(600, abs=5)
    assert ok(api.post("/deployments/churn/promote", headers=DEPLOYER))["stable_version"] == 2
    split = ok(
        api.post(
            "/deployments/churn/ab", json={"split": {"2": 50, "3": 50}, "sticky": "header:x-user-id"}, headers=DEPLOYER
        )
    )
    assert split["sticky"] == "header:x-user-id" and split["mode"] == "ab"
    assert ok(api.post("/deployments/churn/ab", json={"split": {"2": 60, "3": 40}}, headers=DEPLOYER))["sticky"]
    assert ok(api.post("/deployments/churn/rollback", json={"reason": "A wins"}, headers=DEPLOYER))["mode"] == "single"
    shadow = ok(api.post("/deployments/churn/shadow", json={"version": 3, "percent": 50}, headers=DEPLOYER))
    assert shadow["arms"][-1] == {"version": 3, "weight": 50.0, "kind": "shadow", "label": "shadow:v3"}
    assert len(ok(api.delete("/deployments/churn/shadow/3", headers=DEPLOYER))["arms"]) == 1
    assert [d["name"] for d in ok(api.get("/deployments", headers=VIEWER))] == ["churn"]
    history = ok(api.get("/deployments/churn/history", params={"limit": 3}, headers=VIEWER))
    assert [e["action"] for e in history] == ["shadow.stop", "shadow", "rollback"]
    assert history[2]["detail"]["reason"] == "A wins" and history[2]["actor"] == "key:dep1"
    ok(api.delete("/deployments/churn", headers=DEPLOYER), 204)
    ok(api.get("/deployments/churn", headers=VIEWER), 404)
    with registry.db.read() as session:
        actions = [e.action for e in list_events(session, target_prefix="deployment:churn", limit=100)]
    assert actions[0] == "deployment.delete" and actions[-1] == "deployment.create" and len(actions) == 11


def test_roles(api: TestClient) -> None:
    ok(api.post("/deployments", json={"name": "churn", "model": "m/1"}, headers=ADMIN), 201)
    assert api.post("/deployments/churn/canary", json={"version": 2}, headers=VIEWER).status_code == 403
    assert api.get("/deployments", headers=PREDICTOR).status_code == 403
    assert api.post("/deployments", json={"name": "x", "model": "m/1"}, headers=PREDICTOR).status_code == 403
    ok(api.get("/deployments/churn", headers=VIEWER))


BAD: list[tuple[str, str, Any, int, str]] = [
    ("post", "/deployments", {"name": "churn", "model": "m/1"}, 409, "already exists"),
    ("post", "/deployments", {"name": "bad name", "model": "m/1"}, 400, "name"),
    ("post", "/deployments", {"name": "x", "model": "m/9"}, 404, "no version 9"),
    ("post", "/deployments", {"name": "x", "model": "nope"}, 404, "not registered"),
    ("post", "/deployments", {"name": "x", "model": "m/1", "sticky": "cookie:a"}, 400, "sticky"),
    ("post", "/deployments", {"name": "x", "model": "m/1", "extra": 1}, 400, "extra: unknown field"),
    ("post", "/deployments", {"name": "x"}, 400, "model"),
    ("get", "/deployments/nope", None, 404, "does not exist"),
    ("get", "/deployments/nope/status", None, 404, "does not exist"),
    ("get", "/deployments/churn/status?window=-1", None, 400, "window"),
    ("get", "/deployments/churn/status?window=soon", None, 400, "window"),
    ("get", "/deployments/churn/status?window=100000", None, 400, "window"),
    ("get", "/deployments/nope/history", None, 404, "does not exist"),
    ("delete", "/deployments/nope", None, 404, "does not exist"),
    ("post", "/deployments/nope/canary", {"version": 2}, 404, "does not exist"),
    ("post", "/deployments/churn/canary", {"version": 9}, 404, "no version 9"),
    ("post", "/deployments/churn/canary", {"version": 4}, 404, "archived"),
    ("post", "/deployments/churn/canary", {"version": "2"}, 400, "version"),
    ("post", "/deployments/churn/canary", {"version": 2, "steps": [50, 10]}, 400, "steps"),
    ("post", "/deployments/churn/canary", {"version": 2, "steps": [5, 25]}, 400, "100"),
    ("post", "/deployments/churn/canary", {"version": 2, "interval": "soon"}, 400, "interval"),
    ("post", "/deployments/churn/canary", {"version": 2, "interval": -5}, 400, "interval"),
    ("post", "/deployments/churn/canary", {"version": 2, "max_error_rate": 2}, 400, "max_error_rate"),
    ("post", "/deployments/churn/canary", {"version": 2, "min_requests": 0}, 400, "min_requests"),
    ("post", "/deployments/churn/canary", {"version": 1}, 400, "already what"),
    ("post", "/deployments/churn/ab", {"split": {"1": 50, "2": 40}}, 400, "sum to 100"),
    ("post", "/deployments/churn/ab", {"split": {"1": -50, "2": 150}}, 400, "between 0 and 100"),
    ("post", "/deployments/churn/ab", {"split": {"1": 50, "x": 50}}, 400, "version"),
    ("post", "/deployments/churn/ab", {"split": {"1": True}}, 400, "split"),
    ("post", "/deployments/churn/ab", {"split": {"1": 50, "9": 50}}, 404, "no version 9"),
    ("post", "/deployments/churn/ab", {"split": {"1": 100}, "sticky": "header:"}, 400, "sticky"),
    ("post", "/deployments/churn/ab", {"split": {}}, 400, "split"),
    ("post", "/deployments/churn/shadow", {"version": 2, "percent": 0}, 400, "percent"),
    ("post", "/deployments/churn/shadow", {"version": 1}, 400, "already answers"),
    ("delete", "/deployments/churn/shadow/2", None, 400, "not a shadow"),
    ("post", "/deployments/churn/promote", {"version": 9}, 404, "no version 9"),
    ("post", "/deployments/churn/promote", None, 409, "Nothing to promote"),
    ("post", "/deployments/churn/pause", None, 409, "No canary"),
    ("post", "/deployments/churn/rollback", None, 409, "Nothing to roll back"),
    ("post", "/deployments/churn/rollback", {"reason": 5}, 400, "reason"),
]


def test_bad_input_is_a_4xx_and_changes_nothing(api: TestClient, registry: Registry) -> None:
    ok(api.post("/deployments", json={"name": "churn", "model": "m/1"}, headers=ADMIN), 201)
    service = DeploymentService(registry)
    before = stored(service)
    for method, path, body, status, message in BAD:
        response = api.request(method, path, json=body, headers=ADMIN)
        assert response.status_code == status, (path, body, response.text)
        assert message in response.json()["error"], (path, body, response.text)
    for raw in (b'{"split": {"1": NaN, "2": 50}}', b'{"split": {"1": Infinity}}', b"{", b"[]"):
        response = api.post("/deployments/churn/ab", content=raw, headers={**ADMIN, "content-type": "application/json"})
        assert response.status_code == 400, response.text
    assert stored(service) == before


def test_status_shows_the_configured_window_unless_the_request_names_one(registry: Registry, model: str) -> None:
    # The server passes `deployments.status_window_seconds`, as `shipyard deploy status` honours it.
    api = create_management_api(registry, actor_default="api-default", status_window_seconds=15)
    app = Starlette(routes=[Mount("/api/v1", app=api)], middleware=[Middleware(FakeAuthMiddleware)])
    with TestClient(app, base_url="http://testserver/api/v1") as client:
        ok(client.post("/deployments", json={"name": "churn", "model": "m/1"}, headers=ADMIN), 201)
        assert ok(client.get("/deployments/churn/status", headers=VIEWER))["window_seconds"] == 15
        assert ok(client.get("/deployments/churn/status?window=45", headers=VIEWER))["window_seconds"] == 45
    with pytest.raises(ValueError, match="status_window_seconds"):
        create_management_api(registry, actor_default="x", status_window_seconds=0)


def test_the_status_window_defaults_to_a_minute(api: TestClient) -> None:
    ok(api.post("/deployments", json={"name": "churn", "model": "m/1"}, headers=ADMIN), 201)
    assert ok(api.get("/deployments/churn/status", headers=VIEWER))["window_seconds"] == 60
