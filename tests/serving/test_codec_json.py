from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import tritonclient.http as triton

from shipyard.errors import ValidationFailed
from shipyard.serving.codec_json import (
    decode_infer_request,
    decode_tensor_data,
    encode_error,
    encode_infer_response,
    encode_metadata,
)
from shipyard.serving.protocol import (
    InferResponse,
    InferTensor,
    ModelMetadata,
    RequestedOutput,
    ServerMetadata,
    TensorMetadata,
)

TESTDATA = Path(__file__).parent.parent / "testdata" / "v2"

# One small array per datatype, with the extremes of each integer range.
SAMPLES: dict[str, np.ndarray[Any, Any]] = {
    "BOOL": np.array([[True, False, True], [False, False, True]]),
    "UINT8": np.array([[0, 1, 255]], dtype=np.uint8),
    "UINT16": np.array([0, 65535], dtype=np.uint16),
    "UINT32": np.array([0, 2**32 - 1], dtype=np.uint32),
    "UINT64": np.array([0, 2**64 - 1], dtype=np.uint64),
    "INT8": np.array([-128, 0, 127], dtype=np.int8),
    "INT16": np.array([-(2**15), 2**15 - 1], dtype=np.int16),
    "INT32": np.array([[-(2**31)], [2**31 - 1]], dtype=np.int32),
    "INT64": np.array([-(2**63), 2**63 - 1, 9007199254740993], dtype=np.int64),
    "FP16": np.array([[0.5, -1.25], [65504.0, 6e-5]], dtype=np.float16),
    "FP32": np.array([[1.1, -2.5e-38, 3.4e38]], dtype=np.float32),
    "FP64": np.arange(30, dtype=np.float64).reshape(1, 30) / 7,
    "BYTES": np.array([b"hello", "wörld".encode(), b""], dtype=object),
}


def request_body(arrays: dict[str, np.ndarray[Any, Any]], **kwargs: Any) -> bytes:
    """A JSON request body as tritonclient writes it (binary_data=False)."""
    inputs = []
    for name, arr in arrays.items():
        datatype = "BYTES" if arr.dtype == object else triton.np_to_triton_dtype(arr.dtype)
        inputs.append(triton.InferInput(name, list(arr.shape), datatype).set_data_from_numpy(arr, binary_data=False))
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs, **kwargs)
    assert json_size is None  # no binary part
    return bytes(body)


def body(**request: Any) -> bytes:
    return orjson.dumps(request)


def one_input(**tensor: Any) -> bytes:
    return orjson.dumps({"inputs": [{"name": "x", **tensor}]})


# --- decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_decodes_every_datatype_from_tritonclient(datatype: str) -> None:
    arr = SAMPLES[datatype]
    request = decode_infer_request(request_body({"x": arr}, request_id="r-1"))
    assert request.id == "r-1"
    (tensor,) = request.inputs
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, arr.shape)
    assert tensor.data.dtype == arr.dtype
    np.testing.assert_array_equal(tensor.data, arr)
    assert request.parameters == {"binary_data_output": True}  # tritonclient's default when no outputs are named


def test_decodes_the_flat_golden_request() -> None:
    request = decode_infer_request((TESTDATA / "infer-request-flat.json").read_bytes())
    assert request.id == "42"
    assert [t.name for t in request.inputs] == ["input0", "input1", "input2"]
    x0, x1, x2 = request.inputs
    assert x0.data.dtype == np.uint32 and x0.data.tolist() == [[1, 2], [3, 4]]
    assert x1.data.dtype == np.bool_ and x1.data.tolist() == [True, False, True]
    assert x2.data.dtype == object and x2.data.tolist() == [b"hello", "wörld".encode()]
    assert x2.parameters == {"content_type": "str"}
    assert request.outputs == [RequestedOutput("output0"), RequestedOutput("output1", {"binary_data": True})]
    assert request.outputs[1].binary and not request.outputs[0].binary
    assert request.parameters == {"priority": 1}
    assert request.rows == 2


def test_decodes_the_nested_golden_request() -> None:
    request = decode_infer_request((TESTDATA / "infer-request-nested.json").read_bytes())
    features, ids = request.inputs
    assert features.shape == (2, 3) and features.data.dtype == np.float32
    np.testing.assert_array_equal(features.data, [[1.5, 2, -3.25], [4, 5.5, 6]])
    # Large int64 values are exact: they never pass through a float.
    assert ids.data.shape == (2, 1, 2) and ids.data[0, 0, 0] == 9007199254740993
    assert request.id is None and request.outputs is None and request.parameters == {}


