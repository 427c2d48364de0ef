"""gRPC: the `authorization` metadata meets the same authenticator and permission table as HTTP; refusals
are audited, inference is rate-limited with HTTP's buckets, and readiness follows the drain."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import grpc
import pytest

from shipyard.config import SecuritySettings, Settings
from shipyard.security.authenticator import Authenticator
from shipyard.security.keys import KeyService
from shipyard.serving.drain import Drain
from shipyard.serving.events import INTERNAL, CallContext
from shipyard.serving.grpc_server import GrpcServer, start_grpc_server
from shipyard.serving.middleware import http_middleware
from shipyard.serving.proto import grpc_predict_v2_pb2 as pb
from shipyard.serving.proto.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from shipyard.serving.protocol import InferRequest, InferResponse, ModelMetadata, ServerMetadata, TensorMetadata
from shipyard.serving.ratelimit import MemoryRateLimiter, RateLimits
from shipyard.store import Database, list_events

T = TypeVar("T")


class EchoPlane:
    """Any model name exists and echoes its inputs; records the headers the servicer passes on."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}

    async def live(self) -> bool:
        return True

    async def ready(self) -> bool:
        return True

    async def server_metadata(self) -> ServerMetadata:
        return ServerMetadata("shipyard", "0.1.0", ())

    async def model_metadata(self, name: str, version: str | None = None) -> ModelMetadata:
        x = (TensorMetadata("x", "FP32", (-1,)),)
        return ModelMetadata(name=name, versions=("1",), platform="test", inputs=x, outputs=x)

    async def model_ready(self, name: str, version: str | None = None) -> bool:
        return True

    async def infer(
        self, name: str, request: InferRequest, version: str | None = None, *, call: CallContext = INTERNAL
    ) -> InferResponse:
        self.headers = dict(call.headers)
        return InferResponse(name, list(request.inputs), model_version="1")


@pytest.fixture(scope="module")
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


@pytest.fixture
def plane() -> EchoPlane:
    return EchoPlane()


@pytest.fixture
def auth(sqlite_db: Database) -> Authenticator:
    return Authenticator(sqlite_db, SecuritySettings())


@pytest.fixture
def stub(loop: asyncio.AbstractEventLoop, plane: EchoPlane, auth: Authenticator) -> Iterator[Any]:
    server: GrpcServer = run(loop, start_grpc_server(plane, "127.0.0.1", 0, authenticator=auth))
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]  # generated code is untyped
    run(loop, server.stop(None))


def infer_request(model: str) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model)
    request.inputs.add(name="x", datatype="FP32", shape=[2]).contents.fp32_contents.extend([1, 2])
    return request


def code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    status: grpc.StatusCode = info.value.code()
    return status


def meta(key: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {key}")]


def test_liveness_and_readiness_are_public(stub: Any) -> None:
    assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
    assert stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready


def test_everything_else_needs_credentials(stub: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=10),
        lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="churn"), timeout=10),
        lambda: stub.ModelReady(pb.ModelReadyRequest(name="churn"), timeout=10),
        lambda: stub.ModelInfer(infer_request("churn"), timeout=10),
        lambda: stub.ModelInfer(infer_request("churn"), metadata=[("authorization", "Basic x")], timeout=10),
        lambda: stub.ModelInfer(infer_request("churn"), metadata=meta("sy_0123456789ab_" + "a" * 43), timeout=10),
    ]
    assert [code(c) for c in calls] == [grpc.StatusCode.UNAUTHENTICATED] * len(calls)


def test_roles_and_scope_on_grpc(stub: Any, plane: EchoPlane, sqlite_db: Database) -> None:
    keys = KeyService(sqlite_db)
    _, viewer = keys.create("viewer", ["viewer"], actor="alice")
    _, scoped = keys.create("churn-app", ["predictor"], scope=["churn"], actor="alice")
    response = stub.ModelInfer(infer_request("churn"), metadata=meta(scoped), timeout=10)
    assert list(response.outputs[0].contents.fp32_contents) == [1, 2]
    assert "authorization" not in plane.headers  # credentials never travel past authentication
    assert stub.ModelMetadata(pb.ModelMetadataRequest(name="churn"), metadata=meta(viewer), timeout=10).name == "churn"
    assert stub.ServerMetadata(pb.ServerMetadataRequest(), metadata=meta(scoped), timeout=10).name == "shipyard"
    denied = [
        lambda: stub.ModelInfer(infer_request("fraud"), metadata=meta(scoped), timeout=10),
        lambda: stub.ModelReady(pb.ModelReadyRequest(name="fraud"), metadata=meta(scoped), timeout=10),
        lambda: stub.ModelInfer(infer_request("churn"), metadata=meta(viewer), timeout=10),
    ]
    assert [code(c) for c in denied] == [grpc.StatusCode.PERMISSION_DENIED] * len(denied)


def test_grpc_failures_are_audited_with_the_peer_address(
    stub: Any, auth: Authenticator, sqlite_db: Database, loop: asyncio.AbstractEventLoop
) -> None:
    code(lambda: stub.ModelInfer(infer_request("churn"), metadata=[("authorization", "Bearer nope")], timeout=10))
    run(loop, auth.flush())
    with sqlite_db.read() as session:
        (event,) = list_events(session, action="auth.failed")
    assert event.source == "127.0.0.1" and event.after is not None and event.after["what"] == "gRPC ModelInfer"


