"""What every route needs from the request: the registry, who is acting, and whether they may."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from ..errors import Forbidden
from ..registry import Registry
from ..security.access import authorize
from ..security.permissions import Action, Principal


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def principal_of(request: Request) -> Principal | None:
    """The caller the auth middleware in front of the API authenticated, if any."""
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


def _actor(request: Request) -> str:
    principal = principal_of(request)
    default: str = request.app.state.actor_default
    return principal.subject if principal is not None else default


def require(action: Action) -> Callable[[Request], None]:
    """A route dependency refusing callers whose roles do not allow `action`.

    The auth middleware in front already checks roles by path (`security.http_auth`); this checks
    again per route, so a route the path table misses is still guarded. Without a principal,
    authentication is off (the middleware answers 401 itself when it is on).
    """

    def check(request: Request) -> None:
        principal = principal_of(request)
        if principal is None:
            return
        try:
            authorize(principal, action)
        except Forbidden as refusal:
            note_denied = getattr(request.state, "note_denied", None)
            if note_denied is not None:  # audited like the middleware's own refusals (auth.denied)
                note_denied(refusal)
            raise

    return check


RegistryDep = Annotated[Registry, Depends(_registry)]
ActorDep = Annotated[str, Depends(_actor)]
CAN_READ = Depends(require(Action.REGISTRY_READ))
CAN_WRITE = Depends(require(Action.REGISTRY_WRITE))
CAN_APPROVE = Depends(require(Action.REGISTRY_APPROVE))
CAN_READ_AUDIT = Depends(require(Action.AUDIT_READ))

__all__ = [
    "CAN_APPROVE",
    "CAN_READ",
    "CAN_READ_AUDIT",
    "CAN_WRITE",
    "ActorDep",
    "RegistryDep",
    "principal_of",
    "require",
]
