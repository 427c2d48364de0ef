"""The one table from Shipyard errors to HTTP statuses, and the JSON error responses.

Unexpected exceptions are logged with a traceback and a request id; the client gets only
`{"error": "internal error", "request_id": …}`.
"""

from __future__ import annotations

import logging
import math
import uuid

from starlette.requests import Request
from starlette.responses import Response

from ..errors import (
    ArtifactIntegrityError,
    Conflict,
    DatabaseUnavailable,
    Forbidden,
    MissingDependency,
    ModelFailed,
    NotFound,
    NotReady,
    PickleRefused,
    RateLimited,
    RequestTooLarge,
    ShipyardError,
    Unauthorized,
    UnsupportedModel,
    ValidationFailed,
    VersionArchived,
)
from .codec_json import encode_error

logger = logging.getLogger(__name__)

_HTTP_STATUS: dict[type[ShipyardError], int] = {
    NotFound: 404,
    VersionArchived: 404,  # for a caller an archived version is gone, not a conflict they can resolve
    ValidationFailed: 400,
    UnsupportedModel: 400,
    RequestTooLarge: 413,
    Conflict: 409,
    PickleRefused: 403,
    Unauthorized: 401,
    Forbidden: 403,
    RateLimited: 429,
    NotReady: 503,
    DatabaseUnavailable: 503,
    ModelFailed: 500,
    ArtifactIntegrityError: 500,
    MissingDependency: 500,
}


def http_status(exc: ShipyardError) -> int:
    return next((_HTTP_STATUS[c] for c in type(exc).__mro__ if c in _HTTP_STATUS), 400)


def json_error(status: int, message: str, request_id: str | None = None) -> Response:
    return Response(encode_error(message, request_id), status_code=status, media_type="application/json")


def _headers(exc: ShipyardError) -> dict[str, str]:
    if isinstance(exc, Unauthorized):
        error = "" if exc.reason == "missing credentials" else ', error="invalid_token"'
        return {"WWW-Authenticate": f'Bearer realm="shipyard"{error}'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    return {}


async def handle_shipyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipyardError)  # registered for ShipyardError only
    response = json_error(http_status(exc), str(exc))
    response.headers.update(_headers(exc))
    return response


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = uuid.uuid4().hex[:16]
    logger.error("internal error %s on %s %s", request_id, request.method, request.url.path, exc_info=exc)
    return json_error(500, "internal error", request_id)


__all__ = ["handle_shipyard_error", "handle_unexpected", "http_status", "json_error"]
