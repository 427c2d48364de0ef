"""HTTP error responses → the Shipyard error the server raised, in one table (the mirror of
`serving.http_errors`).

A V2 error body carries only a message (`{"error": "..."}`), so the status picks the class and,
among the 404s, the phrase Shipyard's own errors use picks the subclass. The exception keeps the
server's message word for word: the server built it from the same class, with details the client
cannot know (the closest model names, the body limit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import httpx

from ..errors import (
    AliasNotFound,
    Conflict,
    Forbidden,
    ModelFailed,
    ModelNotFound,
    NotFound,
    NotReady,
    RateLimited,
    RequestTooLarge,
    ShipyardError,
    Unauthorized,
    ValidationFailed,
    VersionNotFound,
)

E = TypeVar("E", bound=BaseException)

_LIMIT = re.compile(r"limit of ([\d,]+) bytes")


def error_for(response: httpx.Response, model: str | None = None, version: str | None = None) -> ShipyardError:
    """The error to raise for a 4xx/5xx `response` to a request about `model` (and `version`)."""
    message = _message(response)
    status = response.status_code
    build = _BY_STATUS.get(status)
    if build is not None:
        return build(response, message, model, version)
    where = f"{response.request.method} {response.request.url}"
    if status == 401:
        return _with_message(Unauthorized(), f"{where} was refused (HTTP 401): {message} Check the client's api_key.")
    if status == 403:
        return _with_message(Forbidden("this key", "do that"), f"{where} was refused (HTTP 403): {message}")
    if status == 429:
        retry = response.headers.get("retry-after", "1")
        return _with_message(RateLimited("this key", float(retry) if retry.isdigit() else 1.0), message)
    return ShipyardError(f"{where} failed with HTTP {status}: {message}")


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        request_id = body.get("request_id")
        return error + (f" (request id {request_id})" if isinstance(request_id, str) else "")
    text = response.text.strip()
    return text[:300] or response.reason_phrase


def _with_message(exc: E, message: str) -> E:
    exc.args = (message,)
    return exc


def _not_found(response: httpx.Response, message: str, model: str | None, version: str | None) -> ShipyardError:
    if model is None:
        return NotFound(message)
    # Only a model that exists can lack a version or an alias (or have that version archived).
    if version is not None and "is not registered" not in message:
        missing = VersionNotFound(model, int(version)) if version.isdigit() else AliasNotFound(model, version)
        return _with_message(missing, message)
    if message.startswith("Model "):
        return _with_message(ModelNotFound(model), message)
    return NotFound(f"{response.request.url} was not found: {message}")


def _bad_request(response: httpx.Response, message: str, model: str | None, version: str | None) -> ShipyardError:
    return ValidationFailed([("", message)])


def _too_large(response: httpx.Response, message: str, model: str | None, version: str | None) -> ShipyardError:
    match = _LIMIT.search(message)
    limit = int(match.group(1).replace(",", "")) if match else 0  # 0: the server did not say
    return _with_message(RequestTooLarge(len(response.request.content), limit), message)


def _not_ready(response: httpx.Response, message: str, model: str | None, version: str | None) -> ShipyardError:
    return _with_message(NotReady(model or str(response.request.url)), message)


def _conflict(response: httpx.Response, message: str, model: str | None, version: str | None) -> ShipyardError:
    return Conflict(message)


def _server_error(response: httpx.Response, message: str, model: str | None, version: str | None) -> ShipyardError:
    if model is not None and "failed while predicting" in message:
        return _with_message(ModelFailed(model, version), message)
    return ShipyardError(f"The server at {response.request.url.host} failed: {message}. Its log has the details.")


_Builder = Callable[[httpx.Response, str, "str | None", "str | None"], ShipyardError]
_BY_STATUS: dict[int, _Builder] = {
    400: _bad_request,
    404: _not_found,
    409: _conflict,
    413: _too_large,
    422: _bad_request,
    500: _server_error,
    503: _not_ready,
}


def check(response: httpx.Response, model: str | None = None, version: int | str | None = None) -> httpx.Response:
    """`response` if it succeeded, else raise its `error_for`."""
    if response.is_success:
        return response
    raise error_for(response, model, None if version is None else str(version))


__all__ = ["check", "error_for"]
