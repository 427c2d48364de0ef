"""Changes through the API: aliases, approvals, archive, policy, each audited as the caller."""

from __future__ import annotations

from starlette.testclient import TestClient

from shipyard.errors import Forbidden
from shipyard.registry import ModelVersion, Registry
from shipyard.serving.http_errors import http_status

from .conftest import last_event, snapshot

BOB = {"X-Test-Subject": "key:bob", "X-Test-Roles": "deployer"}


def test_set_alias_moves_it_and_audits_the_caller(
    client: TestClient, registry: Registry, churn: list[ModelVersion]
) -> None:
    response = client.put("/models/churn/aliases/staging", json={"version": 2}, headers=BOB)
    assert response.status_code == 200
    assert response.json()["version"] == 2 and "staging" in response.json()["aliases"]
    assert registry.resolve("churn@staging").version == 2
    event = last_event(registry)
    assert event["action"] == "alias.set" and event["actor"] == "key:bob"
    assert event["before"] == {"version": 1} and event["after"] == {"version": 2}
    assert event["source"] == "testclient"  # the caller's address (TestClient's), set for the whole request


def test_changes_made_outside_a_request_name_no_source(registry: Registry, churn: list[ModelVersion]) -> None:
    registry.set_alias("churn", "shadow", 1)  # the SDK or the CLI: no address to record
    assert last_event(registry)["source"] is None


def test_without_a_principal_changes_are_recorded_as_the_default_actor(
    client: TestClient, registry: Registry, churn: list[ModelVersion]
) -> None:
    assert client.put("/models/churn/aliases/canary", json={"version": 1}).status_code == 200
    assert last_event(registry)["actor"] == "api-default"


def test_delete_alias(client: TestClient, registry: Registry, churn: list[ModelVersion]) -> None:
    response = client.delete("/models/churn/aliases/staging", headers=BOB)
    assert response.status_code == 204 and response.content == b""
    assert registry.get_model("churn").aliases == {}
    assert last_event(registry)["action"] == "alias.delete"
    again = client.delete("/models/churn/aliases/staging")
    assert again.status_code == 404 and "has no alias 'staging'" in again.json()["error"]


def test_approval_flow(client: TestClient, registry: Registry, churn: list[ModelVersion]) -> None:
    assert client.put("/models/churn/policy", json={"requires_approval": True}, headers=BOB).json() == {
        "name": "churn",
        "requires_approval": True,
    }
    assert last_event(registry)["action"] == "model.policy"
    refused = client.put("/models/churn/aliases/production", json={"version": 2})
    assert refused.status_code == 409 and "requires approval" in refused.json()["error"]

    # alice registered the versions, so alice may not approve them
    self_approval = client.post("/models/churn/versions/2/approve", json={}, headers={"X-Test-Subject": "alice"})
    assert self_approval.status_code == 409 and "cannot approve" in self_approval.json()["error"]

    approved = client.post("/models/churn/versions/2/approve", json={"comment": "looks good"}, headers=BOB)
    assert approved.status_code == 200
    assert approved.json() == {"name": "churn", "version": 2, "approved_by": "key:bob", "comment": "looks good"}
    assert last_event(registry)["after"] == {"comment": "looks good"}
    assert client.put("/models/churn/aliases/production", json={"version": 2}).status_code == 200


def test_approve_without_a_body(client: TestClient, registry: Registry, churn: list[ModelVersion]) -> None:
    response = client.post("/models/churn/versions/1/approve", headers=BOB)
    assert response.status_code == 200 and response.json()["comment"] is None


def test_archive_drops_aliases(client: TestClient, registry: Registry, churn: list[ModelVersion]) -> None:
    response = client.post("/models/churn/versions/1/archive", headers=BOB)
    assert response.status_code == 200
    assert response.json()["status"] == "archived" and response.json()["archived_by"] == "key:bob"
    assert response.json()["archived_at"].endswith("Z")
    assert registry.get_model("churn").aliases == {}
    gone = client.put("/models/churn/aliases/staging", json={"version": 1})
    assert gone.status_code == 404 and "archived" in gone.json()["error"]


def test_roles_are_enforced_when_there_is_a_principal(
    client: TestClient, registry: Registry, churn: list[ModelVersion]
) -> None:
    viewer = {"X-Test-Subject": "key:viewer", "X-Test-Roles": "viewer"}
    before = snapshot(registry)
    assert client.get("/models/churn", headers=viewer).status_code == 200
    for response in (
        client.put("/models/churn/aliases/staging", json={"version": 2}, headers=viewer),
        client.delete("/models/churn/aliases/staging", headers=viewer),
        client.post("/models/churn/versions/2/approve", json={}, headers=viewer),
        client.post("/models/churn/versions/2/archive", headers=viewer),
        client.put("/models/churn/policy", json={"requires_approval": True}, headers=viewer),
        client.post("/models/churn/versions", files={"file": ("m.pkl", b"x")}, headers=viewer),
        client.get("/audit", headers=viewer),
    ):
        assert response.status_code == http_status(Forbidden("key:viewer", "registry.write"))
        assert "key:viewer (viewer) may not" in response.json()["error"]
    predictor = {"X-Test-Subject": "key:p", "X-Test-Roles": "predictor"}
    assert "may not registry.read" in client.get("/models", headers=predictor).json()["error"]
    assert snapshot(registry) == before


def test_audit_lists_changes_newest_first(client: TestClient, registry: Registry, churn: list[ModelVersion]) -> None:
    client.put("/models/churn/aliases/staging", json={"version": 2}, headers=BOB)
    events = client.get("/audit").json()
    assert events[0]["action"] == "alias.set" and events[0]["actor"] == "key:bob"
    assert events[0]["at"].endswith("Z")
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    only = client.get("/audit", params={"action": "version.register", "target": "churn", "limit": 1}).json()
    assert len(only) == 1 and only[0]["target"] == "churn/2"
    assert client.get("/audit", params={"target": "nothing"}).json() == []
    assert client.get("/audit", params={"target": "churn\x00"}).json() == []
