"""A canonical byte form for Python values of mixed object columns (for fingerprints).

Each value is a one-byte tag and a body; variable-size bodies are length-prefixed, so no two
different sequences of values encode alike. Missing values (None, NA, NaT, NaN) are one tag.
Values with no stable byte form (arbitrary objects, whose repr may hold a memory address) are
refused rather than hashed differently in every process.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import ValidationFailed

_MISSING = (type(None), type(pd.NA), type(pd.NaT))
_TEXT_LIKE = (decimal.Decimal, complex, np.complexfloating)


def encode_objects(column: str, values: Iterable[object]) -> bytes:
    """The canonical bytes of `values`; raises `ValidationFailed` naming `column` for an unencodable value."""
    out = bytearray()
    try:
        for value in values:
            _encode(value, out)
    except TypeError as exc:
        raise ValidationFailed([(column, f"{exc}; convert the column to strings or numbers")]) from exc
    except RecursionError as exc:
        raise ValidationFailed([(column, "values are nested too deeply to fingerprint")]) from exc
    return bytes(out)


def _encode(value: object, out: bytearray) -> None:
    if isinstance(value, _MISSING) or (isinstance(value, float | np.floating) and math.isnan(value)):
        out += b"N"
    elif isinstance(value, bool | np.bool_):
        out += b"?1" if value else b"?0"
    elif isinstance(value, int | np.integer):
        _chunk(out, b"i", str(int(value)).encode())
    elif isinstance(value, float | np.floating):
        out += b"f" + struct.pack("<d", float(value))
    elif isinstance(value, str):
        _chunk(out, b"s", value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, bytes):
        _chunk(out, b"y", value)
    elif isinstance(value, dt.date | dt.time | np.datetime64):
        _chunk(out, b"t", str(value).encode())
    elif isinstance(value, _TEXT_LIKE):
        _chunk(out, b"d", f"{type(value).__name__}:{value}".encode())
    elif isinstance(value, list | tuple):
        out += b"l" + struct.pack("<Q", len(value))
        for item in value:
            _encode(item, out)
    elif isinstance(value, np.ndarray):
        _encode_array(value, out)
    else:
        raise TypeError(f"values of type {type(value).__name__} have no canonical form to fingerprint")


def _encode_array(array: np.ndarray[tuple[int, ...], np.dtype[np.generic]], out: bytearray) -> None:
    out += b"a" + struct.pack("<Q", array.ndim) + struct.pack(f"<{array.ndim}Q", *array.shape)
    if array.dtype.kind == "O":
        for item in array.reshape(-1):
            _encode(item, out)
        return
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    if little.dtype.kind in "fc":
        little = np.where(np.isnan(little), np.nan, little).astype(little.dtype)
    _chunk(out, little.dtype.str.encode(), np.ascontiguousarray(little).tobytes())


def _chunk(out: bytearray, tag: bytes, body: bytes) -> None:
    out += tag + struct.pack("<Q", len(body)) + body


__all__ = ["encode_objects"]
