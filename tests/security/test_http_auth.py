"""The permission table, walked through the HTTP middleware: every action × every role, plus 401s and scope."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from shipyard.config import SecuritySettings
from shipyard.errors import Forbidden, RateLimited, ShipyardError, Unauthorized
from shipyard.security.authenticator import Authenticator
from shipyard.security.http_auth import AuthMiddleware, Requirement, required_action
from shipyard.security.keys import KeyService
from shipyard.security.permissions import Action, Principal, Role, allowed
from shipyard.serving.http_errors import handle_shipyard_error
from shipyard.store import Database, list_events

from .conftest import AUDIENCE, ISSUER, SigningKey

# One request per action; a new action fails `test_every_action_has_a_request` until it is added here.
REQUESTS: dict[Action, tuple[str, str]] = {
    Action.SERVER_READ: ("GET", "/v2"),
    Action.MODEL_READ: ("GET", "/v2/models/churn"),
    Action.MODEL_INFER: ("POST", "/v2/models/churn/infer"),
    Action.REGISTRY_READ: ("GET", "/api/v1/models"),
    Action.REGISTRY_WRITE: ("POST", "/api/v1/models"),
    Action.REGISTRY_APPROVE: ("POST", "/api/v1/models/churn/versions/2/approve"),
    Action.DEPLOYMENT_READ: ("GET", "/api/v1/deployments"),
    Action.DEPLOYMENT_WRITE: ("POST", "/api/v1/deployments"),
    Action.MONITORING_READ: ("GET", "/metrics"),
    Action.FEEDBACK_WRITE: ("POST", "/api/v1/feedback"),
    Action.KEYS_MANAGE: ("GET", "/api/v1/keys"),
    Action.AUDIT_READ: ("GET", "/api/v1/audit"),
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


async def echo(request: Request) -> JSONResponse:
    principal = request.state.principal if hasattr(request.state, "principal") else None
    return JSONResponse({"subject": principal.subject if principal else None})


def make_app(authenticator: Authenticator) -> Starlette:
    return Starlette(
        routes=[Route("/{path:path}", echo, methods=METHODS)],
        middleware=[Middleware(AuthMiddleware, authenticator=authenticator)],
    )


@pytest.fixture
def auth(sqlite_db: Database) -> Authenticator:
    return Authenticator(sqlite_db, SecuritySettings())


@pytest.fixture
def client(auth: Authenticator) -> Iterator[TestClient]:
    with TestClient(make_app(auth), raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.fixture
def role_keys(sqlite_db: Database) -> dict[Role, str]:
    service = KeyService(sqlite_db)
    return {role: service.create(f"{role.value}-key", [role.value], actor="alice")[1] for role in Role}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_every_action_has_a_request_that_maps_to_it() -> None:
    assert set(REQUESTS) == set(Action)
    for action, (method, path) in REQUESTS.items():
        requirement = required_action(method, path)
        assert requirement is not None and requirement.action is action, (method, path)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_the_whole_permission_table(client: TestClient, role_keys: dict[Role, str], role: Role, action: Action) -> None:
    method, path = REQUESTS[action]
    response = client.request(method, path, headers=bearer(role_keys[role]))
    expected = 200 if allowed(Principal("x", frozenset({role})), action, "churn") else 403
    assert response.status_code == expected, (role, action, response.text)
    if expected == 200:
        assert response.json()["subject"].startswith("key:")
    else:
        error = response.json()["error"]
        assert action.value in error and role.value in error


@pytest.mark.parametrize("action", list(Action))
def test_no_credentials_is_401_everywhere_but_health(client: TestClient, action: Action) -> None:
    method, path = REQUESTS[action]
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="shipyard"'
    assert "missing credentials" in response.json()["error"]


@pytest.mark.parametrize("path", ["/v2/health/live", "/v2/health/ready"])
def test_health_checks_are_public(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.json() == {"subject": None}


@pytest.mark.parametrize("path", ["/", "/ui", "/v2/health/other", "/v3/anything", "/api/v1/unknown"])
def test_unlisted_paths_need_valid_credentials(client: TestClient, role_keys: dict[Role, str], path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(role_keys[Role.VIEWER])).status_code == 200


def test_bad_expired_and_revoked_credentials_are_401(
    client: TestClient, sqlite_db: Database, auth: Authenticator
) -> None:
    service = KeyService(sqlite_db)
    now = datetime.now(UTC)
    _, expired = KeyService(sqlite_db, clock=lambda: now - timedelta(hours=2)).create(
        "old", ["admin"], expires_at=now - timedelta(hours=1), actor="alice"
    )
    service.create("spare", ["admin"], actor="alice")  # the last admin key cannot be revoked
    revoked_info, revoked = service.create("gone", ["admin"], actor="alice")
    service.revoke(revoked_info.id, actor="alice")
    cases = {
        "Bearer": "empty bearer token",
        "Basic YWRtaW46YWRtaW4=": "unsupported authorization scheme",
        "garbage": "unsupported authorization scheme",
        "Bearer sy_not_a_key": "malformed credentials",
        "Bearer " + "x" * 20_000: "longer than",
        f"Bearer {expired}": "expired",
        f"Bearer {revoked}": "revoked",
        "Bearer sy_0123456789ab_" + "a" * 43: "unknown or invalid API key",
    }
    for header, text in cases.items():
        response = client.post("/v2/models/churn/infer", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert text in response.json()["error"], (header, response.text)
        assert response.headers["www-authenticate"] == 'Bearer realm="shipyard", error="invalid_token"'


def test_two_authorization_headers_fail_closed(client: TestClient, role_keys: dict[Role, str]) -> None:
    headers = [("authorization", f"Bearer {role_keys[Role.ADMIN]}"), ("authorization", "Bearer x")]
    assert client.get("/v2", headers=headers).status_code == 401


def test_scope_limits_model_actions_to_the_named_models(client: TestClient, sqlite_db: Database) -> None:
    _, key = KeyService(sqlite_db).create("churn-app", ["predictor"], scope=["churn"], actor="alice")
    expectations = {
        ("POST", "/v2/models/churn/infer"): 200,
        ("POST", "/v2/models/churn/versions/3/infer"): 200,
        ("POST", "/v1/models/churn:predict"): 200,
        ("POST", "/v1/models/churn/versions/3:predict"): 200,
        ("GET", "/v2/models/churn"): 200,
        ("GET", "/v2/models/churn/ready"): 200,
        ("GET", "/v2"): 200,  # not about a model
        ("POST", "/api/v1/feedback"): 200,  # model in the body: the handler checks the scope
        ("POST", "/v2/models/fraud/infer"): 403,
        ("POST", "/v1/models/fraud:predict"): 403,
        ("POST", "/v1/models/churn:x:predict"): 403,  # the model is "churn:x", as the router sees it
        ("GET", "/v2/models/fraud/versions/1"): 403,
        ("GET", "/api/v1/models"): 403,  # predictor has no registry.read at all
    }
    for (method, path), status in expectations.items():
        response = client.request(method, path, headers=bearer(key))
        assert response.status_code == status, (method, path, response.text)
    refused = client.post("/v2/models/fraud/infer", headers=bearer(key)).json()["error"]
    assert "limited to [churn]" in refused and "'fraud'" in refused


def test_failures_through_http_are_audited_with_the_source(
    client: TestClient, auth: Authenticator, sqlite_db: Database
) -> None:
    for _ in range(3):
        client.post("/v2/models/churn/infer", headers={"Authorization": "Basic x"})
    asyncio.run(auth.flush())
    with sqlite_db.read() as session:
        (event,) = list_events(session, action="auth.failed")
    assert event.source == "testclient" and event.after is not None
    assert event.after["count"] == 3 and event.after["what"] == "POST /v2/models/churn/infer"


def test_tokens_walk_the_same_table(sqlite_db: Database, oidc_settings: SecuritySettings, idp_key: SigningKey) -> None:
    auth = Authenticator(sqlite_db, oidc_settings)
    now = int(time.time())
    token = idp_key.sign({"sub": "dana", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "roles": "viewer"})
    with TestClient(make_app(auth)) as client:
        assert client.get("/api/v1/models", headers=bearer(token)).json() == {"subject": "oidc:dana"}
        assert client.post("/api/v1/models", headers=bearer(token)).status_code == 403
        wrong = idp_key.sign({"sub": "dana", "iss": ISSUER, "aud": "other", "exp": now + 60, "roles": "admin"})
        response = client.get("/api/v1/models", headers=bearer(wrong))
        assert response.status_code == 401 and "audience" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v2/health/live", None),
        ("POST", "/v2/health/ready", None),
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/api/v1/docs", None),
        ("GET", "/v2/docs/dataplane.json", None),
        ("POST", "/v2/docs/dataplane.json", Requirement(None)),
        ("GET", "/v2/docs/dataplane.jsonx", Requirement(None)),
        ("GET", "/api/v1/versions", Requirement(Action.REGISTRY_READ)),
        ("POST", "/api/v1/versions", Requirement(None)),
        ("POST", "/api/v1/docs", Requirement(None)),
        ("HEAD", "/v2", Requirement(Action.SERVER_READ)),
        ("GET", "/v2/models/a.b-c/versions/7/ready", Requirement(Action.MODEL_READ, "a.b-c")),
        ("GET", "/v2/models/m/infer", Requirement(None)),
        ("POST", "/v2/models/m/ready", Requirement(None)),
        ("DELETE", "/api/v1/models/m/aliases/production", Requirement(Action.REGISTRY_WRITE)),
        ("PUT", "/api/v1/models/m/versions/1/approve", Requirement(Action.REGISTRY_APPROVE)),
        ("GET", "/api/v1/models/m/versions/1/approve", Requirement(Action.REGISTRY_READ)),
        ("DELETE", "/api/v1/keys/abc", Requirement(Action.KEYS_MANAGE)),
        ("PATCH", "/api/v1/deployments/d", Requirement(Action.DEPLOYMENT_WRITE)),
        ("GET", "/api/v1/drift/churn", Requirement(Action.MONITORING_READ)),
        ("PUT", "/api/v1/alerts/rules", Requirement(Action.DEPLOYMENT_WRITE)),
        ("GET", "/debug/batching", Requirement(Action.MONITORING_READ)),
        ("POST", "/debug/batching", Requirement(None)),
        ("GET", "/api/v1/modelsx", Requirement(None)),
        ("GET", "/v2/models/%2F/infer", Requirement(None)),
    ],
)
def test_required_action(method: str, path: str, expected: Requirement | None) -> None:
    assert required_action(method, path) == expected


@pytest.mark.parametrize(
    ("error", "status", "header"),
    [
        (Unauthorized(), 401, ("www-authenticate", 'Bearer realm="shipyard"')),
        (
            Unauthorized("API key x expired"),
            401,
            ("www-authenticate", 'Bearer realm="shipyard", error="invalid_token"'),
        ),
        (Forbidden("key:x (viewer)", "registry.write"), 403, None),
        (RateLimited("key:x", 2.2), 429, ("retry-after", "3")),
    ],
)
def test_handlers_raising_auth_errors_get_the_same_answers(
    error: ShipyardError, status: int, header: tuple[str, str] | None
) -> None:
    async def fail(request: Request) -> JSONResponse:
        raise error

    app = Starlette(routes=[Route("/x", fail)], exception_handlers={ShipyardError: handle_shipyard_error})
    with TestClient(app) as client:
        response = client.get("/x")
    assert response.status_code == status and response.json() == {"error": str(error)}
    if header:
        assert response.headers[header[0]] == header[1]


def test_refusals_through_http_are_audited_with_caller_action_and_source(
    client: TestClient, auth: Authenticator, sqlite_db: Database
) -> None:
    info, viewer = KeyService(sqlite_db).create("dash", ["viewer"], actor="alice")
    for _ in range(2):
        assert client.post("/v2/models/churn/infer", headers=bearer(viewer)).status_code == 403
    assert client.delete("/api/v1/keys/abc", headers=bearer(viewer)).status_code == 403
    asyncio.run(auth.flush())
    with sqlite_db.read() as session:
        events = {e.target: e for e in list_events(session, action="auth.denied")}
    infer, keys = events["churn"], events["DELETE /api/v1/keys/abc"]  # the model, else the request
    assert infer.actor == keys.actor == f"key:{info.id}" and infer.source == "testclient"
    assert infer.after == {**(infer.after or {}), "action": "model.infer", "count": 2, "roles": ["viewer"]}
    assert keys.after is not None and keys.after["action"] == "keys.manage" and keys.after["count"] == 1


def test_a_route_refusing_on_its_own_is_audited_like_the_middleware(
    auth: Authenticator, role_keys: dict[Role, str], sqlite_db: Database
) -> None:
    from shipyard.api.deps import require

    async def stricter(request: Request) -> JSONResponse:
        require(Action.KEYS_MANAGE)(request)  # a per-route check the path table does not make
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/api/v1/models", stricter, methods=["GET"])],
        middleware=[Middleware(AuthMiddleware, authenticator=auth)],
        exception_handlers={ShipyardError: handle_shipyard_error},
    )
    with TestClient(app) as client:
        response = client.get("/api/v1/models", headers=bearer(role_keys[Role.VIEWER]))
        assert response.status_code == 403 and "keys.manage" in response.json()["error"]
        assert client.get("/api/v1/models", headers=bearer(role_keys[Role.ADMIN])).json() == {"ok": True}
    asyncio.run(auth.flush())
    with sqlite_db.read() as session:
        (event,) = list_events(session, action="auth.denied")
    assert event.after is not None and event.after["what"] == "GET /api/v1/models"
    assert event.actor.startswith("key:") and event.source == "testclient"
