"""Who may do what: the role × action table, enforced in one place for REST, gRPC and the API (and for the
web UI, once there is one: it is planned, not built).

`docs/security.md` prints this table (`tests/security/test_docs.py` checks it there);
`tests/security/test_http_auth.py` walks all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DEPLOYER = "deployer"
    PREDICTOR = "predictor"
    VIEWER = "viewer"


class Action(StrEnum):
    SERVER_READ = "server.read"  # V2 server metadata
    MODEL_READ = "model.read"  # V2 model metadata and readiness
    MODEL_INFER = "model.infer"  # V2 / V1 / gRPC inference
    REGISTRY_READ = "registry.read"  # list and show models, versions, aliases
    REGISTRY_WRITE = "registry.write"  # register, move aliases, archive, approval policy
    REGISTRY_APPROVE = "registry.approve"  # approve a version for production
    DEPLOYMENT_READ = "deployment.read"
    DEPLOYMENT_WRITE = "deployment.write"
    MONITORING_READ = "monitoring.read"  # metrics, prediction log, drift, alerts
    FEEDBACK_WRITE = "feedback.write"  # post ground truth
    KEYS_MANAGE = "keys.manage"  # create, list, revoke API keys
    AUDIT_READ = "audit.read"


_READ = {Action.SERVER_READ, Action.MODEL_READ, Action.REGISTRY_READ, Action.DEPLOYMENT_READ, Action.MONITORING_READ}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.DEPLOYER: frozenset(
        _READ
        | {
            Action.MODEL_INFER,
            Action.REGISTRY_WRITE,
            Action.REGISTRY_APPROVE,
            Action.DEPLOYMENT_WRITE,
            Action.FEEDBACK_WRITE,
            Action.AUDIT_READ,
        }
    ),
    Role.PREDICTOR: frozenset({Action.SERVER_READ, Action.MODEL_READ, Action.MODEL_INFER, Action.FEEDBACK_WRITE}),
    Role.VIEWER: frozenset(_READ),
}
"""The whole policy. Health checks (`/v2/health/*`) need no credentials: orchestrators probe them."""

MODEL_SCOPED = frozenset({Action.MODEL_READ, Action.MODEL_INFER, Action.FEEDBACK_WRITE})
"""Actions on one model (or deployment): a key scoped to some models may do them only on those."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an API key or a verified token, with its roles and optional scope."""

    subject: str
    """Who: the key's id (`key:<id>`) or the token's subject (`oidc:<sub>`)."""
    roles: frozenset[Role]
    scope: frozenset[str] | None = None
    """Model or deployment names this caller is limited to; None means all."""
    key_id: str | None = None
    expires_at: datetime | None = None
    claims: dict[str, object] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"Principal(subject={self.subject!r}, roles={sorted(self.roles)})"


def allowed(principal: Principal, action: Action, model: str | None = None) -> bool:
    """True if any of the principal's roles grants `action` (on `model`, for model-scoped actions)."""
    if not any(action in PERMISSIONS[role] for role in principal.roles):
        return False
    if action in MODEL_SCOPED and principal.scope is not None:
        return model is not None and model in principal.scope
    return True


def permission_table() -> list[tuple[str, dict[str, bool]]]:
    """Rows of (action, {role: allowed}) in declaration order, for documentation and tests."""
    return [(action.value, {role.value: action in PERMISSIONS[role] for role in Role}) for action in Action]


__all__ = ["MODEL_SCOPED", "PERMISSIONS", "Action", "Principal", "Role", "allowed", "permission_table"]