def test_grpc_refusals_are_audited_with_caller_action_model_and_peer(
    stub: Any, auth: Authenticator, sqlite_db: Database, loop: asyncio.AbstractEventLoop
) -> None:
    info, viewer = KeyService(sqlite_db).create("dash", ["viewer"], actor="alice")
    for _ in range(2):
        assert code(lambda: stub.ModelInfer(infer_request("churn"), metadata=meta(viewer), timeout=10)) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
    run(loop, auth.flush())
    with sqlite_db.read() as session:
        (event,) = list_events(session, action="auth.denied")
    assert event.actor == f"key:{info.id}" and event.target == "churn" and event.source == "127.0.0.1"
    assert event.after is not None
    assert event.after["action"] == "model.infer" and event.after["what"] == "gRPC ModelInfer"
    assert event.after["count"] == 2 and event.after["roles"] == ["viewer"]


# --- rate limits and the drain on gRPC -----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(
    loop: asyncio.AbstractEventLoop, plane: EchoPlane, auth: Authenticator
) -> Iterator[tuple[Any, RateLimits, FakeClock, Drain]]:
    clock = FakeClock()
    limits = RateLimits(MemoryRateLimiter(clock=clock), per_key=(0.5, 2), per_model=(10.0, 3))
    drain = Drain(0.0)
    server = run(loop, start_grpc_server(plane, "127.0.0.1", 0, authenticator=auth, rate_limits=limits, drain=drain))
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield GRPCInferenceServiceStub(channel), limits, clock, drain  # type: ignore[no-untyped-call]
    run(loop, server.stop(None))


def refusal(call: Callable[[], object]) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    error: Any = info.value
    return error.code(), error.details(), dict(error.trailing_metadata() or ())


def test_grpc_inference_is_rate_limited_per_key_like_http(limited: Any, sqlite_db: Database) -> None:
    stub, _, clock, _ = limited
    keys = KeyService(sqlite_db)
    info, alice = keys.create("alice", ["predictor"], actor="admin")
    _, bob = keys.create("bob", ["predictor"], actor="admin")
    for _ in range(2):
        stub.ModelInfer(infer_request("churn"), metadata=meta(alice), timeout=10)
    status, details, trailers = refusal(
        lambda: stub.ModelInfer(infer_request("churn"), metadata=meta(alice), timeout=10)
    )
    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"API key '{info.id}'" in details and trailers["retry-after"] == "2"  # 2 s at 0.5/s, rounded up
    stub.ModelInfer(infer_request("other"), metadata=meta(bob), timeout=10)  # bob has his own bucket
    # Metadata is not inference, and a refused call is charged nothing.
    assert stub.ModelMetadata(pb.ModelMetadataRequest(name="churn"), metadata=meta(alice), timeout=10).name == "churn"
    clock.now += 2.0
    stub.ModelInfer(infer_request("churn"), metadata=meta(alice), timeout=10)


def test_grpc_per_model_limit_and_unauthorized_calls_cost_nothing(limited: Any, sqlite_db: Database) -> None:
    stub, _, _, _ = limited
    keys = KeyService(sqlite_db)
    callers = [keys.create(f"app{i}", ["predictor"], actor="admin")[1] for i in range(4)]
    for _ in range(5):  # refused before authorization passes: not charged to the model
        code(lambda: stub.ModelInfer(infer_request("churn"), metadata=meta("sy_0123456789ab_" + "a" * 43), timeout=10))
    for caller in callers[:3]:
        stub.ModelInfer(infer_request("churn"), metadata=meta(caller), timeout=10)
    status, details, trailers = refusal(
        lambda: stub.ModelInfer(infer_request("churn"), metadata=meta(callers[3]), timeout=10)
    )
    assert (
        status == grpc.StatusCode.RESOURCE_EXHAUSTED and "model 'churn'" in details and trailers["retry-after"] == "1"
    )
    stub.ModelInfer(infer_request("fraud"), metadata=meta(callers[3]), timeout=10)


def test_http_and_grpc_share_the_buckets(limited: Any, sqlite_db: Database) -> None:
    stub, limits, _, _ = limited
    info, alice = KeyService(sqlite_db).create("alice", ["predictor"], actor="admin")
    middleware = http_middleware(Settings(), redis_url=None, limits=limits)
    assert middleware[-1].kwargs["limiter"] is limits.limiter  # the HTTP stack charges the same buckets
    asyncio.run(limits.charge((f"key:{info.id}", "alice"), "churn"))  # as an HTTP request would
    asyncio.run(limits.charge((f"key:{info.id}", "alice"), "churn"))
    status, _, _ = refusal(lambda: stub.ModelInfer(infer_request("churn"), metadata=meta(alice), timeout=10))
    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_grpc_readiness_turns_false_when_draining_and_new_calls_are_refused_when_closing(limited: Any) -> None:
    stub, _, _, drain = limited
    assert stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
    drain.begin()
    assert not stub.ServerReady(pb.ServerReadyRequest(), timeout=10).ready
    assert stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live  # alive, just leaving
    drain.closing = True
    status, details, _ = refusal(lambda: stub.ServerLive(pb.ServerLiveRequest(), timeout=10))
    assert status == grpc.StatusCode.UNAVAILABLE and "shutting down" in details
