"""The V2 gRPC service, served by the real grpc.aio server and driven by the real tritonclient."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from shipyard.errors import (
    ConfigError,
    ModelFailed,
    ModelNotFound,
    NotReady,
    PickleRefused,
    ValidationFailed,
    VersionArchived,
    closest,
)
from shipyard.serving.events import INTERNAL, CallContext
from shipyard.serving.grpc_server import GrpcServer, grpc_status, start_grpc_server
from shipyard.serving.proto import grpc_predict_v2_pb2 as pb
from shipyard.serving.proto.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from shipyard.serving.protocol import (
    InferRequest,
    InferResponse,
    InferTensor,
    ModelMetadata,
    ServerMetadata,
    TensorMetadata,
)

T = TypeVar("T")
MAX_MESSAGE_BYTES = 1024 * 1024
SECRET = "secret-internal-detail"


def _sum(request: InferRequest) -> list[InferTensor]:
    x = request.inputs[0]
    if x.data.ndim != 2:
        raise ValidationFailed([(f"input {x.name!r}", f"expected 2 dimensions, got {x.data.ndim}")])
    return [
        InferTensor("sum", x.datatype, (x.shape[0],), x.data.sum(axis=1)),
        InferTensor("max", x.datatype, (x.shape[0],), x.data.max(axis=1)),
    ]


def _echo(request: InferRequest) -> list[InferTensor]:
    return list(request.inputs)


def _boom(request: InferRequest) -> list[InferTensor]:
    try:
        raise RuntimeError(SECRET)
    except RuntimeError as exc:
        raise ModelFailed("boom", 1) from exc


def _crash(request: InferRequest) -> list[InferTensor]:
    raise KeyError(SECRET)


def _loading(request: InferRequest) -> list[InferTensor]:
    raise NotReady("loading")


def _archived(request: InferRequest) -> list[InferTensor]:
    raise VersionArchived("archived", 2)


MODELS: dict[str, Callable[[InferRequest], list[InferTensor]]] = {
    "sum": _sum,
    "echo": _echo,
    "boom": _boom,
    "crash": _crash,
    "loading": _loading,
    "archived": _archived,
}


class FakePlane:
    """The data plane's interface over the toy models above; records the headers it is given."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}

    async def live(self) -> bool:
        return True

    async def ready(self) -> bool:
        return True

    async def server_metadata(self) -> ServerMetadata:
        return ServerMetadata("shipyard", "0.1.0", ("binary_tensor_data",))

    async def model_metadata(self, name: str, version: str | None = None) -> ModelMetadata:
        self._check(name)
        return ModelMetadata(
            name=name,
            versions=("1", "2"),
            platform="shipyard-sklearn",
            inputs=(TensorMetadata("x", "FP32", (-1, 3)),),
            outputs=(TensorMetadata("sum", "FP32", (-1,)), TensorMetadata("max", "FP32", (-1,))),
            parameters={"dropped": "not in the gRPC message"},
        )

    async def model_ready(self, name: str, version: str | None = None) -> bool:
        self._check(name)
        return name != "loading"

    async def infer(
        self,
        name: str,
        request: InferRequest,
        version: str | None = None,
        *,
        call: CallContext = INTERNAL,
    ) -> InferResponse:
        self._check(name)
        self.headers = dict(call.headers)
        outputs = MODELS[name](request)
        if request.outputs:
            wanted = {o.name for o in request.outputs}
            outputs = [t for t in outputs if t.name in wanted]
        return InferResponse(name, outputs, model_version=version or "1", id=request.id, parameters=request.parameters)

    def _check(self, name: str) -> None:
        if name not in MODELS:
            raise ModelNotFound(name, closest(name, MODELS))


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    # The server runs on its own event loop in a thread, so the tests can use the blocking client.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def run(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)


@pytest.fixture(scope="module")
def plane() -> FakePlane:
    return FakePlane()


@pytest.fixture(scope="module")
def server(loop: asyncio.AbstractEventLoop, plane: FakePlane) -> Iterator[GrpcServer]:
    started = run(loop, start_grpc_server(plane, "127.0.0.1", 0, max_message_bytes=MAX_MESSAGE_BYTES))
    yield started
    run(loop, started.stop(None))


@pytest.fixture(scope="module")
def client(server: GrpcServer) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    yield client
    client.close()


def infer_input(name: str, array: np.ndarray[Any, Any], datatype: str) -> triton.InferInput:
    tensor = triton.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def failure(call: Callable[[], object]) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as info:
        call()
    return info.value


