"""V2 REST JSON bodies ↔ protocol objects.

Decoding is on the hot path of every REST inference, so tensor data takes a fast path: one
C-level pass collects the Python types of the values, and if they are the ones the datatype
allows, numpy converts the whole list at once. Only when that fails do we walk the values in
Python, to name the first bad one precisely ("inputs[0].data[1][2]: ...").

Encoding choices, where JSON cannot say what the tensor holds:
- FP NaN and ±Infinity become `null` (JSON has no literal for them; orjson's choice, and what
  numpy-based clients read back as NaN). Use the binary extension to keep them exact.
- BYTES elements are decoded as UTF-8, invalid sequences replaced by U+FFFD. Again the binary
  extension is the lossless way.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import Any, Protocol

import numpy as np
import orjson

from shipyard.errors import ValidationFailed

from .datatypes import check_datatype, numpy_dtype
from .protocol import InferRequest, InferResponse, InferTensor, ModelMetadata, RequestedOutput, ServerMetadata

_MAX_DIM = 2**63 - 1  # shapes are int64 in the protocol (and in numpy)
_NUMPY = orjson.OPT_SERIALIZE_NUMPY

_INTEGERS = ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
_FLOATS = ("FP16", "FP32", "FP64")

# The Python types orjson produces that each datatype accepts as-is.
_ALLOWED: dict[str, frozenset[type]] = {
    "BOOL": frozenset({bool}),
    "BYTES": frozenset({str}),
    **dict.fromkeys(_INTEGERS, frozenset({int})),
    **dict.fromkeys(_FLOATS, frozenset({int, float})),
}
_HOLDS = {"BOOL": "true or false", "BYTES": "strings", **dict.fromkeys(_INTEGERS, "integers")}


class BinaryTensorSource(Protocol):
    """Where inputs with a `binary_data_size` parameter get their data (the binary tensor extension)."""

    def read(
        self, datatype: str, shape: tuple[int, ...], size: int, field: str, label: str
    ) -> np.ndarray[Any, Any]: ...


# --- decoding -------------------------------------------------------------------------------


def decode_infer_request(body: bytes | bytearray | memoryview | str) -> InferRequest:
    """The InferRequest in a V2 JSON body; ValidationFailed naming the field for anything malformed."""
    return decode_request_object(load_json(body, "body"))


def load_json(body: bytes | bytearray | memoryview | str, what: str) -> Any:
    """`body` parsed as JSON; ValidationFailed naming `what` if it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed([(what, f"not valid JSON ({exc}); send a V2 inference request object")]) from None


def decode_request_object(obj: Any, binary: BinaryTensorSource | None = None) -> InferRequest:
    """The InferRequest in parsed JSON `obj`; inputs with `binary_data_size` are read from `binary`."""
    if not isinstance(obj, dict):
        raise _fail("body", f"expected a JSON object with an 'inputs' list, got {_kind(obj)}")
    items = obj.get("inputs")
    if not isinstance(items, list) or not items:
        got = "nothing" if items is None else _kind(items) if not isinstance(items, list) else "an empty list"
        raise _fail("inputs", f"expected a non-empty list of input tensors, got {got}")
    seen: set[str] = set()
    inputs = [_decode_input(i, item, seen, binary) for i, item in enumerate(items)]
    parameters = _parameters(obj.get("parameters"), "parameters", "request")
    _check_bool(parameters, "binary_data_output", "parameters", "request")
    return InferRequest(
        inputs=inputs,
        id=_request_id(obj.get("id")),
        outputs=_requested_outputs(obj.get("outputs")),
        parameters=parameters,
    )


