"""Token buckets, the memory and Redis limiters (same decisions for the same sequence), and the 429 middleware."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.config import ServerSettings, Settings
from shipyard.deployments import DeploymentService
from shipyard.registry import open_registry
from shipyard.security.authenticator import ANONYMOUS_ADMIN
from shipyard.security.permissions import Principal, Role
from shipyard.serving.app import create_app, create_plane
from shipyard.serving.middleware import (
    RateLimitMiddleware,
    caller_identity,
    http_middleware,
    inference_model,
)
from shipyard.serving.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, TokenBucket, refill

from .._services import free_port
from .fakes import SumModel


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- the bucket ---------------------------------------------------------------------------------


def test_bucket_starts_full_and_refills_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == 0.5  # empty: one token takes 1/rate seconds
    clock.advance(0.25)
    assert bucket.acquire() == 0.25  # half a token there; a refusal takes nothing
    clock.advance(0.25)
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == 0.5


def test_bucket_never_holds_more_than_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, burst=2, clock=clock)
    clock.advance(3600)
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.1]


def test_a_clock_going_back_adds_no_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.acquire() == 0.0
    clock.advance(-50)
    assert bucket.acquire() == 1.0
    assert refill(0.5, -10, rate=1.0, burst=5) == 0.5


def test_fractional_rates() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=0.25, burst=1, clock=clock)
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == 4.0
    clock.advance(3.0)
    assert bucket.acquire() == 1.0


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_bucket_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate, burst)


# --- the limiters -------------------------------------------------------------------------------


def test_memory_limiter_keeps_keys_apart() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)

    async def scenario() -> list[float]:
        return [
            await limiter.acquire("a", 1.0, 1),
            await limiter.acquire("a", 1.0, 1),
            await limiter.acquire("b", 1.0, 1),
        ]

    assert asyncio.run(scenario()) == [0.0, 1.0, 0.0]


def test_memory_limiter_is_bounded_dropping_the_least_recently_used() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(max_buckets=2, clock=clock)

    async def scenario() -> list[float]:
        waits = [await limiter.acquire(k, 1.0, 1) for k in ("a", "b", "a", "c")]  # c pushes out b, not a
        waits.append(await limiter.acquire("a", 1.0, 1))  # a kept its (empty) bucket
        waits.append(await limiter.acquire("b", 1.0, 1))  # b comes back full
        return waits

    assert asyncio.run(scenario()) == [0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert len(limiter) == 2


def test_memory_limiter_follows_a_changed_limit() -> None:
    limiter = MemoryRateLimiter(clock=FakeClock())

    async def scenario() -> list[float]:
        return [await limiter.acquire("a", 1.0, 1), await limiter.acquire("a", 1.0, 2)]

    assert asyncio.run(scenario()) == [0.0, 0.0]


# (time to advance, key, rate, burst): keys and limits interleaved, times exact in binary.
SEQUENCE = [
    (0.0, "k1", 4.0, 2),
    (0.0, "k1", 4.0, 2),
    (0.0, "k1", 4.0, 2),
    (0.125, "k1", 4.0, 2),
    (0.0, "k2", 4.0, 2),
    (0.125, "k1", 4.0, 2),
    (0.0, "k1", 4.0, 2),
    (10.0, "k1", 4.0, 2),
    (0.0, "k1", 4.0, 2),
    (0.0, "k1", 4.0, 2),
    (0.0, "slow", 0.5, 1),
    (0.0, "slow", 0.5, 1),
    (1.5, "slow", 0.5, 1),
    (0.5, "slow", 0.5, 1),
    (-1.0, "slow", 0.5, 1),
]


def _decisions(limiter: RateLimiter, clock: FakeClock) -> list[float]:
    async def scenario() -> list[float]:
        waits = []
        for step, key, rate, burst in SEQUENCE:
            clock.advance(step)
            waits.append(await limiter.acquire(key, rate, burst))
        await limiter.aclose()
        return waits

    return asyncio.run(scenario())


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"shipyard-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_memory_and_redis_limiters_decide_alike(redis_url: str, prefix: str) -> None:
    memory_clock, redis_clock = FakeClock(), FakeClock()
    memory = _decisions(MemoryRateLimiter(clock=memory_clock), memory_clock)
    shared = _decisions(RedisRateLimiter(redis_url, prefix=prefix, clock=redis_clock), redis_clock)
    assert memory == shared
    assert memory[:6] == [0.0, 0.0, 0.25, 0.125, 0.0, 0.0]  # the sequence does exercise refusals and refills


def test_redis_limiter_on_redis_time_and_keys_expire(redis_url: str, prefix: str) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=prefix)  # no clock: Redis's own TIME, one clock for all replicas

    async def scenario() -> list[float]:
        waits = [await limiter.acquire("k", 0.01, 2) for _ in range(3)]
        await limiter.aclose()
        return waits

    first, second, third = asyncio.run(scenario())
    assert (first, second) == (0.0, 0.0)
    assert 99.0 < third <= 100.0
    ttl_ms = redis.Redis.from_url(redis_url).pttl(f"{prefix}k")
    assert 0 < ttl_ms <= 2 / 0.01 * 1000 + 1000  # gone once it would be full again anyway


def test_redis_limiter_fails_open_and_warns_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", retry_seconds=0, timeout_seconds=0.5)

    async def scenario() -> list[float]:
        waits = [await limiter.acquire("k", 1.0, 1) for _ in range(3)]
        await limiter.aclose()
        return waits

    with caplog.at_level(logging.WARNING, logger="shipyard.serving.ratelimit"):
        assert asyncio.run(scenario()) == [0.0, 0.0, 0.0]
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1


# --- the middleware -----------------------------------------------------------------------------


class FakeAuth:
    """Sets the principal named by the `x-key` header, as the auth middleware does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ()))
        key = headers.get(b"x-key")
        if key == b"anonymous":
            scope.setdefault("state", {})["principal"] = ANONYMOUS_ADMIN
        elif key is not None:
            name = key.decode()
            scope.setdefault("state", {})["principal"] = Principal(
                f"key:{name}", frozenset({Role.PREDICTOR}), key_id=name
            )
        await self.app(scope, receive, send)