def test_server_is_live_and_ready(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()


def test_model_ready(client: triton.InferenceServerClient) -> None:
    assert client.is_model_ready("sum")
    assert client.is_model_ready("sum", model_version="2")
    assert not client.is_model_ready("loading")


def test_server_metadata(client: triton.InferenceServerClient) -> None:
    metadata = client.get_server_metadata(as_json=True)
    assert metadata == {"name": "shipyard", "version": "0.1.0", "extensions": ["binary_tensor_data"]}


def test_model_metadata(client: triton.InferenceServerClient) -> None:
    metadata = client.get_model_metadata("sum", as_json=True)
    assert metadata == {
        "name": "sum",
        "versions": ["1", "2"],
        "platform": "shipyard-sklearn",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": ["-1", "3"]}],
        "outputs": [
            {"name": "sum", "datatype": "FP32", "shape": ["-1"]},
            {"name": "max", "datatype": "FP32", "shape": ["-1"]},
        ],
    }


@pytest.mark.parametrize(("datatype", "dtype"), [("FP32", np.float32), ("FP64", np.float64)])
def test_infer_sums_rows_from_raw_data(client: triton.InferenceServerClient, datatype: str, dtype: type) -> None:
    x: np.ndarray[Any, Any] = np.array([[1, 2, 3], [4, 5, 6.5]], dtype=dtype)
    result = client.infer("sum", [infer_input("x", x, datatype)])
    total = result.as_numpy("sum")
    assert total.dtype == dtype
    np.testing.assert_array_equal(total, [6, 15.5])
    np.testing.assert_array_equal(result.as_numpy("max"), [3, 6.5])
    response = result.get_response()
    assert (response.model_name, response.model_version) == ("sum", "1")


@pytest.mark.parametrize(
    ("datatype", "array"),
    [
        ("INT64", np.array([[1, -2], [2**40, 0]], dtype=np.int64)),
        ("BOOL", np.array([True, False, True])),
        ("FP16", np.array([[0.5, -1.25]], dtype=np.float16)),
        ("UINT8", np.arange(12, dtype=np.uint8).reshape(2, 3, 2)),
        ("BYTES", np.array([b"caf\xc3\xa9", b"", b"\x00\xff"], dtype=object)),
        ("FP32", np.zeros((0, 3), dtype=np.float32)),
    ],
)
def test_infer_round_trips_each_datatype(
    client: triton.InferenceServerClient, datatype: str, array: np.ndarray[Any, Any]
) -> None:
    result = client.infer("echo", [infer_input("t", array, datatype)])
    echoed = result.as_numpy("t")
    assert echoed.shape == array.shape
    assert echoed.dtype == array.dtype
    np.testing.assert_array_equal(echoed, array)
    assert result.get_output("t").datatype == datatype


def test_infer_returns_only_requested_outputs(client: triton.InferenceServerClient) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    result = client.infer("sum", [infer_input("x", x, "FP32")], outputs=[triton.InferRequestedOutput("max")])
    assert [o.name for o in result.get_response().outputs] == ["max"]
    np.testing.assert_array_equal(result.as_numpy("max"), [3])
    assert result.as_numpy("sum") is None


def test_infer_echoes_request_id_version_and_parameters(client: triton.InferenceServerClient) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    result = client.infer(
        "sum",
        [infer_input("x", x, "FP32")],
        model_version="2",
        request_id="req-42",
        parameters={"tag": "a/b", "flag": True, "limit": -7},
    )
    response = result.get_response()
    assert response.id == "req-42"
    assert response.model_version == "2"
    assert response.parameters["tag"].string_param == "a/b"
    assert response.parameters["flag"].bool_param is True
    assert response.parameters["limit"].int64_param == -7


def test_infer_passes_text_metadata_as_headers(client: triton.InferenceServerClient, plane: FakePlane) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    client.infer("sum", [infer_input("x", x, "FP32")], headers={"authorization": "Bearer abc", "x-tenant": "t1"})
    assert "authorization" not in plane.headers  # credentials stop at authentication
    assert plane.headers["x-tenant"] == "t1"


def test_typed_contents_are_answered_with_typed_contents(server: GrpcServer) -> None:
    request = pb.ModelInferRequest(model_name="sum")
    request.inputs.add(name="x", datatype="FP32", shape=[2, 2]).contents.fp32_contents.extend([1, 2, 3, 4])
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]  # generated code is untyped
        response = stub.ModelInfer(request, timeout=30)
    assert not response.raw_output_contents
    assert list(response.outputs[0].contents.fp32_contents) == [3, 7]


def test_unknown_model_is_not_found_with_the_closest_name(client: triton.InferenceServerClient) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    error = failure(lambda: client.infer("summ", [infer_input("x", x, "FP32")]))
    assert error.status() == "StatusCode.NOT_FOUND"
    assert "'summ'" in error.message()
    assert "Closest: sum" in error.message()
    assert failure(lambda: client.get_model_metadata("summ")).status() == "StatusCode.NOT_FOUND"
    assert failure(lambda: client.is_model_ready("summ")).status() == "StatusCode.NOT_FOUND"


def test_data_size_not_matching_shape_is_invalid_argument_naming_the_input(
    client: triton.InferenceServerClient,
) -> None:
    tensor = infer_input("x", np.ones((2, 3), dtype=np.float32), "FP32")
    tensor.set_shape([2, 4])  # the data stays 6 values
    error = failure(lambda: client.infer("sum", [tensor]))
    assert error.status() == "StatusCode.INVALID_ARGUMENT"
    assert error.message() == "raw_input_contents[0]: input 'x': shape [2, 4] of FP32 needs 8 × 4 = 32 bytes, got 24"


