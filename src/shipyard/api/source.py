"""`AuditSourceMiddleware`: every audit event a management call causes names the caller's address."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ..store import audit_source


class AuditSourceMiddleware:
    """Sets `store.audit_source` to the client's address for the duration of each HTTP request.

    A context variable rather than a `source` argument on every service call: the registry, keys,
    redaction and retraining services record their events deep below the route, and the variable
    follows the request into the thread a sync route runs in (anyio copies the context).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not client:
            await self.app(scope, receive, send)
            return
        token = audit_source.set(str(client[0]))
        try:
            await self.app(scope, receive, send)
        finally:
            audit_source.reset(token)


__all__ = ["AuditSourceMiddleware"]
