"""Request time limits (HTTP 504, gRPC DEADLINE_EXCEEDED), security headers, CORS, and the limit settings."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

import numpy as np
import pytest
import tritonclient.grpc as triton
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from tritonclient.utils import InferenceServerException

from shipyard.config import ServerSettings, Settings, load_settings
from shipyard.errors import ConfigError
from shipyard.serving.events import INTERNAL, CallContext
from shipyard.serving.grpc_server import GrpcServer, start_grpc_server
from shipyard.serving.middleware import SecurityHeadersMiddleware, TimeoutMiddleware, http_middleware
from shipyard.serving.protocol import InferRequest, InferResponse, InferTensor, ModelMetadata, ServerMetadata
from shipyard.serving.server import export_settings

T = TypeVar("T")
FOREVER = 3600.0  # awaited, never slept through: the time limit cancels it


async def slow(request: Request) -> Response:
    await asyncio.sleep(FOREVER)
    return PlainTextResponse("never")


async def fast(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def own_timeout(request: Request) -> Response:
    raise TimeoutError("a client library gave up")


async def stalled_stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first chunk;"
        await asyncio.sleep(FOREVER)
        yield b"never"

    return StreamingResponse(chunks(), media_type="text/plain")


async def page(request: Request) -> Response:
    return HTMLResponse("<p>dashboard</p>")


async def own_policy(request: Request) -> Response:
    return JSONResponse({}, headers={"Content-Security-Policy": "default-src 'self'", "Cache-Control": "max-age=60"})


ROUTES = [
    Route("/v2/models/{model}/infer", slow, methods=["POST"]),
    Route("/v2/health/live", fast),
    Route("/api/v1/models", fast, methods=["GET", "POST"]),
    Route("/own-timeout", own_timeout),
    Route("/stream", stalled_stream),
    Route("/ui", page),
    Route("/api/v1/own-policy", own_policy),
]


def app_with(settings: Settings) -> Starlette:
    return Starlette(routes=ROUTES, middleware=http_middleware(settings, redis_url=None))


def server_settings(**values: Any) -> Settings:
    return Settings(server=values)


# --- time limit ---------------------------------------------------------------------------------


@pytest.fixture
def limited() -> Iterator[TestClient]:
    with TestClient(app_with(server_settings(request_timeout_seconds=0.05)), raise_server_exceptions=False) as client:
        yield client


def test_a_request_over_the_time_limit_gets_504_and_the_server_keeps_serving(limited: TestClient) -> None:
    response = limited.post("/v2/models/m/infer", json={})
    assert response.status_code == 504
    assert "longer than 0.05 s" in response.json()["error"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"  # the 504 passes the security headers too
    assert limited.get("/v2/health/live").json() == {"ok": True}


def test_the_apps_own_timeout_error_is_not_a_504(limited: TestClient) -> None:
    assert limited.get("/own-timeout").status_code == 500


def test_no_504_after_the_response_started(limited: TestClient) -> None:
    response = limited.get("/stream")
    assert response.status_code == 200  # the status line had gone out; the body is cut short instead
    assert response.content == b"first chunk;"


class SlowPlane:
    """A data plane whose `slow` model never answers."""

    async def live(self) -> bool:
        return True

    async def ready(self) -> bool:
        return True

    async def server_metadata(self) -> ServerMetadata:
        return ServerMetadata("shipyard", "0", ())

    async def model_metadata(self, name: str, version: str | None = None) -> ModelMetadata:
        raise NotImplementedError

    async def model_ready(self, name: str, version: str | None = None) -> bool:
        return True

    async def infer(
        self, name: str, request: InferRequest, version: str | None = None, *, call: CallContext = INTERNAL
    ) -> InferResponse:
        if name == "slow":
            await asyncio.sleep(FOREVER)
        x = request.inputs[0]
        return InferResponse(name, [InferTensor("y", x.datatype, x.shape, x.data)], model_version="1")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def run(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)


def test_grpc_model_infer_past_the_time_limit_is_deadline_exceeded(loop: asyncio.AbstractEventLoop) -> None:
    server: GrpcServer = run(loop, start_grpc_server(SlowPlane(), "127.0.0.1", 0, request_timeout=0.05))
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    try:
        tensor = triton.InferInput("x", [1, 2], "FP64")
        tensor.set_data_from_numpy(np.ones((1, 2)))
        with pytest.raises(InferenceServerException) as info:
            client.infer("slow", [tensor])
        assert info.value.status() == "StatusCode.DEADLINE_EXCEEDED"
        assert "longer than 0.05 s" in str(info.value.message())
        assert client.is_server_ready()  # other RPCs are not limited, and the server still serves
        np.testing.assert_array_equal(client.infer("fast", [tensor]).as_numpy("y"), np.ones((1, 2)))
    finally:
        client.close()
        run(loop, server.stop(None))


# --- security headers ---------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app_with(Settings())) as client:
        yield client


def test_security_headers_on_api_json(client: TestClient) -> None:
    headers = client.get("/api/v1/models").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "strict-transport-security" not in headers  # plain HTTP: HSTS means nothing there


def test_pages_get_the_base_headers_only(client: TestClient) -> None:
    headers = client.get("/ui").headers
    assert headers["x-frame-options"] == "DENY"
    assert "cache-control" not in headers and "content-security-policy" not in headers


def test_the_apps_own_headers_win(client: TestClient) -> None:
    headers = client.get("/api/v1/own-policy").headers
    assert headers["content-security-policy"] == "default-src 'self'"
    assert headers["cache-control"] == "max-age=60"


def test_hsts_over_https() -> None:
    with TestClient(app_with(Settings()), base_url="https://testserver") as client:
        assert client.get("/api/v1/models").headers["strict-transport-security"].startswith("max-age=")


def test_security_headers_alone_pass_other_scopes_through() -> None:
    # The lifespan is not HTTP: it must reach the app untouched.
    app = Starlette(routes=ROUTES, middleware=[Middleware(SecurityHeadersMiddleware), Middleware(TimeoutMiddleware, 1)])
    with TestClient(app) as client:
        assert client.get("/v2/health/live").status_code == 200


# --- CORS ---------------------------------------------------------------------------------------


def test_cors_is_closed_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/models", headers={"Origin": "https://evil.example"})
    assert not [h for h in response.headers if h.startswith("access-control-")]
    preflight = client.options(
        "/api/v1/models", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 405
    assert not [h for h in preflight.headers if h.startswith("access-control-")]


def test_cors_echoes_a_configured_origin_only() -> None:
    settings = server_settings(cors_origins=["https://app.example"])
    with TestClient(app_with(settings)) as client:
        allowed = client.get("/api/v1/models", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        preflight = client.options(
            "/api/v1/models",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]
        other = client.get("/api/v1/models", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


# --- settings -----------------------------------------------------------------------------------


def test_limit_defaults() -> None:
    server = ServerSettings()
    assert server.max_rows == 100_000
    assert server.request_timeout_seconds == 30
    assert server.cors_origins == []
    assert server.rate_limit_per_key is None and server.rate_limit_per_model is None
    assert server.tls_cert is None and not server.insecure


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cors_origins": ["app.example"]}, "SHIPYARD_SERVER__CORS_ORIGINS: 'app.example' is not an origin"),
        ({"request_timeout_seconds": 0}, "SHIPYARD_SERVER__REQUEST_TIMEOUT_SECONDS"),
        ({"rate_limit_per_key": -1}, "SHIPYARD_SERVER__RATE_LIMIT_PER_KEY"),
        ({"max_rows": 0}, "SHIPYARD_SERVER__MAX_ROWS"),
    ],
)
def test_bad_limits_are_config_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(server=values)


def test_exported_settings_read_back_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ServerSettings.model_fields:
        # setenv first: monkeypatch then removes what export_settings writes once the test is over
        monkeypatch.setenv(f"SHIPYARD_SERVER__{name.upper()}", "")
        monkeypatch.delenv(f"SHIPYARD_SERVER__{name.upper()}")
    server = ServerSettings(cors_origins=["https://a.example", "http://b.example:8000"], rate_limit_per_model=2.5)
    export_settings(server)
    assert os.environ["SHIPYARD_SERVER__CORS_ORIGINS"].startswith("[")
    assert load_settings().server == server
