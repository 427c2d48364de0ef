"""What the caller passes to `Client.predict` / `Client.infer` → V2 input tensors, and predictions back.

Numeric data keeps its dtype (FP64, FP32, INT64, …, BOOL). Text becomes BYTES. Datetimes travel as
ISO strings, which the server parses for datetime columns. Missing values are NaN in numeric
tensors; a BYTES tensor cannot carry them, so text with missing values is refused here, naming
the column, rather than sent as the string "nan".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..errors import ValidationFailed
from ..serving.datatypes import v2_datatype
from ..serving.protocol import InferTensor

Array = np.ndarray[Any, Any]

Rows: TypeAlias = "Array | Sequence[Any] | Mapping[str, Any]"
"""Rows a model can take besides a DataFrame: one array or list of rows, or a dict of columns."""

BLOCK_NAME = "input-0"
"""The name of the one tensor sent for an array or list: any name that is not a column name means
"all columns, in signature order" to the server."""

_TEXT = (str, bytes)


def input_tensors(X: pd.DataFrame | Rows) -> list[InferTensor]:
    """The tensors for `X`: one per column of a DataFrame or dict, else one tensor of the whole array."""
    if isinstance(X, pd.DataFrame):
        return frame_tensors(X)
    if isinstance(X, Mapping):
        return [tensor(str(name), values) for name, values in X.items()]
    if isinstance(X, pd.Series):
        raise TypeError(
            "Client.predict and Client.infer take rows, not one Series: use series.to_frame() for one column, "
            "or series.to_frame().T for one row"
        )
    if isinstance(X, np.ndarray | list | tuple):
        return [tensor(BLOCK_NAME, X)]
    raise TypeError(
        "Client.predict and Client.infer take a numpy array, a pandas DataFrame, a list of rows "
        f"or a dict of columns, got {type(X).__name__}"
    )


def frame_tensors(frame: pd.DataFrame) -> list[InferTensor]:
    """One tensor per column, named as the column (what the server matches against the signature)."""
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValidationFailed([(n, "appears more than once among the DataFrame's columns") for n in dupes])
    if not names:
        raise ValidationFailed([("X", "the DataFrame has no columns")])
    return [tensor(name, frame.iloc[:, i]) for i, name in enumerate(names)]


def tensor(name: str, values: Any) -> InferTensor:
    """`values` (array, Series or list) as a V2 tensor named `name`; ValidationFailed naming it if it cannot be."""
    array = _wire_array(name, values)
    if array.ndim == 0:
        raise ValidationFailed([(name, "is a single value; send a list or an array of rows")])
    return InferTensor(name, v2_datatype(array.dtype, name), tuple(array.shape), array)


def _wire_array(name: str, values: Any) -> Array:
    if isinstance(values, pd.Series):
        return _series_array(name, values)
    if isinstance(values, list | tuple):
        # dtype=object so that numbers mixed with strings are refused, not silently turned into text.
        try:
            values = np.asarray(values, dtype=object)
        except ValueError as exc:  # ragged nesting numpy cannot even hold as objects
            raise ValidationFailed([(name, f"is not rectangular ({exc})")]) from None
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind == "M":
        return np.datetime_as_string(array).astype(object)
    if kind == "O":
        return _object_array(name, array)
    return array


def _series_array(name: str, series: pd.Series[Any]) -> Array:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _object_array(name, series.astype(object).to_numpy())
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc: Array = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        return np.datetime_as_string(utc, timezone="UTC").astype(object)
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return _object_array(name, series.to_numpy(dtype=object))
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype):
        # Nullable Int64 / Float64 / boolean: with missing values only a float tensor can say NaN.
        if series.isna().any():
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=dtype.numpy_dtype)  # type: ignore[attr-defined]  # every numeric ext. dtype has it
    return _wire_array(name, series.to_numpy())


def _object_array(name: str, array: Array) -> Array:
    """An object array as BYTES (all text), BOOL, INT64 or FP64 (numbers, None → NaN)."""
    flat = array.reshape(-1).tolist()
    types = set(map(type, flat))
    if types and all(issubclass(t, _TEXT) for t in types):
        return array
    if types and all(issubclass(t, bool | np.bool_) for t in types):
        return array.astype(bool)
    try:
        if all(issubclass(t, int | np.integer) and not issubclass(t, bool | np.bool_) for t in types):
            return array.astype(np.int64)
        if all(issubclass(t, int | float | np.number | type(None)) for t in types):
            return array.astype(np.float64)
    except OverflowError:
        raise ValidationFailed([(name, "holds an integer too large for INT64; send it as a float")]) from None
    if any(issubclass(t, _TEXT) for t in types):
        missing = sum(1 for v in flat if not isinstance(v, _TEXT))
        raise ValidationFailed(
            [
                (
                    name,
                    f"{missing} of its {len(flat)} values are not text (missing values or numbers mixed with "
                    f"strings); V2 BYTES tensors hold only strings: fill or convert them first",
                )
            ]
        )
    bad = sorted({t.__name__ for t in types if not issubclass(t, int | float | np.number | type(None))})
    raise ValidationFailed(
        [(name, f"holds {', '.join(bad)} values; send numbers or strings (rows of equal length for a 2-D array)")]
    )


def prediction(values: Array, X: Any, output: str) -> Array | pd.Series[Any] | pd.DataFrame:
    """The output as the caller wants it: labels as str, and pandas (indexed like X) for a DataFrame X."""
    if values.dtype == object:
        values = _texts(values)
    if not isinstance(X, pd.DataFrame):
        return values
    if values.ndim == 1:
        return pd.Series(values, index=X.index, name=output)
    return pd.DataFrame(values.reshape(len(values), -1), index=X.index)


def _texts(values: Array) -> Array:
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values.reshape(-1)]
    return out


__all__ = ["BLOCK_NAME", "Rows", "frame_tensors", "input_tensors", "prediction", "tensor"]
