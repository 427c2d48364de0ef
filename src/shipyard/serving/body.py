"""Reading a request body within the size limit, and checking its content type."""

from __future__ import annotations

from starlette.requests import Request

from ..errors import RequestTooLarge, ValidationFailed
from .events import CallContext

# curl -d sends application/x-www-form-urlencoded unless told otherwise; treating that as JSON is what
# users of KServe and MLServer expect. Anything else that is not JSON is refused with a 400.
JSON_TYPES = ("application/json", "", "application/x-www-form-urlencoded")
BINARY_HEADER = "inference-header-content-length"


# Credentials stop at authentication: nothing downstream (logs, the prediction log) may see them.
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})


def http_call(request: Request, protocol: str) -> CallContext:
    """The call as the data plane sees it: protocol, the authenticated caller, headers without credentials."""
    principal = request.scope.get("state", {}).get("principal")
    headers = {k: v for k, v in request.headers.items() if k not in _PRIVATE_HEADERS}
    return CallContext(protocol, getattr(principal, "subject", None), headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it passes `limit` bytes, before reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(None, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def check_content_type(request: Request) -> int | None:
    """The binary-extension header length, or None for plain JSON; 400 for other content types."""
    raw_length = request.headers.get(BINARY_HEADER)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if raw_length is not None:
        if not raw_length.isdigit():
            raise ValidationFailed([("Inference-Header-Content-Length", f"{raw_length!r} is not a byte count")])
        return int(raw_length)
    if media == "application/octet-stream":
        raise ValidationFailed(
            [("Inference-Header-Content-Length", "a binary body needs this header: the length of its JSON part")]
        )
    if media not in JSON_TYPES and not media.endswith("+json"):
        raise ValidationFailed(
            [
                (
                    "Content-Type",
                    f"{media!r} is not accepted: send application/json (or the binary tensor extension "
                    "with an Inference-Header-Content-Length header)",
                )
            ]
        )
    return None


__all__ = ["BINARY_HEADER", "check_content_type", "read_body"]
