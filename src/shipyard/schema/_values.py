"""Turning one column of a payload into a numpy array, and telling what kinds of values it holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

Array = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

# Codes for the Python type of each value of an object column.
NULL, BOOL, INT, FLOAT, STR, BYTES, DATETIME, ARRAY, OTHER = range(9)
NUMBER_CODES = (BOOL, INT, FLOAT)

_NULL_TYPES = (type(None), type(pd.NA), type(pd.NaT))
_CODE_BASES: tuple[tuple[int, tuple[type, ...]], ...] = (
    # Order matters: NaT is a datetime, bool is an int, np.str_ is a str.
    (NULL, _NULL_TYPES),
    (BOOL, (bool, np.bool_)),
    (INT, (int, np.integer)),
    (FLOAT, (float, np.floating)),
    (STR, (str,)),
    (BYTES, (bytes,)),
    (DATETIME, (dt.date, np.datetime64)),
    (ARRAY, (list, tuple, np.ndarray)),
)


def _classify(kind: type) -> int:
    return next((code for code, bases in _CODE_BASES if issubclass(kind, bases)), OTHER)


# The types payloads are made of, classified once; others are classified as they come.
_KNOWN_CODES: dict[type, int] = {
    kind: _classify(kind)
    for kind in (
        *_NULL_TYPES,
        *(bool, int, float, str, bytes, list, tuple, dt.date, dt.datetime, pd.Timestamp),
        *(np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64),
        *(np.float16, np.float32, np.float64, np.str_, np.bytes_, np.datetime64, np.ndarray),
    )
}


def _code_of_type(kind: type) -> int:
    code = _KNOWN_CODES.get(kind)
    return _classify(kind) if code is None else code


def type_codes(values: Array) -> npt.NDArray[np.int8]:
    """The type code of every value of a 1-D object array."""
    return np.fromiter(map(_code_of_type, map(type, values)), dtype=np.int8, count=len(values))


def nan_mask(values: Array, codes: npt.NDArray[np.int8]) -> Mask:
    """Where an object array holds a float NaN."""
    mask = np.zeros(len(values), dtype=bool)
    floats = codes == FLOAT
    if floats.any():
        mask[floats] = np.isnan(values[floats].astype(np.float64))
    return mask


def missing_mask(values: Array, codes: npt.NDArray[np.int8]) -> Mask:
    """Where an object array holds None, pd.NA, NaT or a float NaN: the ways a value can be missing."""
    null: Mask = codes == NULL
    return null | nan_mask(values, codes)


def as_column(values: object) -> Array | None:
    """One column of a payload as a numpy array (object dtype when types are mixed); None if not a column."""
    if isinstance(values, pd.Series | pd.Index):
        return _from_series(values)
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return _from_series(pd.Series(values, copy=False))
    if isinstance(values, np.ndarray):
        return values if values.ndim else None
    if isinstance(values, list | tuple):
        return _from_list(values)
    return None


def _from_series(series: pd.Series[Any] | pd.Index[Any]) -> Array:
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        return series.to_numpy()
    numpy_twin = getattr(dtype, "numpy_dtype", None)
    if numpy_twin is not None and not series.hasnans and np.dtype(numpy_twin).kind in "biuf":
        return series.to_numpy(dtype=numpy_twin)
    # Strings, categoricals, tz-aware datetimes and masked numbers with NA: None marks the missing ones.
    return series.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload,no-any-return]  # stubs lack None


def _from_list(values: list[Any] | tuple[Any, ...]) -> Array:
    # A type census first: np.asarray would quietly turn [1, "a"] into strings and [True, 2.5] into floats.
    types = set(map(type, values))
    try:
        if types == {bool}:
            return np.array(values, dtype=bool)
        if types == {int}:
            return np.array(values, dtype=np.int64)
        if types and types <= {int, float}:
            return np.array(values, dtype=np.float64)
    except OverflowError:
        pass  # ints beyond int64: the object path reports them against the field's range
    return np.fromiter(values, dtype=object, count=len(values))


def describe_value(value: object) -> str:
    """A short, safe rendering of an offending value for messages."""
    if isinstance(value, np.generic):
        value = value.item()  # numpy 2 reprs read "np.float64(2.5)"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    kind = {STR: "string", BOOL: "bool", INT: "int", FLOAT: "float", BYTES: "bytes"}.get(
        _code_of_type(type(value)), type(value).__name__
    )
    return f"{kind} {text}"


def wrong_type(expected: str, values: Array, bad: Mask, rows: Rows) -> str:
    """The message for values of the wrong type at the True positions of `bad`."""
    return f"expected {expected}, got {describe_value(values[np.argmax(bad)])} {rows.at(bad)}"


def null_problem(nullable: bool, null: Mask, rows: Rows) -> list[str]:
    if nullable or not null.any():
        return []
    return [f"null {rows.at(null)}; this input is not nullable"]


@dataclass(frozen=True)
class Rows:
    """Maps positions in a checked array back to the payload rows a caller sees.

    A plain column has one position per row; a tensor flattened for checking has `row_size`
    positions per row; ragged array-valued cells give each row's start position in `starts`.
    """

    row_size: int = 1
    starts: npt.NDArray[np.intp] | None = None

    def of(self, positions: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        if self.starts is not None:
            return np.searchsorted(self.starts, positions, side="right") - 1
        return positions // self.row_size

    def at(self, mask: Mask) -> str:
        """ "at row 3" or "at rows 3, 5, 8 (12 rows in all)" for the True positions of `mask`."""
        rows = np.unique(self.of(np.flatnonzero(mask)))
        if len(rows) == 1:
            return f"at row {rows[0]}"
        shown = ", ".join(str(row) for row in rows[:3])
        return f"at rows {shown}" + (f" ({len(rows)} rows in all)" if len(rows) > 3 else "")


__all__ = [
    "ARRAY",
    "BOOL",
    "BYTES",
    "DATETIME",
    "FLOAT",
    "INT",
    "NULL",
    "NUMBER_CODES",
    "OTHER",
    "STR",
    "Array",
    "Mask",
    "Rows",
    "as_column",
    "describe_value",
    "missing_mask",
    "nan_mask",
    "null_problem",
    "type_codes",
    "wrong_type",
]
