"""codec_grpc on messages built by hand: typed and raw contents, validation, parameters, metadata."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from shipyard.errors import ValidationFailed
from shipyard.serving.codec_grpc import (
    decode_infer_request,
    decode_parameters,
    encode_infer_response,
    encode_model_metadata,
    encode_parameter,
    encode_server_metadata,
    uses_typed_contents,
)
from shipyard.serving.proto import grpc_predict_v2_pb2 as pb
from shipyard.serving.protocol import (
    InferResponse,
    InferTensor,
    ModelMetadata,
    RequestedOutput,
    ServerMetadata,
    TensorMetadata,
)


def typed_request(datatype: str, shape: list[int], field: str, values: list[Any]) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="m")
    getattr(request.inputs.add(name="x", datatype=datatype, shape=shape).contents, field).extend(values)
    return request


def raw_request(datatype: str, shape: list[int], raw: bytes) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name="m", raw_input_contents=[raw])
    request.inputs.add(name="x", datatype=datatype, shape=shape)
    return request


def problems(message: pb.ModelInferRequest) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as info:
        decode_infer_request(message)
    return info.value.problems


@pytest.mark.parametrize(
    ("datatype", "field", "values", "dtype"),
    [
        ("BOOL", "bool_contents", [True, False, True, True], np.bool_),
        ("INT8", "int_contents", [-128, 0, 1, 127], np.int8),
        ("INT16", "int_contents", [-3, 0, 1, 300], np.int16),
        ("INT32", "int_contents", [-(2**31), 0, 1, 2**31 - 1], np.int32),
        ("INT64", "int64_contents", [-(2**63), 0, 1, 2**63 - 1], np.int64),
        ("UINT8", "uint_contents", [0, 1, 2, 255], np.uint8),
        ("UINT16", "uint_contents", [0, 1, 2, 65535], np.uint16),
        ("UINT32", "uint_contents", [0, 1, 2, 2**32 - 1], np.uint32),
        ("UINT64", "uint64_contents", [0, 1, 2, 2**64 - 1], np.uint64),
        ("FP32", "fp32_contents", [0.5, -1.0, 2.0, 3.25], np.float32),
        ("FP64", "fp64_contents", [0.1, -1.0, 2.0, 1e300], np.float64),
    ],
)
def test_typed_contents_decode_to_arrays_of_the_datatype(
    datatype: str, field: str, values: list[Any], dtype: type
) -> None:
    decoded = decode_infer_request(typed_request(datatype, [2, 2], field, values))
    tensor = decoded.inputs[0]
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", datatype, (2, 2))
    assert tensor.data.dtype == dtype
    np.testing.assert_array_equal(tensor.data, np.array(values, dtype=dtype).reshape(2, 2))


def test_typed_bytes_contents_decode_to_an_object_array_of_bytes() -> None:
    tensor = decode_infer_request(typed_request("BYTES", [3], "bytes_contents", [b"a", b"", b"\xff"])).inputs[0]
    assert tensor.data.dtype == object
    assert tensor.data.tolist() == [b"a", b"", b"\xff"]


def test_typed_value_outside_the_datatype_range_is_rejected() -> None:
    assert problems(typed_request("INT8", [2], "int_contents", [1, 200])) == [
        ("inputs[0].contents.int_contents", "input 'x': values outside INT8's range [-128, 127]")
    ]


def test_typed_count_not_matching_shape_is_rejected() -> None:
    assert problems(typed_request("FP32", [2, 2], "fp32_contents", [1.0, 2.0, 3.0])) == [
        ("inputs[0].contents.fp32_contents", "input 'x': shape [2, 2] of FP32 needs 4 values, got 3")
    ]


def test_typed_contents_in_the_wrong_field_are_rejected_naming_the_right_one() -> None:
    [(field, message)] = problems(typed_request("FP32", [2], "fp64_contents", [1.0, 2.0]))
    assert field == "inputs[0].contents.fp32_contents"
    assert message == "input 'x': shape [2] of FP32 needs 2 values, got 0"


def test_fp16_has_no_typed_field() -> None:
    assert problems(typed_request("FP16", [1], "fp32_contents", [1.0])) == [
        ("inputs[0].contents", "input 'x': FP16 has no typed contents; send it in raw_input_contents")
    ]


def test_raw_contents_decode_little_endian_into_writable_arrays() -> None:
    raw = struct.pack("<3i", 1, -2, 3)
    tensor = decode_infer_request(raw_request("INT32", [1, 3], raw)).inputs[0]
    np.testing.assert_array_equal(tensor.data, [[1, -2, 3]])
    assert tensor.data.flags.writeable
    assert tensor.data.dtype.isnative


def test_raw_bytes_elements_are_length_prefixed() -> None:
    raw = b"".join(struct.pack("<I", len(b)) + b for b in [b"ab", b"", b"xyz"])
    tensor = decode_infer_request(raw_request("BYTES", [3], raw)).inputs[0]
    assert tensor.data.tolist() == [b"ab", b"", b"xyz"]


@pytest.mark.parametrize(
    ("datatype", "shape", "raw"),
    [
        ("FP32", [2], struct.pack("<f", 1.0)),
        ("BYTES", [1], struct.pack("<I", 5) + b"abc"),
        ("BYTES", [1], struct.pack("<I", 1) + b"a" + struct.pack("<I", 0)),
        ("BOOL", [1], b"\x02"),
    ],
)
def test_malformed_raw_contents_are_rejected_naming_the_entry_and_input(
    datatype: str, shape: list[int], raw: bytes
) -> None:
    # The raw layout is the REST binary extension's; codec_binary's tests cover each problem.
    [(field, message)] = problems(raw_request(datatype, shape, raw))
    assert field == "raw_input_contents[0]"
    assert message.startswith("input 'x': ")


def test_every_bad_input_is_named() -> None:
    request = pb.ModelInferRequest(model_name="m")
    request.inputs.add(name="a", datatype="FP8", shape=[1]).contents.fp32_contents.append(1.0)
    request.inputs.add(name="b", datatype="FP32", shape=[-1]).contents.fp32_contents.append(1.0)
    request.inputs.add(name="c", datatype="FP32", shape=[1]).contents.fp32_contents.append(1.0)
    found = problems(request)
    assert [field for field, _ in found] == ["inputs[0].datatype", "inputs[1].shape"]
    assert found[0][1].startswith("input 'a': unknown datatype 'FP8'")
    assert found[1][1] == "input 'b': shape [-1] has a negative dimension"


def test_raw_contents_must_cover_every_input_and_not_mix_with_typed_ones() -> None:
    request = raw_request("FP32", [1], struct.pack("<f", 1.0))
    request.inputs.add(name="y", datatype="FP32", shape=[1])
    assert problems(request) == [("raw_input_contents", "holds 1 entries for 2 inputs; send one per input")]
    mixed = raw_request("FP32", [1], struct.pack("<f", 1.0))
    mixed.inputs[0].contents.fp32_contents.append(1.0)
    assert problems(mixed)[0][0] == "raw_input_contents"


def test_request_fields_and_parameters_decode() -> None:
    request = typed_request("FP32", [1], "fp32_contents", [1.0])
    request.id = "r1"
    request.parameters["flag"].bool_param = True
    request.parameters["big"].uint64_param = 2**64 - 1
    request.parameters["ratio"].double_param = 0.25
    request.inputs[0].parameters["content_type"].string_param = "np"
    request.outputs.add(name="y").parameters["binary_data"].bool_param = True
    decoded = decode_infer_request(request)
    assert decoded.id == "r1"
    assert decoded.parameters == {"flag": True, "big": 2**64 - 1, "ratio": 0.25}
    assert decoded.inputs[0].parameters == {"content_type": "np"}
    assert decoded.outputs == [RequestedOutput("y", {"binary_data": True})]
    assert decode_infer_request(pb.ModelInferRequest(model_name="m")).outputs is None


def test_a_parameter_without_a_value_is_rejected() -> None:
    request = pb.ModelInferRequest(model_name="m")
    request.inputs.add(name="x", datatype="FP32", shape=[0]).parameters["empty"].SetInParent()
    assert problems(request) == [
        (
            "inputs[0].parameters.empty",
            "input 'x': parameter has no value; set one of bool, int64, uint64, double, string",
        )
    ]


def test_uses_typed_contents() -> None:
    assert uses_typed_contents(typed_request("FP32", [1], "fp32_contents", [1.0]))
    assert not uses_typed_contents(raw_request("FP32", [1], struct.pack("<f", 1.0)))


def response_with(*tensors: InferTensor) -> InferResponse:
    return InferResponse("m", list(tensors), model_version="3", id="r1", parameters={"n": 2})


def test_response_encodes_raw_contents_by_default() -> None:
    message = encode_infer_response(
        response_with(
            InferTensor("f", "FP32", (2,), np.array([1.5, -2.0], dtype=np.float32)),
            InferTensor("s", "BYTES", (2,), np.array([b"ab", "é"], dtype=object)),
        )
    )
    assert (message.model_name, message.model_version, message.id) == ("m", "3", "r1")
    assert message.parameters["n"].int64_param == 2
    assert [(o.name, o.datatype, list(o.shape)) for o in message.outputs] == [("f", "FP32", [2]), ("s", "BYTES", [2])]
    assert message.raw_output_contents[0] == struct.pack("<2f", 1.5, -2.0)
    assert message.raw_output_contents[1] == struct.pack("<I", 2) + b"ab" + struct.pack("<I", 2) + "é".encode()
    assert not message.outputs[0].HasField("contents")


def test_response_encodes_typed_contents_when_asked() -> None:
    message = encode_infer_response(
        response_with(
            InferTensor("i", "INT8", (2,), np.array([-1, 2], dtype=np.int8)),
            InferTensor("b", "BOOL", (1,), np.array([True])),
            InferTensor("s", "BYTES", (1,), np.array(["x"])),
        ),
        typed=True,
    )
    assert not message.raw_output_contents
    assert list(message.outputs[0].contents.int_contents) == [-1, 2]
    assert list(message.outputs[1].contents.bool_contents) == [True]
    assert list(message.outputs[2].contents.bytes_contents) == [b"x"]


def test_fp16_output_makes_a_typed_response_raw() -> None:
    message = encode_infer_response(
        response_with(
            InferTensor("f", "FP32", (1,), np.array([1.0], dtype=np.float32)),
            InferTensor("h", "FP16", (1,), np.array([1.0], dtype=np.float16)),
        ),
        typed=True,
    )
    assert len(message.raw_output_contents) == 2
    assert not message.outputs[0].HasField("contents")


def test_response_round_trips_through_decoding() -> None:
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    message = encode_infer_response(response_with(InferTensor("x", "FP64", (2, 3), x)))
    request = pb.ModelInferRequest(raw_input_contents=message.raw_output_contents)
    request.inputs.add(name="x", datatype="FP64", shape=[2, 3])
    np.testing.assert_array_equal(decode_infer_request(request).inputs[0].data, x)


def test_output_not_fitting_its_datatype_or_shape_is_a_server_error_not_a_validation_one() -> None:
    with pytest.raises(ValueError, match="output 'f' holds 3 values for shape \\[2\\]"):
        encode_infer_response(response_with(InferTensor("f", "FP32", (2,), np.zeros(3, dtype=np.float32))))
    with pytest.raises(ValueError, match="output 'f' has unknown datatype 'FP8'"):
        encode_infer_response(response_with(InferTensor("f", "FP8", (1,), np.zeros(1))))


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        (True, "bool_param", True),
        (np.bool_(False), "bool_param", False),
        (-5, "int64_param", -5),
        (np.int32(7), "int64_param", 7),
        (2**63, "uint64_param", 2**63),
        (0.5, "double_param", 0.5),
        ("s", "string_param", "s"),
    ],
)
def test_parameter_values_encode_and_decode(value: object, field: str, expected: object) -> None:
    encoded = encode_parameter(value)
    assert encoded.WhichOneof("parameter_choice") == field
    assert decode_parameters({"k": encoded}) == {"k": expected}


def test_parameters_without_a_v2_form_are_refused() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        encode_parameter(2**64)
    with pytest.raises(TypeError, match="not list"):
        encode_parameter([1])


def test_metadata_messages() -> None:
    server = encode_server_metadata(ServerMetadata("shipyard", "1.0", ("a", "b")))
    assert (server.name, server.version, list(server.extensions)) == ("shipyard", "1.0", ["a", "b"])
    x, y = TensorMetadata("x", "FP32", (-1, 4)), TensorMetadata("y", "INT64", (-1,))
    model = encode_model_metadata(ModelMetadata("m", ("1",), "onnx", (x,), (y,)))
    assert (model.name, list(model.versions), model.platform) == ("m", ["1"], "onnx")
    assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [("x", "FP32", [-1, 4])]
    assert [(t.name, t.datatype, list(t.shape)) for t in model.outputs] == [("y", "INT64", [-1])]
