from __future__ import annotations

import random
import struct
from typing import Any

import numpy as np
import orjson
import pytest
import tritonclient.http as triton

from shipyard.errors import ValidationFailed
from shipyard.serving.codec_binary import (
    HEADER_LENGTH,
    binary_output_names,
    decode_binary_request,
    decode_binary_tensor,
    encode_binary_tensor,
    encode_infer_response_binary,
)
from shipyard.serving.codec_json import encode_infer_response
from shipyard.serving.protocol import InferRequest, InferResponse, InferTensor, RequestedOutput

from .test_codec_json import SAMPLES


def triton_input(name: str, arr: np.ndarray[Any, Any], binary: bool = True) -> triton.InferInput:
    datatype = "BYTES" if arr.dtype == object else triton.np_to_triton_dtype(arr.dtype)
    return triton.InferInput(name, list(arr.shape), datatype).set_data_from_numpy(arr, binary_data=binary)


def triton_body(inputs: list[triton.InferInput], **kwargs: Any) -> tuple[bytes, int]:
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs, **kwargs)
    assert json_size is not None
    return bytes(body), json_size


def binary_body(header: dict[str, Any], raw: bytes = b"") -> tuple[bytes, int]:
    head = orjson.dumps(header)
    return head + raw, len(head)


def one_binary_input(raw: bytes, size: int | None = None, **tensor: Any) -> tuple[bytes, int]:
    parameters = {"binary_data_size": len(raw) if size is None else size}
    return binary_body({"inputs": [{"name": "x", **tensor, "parameters": parameters}]}, raw)


# --- requests -------------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_decodes_every_datatype_from_tritonclient(datatype: str) -> None:
    arr = SAMPLES[datatype]
    body, header_length = triton_body([triton_input("x", arr)], request_id="r-7")
    request = decode_binary_request(body, header_length)
    assert request.id == "r-7"
    (tensor,) = request.inputs
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, arr.shape)
    assert tensor.data.dtype == arr.dtype
    np.testing.assert_array_equal(tensor.data, arr)
    assert tensor.parameters == {}  # binary_data_size is about the body, not the tensor


def test_decodes_binary_and_json_inputs_side_by_side() -> None:
    inputs = [
        triton_input("a", SAMPLES["FP16"]),
        triton_input("b", SAMPLES["INT32"], binary=False),
        triton_input("c", SAMPLES["BYTES"]),
        triton_input("d", SAMPLES["BOOL"]),
    ]
    outputs = [triton.InferRequestedOutput("y", binary_data=True), triton.InferRequestedOutput("z", binary_data=False)]
    request = decode_binary_request(*triton_body(inputs, outputs=outputs))
    for tensor, name in zip(request.inputs, "abcd", strict=True):
        expected = {"a": SAMPLES["FP16"], "b": SAMPLES["INT32"], "c": SAMPLES["BYTES"], "d": SAMPLES["BOOL"]}[name]
        assert tensor.name == name
        np.testing.assert_array_equal(tensor.data, expected)
    assert request.outputs == [
        RequestedOutput("y", {"binary_data": True}),
        RequestedOutput("z", {"binary_data": False}),
    ]


def test_a_header_covering_the_whole_body_is_a_plain_json_request() -> None:
    body, header_length = binary_body({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [3]}]})
    request = decode_binary_request(body, header_length)
    assert request.inputs[0].data.tolist() == [3]


def test_decoded_arrays_are_writable_aligned_copies() -> None:
    arr = np.arange(4, dtype=np.float64)
    # An odd-length BYTES input first puts the FP64 data at an unaligned offset in the body.
    body, header_length = triton_body([triton_input("s", np.array([b"abc"], dtype=object)), triton_input("x", arr)])
    data = decode_binary_request(body, header_length).inputs[1].data
    assert data.flags.writeable and data.flags.aligned
    data[0] = 9
    np.testing.assert_array_equal(data, [9, 1, 2, 3])


