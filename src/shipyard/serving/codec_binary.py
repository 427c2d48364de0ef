"""The binary tensor data extension of V2 REST (Triton's; tritonclient uses it by default).

A body is a JSON header, `Inference-Header-Content-Length` bytes long, followed by the raw
data of each tensor whose parameters carry a `binary_data_size`, in tensor order. Raw data is
little-endian and row-major; BOOL is one byte (0 or 1) per element; each BYTES element is a
4-byte little-endian length followed by that many bytes.

Decoded arrays are copies, not views of the body: they are writable and aligned, so a model
that works in place or a library that insists on alignment never trips over them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np
import orjson

from shipyard.errors import ValidationFailed

from .codec_json import decode_request_object, load_json, response_object
from .datatypes import check_datatype, numpy_dtype, wire_dtype
from .protocol import InferRequest, InferResponse, InferTensor

HEADER_LENGTH = "Inference-Header-Content-Length"
"""The HTTP header giving the length of the JSON part of a binary body, in requests and responses."""

_LENGTH = struct.Struct("<I")


def decode_binary_request(body: bytes | bytearray | memoryview, header_length: int) -> InferRequest:
    """The InferRequest in a binary-extension body whose JSON header is the first `header_length` bytes."""
    view = memoryview(body)
    if type(header_length) is not int or not 0 < header_length <= len(view):
        raise ValidationFailed(
            [(HEADER_LENGTH, f"must be between 1 and the body's length ({len(view)} bytes), got {header_length!r}")]
        )
    header = load_json(view[:header_length], f"body (the first {header_length} bytes, the JSON header)")
    source = _BinarySection(view[header_length:])
    request = decode_request_object(header, source)
    source.check_consumed()
    return request


def decode_binary_tensor(
    raw: bytes | memoryview, datatype: str, shape: tuple[int, ...], *, field: str = "data", label: str = "tensor"
) -> np.ndarray[Any, Any]:
    """Raw tensor bytes as an array of `datatype` and `shape`; `field` and `label` name the tensor in errors."""
    check_datatype(datatype, field, label)
    count = math.prod(shape)
    if datatype == "BYTES":
        return _decode_bytes(raw, count, field, label).reshape(shape)
    dtype = wire_dtype(datatype)
    if len(raw) != count * dtype.itemsize:
        raise _fail(
            field,
            f"{label}: shape {list(shape)} of {datatype} needs {count} × {dtype.itemsize} = "
            f"{count * dtype.itemsize} bytes, got {len(raw)}",
        )
    if datatype == "BOOL":
        octets = np.frombuffer(raw, dtype=np.uint8)
        if count and octets.max() > 1:
            k = int(np.argmax(octets > 1))
            raise _fail(field, f"{label}: BOOL element {k} is byte {octets[k]}; BOOL bytes must be 0 or 1")
    # astype copies (see the module docstring) and turns little-endian into native order.
    return np.frombuffer(raw, dtype=dtype).astype(numpy_dtype(datatype)).reshape(shape)


def _decode_bytes(raw: bytes | memoryview, count: int, field: str, label: str) -> np.ndarray[Any, Any]:
    size = len(raw)
    if count * _LENGTH.size > size:
        raise _fail(field, f"{label}: {count} BYTES elements need at least {count * 4} bytes, got {size}")
    items: list[bytes] = []
    pos = 0
    for k in range(count):
        if pos + _LENGTH.size > size:
            raise _fail(field, f"{label}: BYTES element {k} is cut off inside its 4-byte length prefix")
        (n,) = _LENGTH.unpack_from(raw, pos)
        pos += _LENGTH.size
        if pos + n > size:
            raise _fail(field, f"{label}: BYTES element {k} claims {n} bytes, but only {size - pos} remain")
        items.append(bytes(raw[pos : pos + n]))
        pos += n
    if pos != size:
        raise _fail(field, f"{label}: {size - pos} bytes left over after its {count} BYTES elements")
    out = np.empty(count, dtype=object)
    out[:] = items
    return out


class _BinarySection:
    """The bytes after the JSON header, handed out to binary inputs in order."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._offset = 0

    def read(self, datatype: str, shape: tuple[int, ...], size: int, field: str, label: str) -> np.ndarray[Any, Any]:
        left = len(self._view) - self._offset
        if size > left:
            raise _fail(field, f"{label}: binary_data_size is {size}, but only {left} bytes of binary data remain")
        chunk = self._view[self._offset : self._offset + size]
        self._offset += size
        return decode_binary_tensor(chunk, datatype, shape, field=field, label=label)

    def check_consumed(self) -> None:
        extra = len(self._view) - self._offset
        if extra:
            raise _fail(
                "body",
                f"{extra} bytes after the JSON header belong to no input; "
                "the inputs' binary_data_size values must add up to the binary part exactly",
            )


def binary_output_names(request: InferRequest, response: InferResponse) -> set[str]:
    """The outputs of `response` to send as binary, as `request` asked.

    An output's own `binary_data` parameter wins; otherwise the request's `binary_data_output`
    parameter (default false) decides. tritonclient sets `binary_data_output` when it names no outputs.
    """
    default = request.parameters.get("binary_data_output") is True
    asked = {o.name: o.binary for o in request.outputs or () if "binary_data" in o.parameters}
    return {t.name for t in response.outputs if asked.get(t.name, default)}


def encode_infer_response_binary(response: InferResponse, binary_outputs: AbstractSet[str] | bool) -> tuple[bytes, int]:
    """The body of `response` with `binary_outputs` (True: all) as raw data, and its JSON header's length.

    Send the length as the `Inference-Header-Content-Length` response header. When no output is
    binary the body is plain JSON and the length is the whole body.
    """
    raws = {
        t.name: encode_binary_tensor(t)
        for t in response.outputs
        if binary_outputs is True or (binary_outputs is not False and t.name in binary_outputs)
    }
    header = orjson.dumps(
        response_object(response, {name: len(raw) for name, raw in raws.items()}), option=orjson.OPT_SERIALIZE_NUMPY
    )
    return b"".join([header, *raws.values()]), len(header)


def encode_binary_tensor(tensor: InferTensor) -> bytes:
    """`tensor`'s data in the extension's raw form (str BYTES elements are UTF-8 encoded)."""
    if tensor.datatype != "BYTES":
        return np.ascontiguousarray(tensor.data, dtype=wire_dtype(tensor.datatype)).tobytes()
    parts: list[bytes] = []
    for value in np.asarray(tensor.data, dtype=object).reshape(-1):
        raw = _as_bytes(value)
        parts += (_LENGTH.pack(len(raw)), raw)
    return b"".join(parts)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return (value if isinstance(value, str) else str(value)).encode()


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([(field, message)])


__all__ = [
    "HEADER_LENGTH",
    "binary_output_names",
    "decode_binary_request",
    "decode_binary_tensor",
    "encode_binary_tensor",
    "encode_infer_response_binary",
]
