"""Errors of the management API as `{"error": "..."}` bodies, with the statuses of the one table in
`shipyard.serving.http_errors`; and the error responses each route declares in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ValidationFailed
from ..registry.uri import check_alias, check_name
from ..serving.http_errors import handle_shipyard_error, handle_unexpected, json_error
from .schemas import ErrorOut

_WHERE = ("body", "query", "path", "header", "cookie")
_DESCRIPTIONS = {
    400: "Bad input; the message names the field and the problem.",
    401: "No valid credentials.",
    403: "The credentials' role does not allow this.",
    404: "No such model, version or alias; the message names the closest ones.",
    409: "The request clashes with the current state (approval required, self-approval).",
    413: "The upload is over the size limit.",
    429: "Too many requests for these credentials.",
    500: "Internal error; the body carries a request id to find the server log entry.",
}
_ALWAYS = (400, 401, 403, 429, 500)
_DOMAIN_CHECKS: dict[str, Callable[[str], str]] = {"name": check_name, "alias": check_alias}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: its own error statuses plus those any route can answer."""
    return {
        status: {"model": ErrorOut, "description": _DESCRIPTIONS[status]} for status in sorted({*statuses, *_ALWAYS})
    }


def _field(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in _WHERE:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _problem(error: dict[str, Any]) -> str:
    kind, loc = error.get("type"), tuple(error.get("loc") or ())
    if kind == "json_invalid":
        return f"body: not valid JSON ({(error.get('ctx') or {}).get('error', 'decode error')})"
    if loc == ("body",) and kind == "missing":
        return "body: a JSON object is required (Content-Type: application/json)"
    if loc == ("body",):
        return "body: send a JSON object with Content-Type: application/json"
    value = error.get("input")
    if kind == "string_pattern_mismatch" and _field(loc) in _DOMAIN_CHECKS:
        try:
            _DOMAIN_CHECKS[_field(loc)](str(value))
        except ValidationFailed as exc:  # the registry's own words for a bad name or alias
            return str(exc)
    message = str(error.get("msg", "invalid"))
    if kind not in ("missing", "extra_forbidden") and isinstance(value, str | int | float | bool) and value != "":
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        message = f"{message} (got {shown})"
    if kind == "extra_forbidden":
        message = "unknown field"
    return f"{_field(loc)}: {message}"


def validation_message(errors: Sequence[Any]) -> str:
    """`"version: Input should be greater than or equal to 1 (got 0); comment: ..."` for FastAPI's errors."""
    return "; ".join(dict.fromkeys(_problem(e) for e in errors if isinstance(e, dict))) or "invalid request"


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # registered for RequestValidationError only
    return json_error(400, validation_message(exc.errors()))


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    messages = {404: f"No route {request.method} {request.url.path}; see the OpenAPI document at openapi.json."}
    response = json_error(exc.status_code, messages.get(exc.status_code, str(exc.detail)))
    response.headers.update(exc.headers or {})
    return response


class InternalErrorMiddleware:
    """Answers an unexpected exception with 500 `{"error": "internal error", "request_id": …}`.

    Starlette's `ServerErrorMiddleware` sends that response too but then re-raises, and in a mounted
    app the exception would reach the outer app and be logged twice; this logs it once (with the
    request id, through `handle_unexpected`) and ends there. If the response had already started,
    nothing can be sent, so it re-raises.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            response = await handle_unexpected(Request(scope, receive), exc)
            await response(scope, receive, send)


__all__ = [
    "InternalErrorMiddleware",
    "error_responses",
    "handle_http_exception",
    "handle_shipyard_error",
    "handle_validation_error",
    "validation_message",
]