def decode_tensor_data(
    data: Any, datatype: str, shape: tuple[int, ...], *, field: str = "data", label: str = "tensor"
) -> np.ndarray[Any, Any]:
    """JSON tensor `data` (flat row-major, or nested to match `shape`) as an array of `datatype` and `shape`.

    `field` and `label` name the tensor in error messages, e.g. "inputs[0].data" and "input 'x'".
    """
    if datatype not in _ALLOWED:
        check_datatype(datatype, field, label)
    if not isinstance(data, list):
        raise _fail(field, f"{label}: expected a list of values, got {_kind(data)}")
    flat, nested = _flatten(data, shape, field, label)
    count = math.prod(shape)
    if len(flat) != count:
        raise _fail(field, f"{label}: shape {list(shape)} needs {count} values, got {len(flat)}")
    types = set(map(type, flat))
    try:
        if types <= _ALLOWED[datatype]:
            return _convert(flat, datatype).reshape(shape)
        if datatype in _INTEGERS and types <= {int, float}:
            return _convert(_whole_floats(flat), datatype).reshape(shape)
    except (OverflowError, FloatingPointError, ValueError):
        pass  # a value out of range (or a float with a fraction): found and named below
    raise _diagnose(flat, datatype, shape if nested else (len(flat),), field, label)


