"""The management API mounted as the server mounts it: a Starlette app with Mount("/api/v1", ...).

`registry` comes from tests/conftest.py, so every test that uses these fixtures runs on SQLite and
on PostgreSQL. A stand-in for the auth middleware turns `X-Test-Subject` / `X-Test-Roles` headers
into `request.state.principal`, as the real one does with keys and tokens.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.api import create_management_api
from shipyard.registry import ModelVersion, Registry
from shipyard.security.permissions import Principal, Role
from shipyard.store import list_events

MAX_UPLOAD = 2 * 2**20


class FakeAuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        if "x-test-subject" in headers:
            roles = frozenset(Role(r) for r in headers.get("x-test-roles", "admin").split(","))
            scope.setdefault("state", {})["principal"] = Principal(subject=headers["x-test-subject"], roles=roles)
        await self.app(scope, receive, send)


def mount(registry: Registry, max_upload_bytes: int = MAX_UPLOAD) -> Starlette:
    api = create_management_api(registry, actor_default="api-default", max_upload_bytes=max_upload_bytes)
    return Starlette(routes=[Mount("/api/v1", app=api)], middleware=[Middleware(FakeAuthMiddleware)])


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    with TestClient(mount(registry), base_url="http://testserver/api/v1") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def training() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.fixture(scope="session")
def classifier(training: tuple[Any, Any]) -> Any:
    X, y = training
    return LogisticRegression(max_iter=200).fit(X, y)


@pytest.fixture(scope="session")
def skops_bytes(classifier: Any) -> bytes:
    buffer = io.BytesIO()
    skops.io.dump(classifier, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def pickle_bytes(classifier: Any) -> bytes:
    return pickle.dumps(classifier)


@pytest.fixture
def churn(registry: Registry, classifier: Any) -> list[ModelVersion]:
    """Model "churn" with versions 1 and 2 (registered by "alice"), v1 at `staging`."""
    v1 = registry.register(classifier, "churn", metrics={"auc": 0.81}, params={"C": 1.0}, tags={"team": "risk"})
    v2 = registry.register(classifier, "churn", metrics={"auc": 0.86}, params={"C": 0.5}, tags={"team": "risk"})
    registry.set_alias("churn", "staging", 1)
    return [v1, v2]


def snapshot(registry: Registry) -> tuple[Any, ...]:
    """Everything stored that a request could change: models, versions, aliases, audit events."""
    models = [m.to_dict() for m in registry.list_models()]
    versions = [v.to_dict() for m in registry.list_models() for v in registry.list_versions(m.name)]
    with registry.db.read() as session:
        events = [e.to_dict() for e in list_events(session, limit=10_000)]
    return models, versions, events


def last_event(registry: Registry) -> dict[str, Any]:
    with registry.db.read() as session:
        return list_events(session, limit=1)[0].to_dict()