def test_zero_size_tensors() -> None:
    empty = np.zeros((0, 3), dtype=np.float32)
    no_strings = np.zeros((0,), dtype=object)
    request = decode_binary_request(*triton_body([triton_input("x", empty), triton_input("s", no_strings)]))
    assert request.inputs[0].data.shape == (0, 3) and request.inputs[1].data.shape == (0,)


def test_decode_binary_tensor_on_its_own() -> None:
    raw = struct.pack("<3h", -1, 0, 2)
    assert decode_binary_tensor(raw, "INT16", (1, 3)).tolist() == [[-1, 0, 2]]
    big_endian_host_safe = decode_binary_tensor(struct.pack("<d", 1.5), "FP64", ())
    assert big_endian_host_safe.shape == () and big_endian_host_safe.dtype.isnative
    with pytest.raises(ValidationFailed, match="unknown datatype 'I16'"):
        decode_binary_tensor(raw, "I16", (3,))


# Each bad body (with its header length), the field the error names and a part of the message.
BAD_BODIES: list[tuple[str, tuple[bytes, int], str, str]] = [
    ("header longer than body", (b'{"inputs": []}', 15), HEADER_LENGTH, "got 15"),
    ("negative header length", (b'{"inputs": []}', -1), HEADER_LENGTH, "between 1 and the body's length (14 bytes)"),
    ("zero header length", (b'{"inputs": []}', 0), HEADER_LENGTH, "got 0"),
    ("header cut short", (b'{"inputs": []}', 5), "body (the first 5 bytes, the JSON header)", "not valid JSON"),
    ("header not an object", binary_body([1]), "body", "got a list"),  # type: ignore[arg-type]
    (
        "sizes short of the body",
        one_binary_input(b"\0" * 8, size=4, shape=[1], datatype="FP32"),
        "body",
        "4 bytes after the JSON header belong to no input",
    ),
    (
        "trailing bytes with no binary input",
        binary_body({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [1]}]}, b"\0"),
        "body",
        "1 bytes after the JSON header belong to no input",
    ),
    (
        "size past the end",
        one_binary_input(b"\0" * 4, size=8, shape=[2], datatype="FP32"),
        "inputs[0].parameters.binary_data_size",
        "input 'x': binary_data_size is 8, but only 4 bytes of binary data remain",
    ),
    (
        "size does not match shape",
        one_binary_input(b"\0" * 8, shape=[3], datatype="FP32"),
        "inputs[0].parameters.binary_data_size",
        "input 'x': shape [3] of FP32 needs 3 × 4 = 12 bytes, got 8",
    ),
    (
        "negative size",
        one_binary_input(b"", size=-4, shape=[1], datatype="FP32"),
        "inputs[0].parameters.binary_data_size",
        "must be a non-negative integer, got -4",
    ),
    (
        "size not an integer",
        binary_body(
            {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": "4"}}]}
        ),
        "inputs[0].parameters.binary_data_size",
        'got "4" (a string)',
    ),
    (
        "size is a boolean",
        binary_body(
            {"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "parameters": {"binary_data_size": True}}]}
        ),
        "inputs[0].parameters.binary_data_size",
        "got true",
    ),
    (
        "data and binary both",
        one_binary_input(b"\0" * 4, shape=[1], datatype="FP32", data=[1.0]),
        "inputs[0].data",
        "input 'x' has both 'data' and binary_data_size",
    ),
    (
        "BOOL byte not 0 or 1",
        one_binary_input(b"\x01\x00\x02", shape=[3], datatype="BOOL"),
        "inputs[0].parameters.binary_data_size",
        "input 'x': BOOL element 2 is byte 2",
    ),
    (
        "BYTES length prefix cut off",
        one_binary_input(struct.pack("<I", 5) + b"abcde" + b"\x01\x00", shape=[2], datatype="BYTES"),
        "inputs[0].parameters.binary_data_size",
        "input 'x': BYTES element 1 is cut off inside its 4-byte length prefix",
    ),
    (
        "BYTES too short for its count",
        one_binary_input(b"\x01\x00", shape=[1], datatype="BYTES"),
        "inputs[0].parameters.binary_data_size",
        "1 BYTES elements need at least 4 bytes, got 2",
    ),
    (
        "BYTES element claims too much",
        one_binary_input(struct.pack("<I", 10) + b"abc", shape=[1], datatype="BYTES"),
        "inputs[0].parameters.binary_data_size",
        "BYTES element 0 claims 10 bytes, but only 3 remain",
    ),
    (
        "BYTES bytes left over",
        one_binary_input(struct.pack("<I", 1) + b"ab", shape=[1], datatype="BYTES"),
        "inputs[0].parameters.binary_data_size",
        "1 bytes left over after its 1 BYTES elements",
    ),
    (
        "unknown datatype",
        one_binary_input(b"\0" * 4, shape=[1], datatype="F32"),
        "inputs[0].datatype",
        "input 'x': unknown datatype 'F32'",
    ),
    (
        "huge shape",
        one_binary_input(b"\0" * 4, shape=[2**40, 2**40], datatype="BYTES"),
        "inputs[0].parameters.binary_data_size",
        "need at least",
    ),
]


@pytest.mark.parametrize(("case", "request_", "field", "message"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_bodies_name_the_field_and_problem(
    case: str, request_: tuple[bytes, int], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_binary_request(*request_)
    ((got_field, got_message),) = info.value.problems
    assert got_field == field
    assert message in got_message


def test_a_header_length_that_is_not_an_integer_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="got '12'"):
        decode_binary_request(b"{}", "12")  # type: ignore[arg-type]


def test_fuzzed_bodies_only_ever_fail_validation() -> None:
    rng = random.Random(1234)
    seeds = [
        triton_body([triton_input(name, arr) for name, arr in SAMPLES.items()]),
        triton_body(
            [triton_input("s", np.array([b"a", b"bc", b""], dtype=object)), triton_input("b", SAMPLES["BOOL"])]
        ),
    ]
    for _ in range(3000):
        seed, header_length = rng.choice(seeds)
        raw = bytearray(seed)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(raw))
            action = rng.random()
            if action < 0.5:
                raw[pos] = rng.randrange(256)
            elif action < 0.75:
                del raw[pos : pos + rng.randint(1, 8)]
            else:
                raw[pos:pos] = rng.randbytes(rng.randint(1, 4))
        if rng.random() < 0.3:
            header_length += rng.randint(-3, 3)
        try:
            decode_binary_request(bytes(raw), header_length)
        except ValidationFailed as exc:
            assert exc.problems


# --- responses ------------------------------------------------------------------------------


def parse(body: bytes, header_length: int) -> Any:
    return triton.InferenceServerClient.parse_response_body(body, header_length=header_length)


@pytest.mark.parametrize("datatype", sorted(SAMPLES))
def test_tritonclient_reads_every_datatype_back(datatype: str) -> None:
    arr = SAMPLES[datatype]
    response = InferResponse("m", [InferTensor("y", datatype, arr.shape, arr)], model_version="1", id="r")
    body, header_length = encode_infer_response_binary(response, True)
    header = orjson.loads(body[:header_length])
    assert header["outputs"][0]["parameters"] == {"binary_data_size": len(encode_binary_tensor(response.outputs[0]))}
    assert "data" not in header["outputs"][0]
    result = parse(body, header_length)
    got = result.as_numpy("y")
    assert got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)  # BYTES stays bytes, FP16 and NaN stay exact
    assert result.get_response()["id"] == "r"


def test_binary_keeps_what_json_cannot() -> None:
    arr = np.array([np.nan, np.inf, -np.inf, 1.0], dtype=np.float32)
    strings = np.array([b"\xff\x00raw", "ünïcode"], dtype=object)
    response = InferResponse(
        "m",
        [InferTensor("f", "FP32", (4,), arr), InferTensor("s", "BYTES", (2,), strings)],
    )
    result = parse(*encode_infer_response_binary(response, True))
    np.testing.assert_array_equal(result.as_numpy("f"), arr)
    assert result.as_numpy("s").tolist() == [b"\xff\x00raw", "ünïcode".encode()]


def test_only_the_chosen_outputs_are_binary() -> None:
    outputs = [
        InferTensor("a", "FP16", (2, 2), SAMPLES["FP16"]),
        InferTensor("b", "INT64", (3,), SAMPLES["INT64"], {"note": "kept"}),
        InferTensor("c", "BOOL", (2, 3), SAMPLES["BOOL"]),
        InferTensor("d", "BYTES", (3,), SAMPLES["BYTES"]),
    ]
    body, header_length = encode_infer_response_binary(InferResponse("m", outputs), {"a", "c"})
    header = orjson.loads(body[:header_length])
    assert [("data" in o, o.get("parameters")) for o in header["outputs"]] == [
        (False, {"binary_data_size": 8}),
        (True, {"note": "kept"}),
        (False, {"binary_data_size": 6}),
        (True, None),
    ]
    assert len(body) == header_length + 8 + 6
    result = parse(body, header_length)
    for tensor in outputs[:3]:
        np.testing.assert_array_equal(result.as_numpy(tensor.name), tensor.data)
    assert result.as_numpy("d").tolist() == ["hello", "wörld", ""]


def test_no_binary_outputs_is_plain_json() -> None:
    response = InferResponse("m", [InferTensor("y", "INT8", (1,), np.array([1], dtype=np.int8))])
    choices: list[bool | set[str]] = [False, set()]
    for choice in choices:
        body, header_length = encode_infer_response_binary(response, choice)
        assert body == encode_infer_response(response) and header_length == len(body)


def test_binary_encoding_ignores_layout_and_byte_order() -> None:
    arr = np.arange(6, dtype=">i4").reshape(2, 3).T
    assert (
        encode_binary_tensor(InferTensor("y", "INT32", (3, 2), arr))
        == np.array([0, 3, 1, 4, 2, 5], dtype="<i4").tobytes()
    )


@pytest.mark.parametrize(
    ("parameters", "outputs", "expected"),
    [
        ({}, None, set()),
        ({"binary_data_output": True}, None, {"a", "b"}),
        ({}, [RequestedOutput("a", {"binary_data": True}), RequestedOutput("b")], {"a"}),
        ({"binary_data_output": True}, [RequestedOutput("a", {"binary_data": False}), RequestedOutput("b")], {"b"}),
        ({"binary_data_output": False}, [RequestedOutput("b", {"binary_data": True})], {"b"}),
    ],
)
def test_binary_output_names(
    parameters: dict[str, Any], outputs: list[RequestedOutput] | None, expected: set[str]
) -> None:
    x = InferTensor("x", "INT8", (1,), np.array([1], dtype=np.int8))
    request = InferRequest([x], outputs=outputs, parameters=parameters)
    response = InferResponse("m", [InferTensor("a", "INT8", (1,), x.data), InferTensor("b", "INT8", (1,), x.data)])
    assert binary_output_names(request, response) == expected


def test_round_trip_through_tritonclient_as_a_server_would() -> None:
    """tritonclient's default request (no outputs named) gets every output back as binary."""
    arr = SAMPLES["FP64"]
    request = decode_binary_request(*triton_body([triton_input("x", arr)]))
    response = InferResponse("m", [InferTensor("y", "FP64", arr.shape, request.inputs[0].data * 2)])
    body, header_length = encode_infer_response_binary(response, binary_output_names(request, response))
    assert header_length < len(body)
    np.testing.assert_array_equal(parse(body, header_length).as_numpy("y"), arr * 2)
