"""Bad input on every route: a 400 (or 404) whose message names the field, and nothing stored changes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from shipyard.registry import ModelVersion, Registry

from .conftest import snapshot

JSON = {"Content-Type": "application/json"}

BAD_REQUESTS: list[tuple[str, str, dict[str, Any], str]] = [
    # wrong types and missing fields in JSON bodies
    ("PUT", "/models/churn/aliases/canary", {"json": {"version": "2"}}, "version: Input should be a valid integer"),
    ("PUT", "/models/churn/aliases/canary", {"json": {"version": 2.0}}, "version: Input should be a valid integer"),
    ("PUT", "/models/churn/aliases/canary", {"json": {"version": True}}, "version: Input should be a valid integer"),
    ("PUT", "/models/churn/aliases/canary", {"json": {"version": 0}}, "version: Input should be greater than"),
    ("PUT", "/models/churn/aliases/canary", {"json": {}}, "version: Field required"),
    ("PUT", "/models/churn/aliases/canary", {"json": {"version": 1, "x": 1}}, "x: unknown field"),
    ("PUT", "/models/churn/aliases/canary", {"json": [1]}, "body: send a JSON object"),
    ("PUT", "/models/churn/aliases/canary", {"content": b"NaN", "headers": JSON}, "body: send a JSON object"),
    ("PUT", "/models/churn/aliases/canary", {"content": b'{"version": NaN}', "headers": JSON}, "version: "),
    ("PUT", "/models/churn/aliases/canary", {"content": b"{oops", "headers": JSON}, "body: not valid JSON"),
    (
        "PUT",
        "/models/churn/aliases/canary",
        {"content": b"version=2", "headers": {"Content-Type": "text/plain"}},
        "body: send a JSON object",
    ),
    ("PUT", "/models/churn/aliases/canary", {"content": b'{"version": 2}'}, "body: "),
    ("PUT", "/models/churn/aliases/canary", {}, "body: a JSON object is required"),
    ("PUT", "/models/churn/policy", {"json": {"requires_approval": "yes"}}, "requires_approval: Input should be"),
    ("PUT", "/models/churn/policy", {"json": {}}, "requires_approval: Field required"),
    ("POST", "/models/churn/versions/1/approve", {"json": {"comment": 5}}, "comment: Input should be a valid string"),
    ("POST", "/models/churn/versions/1/approve", {"json": {"comment": "a\x00b"}}, "comment: must not contain NUL"),
    # bad names, aliases and versions in paths
    ("PUT", "/models/churn/aliases/latest", {"json": {"version": 1}}, "alias: 'latest' is not a valid alias"),
    ("PUT", "/models/churn/aliases/9lives", {"json": {"version": 1}}, "alias: '9lives' is not a valid alias"),
    ("DELETE", "/models/churn/aliases/no%20way", {}, "alias: 'no way' is not a valid alias"),
    ("GET", "/models/churn/aliases/-x", {}, "alias: '-x' is not a valid alias"),
    ("GET", "/models/-churn", {}, "name: '-churn' is not a valid model name"),
    ("GET", "/models/" + "x" * 129, {}, "is not a valid model name: use 1-128 letters"),
    ("GET", "/models/churn/versions/two", {}, "version: Input should be a valid integer"),
    ("GET", "/models/churn/versions/0", {}, "version: Input should be greater than or equal to 1"),
    ("GET", "/models/churn/versions/2147483648", {}, "version: Input should be less than or equal to 2147483647"),
    ("POST", "/models/churn/versions/-1/archive", {}, "version: Input should be greater than or equal to 1"),
    ("POST", "/models/churn/versions/1.5/approve", {"json": {}}, "version: Input should be a valid integer"),
    # query parameters
    ("GET", "/models/churn/versions?include_archived=perhaps", {}, "include_archived: Input should be a valid bool"),
    ("GET", "/models/churn/diff?left=1", {}, "right: Field required"),
    ("GET", "/models/churn/diff?left=a&right=2", {}, "left: Input should be a valid integer"),
    ("GET", "/versions?filter=accuracy%3E1", {}, "filter: cannot read 'accuracy>1'"),
    ("GET", "/versions?order_by=sideways", {}, "order_by: cannot read 'sideways'"),
    ("GET", "/versions?name=-x", {}, "name: '-x' is not a valid model name"),
    ("GET", "/versions?limit=0", {}, "limit: Input should be greater than or equal to 1"),
    ("GET", "/audit?limit=100000", {}, "limit: Input should be less than or equal to 10000"),
    ("GET", "/audit?limit=ten", {}, "limit: Input should be a valid integer"),
]


@pytest.mark.parametrize(("method", "path", "request_options", "expected"), BAD_REQUESTS)
def test_bad_input_is_400_naming_the_field(
    client: TestClient,
    registry: Registry,
    churn: list[ModelVersion],
    method: str,
    path: str,
    request_options: dict[str, Any],
    expected: str,
) -> None:
    before = snapshot(registry)
    options = {**request_options, "headers": {"X-Test-Subject": "key:bob", **request_options.get("headers", {})}}
    response = client.request(method, path, **options)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert expected in response.json()["error"], response.json()
    assert snapshot(registry) == before


@pytest.mark.parametrize(
    ("method", "path", "request_options"),
    [
        ("PUT", "/models/nope/aliases/staging", {"json": {"version": 1}}),
        ("PUT", "/models/churn/aliases/staging", {"json": {"version": 9}}),
        ("DELETE", "/models/churn/aliases/production", {}),
        ("POST", "/models/churn/versions/9/approve", {"json": {}}),
        ("POST", "/models/churn/versions/9/archive", {}),
        ("PUT", "/models/nope/policy", {"json": {"requires_approval": True}}),
        ("GET", "/models/churn/versions/2147483647", {}),
    ],
)
def test_unknown_targets_of_changes_are_404_and_change_nothing(
    client: TestClient,
    registry: Registry,
    churn: list[ModelVersion],
    method: str,
    path: str,
    request_options: dict[str, Any],
) -> None:
    before = snapshot(registry)
    response = client.request(method, path, headers={"X-Test-Subject": "key:bob"}, **request_options)
    assert response.status_code == 404 and response.json()["error"]
    assert snapshot(registry) == before


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    missing = client.get("/nothing/here")
    assert missing.status_code == 404 and "No route GET /api/v1/nothing/here" in missing.json()["error"]
    wrong = client.patch("/models")
    assert wrong.status_code == 405 and wrong.json() == {"error": "Method Not Allowed"}
    assert wrong.headers["allow"] == "GET"