def _decode_input(i: int, item: Any, seen: set[str], binary: BinaryTensorSource | None) -> InferTensor:
    where = f"inputs[{i}]"
    if not isinstance(item, dict):
        raise _fail(where, f"expected an object with name, shape, datatype and data, got {_kind(item)}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(f"{where}.name", f"every input needs a non-empty string name, got {_describe(name)}")
    if name in seen:
        raise _fail(f"{where}.name", f"input {name!r} appears more than once; send each input once")
    seen.add(name)
    label = f"input {name!r}"
    datatype = check_datatype(item.get("datatype"), f"{where}.datatype", label)
    shape = _shape(item.get("shape"), f"{where}.shape", label)
    parameters = _parameters(item.get("parameters"), f"{where}.parameters", label)
    if "binary_data_size" in parameters:
        return _binary_input(name, datatype, shape, parameters, item, where, binary)
    if "data" not in item:
        raise _fail(f"{where}.data", f"{label} has no data; send its values in 'data'")
    data = decode_tensor_data(item["data"], datatype, shape, field=f"{where}.data", label=label)
    return InferTensor(name, datatype, shape, data, parameters)


def _binary_input(
    name: str,
    datatype: str,
    shape: tuple[int, ...],
    parameters: dict[str, Any],
    item: dict[str, Any],
    where: str,
    binary: BinaryTensorSource | None,
) -> InferTensor:
    field, label = f"{where}.parameters.binary_data_size", f"input {name!r}"
    size = parameters["binary_data_size"]
    if type(size) is not int or size < 0:
        raise _fail(field, f"{label}: binary_data_size must be a non-negative integer, got {_describe(size)}")
    if "data" in item:
        raise _fail(f"{where}.data", f"{label} has both 'data' and binary_data_size; send its values one way")
    if binary is None:
        raise _fail(field, f"{label} has binary data, but the request has no Inference-Header-Content-Length header")
    data = binary.read(datatype, shape, size, field, label)
    # binary_data_size describes this body's layout, not the tensor: the data plane never sees it.
    rest = {k: v for k, v in parameters.items() if k != "binary_data_size"}
    return InferTensor(name, datatype, shape, data, rest)


def _shape(value: Any, field: str, label: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _fail(field, f"{label}: shape must be a list of non-negative integers, got {_describe(value)}")
    for k, dim in enumerate(value):
        if type(dim) is not int or not 0 <= dim <= _MAX_DIM:
            raise _fail(f"{field}[{k}]", f"{label}: shape dimensions must be integers in 0..2^63-1, got {dim!r}")
    return tuple(value)


def _parameters(value: Any, field: str, label: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(field, f"{label}: parameters must be an object, got {_kind(value)}")
    return value


def _check_bool(parameters: dict[str, Any], key: str, field: str, label: str) -> None:
    if key in parameters and type(parameters[key]) is not bool:
        raise _fail(f"{field}.{key}", f"{label}: {key} must be true or false, got {_describe(parameters[key])}")


def _request_id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _fail("id", f"the request id must be a string, got {_describe(value)}")


def _requested_outputs(value: Any) -> list[RequestedOutput] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _fail("outputs", f"expected a list of requested outputs, got {_kind(value)}")
    outputs: list[RequestedOutput] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"outputs[{i}]"
        if not isinstance(item, dict):
            raise _fail(where, f"expected an object with the output's name, got {_describe(item)}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _fail(f"{where}.name", f"each requested output needs a non-empty string name, got {_describe(name)}")
        if name in seen:
            raise _fail(f"{where}.name", f"output {name!r} is requested more than once")
        seen.add(name)
        parameters = _parameters(item.get("parameters"), f"{where}.parameters", f"output {name!r}")
        _check_bool(parameters, "binary_data", f"{where}.parameters", f"output {name!r}")
        outputs.append(RequestedOutput(name, parameters))
    return outputs


def _flatten(data: list[Any], shape: tuple[int, ...], field: str, label: str) -> tuple[list[Any], bool]:
    """`data` as a flat list, and whether it was nested; nested data must be rectangular and match `shape`."""
    if len(shape) < 2 or not data or type(data[0]) is not list:
        return data, False  # flat; a stray list among the values is reported as a bad value
    if len(data) != shape[0]:
        raise _fail(field, f"{label}: nested data has {len(data)} rows, but shape {list(shape)} has {shape[0]}")
    items = data
    for depth in range(1, len(shape)):
        dim = shape[depth]
        for row in items:  # a plain loop beats set(map(...)) checks for the usual few rows
            if type(row) is not list or len(row) != dim:
                raise _ragged(items, depth, shape, field, label)
        # One row (the usual online request) is already flat: no copy.
        items = items[0] if len(items) == 1 else list(chain.from_iterable(items))
    return items, True


def _ragged(items: list[Any], depth: int, shape: tuple[int, ...], field: str, label: str) -> ValidationFailed:
    k, bad = next((k, v) for k, v in enumerate(items) if type(v) is not list or len(v) != shape[depth])
    got = f"{len(bad)} values" if type(bad) is list else _describe(bad)
    return _fail(
        f"{field}{_path(k, shape[:depth])}",
        f"{label}: nested data is not rectangular; expected a list of {shape[depth]} values here "
        f"to match shape {list(shape)}, got {got}",
    )


def _convert(flat: list[Any], datatype: str) -> np.ndarray[Any, Any]:
    if datatype == "BYTES":
        out = np.empty(len(flat), dtype=object)
        out[:] = [s.encode() for s in flat]
        return out
    if datatype in ("FP16", "FP32"):
        with np.errstate(over="raise"):  # a JSON number beyond the type's range would become inf
            return np.array(flat, dtype=numpy_dtype(datatype))
    return np.array(flat, dtype=numpy_dtype(datatype))


def _whole_floats(flat: list[Any]) -> list[Any]:
    # Whole-valued floats (3.0) are accepted in integer tensors: many JSON encoders write them so.
    out = [int(v) if type(v) is float and v.is_integer() else v for v in flat]
    if any(type(v) is float for v in out):
        raise ValueError("a float with a fraction")
    return out


def _diagnose(flat: list[Any], datatype: str, shape: tuple[int, ...], field: str, label: str) -> ValidationFailed:
    """The first value of `flat` that does not fit `datatype`, named by its position in `shape`."""
    for k, v in enumerate(flat):
        problem = _value_problem(v, datatype)
        if problem:
            return _fail(f"{field}{_path(k, shape)}", f"{label}: value {problem}")
    return _fail(field, f"{label}: the values do not fit {datatype}")  # pragma: no cover - defensive


def _value_problem(v: Any, datatype: str) -> str | None:
    integer = datatype in _INTEGERS
    if integer and type(v) is float and not v.is_integer():
        return f"{v!r} is not a whole number; {datatype} tensors hold integers"
    if type(v) not in _ALLOWED[datatype] and not (integer and type(v) is float):
        return f"is {_describe(v)}, but {datatype} tensors hold {_HOLDS.get(datatype, 'numbers')}"
    dtype = numpy_dtype(datatype)
    if integer and not np.iinfo(dtype).min <= v <= np.iinfo(dtype).max:
        return f"{v!r} is out of range for {datatype} ({np.iinfo(dtype).min}..{np.iinfo(dtype).max})"
    if datatype in ("FP16", "FP32"):
        with np.errstate(over="ignore"):
            if np.isinf(dtype.type(v)):
                return f"{v!r} is out of range for {datatype} (largest is ±{np.finfo(dtype).max})"
    return None


def _path(k: int, shape: tuple[int, ...]) -> str:
    """`[i][j]…`: where flat index `k` lies in row-major `shape`."""
    index: list[int] = []
    for dim in reversed(shape[1:]):
        k, r = divmod(k, dim)
        index.append(r)
    index.append(k)
    return "".join(f"[{i}]" for i in reversed(index))


# --- encoding -------------------------------------------------------------------------------


def encode_infer_response(response: InferResponse) -> bytes:
    """The V2 JSON body of `response`, tensor data flat in row-major order."""
    return orjson.dumps(response_object(response), option=_NUMPY)


def response_object(response: InferResponse, binary_sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """`response` as a V2 JSON object; outputs named in `binary_sizes` get a binary_data_size instead of data."""
    obj: dict[str, Any] = {"model_name": response.model_name}
    if response.model_version is not None:
        obj["model_version"] = response.model_version
    if response.id is not None:
        obj["id"] = response.id
    if response.parameters:
        obj["parameters"] = response.parameters
    obj["outputs"] = [_output_object(t, binary_sizes) for t in response.outputs]
    return obj


def _output_object(tensor: InferTensor, binary_sizes: dict[str, int] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
    if binary_sizes is not None and tensor.name in binary_sizes:
        out["parameters"] = {**tensor.parameters, "binary_data_size": binary_sizes[tensor.name]}
        return out
    if tensor.parameters:
        out["parameters"] = tensor.parameters
    out["data"] = json_data(tensor)
    return out


def json_data(tensor: InferTensor) -> Any:
    """`tensor`'s values, flat row-major, as something orjson serialises (with OPT_SERIALIZE_NUMPY)."""
    if tensor.datatype == "BYTES":
        return [_text(v) for v in np.asarray(tensor.data, dtype=object).reshape(-1)]
    # No copy when the array already has the right dtype and layout, which is the usual case.
    return np.ascontiguousarray(tensor.data, dtype=numpy_dtype(tensor.datatype)).reshape(-1)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def encode_error(message: str, request_id: str | None = None) -> bytes:
    """A V2 error body: `{"error": message}`, plus the request id when there is one."""
    body: dict[str, str] = {"error": message}
    if request_id is not None:
        body["request_id"] = request_id
    return orjson.dumps(body)


def encode_metadata(metadata: ServerMetadata | ModelMetadata | dict[str, Any]) -> bytes:
    """The V2 JSON body of server or model metadata (or of a metadata dict built by hand)."""
    return orjson.dumps(metadata if isinstance(metadata, dict) else metadata.to_dict(), option=_NUMPY)


# --- messages -------------------------------------------------------------------------------


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([(field, message)])


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _describe(value: Any) -> str:
    """`value` for a message: its JSON kind, and the value itself when it is short."""
    if value is None or isinstance(value, list | dict):
        return _kind(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = orjson.dumps(value).decode() if isinstance(value, str) else repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({_kind(value)})"


__all__ = [
    "BinaryTensorSource",
    "decode_infer_request",
    "decode_request_object",
    "decode_tensor_data",
    "encode_error",
    "encode_infer_response",
    "encode_metadata",
    "json_data",
    "load_json",
    "response_object",
]
