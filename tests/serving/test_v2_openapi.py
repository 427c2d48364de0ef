"""`GET /v2/docs/dataplane.json`: the OpenAPI document of the inference routes, served without credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from shipyard.config import ServerSettings, Settings
from shipyard.registry import open_registry
from shipyard.security.authenticator import Authenticator
from shipyard.security.http_auth import AuthMiddleware
from shipyard.serving.app import create_app, create_plane
from shipyard.serving.rest_v1 import v1_routes
from shipyard.serving.rest_v2 import v2_routes
from shipyard.serving.v2_openapi import v2_openapi

from .fakes import SumModel

PATH = "/v2/docs/dataplane.json"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # Auth on, as `shipyard serve` runs: the document must be readable without a key anyway.
    settings = Settings(home=tmp_path / "home", user="alice")
    registry = open_registry(settings)
    registry.register(SumModel(), "sum", data=np.zeros((4, 3)))
    server = ServerSettings(refresh_seconds=0.2)
    app = AuthMiddleware(
        create_app(create_plane(registry, server), server), Authenticator(registry.db, settings.security)
    )
    with TestClient(app) as test_client:
        yield test_client
    registry.db.close()


@pytest.fixture
def served(client: TestClient) -> dict[str, Any]:
    response = client.get(PATH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def inference_routes() -> set[tuple[str, str]]:
    routes = [r for r in (*v2_routes(), *v1_routes()) if isinstance(r, Route) and r.path != PATH]
    return {(m.lower(), r.path) for r in routes for m in r.methods or () if m != "HEAD"}


def test_the_document_is_served_without_credentials(client: TestClient, served: dict[str, Any]) -> None:
    assert served == v2_openapi()
    assert client.post("/v2/models/sum/infer", json={}).status_code == 401  # auth is on
    # Only that path is public: a neighbour, or another method on it, still needs credentials.
    assert client.get("/v2/docs/other.json").status_code == 401
    assert client.post(PATH).status_code == 401


def test_the_served_document_is_valid_openapi(served: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(served)
    assert served["openapi"].startswith("3.") and served["servers"] == [{"url": "/"}]


def test_it_lists_every_v2_and_v1_inference_route(served: dict[str, Any]) -> None:
    documented = {(method, path) for path, ops in served["paths"].items() for method in ops}
    assert documented == inference_routes()
    assert ("post", "/v1/models/{model}:predict") in documented and ("post", "/v2/models/{model}/infer") in documented
    for path, ops in served["paths"].items():
        for method, operation in ops.items():
            assert "200" in operation["responses"] and "401" in operation["responses"], (method, path)
            if "{model}" in path:
                assert "404" in operation["responses"] and "400" in operation["responses"], (method, path)
