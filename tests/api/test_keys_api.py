"""`/api/v1/keys` behind the real auth middleware: admins create, list and revoke; others may not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from shipyard.config import Settings
from shipyard.registry import open_registry
from shipyard.security.bootstrap import ensure_admin_key
from shipyard.server import build_app


@pytest.fixture
def app_and_admin(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(home=tmp_path / "home", user="alice")
    registry = open_registry(settings)
    admin = ensure_admin_key(registry.db, settings.home, "alice")
    registry.db.close()
    app = build_app(settings)
    assert admin is not None
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {admin}"}


def test_create_list_revoke(app_and_admin: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = app_and_admin
    created = client.post(
        "/api/v1/keys",
        json={"name": "app", "roles": ["predictor"], "scope": ["churn"], "expires": "30d"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"sy_{body['id']}_") and body["roles"] == ["predictor"]
    listed = client.get("/api/v1/keys", headers=admin).json()
    assert body["id"] in [k["id"] for k in listed] and all("key" not in k for k in listed)
    predictor = {"Authorization": f"Bearer {body['key']}"}
    assert client.get("/api/v1/keys", headers=predictor).status_code == 403
    assert client.get("/api/v1/models", headers=predictor).status_code == 403
    revoked = client.delete(f"/api/v1/keys/{body['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    audit = client.get("/api/v1/audit", params={"target": "key:"}, headers=admin).json()
    assert [e["action"] for e in audit][:2] == ["key.revoke", "key.create"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"name": "x", "roles": []},
        {"name": "x", "roles": ["root"]},
        {"name": "x", "roles": ["viewer"], "expires": "yesterday"},
        {"name": "", "roles": ["viewer"]},
        {"name": "x", "roles": "viewer"},
    ],
)
def test_bad_key_requests_are_400_and_store_nothing(
    app_and_admin: tuple[TestClient, dict[str, str]], body: dict[str, object]
) -> None:
    client, admin = app_and_admin
    response = client.post("/api/v1/keys", json=body, headers=admin)
    assert response.status_code == 400 and response.json()["error"]
    assert len(client.get("/api/v1/keys", headers=admin).json()) == 1  # the admin key only


def test_unknown_key_and_no_credentials(app_and_admin: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = app_and_admin
    assert client.delete("/api/v1/keys/000000000000", headers=admin).status_code == 404
    assert client.get("/api/v1/keys").status_code == 401
