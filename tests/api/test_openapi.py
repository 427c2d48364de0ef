"""The served OpenAPI document: valid, under /api/v1 when mounted, every route with its errors."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from shipyard.api import create_management_api
from shipyard.registry import Registry

ROUTES = {
    ("get", "/models"),
    ("get", "/models/{name}"),
    ("get", "/models/{name}/versions"),
    ("post", "/models/{name}/versions"),
    ("get", "/models/{name}/versions/{version}"),
    ("get", "/models/{name}/aliases/{alias}"),
    ("put", "/models/{name}/aliases/{alias}"),
    ("delete", "/models/{name}/aliases/{alias}"),
    ("post", "/models/{name}/versions/{version}/approve"),
    ("post", "/models/{name}/versions/{version}/archive"),
    ("put", "/models/{name}/policy"),
    ("get", "/models/{name}/diff"),
    ("get", "/versions"),
    ("get", "/audit"),
    ("post", "/keys"),
    ("get", "/keys"),
    ("delete", "/keys/{key_id}"),
    ("get", "/deployments"),
    ("post", "/deployments"),
    ("get", "/deployments/{name}"),
    ("delete", "/deployments/{name}"),
    ("get", "/deployments/{name}/status"),
    ("get", "/deployments/{name}/history"),
    ("post", "/deployments/{name}/canary"),
    ("post", "/deployments/{name}/shadow"),
    ("delete", "/deployments/{name}/shadow/{version}"),
    ("post", "/deployments/{name}/ab"),
    ("post", "/deployments/{name}/promote"),
    ("post", "/deployments/{name}/pause"),
    ("post", "/deployments/{name}/resume"),
    ("post", "/deployments/{name}/rollback"),
    # prediction log, feedback, quality
    ("get", "/logs/{model}"),
    ("get", "/logs/{model}/redaction"),
    ("put", "/logs/{model}/redaction"),
    ("post", "/feedback"),
    ("get", "/quality"),
    ("get", "/quality/{model}"),
    # drift runs and settings
    ("get", "/drift/{model}"),
    ("post", "/drift/{model}"),
    ("get", "/drift/{model}/latest"),
    ("get", "/drift/{model}/runs/{run_id}"),
    ("get", "/drift/{model}/settings"),
    ("put", "/drift/{model}/settings"),
    # alert rules and history
    ("get", "/alerts/rules"),
    ("post", "/alerts/rules"),
    ("get", "/alerts/rules/{name}"),
    ("delete", "/alerts/rules/{name}"),
    ("get", "/alerts"),
    # retraining policies and runs
    ("get", "/retrain/policies"),
    ("get", "/retrain/policies/{name}"),
    ("put", "/retrain/policies/{name}"),
    ("delete", "/retrain/policies/{name}"),
    ("post", "/retrain/runs"),
    ("get", "/retrain/runs"),
    ("get", "/retrain/runs/{run_id}"),
}
# What `shipyard models ...` and `shipyard audit` do, and the route that does it here.
CLI_PARITY = {
    "models register": ("post", "/models/{name}/versions"),
    "models import-mlflow": ("post", "/models/{name}/versions"),
    "models list": ("get", "/models"),
    "models show NAME": ("get", "/models/{name}"),
    "models show NAME/VERSION": ("get", "/models/{name}/versions/{version}"),
    "models show NAME@ALIAS": ("get", "/models/{name}/aliases/{alias}"),
    "models search": ("get", "/versions"),
    "models alias set": ("put", "/models/{name}/aliases/{alias}"),
    "models alias rm": ("delete", "/models/{name}/aliases/{alias}"),
    "models approve": ("post", "/models/{name}/versions/{version}/approve"),
    "models archive": ("post", "/models/{name}/versions/{version}/archive"),
    "models require-approval": ("put", "/models/{name}/policy"),
    "models diff": ("get", "/models/{name}/diff"),
    "audit": ("get", "/audit"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # The document does not depend on the data, so one registry-less app serves it for the module.
    api = create_management_api(None, actor_default="x")  # type: ignore[arg-type]
    with TestClient(Starlette(routes=[Mount("/api/v1", app=api)])) as client:
        response = client.get("/api/v1/openapi.json")
        assert response.status_code == 200
        return dict(response.json())


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document["paths"].items() for method in ops}


def test_every_route_is_documented_once(document: dict[str, Any]) -> None:
    assert operations(document) == ROUTES


def test_every_cli_command_has_a_route(document: dict[str, Any]) -> None:
    from shipyard.cli import models

    commands = {f"models {c.name}" for c in models.app.registered_commands}
    commands |= {f"models alias {c.name}" for c in models.alias_app.registered_commands}
    covered = {key.split(" NAME")[0] for key in CLI_PARITY}
    assert commands <= covered, commands - covered
    assert set(CLI_PARITY.values()) <= operations(document)


def test_paths_are_served_under_the_mount(document: dict[str, Any]) -> None:
    # Paths are relative to the server URL, which is the mount path: a client (or schemathesis)
    # calls {server}{path}, e.g. /api/v1/models.
    assert document["servers"] == [{"url": "/api/v1"}]
    assert all(path.startswith("/") and not path.startswith("/api") for path in document["paths"])


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_errors_are_documented_and_never_422(document: dict[str, Any]) -> None:
    for path, ops in document["paths"].items():
        for method, operation in ops.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for status in ("400", "401", "403", "500"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
            if "{name}" in path and (method, path) != ("post", "/models/{name}/versions"):  # that one creates
                assert "404" in responses, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ErrorOut"]["required"] == ["error"]


def test_upload_body_is_multipart_with_a_required_file(document: dict[str, Any]) -> None:
    operation = document["paths"]["/models/{name}/versions"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"] and schema["properties"]["file"]["format"] == "binary"
    assert {"201", "409", "413"} <= set(operation["responses"])


def test_parameters_carry_the_registry_patterns(document: dict[str, Any]) -> None:
    parameters = {
        p["name"]: p["schema"] for p in document["paths"]["/models/{name}/aliases/{alias}"]["get"]["parameters"]
    }
    assert parameters["name"]["pattern"].startswith("^[A-Za-z0-9]")
    assert parameters["alias"]["pattern"].startswith("^[A-Za-z]")
    version = document["paths"]["/models/{name}/versions/{version}"]["get"]["parameters"][1]["schema"]
    assert version["minimum"] == 1 and version["maximum"] == 2**31 - 1


def test_docs_page_points_at_the_mounted_document(registry: Registry) -> None:
    api = create_management_api(registry, actor_default="x")
    with TestClient(Starlette(routes=[Mount("/api/v1", app=api)])) as client:
        page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/openapi.json" in page.text