async def _ok(request: Request) -> Response:
    return JSONResponse({"model": request.path_params["model"]})


ROUTES = [
    Route("/v2/models/{model}/infer", _ok, methods=["POST"]),
    Route("/v2/models/{model}/versions/{version}/infer", _ok, methods=["POST"]),
    Route("/v1/models/{model}:predict", _ok, methods=["POST"]),
    Route("/v2/models/{model}", _ok, methods=["GET"]),
]


def limited_client(
    clock: FakeClock, *, per_key: tuple[float, int] | None, per_model: tuple[float, int] | None
) -> TestClient:
    limiter = MemoryRateLimiter(clock=clock)
    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(FakeAuth),
            Middleware(RateLimitMiddleware, limiter=limiter, per_key=per_key, per_model=per_model),
        ],
    )
    return TestClient(app)


def test_per_key_limit_answers_429_with_retry_after() -> None:
    clock = FakeClock()
    client = limited_client(clock, per_key=(0.4, 2), per_model=None)
    alice = {"x-key": "alice"}
    assert [client.post("/v2/models/m/infer", headers=alice).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/v1/models/other:predict", headers=alice)  # the key's budget covers every model
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "3"  # 2.5 s rounded up: never tell a client to retry too early
    assert "API key 'alice'" in refused.json()["error"]
    assert client.post("/v2/models/m/infer", headers={"x-key": "bob"}).status_code == 200
    assert client.get("/v2/models/m", headers=alice).status_code == 200  # metadata is not inference
    clock.advance(2.5)
    assert client.post("/v2/models/m/infer", headers=alice).status_code == 200


def test_per_model_limit_is_shared_by_all_callers() -> None:
    clock = FakeClock()
    client = limited_client(clock, per_key=None, per_model=(1.0, 2))
    assert client.post("/v2/models/m/infer", headers={"x-key": "alice"}).status_code == 200
    assert client.post("/v2/models/m/versions/2/infer", headers={"x-key": "bob"}).status_code == 200
    refused = client.post("/v1/models/m:predict", headers={"x-key": "carol"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "model 'm'" in refused.json()["error"]
    assert client.post("/v2/models/n/infer").status_code == 200


def test_a_caller_refused_costs_the_model_nothing() -> None:
    clock = FakeClock()
    client = limited_client(clock, per_key=(1.0, 1), per_model=(1.0, 2))
    noisy = {"x-key": "noisy"}
    assert [client.post("/v2/models/m/infer", headers=noisy).status_code for _ in range(3)] == [200, 429, 429]
    assert client.post("/v2/models/m/infer", headers={"x-key": "quiet"}).status_code == 200


def test_a_deployment_is_limited_on_its_own_bucket(tmp_path: Path) -> None:
    # The real inference app: "web" is a deployment serving model "m"; the per-model limit is per URL name.
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    registry.register(SumModel(), "m", data=np.zeros((2, 3)))
    DeploymentService(registry).create("web", "m/1")
    clock = FakeClock()
    server = ServerSettings(refresh_seconds=0.2)
    limits = Middleware(RateLimitMiddleware, limiter=MemoryRateLimiter(clock=clock), per_model=(1.0, 2))
    app = create_app(create_plane(registry, server), server, middleware=[limits])
    rows = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
    with TestClient(app) as client:
        answer = client.post("/v2/models/web/infer", json=rows)
        assert answer.status_code == 200 and answer.json()["model_name"] == "web"  # routed by the deployment
        assert client.post("/v2/models/web/versions/1/infer", json=rows).status_code == 200  # a pinned arm: same
        refused = client.post("/v1/models/web:predict", json={"instances": [[1, 2, 3]]})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "model 'web'" in refused.json()["error"]
        # The model behind it has a bucket of its own, still full.
        assert [client.post("/v2/models/m/infer", json=rows).status_code for _ in range(3)] == [200, 200, 429]
        clock.advance(1.0)
        assert client.post("/v2/models/web/infer", json=rows).status_code == 200
        assert client.post("/v2/models/web/infer", json=rows).status_code == 429
    registry.db.close()


def test_without_a_key_the_client_address_is_charged() -> None:
    clock = FakeClock()
    client = limited_client(clock, per_key=(1.0, 1), per_model=None)
    assert client.post("/v2/models/m/infer").status_code == 200
    refused = client.post("/v2/models/m/infer", headers={"x-key": "anonymous"})  # auth off: all anonymous
    assert refused.status_code == 429 and "client testclient" in refused.json()["error"]


def test_caller_identity() -> None:
    token = Principal("oidc:ann", frozenset({Role.VIEWER}))
    assert caller_identity({"state": {"principal": token}}) == ("subject:oidc:ann", "'oidc:ann'")
    key = Principal("key:k1", frozenset({Role.VIEWER}), key_id="k1")
    assert caller_identity({"state": {"principal": key}})[0] == "key:k1"
    assert caller_identity({"client": ("10.0.0.7", 5000)})[0] == "client:10.0.0.7"
    assert caller_identity({"state": {"principal": ANONYMOUS_ADMIN}, "client": None})[0] == "client:unknown"


@pytest.mark.parametrize(
    ("method", "path", "model"),
    [
        ("POST", "/v2/models/churn/infer", "churn"),
        ("POST", "/v2/models/churn/versions/3/infer", "churn"),
        ("POST", "/v1/models/churn:predict", "churn"),
        ("POST", "/v1/models/churn/versions/3:predict", "churn"),
        ("POST", "/v1/models/a:b:predict", "a:b"),
        ("GET", "/v2/models/churn/infer", None),
        ("POST", "/v2/models/churn", None),
        ("POST", "/v2/models/churn/infer/extra", None),
        ("POST", "/api/v1/models", None),
    ],
)
def test_inference_model(method: str, path: str, model: str | None) -> None:
    assert inference_model(method, path) == model


def test_http_middleware_order_puts_auth_before_rate_limits() -> None:
    settings = Settings(server={"rate_limit_per_model": 5.0, "cors_origins": ["https://app.example"]})
    stack = http_middleware(settings, redis_url=None, auth=Middleware(FakeAuth))
    names = [getattr(m.cls, "__name__", "?") for m in stack]
    expected = ["SecurityHeadersMiddleware", "CORSMiddleware", "TimeoutMiddleware", "FakeAuth", "RateLimitMiddleware"]
    assert names == expected
    assert [getattr(m.cls, "__name__", "?") for m in http_middleware(Settings(), redis_url=None)] == [
        "SecurityHeadersMiddleware",
        "TimeoutMiddleware",
    ]


def test_http_middleware_adds_rate_limits_only_when_configured() -> None:
    limited = Settings(server={"rate_limit_per_key": 5.0})
    stack = http_middleware(limited, redis_url="redis://127.0.0.1:1/0")
    assert isinstance(stack[-1].kwargs["limiter"], RedisRateLimiter)
    assert stack[-1].kwargs["per_key"] == (5.0, 5) and stack[-1].kwargs["per_model"] is None
    assert isinstance(http_middleware(limited, redis_url=None)[-1].kwargs["limiter"], MemoryRateLimiter)
