"""V2 tensor datatypes (`"FP32"`, `"BYTES"`, …) and the numpy dtypes that hold them.

BYTES tensors are numpy object arrays whose elements are `bytes`; every other datatype maps
to one fixed-size numpy dtype. Binary tensor data is little-endian whatever the host is, so
`wire_dtype` gives the explicitly little-endian dtype to read or write raw bytes with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.errors import ValidationFailed, closest

_NUMPY_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}

DATATYPES: tuple[str, ...] = tuple(_NUMPY_DTYPES)
"""Every V2 datatype Shipyard accepts, in the order the protocol lists them."""

_WIRE_DTYPES: dict[str, np.dtype[Any]] = {
    name: dtype.newbyteorder("<") for name, dtype in _NUMPY_DTYPES.items() if name != "BYTES"
}

# Keyed by (kind, itemsize) rather than by dtype so that big-endian and native dtypes agree.
_BY_KIND: dict[tuple[str, int], str] = {
    (dtype.kind, dtype.itemsize): name for name, dtype in _NUMPY_DTYPES.items() if name != "BYTES"
}


def check_datatype(value: object, field: str = "datatype", label: str = "") -> str:
    """`value` if it names a V2 datatype; else ValidationFailed naming `field` (message prefixed by `label`)."""
    if isinstance(value, str) and value in _NUMPY_DTYPES:
        return value
    prefix = f"{label}: " if label else ""
    if value is None:
        raise ValidationFailed([(field, f"{prefix}no datatype given; use one of {', '.join(DATATYPES)}")])
    raise ValidationFailed([(field, prefix + _unknown(value))])


def numpy_dtype(datatype: str, field: str = "datatype") -> np.dtype[Any]:
    """The numpy dtype holding V2 `datatype` (object for BYTES); ValidationFailed naming `field` if unknown."""
    try:
        return _NUMPY_DTYPES[datatype]
    except (KeyError, TypeError):
        raise ValidationFailed([(field, _unknown(datatype))]) from None


def wire_dtype(datatype: str, field: str = "datatype") -> np.dtype[Any]:
    """The little-endian dtype of `datatype`'s binary form; ValidationFailed for BYTES or an unknown name."""
    try:
        return _WIRE_DTYPES[datatype]
    except (KeyError, TypeError):
        if datatype == "BYTES":
            raise ValidationFailed([(field, "BYTES has no fixed-size binary form")]) from None
        raise ValidationFailed([(field, _unknown(datatype))]) from None


def element_size(datatype: str, field: str = "datatype") -> int | None:
    """Bytes per element of `datatype` in binary form, or None for BYTES (each element carries its length)."""
    if datatype == "BYTES":
        return None
    return wire_dtype(datatype, field).itemsize


def v2_datatype(dtype: np.dtype[Any] | type[Any], field: str = "dtype") -> str:
    """The V2 datatype of numpy `dtype`: str, bytes and object arrays are BYTES."""
    dt = np.dtype(dtype)
    if dt.kind in "OSU":
        return "BYTES"
    try:
        return _BY_KIND[(dt.kind, dt.itemsize)]
    except KeyError:
        raise ValidationFailed(
            [(field, f"numpy dtype {dt} has no V2 datatype; convert it to one of {', '.join(DATATYPES)}")]
        ) from None


def _unknown(datatype: object) -> str:
    hint = closest(datatype.upper(), DATATYPES) if isinstance(datatype, str) else []
    did_you_mean = f" Did you mean {hint[0]}?" if hint else ""
    return f"unknown datatype {datatype!r}; expected one of {', '.join(DATATYPES)}.{did_you_mean}"


__all__ = ["DATATYPES", "check_datatype", "element_size", "numpy_dtype", "v2_datatype", "wire_dtype"]
