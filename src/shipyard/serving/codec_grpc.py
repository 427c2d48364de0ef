"""V2 gRPC messages ↔ the transport-agnostic objects of `protocol.py`.

Tensor data travels in one of two forms. Typed: each input's `contents` holds a repeated field
of the wire type (`fp32_contents`, `int_contents` for INT8/16/32, …). Raw: `raw_input_contents`
holds, per input, its little-endian bytes in row-major order, BYTES elements each prefixed by
a 4-byte little-endian length, exactly as in the REST binary extension, whose codec reads and
writes it here too; tritonclient sends raw by default. Both decode to numpy arrays and are
validated like REST requests, each problem naming its field and input. A response answers in
the form its request used, except that FP16 (which has no typed field) makes it raw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any, TypeAlias

import numpy as np

from ..errors import ValidationFailed
from .codec_binary import decode_binary_tensor, encode_binary_tensor
from .datatypes import DATATYPES, check_datatype, numpy_dtype
from .proto import grpc_predict_v2_pb2 as pb
from .protocol import (
    InferRequest,
    InferResponse,
    InferTensor,
    ModelMetadata,
    Parameters,
    RequestedOutput,
    ServerMetadata,
    TensorMetadata,
)

Array: TypeAlias = np.ndarray[Any, Any]

# Which `InferTensorContents` field carries each datatype, and the numpy dtype of that field.
_CONTENTS_FIELDS: dict[str, str] = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_FIELD_DTYPES: dict[str, np.dtype[Any]] = {
    "bool_contents": np.dtype(np.bool_),
    "int_contents": np.dtype(np.int32),
    "int64_contents": np.dtype(np.int64),
    "uint_contents": np.dtype(np.uint32),
    "uint64_contents": np.dtype(np.uint64),
    "fp32_contents": np.dtype(np.float32),
    "fp64_contents": np.dtype(np.float64),
}
_INT64 = range(-(2**63), 2**63)
_UINT64 = range(2**64)


def decode_infer_request(message: pb.ModelInferRequest) -> InferRequest:
    """The `InferRequest` of a `ModelInferRequest`; ValidationFailed lists every bad input by name."""
    raw = list(message.raw_input_contents)
    if raw and len(raw) != len(message.inputs):
        raise ValidationFailed(
            [("raw_input_contents", f"holds {len(raw)} entries for {len(message.inputs)} inputs; send one per input")]
        )
    if raw and any(t.HasField("contents") for t in message.inputs):
        raise ValidationFailed(
            [("raw_input_contents", "is used together with typed `contents`; send every input the same way")]
        )
    inputs: list[InferTensor] = []
    problems: list[tuple[str, str]] = []
    for i, tensor in enumerate(message.inputs):
        try:
            inputs.append(_decode_input(i, tensor, raw[i] if raw else None))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    outputs = [
        RequestedOutput(o.name, decode_parameters(o.parameters, f"outputs[{j}].parameters", f"output {o.name!r}"))
        for j, o in enumerate(message.outputs)
    ]
    return InferRequest(
        inputs=inputs,
        id=message.id or None,
        outputs=outputs or None,
        parameters=decode_parameters(message.parameters),
    )


def uses_typed_contents(message: pb.ModelInferRequest) -> bool:
    """Whether the request sent its data as typed `contents` rather than `raw_input_contents`."""
    return not message.raw_input_contents and any(t.HasField("contents") for t in message.inputs)


def encode_infer_response(response: InferResponse, *, typed: bool = False) -> pb.ModelInferResponse:
    """The `ModelInferResponse` of `response`: raw output contents, or typed ones when `typed`.

    Raw and typed contents cannot be mixed in one response, so an output without a typed field
    (FP16) makes the whole response raw. Raises ValueError or TypeError for an output whose
    data does not fit its datatype and shape: a server bug, never the caller's.
    """
    typed = typed and all(t.datatype in _CONTENTS_FIELDS for t in response.outputs)
    message = pb.ModelInferResponse(
        model_name=response.model_name, model_version=response.model_version or "", id=response.id or ""
    )
    _encode_parameters(response.parameters, message.parameters)
    for tensor in response.outputs:
        data = _checked_data(tensor)
        output = message.outputs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.shape)
        _encode_parameters(tensor.parameters, output.parameters)
        if typed:
            _fill_contents(output.contents, tensor.datatype, data)
        else:
            message.raw_output_contents.append(encode_binary_tensor(tensor))
    return message


def encode_server_metadata(metadata: ServerMetadata) -> pb.ServerMetadataResponse:
    return pb.ServerMetadataResponse(name=metadata.name, version=metadata.version, extensions=metadata.extensions)


def encode_model_metadata(metadata: ModelMetadata) -> pb.ModelMetadataResponse:
    """The `ModelMetadataResponse` of `metadata`. The V2 gRPC message has no `parameters`; they are dropped."""
    return pb.ModelMetadataResponse(
        name=metadata.name,
        versions=metadata.versions,
        platform=metadata.platform,
        inputs=[_tensor_metadata(t) for t in metadata.inputs],
        outputs=[_tensor_metadata(t) for t in metadata.outputs],
    )


def decode_parameters(
    parameters: Mapping[str, pb.InferParameter], field: str = "parameters", label: str = "request"
) -> Parameters:
    """A `parameters` map as Python values; ValidationFailed names a parameter that has no value."""
    decoded: Parameters = {}
    for key, parameter in parameters.items():
        kind = parameter.WhichOneof("parameter_choice")
        if kind is None:
            raise ValidationFailed(
                [(f"{field}.{key}", f"{label}: parameter has no value; set one of bool, int64, uint64, double, string")]
            )
        decoded[key] = getattr(parameter, kind)
    return decoded


def encode_parameter(value: object) -> pb.InferParameter:
    """One Python (or numpy scalar) value as an `InferParameter`; TypeError or ValueError if it has no V2 form."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return pb.InferParameter(bool_param=value)
    if isinstance(value, int):
        if value in _INT64:
            return pb.InferParameter(int64_param=value)
        if value in _UINT64:
            return pb.InferParameter(uint64_param=value)
        raise ValueError(f"parameter value {value} does not fit in 64 bits")
    if isinstance(value, float):
        return pb.InferParameter(double_param=value)
    if isinstance(value, str):
        return pb.InferParameter(string_param=value)
    raise TypeError(f"a V2 parameter is a bool, int, float or str, not {type(value).__name__}")


