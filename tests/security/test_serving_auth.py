"""The real inference app behind the auth middleware, wired as `shipyard serve` wires it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from shipyard.config import ServerSettings, Settings
from shipyard.registry import Registry, open_registry
from shipyard.security.authenticator import Authenticator
from shipyard.security.bootstrap import ensure_admin_key
from shipyard.security.http_auth import AuthMiddleware
from shipyard.security.keys import KeyService
from shipyard.serving.app import create_app, create_plane

from ..serving.fakes import SumModel

ROWS = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    registry.register(SumModel(), "sum", data=np.zeros((4, 3)))
    registry.register(SumModel(), "other", data=np.zeros((4, 3)))
    yield registry
    registry.db.close()


def test_inference_needs_a_key_that_allows_it(registry: Registry, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", user="alice")
    admin = ensure_admin_key(registry.db, settings.home, settings.actor)
    assert admin is not None
    _, scoped = KeyService(registry.db).create("sum-app", ["predictor"], scope=["sum"], actor="alice")
    server = ServerSettings(refresh_seconds=0.2)
    app = AuthMiddleware(
        create_app(create_plane(registry, server), server), Authenticator(registry.db, settings.security)
    )
    with TestClient(app) as client:
        assert client.get("/v2/health/ready").status_code == 200
        assert client.post("/v2/models/sum/infer", json=ROWS).status_code == 401
        answer = client.post("/v2/models/sum/infer", json=ROWS, headers={"Authorization": f"Bearer {scoped}"})
        assert answer.status_code == 200 and answer.json()["outputs"][0]["data"] == [6.0, 15.0]
        v1 = client.post(
            "/v1/models/sum:predict", json={"instances": [[1, 2, 3]]}, headers={"Authorization": f"Bearer {scoped}"}
        )
        assert v1.status_code == 200
        assert (
            client.post("/v2/models/other/infer", json=ROWS, headers={"Authorization": f"Bearer {scoped}"}).status_code
            == 403
        )
        assert client.get("/debug/batching", headers={"Authorization": f"Bearer {scoped}"}).status_code == 403
        assert client.get("/debug/batching", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