def test_negative_dimension_is_invalid_argument(client: triton.InferenceServerClient) -> None:
    tensor = infer_input("x", np.ones((2, 3), dtype=np.float32), "FP32")
    tensor.set_shape([-2, 3])
    error = failure(lambda: client.infer("sum", [tensor]))
    assert error.status() == "StatusCode.INVALID_ARGUMENT"
    assert error.message() == "inputs[0].shape: input 'x': shape [-2, 3] has a negative dimension"


def test_unsupported_datatype_is_invalid_argument(client: triton.InferenceServerClient) -> None:
    # BF16 is a datatype tritonclient can send but Shipyard does not accept.
    error = failure(lambda: client.infer("echo", [infer_input("x", np.ones(2, dtype=np.float32), "BF16")]))
    assert error.status() == "StatusCode.INVALID_ARGUMENT"
    assert error.message().startswith("inputs[0].datatype: input 'x': unknown datatype 'BF16'")


def test_model_validation_error_is_invalid_argument(client: triton.InferenceServerClient) -> None:
    error = failure(lambda: client.infer("sum", [infer_input("x", np.ones(3, dtype=np.float32), "FP32")]))
    assert error.status() == "StatusCode.INVALID_ARGUMENT"
    assert error.message() == "input 'x': expected 2 dimensions, got 1"


def test_model_failure_is_internal_naming_the_model_and_nothing_else(
    client: triton.InferenceServerClient, caplog: pytest.LogCaptureFixture
) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    with caplog.at_level(logging.ERROR, logger="shipyard.serving.grpc_server"):
        error = failure(lambda: client.infer("boom", [infer_input("x", x, "FP32")]))
    assert error.status() == "StatusCode.INTERNAL"
    assert error.message().startswith("Model 'boom' version 1 failed while predicting.")
    assert "request id" in error.message()
    assert SECRET not in error.message()
    assert SECRET in caplog.text  # the traceback, with its chained cause, is in the log


def test_unexpected_error_is_internal_error_with_a_request_id_only(
    client: triton.InferenceServerClient, caplog: pytest.LogCaptureFixture
) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    with caplog.at_level(logging.ERROR, logger="shipyard.serving.grpc_server"):
        error = failure(lambda: client.infer("crash", [infer_input("x", x, "FP32")]))
    assert error.status() == "StatusCode.INTERNAL"
    message = error.message()
    assert message.startswith("internal error (request id ")
    request_id = message.removeprefix("internal error (request id ").removesuffix(")")
    assert SECRET not in message and "KeyError" not in message
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


@pytest.mark.parametrize(
    ("model", "status"),
    [("loading", "StatusCode.UNAVAILABLE"), ("archived", "StatusCode.FAILED_PRECONDITION")],
)
def test_domain_errors_map_to_their_status(client: triton.InferenceServerClient, model: str, status: str) -> None:
    x = np.array([[1, 2, 3]], dtype=np.float32)
    error = failure(lambda: client.infer(model, [infer_input("x", x, "FP32")]))
    assert error.status() == status
    assert f"{model!r}" in error.message()


def test_message_over_the_limit_is_resource_exhausted(client: triton.InferenceServerClient) -> None:
    x = np.zeros((MAX_MESSAGE_BYTES // 8 + 1, 1), dtype=np.float64)
    error = failure(lambda: client.infer("sum", [infer_input("x", x, "FP64")]))
    assert error.status() == "StatusCode.RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ModelNotFound("m"), grpc.StatusCode.NOT_FOUND),
        (ValidationFailed([("f", "bad")]), grpc.StatusCode.INVALID_ARGUMENT),
        (VersionArchived("m", 1), grpc.StatusCode.FAILED_PRECONDITION),
        (NotReady("m"), grpc.StatusCode.UNAVAILABLE),
        (PickleRefused("model.pkl"), grpc.StatusCode.PERMISSION_DENIED),
        (ModelFailed("m"), grpc.StatusCode.INTERNAL),
        (ConfigError("x", "bad"), grpc.StatusCode.INTERNAL),
        (KeyError("k"), grpc.StatusCode.INTERNAL),
    ],
)
def test_grpc_status_follows_the_class_hierarchy(error: Exception, status: grpc.StatusCode) -> None:
    assert grpc_status(error) == status


def test_a_busy_port_is_a_config_error(loop: asyncio.AbstractEventLoop, server: GrpcServer) -> None:
    with pytest.raises(ConfigError, match=f"127.0.0.1:{server.port}"):
        run(loop, start_grpc_server(FakePlane(), "127.0.0.1", server.port))


def _self_signed_certificate() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def test_tls(loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    key, certificate = _self_signed_certificate()
    (tmp_path / "ca.pem").write_bytes(certificate)
    started = run(loop, start_grpc_server(FakePlane(), "127.0.0.1", 0, tls=(key, certificate)))
    try:
        client = triton.InferenceServerClient(
            url=f"127.0.0.1:{started.port}", ssl=True, root_certificates=str(tmp_path / "ca.pem")
        )
        try:
            assert client.is_server_live()
        finally:
            client.close()
    finally:
        run(loop, started.stop(None))