def _encode_parameters(parameters: Parameters, target: MutableMapping[str, pb.InferParameter]) -> None:
    for key, value in parameters.items():
        target[key].CopyFrom(encode_parameter(value))


def _tensor_metadata(tensor: TensorMetadata) -> pb.ModelMetadataResponse.TensorMetadata:
    return pb.ModelMetadataResponse.TensorMetadata(name=tensor.name, datatype=tensor.datatype, shape=tensor.shape)


def _decode_input(index: int, tensor: pb.ModelInferRequest.InferInputTensor, raw: bytes | None) -> InferTensor:
    where, label = f"inputs[{index}]", f"input {tensor.name!r}"
    datatype = check_datatype(tensor.datatype, f"{where}.datatype", label)
    shape = tuple(tensor.shape)
    if any(d < 0 for d in shape):
        raise ValidationFailed([(f"{where}.shape", f"{label}: shape {list(shape)} has a negative dimension")])
    if raw is None:
        data = _from_contents(tensor.contents, datatype, shape, f"{where}.contents", label)
    else:
        data = decode_binary_tensor(raw, datatype, shape, field=f"raw_input_contents[{index}]", label=label)
    parameters = decode_parameters(tensor.parameters, f"{where}.parameters", label)
    return InferTensor(tensor.name, datatype, shape, data, parameters)


def _from_contents(
    contents: pb.InferTensorContents, datatype: str, shape: tuple[int, ...], field: str, label: str
) -> Array:
    name = _CONTENTS_FIELDS.get(datatype)
    if name is None:
        raise ValidationFailed([(field, f"{label}: {datatype} has no typed contents; send it in raw_input_contents")])
    values = list(getattr(contents, name))
    count = math.prod(shape)
    if len(values) != count:
        raise ValidationFailed(
            [(f"{field}.{name}", f"{label}: shape {list(shape)} of {datatype} needs {count} values, got {len(values)}")]
        )
    if datatype == "BYTES":
        return _object_array(values).reshape(shape)
    wide = np.array(values, dtype=_FIELD_DTYPES[name])
    target = numpy_dtype(datatype)
    if target.kind in "iu" and wide.size and target.itemsize < wide.itemsize:
        limits = np.iinfo(target)
        if wide.min() < limits.min or wide.max() > limits.max:
            raise ValidationFailed(
                [(f"{field}.{name}", f"{label}: values outside {datatype}'s range [{limits.min}, {limits.max}]")]
            )
    return wide.astype(target).reshape(shape)


def _object_array(items: list[bytes]) -> Array:
    # Filling an empty object array keeps each element a bytes object (np.array would make an 'S' array).
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _checked_data(tensor: InferTensor) -> Array:
    # The data plane built this tensor: a mismatch is a server bug (INTERNAL), not a ValidationFailed.
    data = np.asarray(tensor.data)
    if tensor.datatype not in DATATYPES:
        raise ValueError(f"output {tensor.name!r} has unknown datatype {tensor.datatype!r}")
    if data.size != math.prod(tensor.shape):
        raise ValueError(f"output {tensor.name!r} holds {data.size} values for shape {list(tensor.shape)}")
    return data


def _fill_contents(contents: pb.InferTensorContents, datatype: str, data: Array) -> None:
    name = _CONTENTS_FIELDS[datatype]
    if datatype == "BYTES":
        contents.bytes_contents.extend(_as_bytes(item) for item in data.flat)
    else:
        getattr(contents, name).extend(data.astype(_FIELD_DTYPES[name]).ravel().tolist())


def _as_bytes(item: object) -> bytes:
    # As the REST binary extension does: str is UTF-8 encoded, anything else by its str().
    if isinstance(item, bytes):
        return item
    if isinstance(item, bytearray | memoryview):
        return bytes(item)
    return (item if isinstance(item, str) else str(item)).encode()


__all__ = [
    "decode_infer_request",
    "decode_parameters",
    "encode_infer_response",
    "encode_model_metadata",
    "encode_parameter",
    "encode_server_metadata",
    "uses_typed_contents",
]
