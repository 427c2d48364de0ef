"""HTTP statuses → Shipyard errors, auth header and transport failures, on a MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

import shipyard
from shipyard.errors import (
    Conflict,
    Forbidden,
    ModelNotFound,
    NotFound,
    NotReady,
    RateLimited,
    RequestTooLarge,
    ShipyardError,
    Unauthorized,
)


def answering(status: int, body: Any = None, *, text: str | None = None) -> shipyard.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return shipyard.Client("http://mock.test", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "body", "error", "needle"),
    [
        (503, {"error": "Model 'm' is not ready to serve: it is loading. Retry in a moment."}, NotReady, "Retry"),
        (500, {"error": "internal error", "request_id": "abc123"}, ShipyardError, "request id abc123"),
        (409, {"error": "busy"}, Conflict, "busy"),
        (401, {"error": "missing API key"}, Unauthorized, "api_key"),
        (403, {"error": "viewer may not model.infer"}, Forbidden, "may not"),
        (429, {"error": "Rate limit exceeded"}, RateLimited, "Rate limit"),
        (413, {"error": "too big"}, RequestTooLarge, "too big"),
        (404, {"error": "Model 'm' is not registered."}, ModelNotFound, "not registered"),
    ],
)
def test_status_maps_to_error(status: int, body: Any, error: type[ShipyardError], needle: str) -> None:
    with answering(status, body) as client, pytest.raises(error, match=needle) as exc:
        client.predict("m", [[1.0]])
    assert type(exc.value) is error


def test_non_json_error_bodies_keep_their_text() -> None:
    with answering(502, text="Bad Gateway from nginx") as client:
        with pytest.raises(ShipyardError, match="HTTP 502: Bad Gateway from nginx"):
            client.predict("m", [[1.0]])
    with answering(404, text="Not Found") as client:
        with pytest.raises(NotFound, match="Not Found") as exc:
            client.server_metadata()
    assert not isinstance(exc.value, ModelNotFound)


def test_health_is_false_on_503_and_raises_on_other_errors() -> None:
    with answering(503, {"ready": False}) as client:
        assert not client.is_ready() and not client.model_ready("m")
    with answering(500, {"error": "internal error"}) as client, pytest.raises(ShipyardError):
        client.is_live()


def capture(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"live": True})

    return handler


def test_api_key_is_a_bearer_token() -> None:
    seen: list[httpx.Request] = []
    with shipyard.Client("http://mock.test", "sk-123", transport=httpx.MockTransport(capture(seen))) as client:
        assert client.is_live()
        assert "sk-123" not in repr(client)
    with shipyard.Client("http://mock.test", transport=httpx.MockTransport(capture(seen))) as client:
        client.is_live()
    assert seen[0].headers["authorization"] == "Bearer sk-123"
    assert "authorization" not in seen[1].headers


def test_a_path_prefix_in_the_url_is_kept() -> None:
    seen: list[httpx.Request] = []
    with shipyard.Client("https://gw.test/shipyard/", transport=httpx.MockTransport(capture(seen))) as client:
        client.model_metadata("my model", version="prod")
    assert str(seen[0].url) == "https://gw.test/shipyard/v2/models/my%20model/versions/prod"


def test_timeout_names_the_limit() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with shipyard.Client("http://mock.test", timeout=0.5, transport=httpx.MockTransport(slow)) as client:
        with pytest.raises(ShipyardError, match=r"did not answer POST /v2/models/m/infer within 0.5 s"):
            client.predict("m", [[1.0]])
        assert not client.is_live()