@pytest.mark.parametrize(
    ("shape", "data"),
    [([], [5]), ([0], []), ([0, 3], []), ([2, 0], [[], []]), ([2, 0, 3], [[], []]), ([1, 1, 1], [[[5]]])],
)
def test_decodes_scalars_and_empty_tensors(shape: list[int], data: list[Any]) -> None:
    (tensor,) = decode_infer_request(one_input(shape=shape, datatype="INT32", data=data)).inputs
    assert tensor.data.shape == tuple(shape) and tensor.data.dtype == np.int32


def test_whole_floats_are_accepted_in_integer_tensors() -> None:
    (tensor,) = decode_infer_request(one_input(shape=[3], datatype="INT64", data=[1.0, 2, -3.0])).inputs
    assert tensor.data.dtype == np.int64 and tensor.data.tolist() == [1, 2, -3]


def test_integers_are_accepted_in_float_tensors() -> None:
    (tensor,) = decode_infer_request(one_input(shape=[2], datatype="FP16", data=[1, 65504])).inputs
    assert tensor.data.dtype == np.float16 and tensor.data.tolist() == [1.0, 65504.0]


def test_decoded_arrays_are_writable() -> None:
    (tensor,) = decode_infer_request(one_input(shape=[2], datatype="FP32", data=[1, 2])).inputs
    tensor.data[0] = 3
    assert tensor.data.flags.writeable


def test_decode_tensor_data_on_its_own() -> None:
    arr = decode_tensor_data([[1, 2], [3, 4]], "UINT8", (2, 2))
    assert arr.dtype == np.uint8 and arr.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValidationFailed, match=r"^data\[1\]: tensor: value -1 is out of range for UINT8"):
        decode_tensor_data([1, -1], "UINT8", (2,))
    with pytest.raises(ValidationFailed, match="unknown datatype 'U8'"):
        decode_tensor_data([1], "U8", (1,))


