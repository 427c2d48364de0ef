"""Read routes: the same JSON as `shipyard models ... --json`, with closest-match 404s."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from shipyard.registry import ModelVersion, Registry


def test_list_models(client: TestClient, churn: list[ModelVersion]) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    [model] = response.json()
    assert model["name"] == "churn" and model["latest_version"] == 2
    assert model["aliases"] == {"staging": 1} and model["requires_approval"] is False
    assert model["created_by"] == "alice" and model["created_at"].endswith("Z")


def test_list_models_empty(client: TestClient) -> None:
    assert client.get("/models").json() == []


def test_get_model_has_its_versions(client: TestClient, churn: list[ModelVersion]) -> None:
    body = client.get("/models/churn").json()
    assert body["name"] == "churn"
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][0]["aliases"] == ["staging"]


def test_get_version_is_the_domain_dict(client: TestClient, churn: list[ModelVersion]) -> None:
    body = client.get("/models/churn/versions/2").json()
    expected = churn[1].to_dict()
    for key in ("uri", "digest", "flavor", "format", "params", "metrics", "tags", "size", "created_by"):
        assert body[key] == expected[key]
    assert body["metrics"] == {"auc": 0.86}


def test_list_versions_with_and_without_archived(
    client: TestClient, registry: Registry, churn: list[ModelVersion]
) -> None:
    registry.archive("churn", 1)
    assert [v["version"] for v in client.get("/models/churn/versions").json()] == [1, 2]
    shown = client.get("/models/churn/versions", params={"include_archived": "false"}).json()
    assert [v["version"] for v in shown] == [2]


def test_alias_resolves_to_its_version(client: TestClient, churn: list[ModelVersion]) -> None:
    body = client.get("/models/churn/aliases/staging").json()
    assert body["version"] == 1 and body["aliases"] == ["staging"]


def test_diff(client: TestClient, churn: list[ModelVersion]) -> None:
    rows = client.get("/models/churn/diff", params={"left": 1, "right": 2}).json()
    auc = next(r for r in rows if r["section"] == "metrics" and r["key"] == "auc")
    assert auc == {"section": "metrics", "key": "auc", "left": 0.81, "right": 0.86, "changed": True}
    assert {(r["key"], r["left"], r["right"]) for r in rows if r["section"] == "params"} == {("C", 1.0, 0.5)}


def test_search(client: TestClient, churn: list[ModelVersion]) -> None:
    found = client.get("/versions", params={"filter": "metrics.auc > 0.85"}).json()
    assert [v["uri"] for v in found] == ["models:/churn/2"]
    ordered = client.get("/versions", params={"order_by": "metrics.auc desc", "name": "churn", "limit": 1}).json()
    assert [v["version"] for v in ordered] == [2]
    assert client.get("/versions", params={"name": "other"}).json() == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/models/chrun", "Closest: churn"),
        ("/models/chrun/versions", "Closest: churn"),
        ("/models/churn/versions/3", "has no version 3"),
        ("/models/churn/aliases/stagin", "Closest: staging"),
        ("/models/churn/diff?left=1&right=7", "has no version 7"),
    ],
)
def test_unknown_things_are_404_naming_the_closest(
    client: TestClient, churn: list[ModelVersion], path: str, expected: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert expected in response.json()["error"]
