"""gRPC: the `authorization` metadata meets the same authenticator and permission table as HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import grpc
import pytest

from shipyard.config import SecuritySettings
from shipyard.security.authenticator import Authenticator
from shipyard.security.keys import KeyService
from shipyard.serving.events import INTERNAL, CallContext
from shipyard.serving.grpc_server import GrpcServer, start_grpc_server
from shipyard.serving.proto import grpc_predict_v2_pb2 as pb
from shipyard.serving.proto.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from shipyard.serving.protocol import InferRequest, InferResponse, ModelMetadata, ServerMetadata, TensorMetadata
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
