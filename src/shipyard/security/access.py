"""Checking a principal against the permission table, with a `Forbidden` that says what was refused."""

from __future__ import annotations

from ..errors import Forbidden
from .permissions import MODEL_SCOPED, PERMISSIONS, Action, Principal, allowed


def role_allows(principal: Principal, action: Action) -> bool:
    """True if one of the principal's roles grants `action`, whatever its scope."""
    return any(action in PERMISSIONS[role] for role in principal.roles)


def _who(principal: Principal) -> str:
    roles = ", ".join(sorted(r.value for r in principal.roles)) or "no role"
    return f"{principal.subject} ({roles})"


def authorize(principal: Principal, action: Action, model: str | None = None) -> None:
    """Raise `Forbidden` unless `principal` may do `action` (on `model`, for model-scoped actions).

    Handlers that learn the model only from the body (feedback) call this once they know it:
    the HTTP middleware could check only the role.
    """
    if allowed(principal, action, model):
        return
    if role_allows(principal, action) and action in MODEL_SCOPED:
        scope = ", ".join(sorted(principal.scope or ()))
        raise Forbidden(f"{_who(principal)}, limited to [{scope}]", action.value, model)
    raise Forbidden(_who(principal), action.value, model)


__all__ = ["authorize", "role_allows"]
