"""The HTTP side of authentication: which action a request needs, and an ASGI middleware enforcing it.

`required_action(method, path)` is the one map from HTTP requests to the permission table; the
middleware answers 401 (no valid credentials, with `WWW-Authenticate: Bearer`) or 403 (a role or
scope that does not allow the action) before the application sees the request, and hands the
principal to handlers as `request.state.principal`. Paths it does not know still need valid
credentials: the default is closed.

Plain ASGI, no framework: it sits in front of the inference routes and the management API alike (and
of the web UI, when there is one), and costs a few precompiled regex matches and a dict lookup per request.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from ..errors import Forbidden, Unauthorized
from .access import authorize, role_allows
from .authenticator import Authenticator
from .permissions import MODEL_SCOPED, Action, Principal

logger = logging.getLogger(__name__)

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a request needs: `action` (None: any valid credentials) on `model` (from the path, if any)."""

    action: Action | None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class _Rule:
    methods: frozenset[str] | None  # None: every method
    pattern: re.Pattern[str]
    action: Action | None
    public: bool = False


_GET = frozenset({"GET", "HEAD"})
_POST = frozenset({"POST"})
_CHANGE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MODEL = r"(?P<model>[^/]+)(?:/versions/[^/]+)?"  # the same segments Starlette's `{model}` matches


def _rule(methods: frozenset[str] | None, pattern: str, action: Action | None, *, public: bool = False) -> _Rule:
    return _Rule(methods, re.compile(f"^(?:{pattern})$"), action, public)


# First match wins; order matters where patterns overlap (approve before other model writes).
_RULES: tuple[_Rule, ...] = (
    _rule(None, r"/v2/health/(?:live|ready)", None, public=True),  # orchestrators probe these
    _rule(_GET, r"/api/v1/openapi\.json|/api/v1/docs(?:/.*)?|/v2/docs/dataplane\.json", None, public=True),
    _rule(_GET, r"/v2/?", Action.SERVER_READ),
    _rule(_GET, rf"/v2/models/{_MODEL}(?:/ready)?", Action.MODEL_READ),
    _rule(_POST, rf"/v2/models/{_MODEL}/infer", Action.MODEL_INFER),
    _rule(_POST, rf"/v1/models/{_MODEL}:predict", Action.MODEL_INFER),
    _rule(_GET, r"/metrics|/debug(?:/.*)?", Action.MONITORING_READ),
    _rule(_CHANGE, r"/api/v1/models(?:/.*)?/approve", Action.REGISTRY_APPROVE),
    _rule(_GET, r"/api/v1/models(?:/.*)?|/api/v1/versions", Action.REGISTRY_READ),
    _rule(_CHANGE, r"/api/v1/models(?:/.*)?", Action.REGISTRY_WRITE),
    _rule(None, r"/api/v1/keys(?:/.*)?", Action.KEYS_MANAGE),
    _rule(None, r"/api/v1/audit(?:/.*)?", Action.AUDIT_READ),
    _rule(_GET, r"/api/v1/deployments(?:/.*)?", Action.DEPLOYMENT_READ),
    _rule(None, r"/api/v1/deployments(?:/.*)?", Action.DEPLOYMENT_WRITE),
    _rule(_CHANGE, r"/api/v1/feedback(?:/.*)?", Action.FEEDBACK_WRITE),
    _rule(_GET, r"/api/v1/(?:feedback|quality|drift|alerts|logs)(?:/.*)?", Action.MONITORING_READ),
    # Changing drift settings, alert rules or the prediction log is operating a deployment.
    _rule(None, r"/api/v1/(?:drift|alerts|logs)(?:/.*)?", Action.DEPLOYMENT_WRITE),
    # Retraining: its runs and decisions are read like monitoring; a policy names code the server runs.
    _rule(_GET, r"/api/v1/retrain(?:/.*)?", Action.MONITORING_READ),
    _rule(None, r"/api/v1/retrain(?:/.*)?", Action.DEPLOYMENT_WRITE),
)
_ANY_PRINCIPAL = Requirement(None)


def required_action(method: str, path: str) -> Requirement | None:
    """What `method path` needs: None for a public path, else a `Requirement` (whose action may be None:
    any valid credentials, the answer for every path not listed)."""
    for rule in _RULES:
        if rule.methods is not None and method not in rule.methods:
            continue
        match = rule.pattern.match(path)
        if match is None:
            continue
        if rule.public:
            return None
        return Requirement(rule.action, match.groupdict().get("model"))
    return _ANY_PRINCIPAL


def check(principal: Principal, requirement: Requirement) -> None:
    """Raise `Forbidden` unless `principal` meets `requirement`.

    A model-scoped action whose model is not in the path (feedback carries it in the body) is checked
    for the role only; the handler calls `access.authorize` again once it knows the model.
    """
    action = requirement.action
    if action is None:
        return
    if action in MODEL_SCOPED and requirement.model is None and role_allows(principal, action):
        return  # the handler checks the scope once it knows the model
    authorize(principal, action, requirement.model)


def _authorization(scope: Scope) -> str | None:
    # Several Authorization headers are joined, which no token matches: ambiguity fails closed.
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]
    return ", ".join(values) if values else None


def _source(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


async def _reject(scope: Scope, send: Send, status: int, message: str, challenge: str | None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if challenge:
        headers.append((b"www-authenticate", challenge.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware:
    """Authenticate and authorize every HTTP (and WebSocket) request before `app` sees it."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        requirement = required_action(method, path)
        if requirement is None:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(
                _authorization(scope), source=_source(scope), what=f"{method} {path}"
            )
        except Unauthorized as exc:
            challenge = 'Bearer realm="shipyard"'
            if exc.reason != "missing credentials":
                challenge += ', error="invalid_token"'
            await _reject(scope, send, 401, str(exc), challenge)
            return
        try:
            check(principal, requirement)
        except Forbidden as exc:
            logger.info("refused %s %s to %s", method, path, principal.subject)
            self.authenticator.note_denied(principal, exc, source=_source(scope), what=f"{method} {path}")
            await _reject(scope, send, 403, str(exc), None)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        # A route that refuses on its own (a per-route role check) audits the 403 through this, like ours.
        state["note_denied"] = functools.partial(
            self.authenticator.note_denied, principal, source=_source(scope), what=f"{method} {path}"
        )
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"AuthMiddleware(authenticator={self.authenticator!r})"


__all__ = ["AuthMiddleware", "Requirement", "check", "required_action"]