# Each bad request, the field the error names and a part of the message (which names the input).
BAD_REQUESTS: list[tuple[str, bytes, str, str]] = [
    ("not json", b"{inputs: []}", "body", "not valid JSON"),
    ("empty body", b"", "body", "not valid JSON"),
    ("invalid utf-8", b'{"inputs": "\xff"}', "body", "not valid JSON"),
    ("NaN literal", one_input(shape=[1], datatype="FP32").replace(b"}]", b',"data":[NaN]}]'), "body", "not valid JSON"),
    ("top-level array", b"[1, 2]", "body", "expected a JSON object with an 'inputs' list, got a list"),
    ("top-level string", b'"hi"', "body", "got a string"),
    ("no inputs", body(id="1"), "inputs", "got nothing"),
    ("empty inputs", body(inputs=[]), "inputs", "got an empty list"),
    ("inputs not a list", body(inputs={"name": "x"}), "inputs", "got an object"),
    ("input not an object", body(inputs=[3]), "inputs[0]", "got an integer"),
    ("no name", body(inputs=[{"shape": [1], "datatype": "FP32", "data": [1]}]), "inputs[0].name", "got null"),
    ("empty name", body(inputs=[{"name": "", "shape": [1], "datatype": "FP32", "data": [1]}]), "inputs[0].name", ""),
    ("no shape", one_input(datatype="FP32", data=[1]), "inputs[0].shape", "input 'x': shape must be a list"),
    ("shape not a list", one_input(shape=3, datatype="FP32", data=[1]), "inputs[0].shape", "got 3 (an integer)"),
    ("no datatype", one_input(shape=[1], data=[1]), "inputs[0].datatype", "input 'x': no datatype given"),
    ("unknown datatype", one_input(shape=[1], datatype="FLOAT", data=[1]), "inputs[0].datatype", "unknown datatype"),
    ("no data", one_input(shape=[1], datatype="FP32"), "inputs[0].data", "input 'x' has no data"),
    ("negative shape", one_input(shape=[2, -1], datatype="FP32", data=[]), "inputs[0].shape[1]", "got -1"),
    ("float in shape", one_input(shape=[2.0], datatype="FP32", data=[1, 2]), "inputs[0].shape[0]", "got 2.0"),
    ("bool in shape", one_input(shape=[True], datatype="FP32", data=[1]), "inputs[0].shape[0]", "got True"),
    ("huge shape", one_input(shape=[2**63], datatype="FP32", data=[]), "inputs[0].shape[0]", "0..2^63-1"),
    ("data not a list", one_input(shape=[1], datatype="FP32", data=1.5), "inputs[0].data", "got a number"),
    (
        "too few values",
        one_input(shape=[2, 3], datatype="FP32", data=[1] * 5),
        "inputs[0].data",
        "needs 6 values, got 5",
    ),
    ("too many values", one_input(shape=[2], datatype="FP32", data=[1] * 3), "inputs[0].data", "needs 2 values, got 3"),
    ("too many rows", one_input(shape=[1, 2], datatype="FP32", data=[[1, 2], [3, 4]]), "inputs[0].data", "2 rows"),
    ("ragged", one_input(shape=[2, 2], datatype="FP32", data=[[1, 2], [3]]), "inputs[0].data[1]", "not rectangular"),
    ("ragged deep", one_input(shape=[1, 2, 2], datatype="INT8", data=[[[1, 2], 3]]), "inputs[0].data[0][1]", "got 3"),
    ("half nested", one_input(shape=[2, 2], datatype="FP32", data=[[1, 2], 3, 4]), "inputs[0].data", "3 rows"),
    ("nested too deep", one_input(shape=[2], datatype="FP32", data=[[1], [2]]), "inputs[0].data[0]", "is a list"),
    ("nested vs shape", one_input(shape=[1, 2], datatype="FP32", data=[[[1, 2]]]), "inputs[0].data[0]", "got 1 values"),
    ("string in FP32", one_input(shape=[2], datatype="FP32", data=[1, "2"]), "inputs[0].data[1]", 'is "2" (a string)'),
    ("null in FP64", one_input(shape=[1, 2], datatype="FP64", data=[[1, None]]), "inputs[0].data[0][1]", "is null"),
    ("bool in FP32", one_input(shape=[2], datatype="FP32", data=[True, 1.5]), "inputs[0].data[0]", "is true"),
    ("object in FP32", one_input(shape=[1], datatype="FP32", data=[{}]), "inputs[0].data[0]", "is an object"),
    (
        "FP16 overflow",
        one_input(shape=[2], datatype="FP16", data=[1, 1e5]),
        "inputs[0].data[1]",
        "out of range for FP16",
    ),
    (
        "FP32 overflow",
        one_input(shape=[1], datatype="FP32", data=[-1e300]),
        "inputs[0].data[0]",
        "out of range for FP32",
    ),
    ("INT8 too big", one_input(shape=[2], datatype="INT8", data=[1, 128]), "inputs[0].data[1]", "128 is out of range"),
    ("INT8 too small", one_input(shape=[1], datatype="INT8", data=[-129]), "inputs[0].data[0]", "(-128..127)"),
    ("UINT8 negative", one_input(shape=[1, 2], datatype="UINT8", data=[[0, -1]]), "inputs[0].data[0][1]", "-1 is out"),
    ("UINT8 too big", one_input(shape=[1], datatype="UINT8", data=[256]), "inputs[0].data[0]", "(0..255)"),
    (
        "UINT64 beyond",
        one_input(shape=[1], datatype="UINT64", data=[2**64 - 1]).replace(b"615", b"616"),
        "inputs[0].data[0]",
        "out of range",
    ),
    (
        "INT64 beyond",
        one_input(shape=[1], datatype="INT64", data=[2**63 - 1]).replace(b"807", b"808"),
        "inputs[0].data[0]",
        "out of range",
    ),
    (
        "fraction in INT32",
        one_input(shape=[2], datatype="INT32", data=[1, 2.5]),
        "inputs[0].data[1]",
        "2.5 is not a whole number",
    ),
    (
        "huge whole float in INT32",
        one_input(shape=[1], datatype="INT32", data=[3e9]),
        "inputs[0].data[0]",
        "out of range",
    ),
    (
        "bool in INT32",
        one_input(shape=[1], datatype="INT32", data=[False]),
        "inputs[0].data[0]",
        "is false (a boolean)",
    ),
    ("string in INT64", one_input(shape=[1], datatype="INT64", data=["1"]), "inputs[0].data[0]", "hold integers"),
    ("int in BOOL", one_input(shape=[2], datatype="BOOL", data=[True, 1]), "inputs[0].data[1]", "hold true or false"),
    ("number in BYTES", one_input(shape=[2], datatype="BYTES", data=["a", 1]), "inputs[0].data[1]", "hold strings"),
    (
        "parameters not an object",
        one_input(shape=[1], datatype="FP32", data=[1], parameters=[]),
        "inputs[0].parameters",
        "must be an object",
    ),
    (
        "binary without header",
        one_input(shape=[1], datatype="FP32", parameters={"binary_data_size": 4}),
        "inputs[0].parameters.binary_data_size",
        "no Inference-Header-Content-Length",
    ),
    (
        "duplicate names",
        body(inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}] * 2),
        "inputs[1].name",
        "input 'x' appears more than once",
    ),
    (
        "id not a string",
        body(id=42, inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]),
        "id",
        "must be a string",
    ),
    (
        "parameters not an object",
        body(parameters=1, inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]),
        "parameters",
        "must be an object",
    ),
    (
        "binary_data_output not bool",
        body(
            parameters={"binary_data_output": "yes"},
            inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
        ),
        "parameters.binary_data_output",
        "true or false",
    ),
    (
        "outputs not a list",
        body(outputs={}, inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]),
        "outputs",
        "got an object",
    ),
    (
        "output is a string",
        body(outputs=["y"], inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]),
        "outputs[0]",
        'got "y"',
    ),
    (
        "output without name",
        body(outputs=[{}], inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]),
        "outputs[0].name",
        "got null",
    ),
    (
        "duplicate outputs",
        body(outputs=[{"name": "y"}] * 2, inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]),
        "outputs[1].name",
        "more than once",
    ),
    (
        "binary_data not bool",
        body(
            outputs=[{"name": "y", "parameters": {"binary_data": 1}}],
            inputs=[{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
        ),
        "outputs[0].parameters.binary_data",
        "output 'y'",
    ),
]


@pytest.mark.parametrize(("case", "raw", "field", "message"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_name_the_field_and_problem(case: str, raw: bytes, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_infer_request(raw)
    ((got_field, got_message),) = info.value.problems
    assert got_field == field
    assert message in got_message
    if field.startswith("inputs[0].") and field != "inputs[0].name":
        assert "input 'x'" in got_message


def test_fuzzed_bodies_only_ever_fail_validation() -> None:
    rng = random.Random(20240611)
    seeds = [
        (TESTDATA / "infer-request-flat.json").read_bytes(),
        (TESTDATA / "infer-request-nested.json").read_bytes(),
        request_body(SAMPLES),
    ]
    alphabet = b'{}[]",:0123456789-.eE truefalsnul\\'
    for _ in range(3000):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(raw))
            action = rng.random()
            if action < 0.4:
                raw[pos] = rng.choice(alphabet)
            elif action < 0.7:
                del raw[pos : pos + rng.randint(1, 8)]
            else:
                raw[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        _decode_expecting_only_validation(bytes(raw))
    for _ in range(500):
        _decode_expecting_only_validation(rng.randbytes(rng.randint(0, 64)))


def test_fuzzed_values_only_ever_fail_validation() -> None:
    rng = random.Random(7)
    values: list[Any] = [None, True, False, 0, -1, 1.5, 2**64, -(2**63) - 1, 1e308, "", "x", [], [1], {}, {"a": 1}]
    keys = ["name", "shape", "datatype", "data", "parameters"]
    for _ in range(2000):
        tensor: dict[str, Any] = {"name": "x", "shape": [2], "datatype": rng.choice([*SAMPLES, "X"]), "data": [1, 2]}
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(keys)
            if rng.random() < 0.5 and isinstance(tensor.get(key), list) and tensor[key]:
                tensor[key][rng.randrange(len(tensor[key]))] = copy.deepcopy(rng.choice(values))
            else:
                tensor[key] = copy.deepcopy(rng.choice(values))
        # stdlib json: it writes integers beyond 64 bits, which orjson refuses to
        _decode_expecting_only_validation(json.dumps({"inputs": [tensor]}).encode())


def _decode_expecting_only_validation(raw: bytes) -> None:
    try:
        decode_infer_request(raw)
    except ValidationFailed as exc:
        assert exc.problems and all(field and message for field, message in exc.problems)


# --- encoding -------------------------------------------------------------------------------


def golden_response() -> InferResponse:
    return InferResponse(
        model_name="mnist",
        model_version="1",
        id="42",
        parameters={"sequence_id": 7},
        outputs=[
            InferTensor("output0", "FP32", (3, 2), np.array([[1.0, 1.1], [2.0, 2.1], [3.0, 3.1]], dtype=np.float32)),
            InferTensor(
                "label", "BYTES", (2,), np.array([b"cat", "dög".encode()], dtype=object), {"content_type": "str"}
            ),
            InferTensor("flag", "BOOL", (2, 1), np.array([[True], [False]])),
            InferTensor("missing", "FP64", (2,), np.array([0.5, np.nan])),
        ],
    )


def test_encodes_the_golden_response() -> None:
    expected = orjson.loads((TESTDATA / "infer-response.json").read_bytes())
    assert orjson.loads(encode_infer_response(golden_response())) == expected


def test_optional_response_fields_are_left_out() -> None:
    response = InferResponse("m", [InferTensor("y", "INT8", (1,), np.array([3], dtype=np.int8))])
    assert orjson.loads(encode_infer_response(response)) == {
        "model_name": "m",
        "outputs": [{"name": "y", "datatype": "INT8", "shape": [1], "data": [3]}],
    }


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_tritonclient_reads_every_datatype_back(datatype: str) -> None:
    arr = SAMPLES[datatype]
    response = InferResponse("m", [InferTensor("y", datatype, arr.shape, arr)], model_version="2", id="r")
    result = triton.InferenceServerClient.parse_response_body(encode_infer_response(response))
    got = result.as_numpy("y")
    assert got.shape == arr.shape
    if datatype == "BYTES":  # JSON carries text; tritonclient keeps it as str
        assert got.tolist() == [v.decode() for v in arr.tolist()]
    else:
        np.testing.assert_array_equal(got, arr)
    assert result.get_response()["id"] == "r"


def test_json_cannot_carry_nan_or_infinity_so_they_become_null() -> None:
    arr = np.array([1.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    encoded = orjson.loads(encode_infer_response(InferResponse("m", [InferTensor("y", "FP32", (4,), arr)])))
    assert encoded["outputs"][0]["data"] == [1.0, None, None, None]


def test_bytes_that_are_not_utf8_are_replaced_and_str_elements_pass_through() -> None:
    arr = np.array([b"ok\xff", "str", 7], dtype=object)
    encoded = orjson.loads(encode_infer_response(InferResponse("m", [InferTensor("y", "BYTES", (3,), arr)])))
    assert encoded["outputs"][0]["data"] == ["ok\ufffd", "str", "7"]


def test_arrays_are_encoded_flat_whatever_their_layout_or_dtype() -> None:
    arr = np.arange(6, dtype=">i8").reshape(2, 3).T  # big-endian and not C-contiguous
    encoded = orjson.loads(encode_infer_response(InferResponse("m", [InferTensor("y", "INT32", (3, 2), arr)])))
    assert encoded["outputs"][0]["data"] == [0, 3, 1, 4, 2, 5]


def test_encode_error() -> None:
    assert orjson.loads(encode_error('bad "x"')) == {"error": 'bad "x"'}
    assert orjson.loads(encode_error("internal error", request_id="abc")) == {
        "error": "internal error",
        "request_id": "abc",
    }


def test_encode_metadata() -> None:
    server = ServerMetadata("shipyard", "0.1.0", ("binary_tensor_data",))
    assert orjson.loads(encode_metadata(server)) == {
        "name": "shipyard",
        "version": "0.1.0",
        "extensions": ["binary_tensor_data"],
    }
    model = ModelMetadata(
        "churn", ("3",), "sklearn", (TensorMetadata("x", "FP64", (-1, 30)),), (TensorMetadata("y", "INT64", (-1,)),)
    )
    assert orjson.loads(encode_metadata(model)) == {
        "name": "churn",
        "versions": ["3"],
        "platform": "sklearn",
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 30]}],
        "outputs": [{"name": "y", "datatype": "INT64", "shape": [-1]}],
    }
    assert orjson.loads(encode_metadata({"name": "x", "ready": True})) == {"name": "x", "ready": True}
