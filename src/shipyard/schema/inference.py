"""Inferring a signature from training data and sample predictions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationFailed
from ._tabular import Column, as_table
from ._values import Array
from .dtypes import is_float, vocabulary_dtype
from .field import FieldSpec
from .signature import Signature

# What pandas.api.types.infer_dtype says of an object column, in our vocabulary.
_OBJECT_KINDS = {
    "string": "string",
    "empty": "string",  # all missing: nothing says otherwise, and strings accept any null
    "bytes": "bytes",
    "boolean": "bool",
    "integer": "int64",
    "floating": "float64",
    "mixed-integer-float": "float64",
    "datetime64": "datetime",
    "datetime": "datetime",
    "date": "datetime",
}


def infer_signature(data: object, predictions: Mapping[str, Any] | Any | None = None) -> Signature:
    """The signature of a model trained on `data` that answers like `predictions`.

    `data` is a DataFrame (layout "columns"), a 2-D array or list of lists (layout "array",
    inputs "x0".."x{n-1}"), or a 1-D / N-D array (layout "tensor", one input "input").
    `predictions` is one array (output "predict") or a mapping such as
    `{"predict": labels, "predict_proba": probabilities}`; output shapes start with -1 (rows).

        >>> import pandas as pd
        >>> infer_signature(pd.DataFrame({"age": [31, 42], "city": ["Oslo", None]}), [0, 1]).inputs[1]
        FieldSpec(name='city', dtype='string', nullable=True, shape=None, categories=None, allow_nan=False)
    """
    table = as_table(data)
    inputs: tuple[FieldSpec, ...]
    if table.layout == "tensor":
        inputs = (_flat_field("input", np.asarray(table.columns[0][1])),)
    else:
        inputs = tuple(infer_field(name, column) for name, column in table.columns)
    return Signature(inputs, _outputs(predictions), table.layout)


def infer_field(name: str, column: Column) -> FieldSpec:
    """The field of one column of scalar values (or of array-valued cells)."""
    series = column if isinstance(column, pd.Series) else pd.Series(column, copy=False)
    dtype = vocabulary_dtype(series.dtype)
    nullable = bool(series.hasnans)
    if dtype is None:
        if _first_is_array(series):
            return _cells_field(name, series)
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind not in _OBJECT_KINDS:
            raise ValidationFailed([(name, f"cannot infer one dtype: the values are {kind}; convert the column")])
        dtype = _OBJECT_KINDS[kind]
    categories = tuple(str(value) for value in series.cat.categories) if dtype == "category" else None
    allow_nan = is_float(dtype) and (nullable or _has_inf(series))
    return FieldSpec(name, dtype, nullable=nullable, categories=categories, allow_nan=allow_nan)


def _has_inf(series: pd.Series[Any]) -> bool:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return bool(np.isinf(values).any())


def _first_is_array(series: pd.Series[Any]) -> bool:
    present = series.dropna()
    return len(present) > 0 and isinstance(present.iloc[0], list | tuple | np.ndarray)


def _cells_field(name: str, series: pd.Series[Any]) -> FieldSpec:
    """A column whose values are arrays: its element dtype and per-row shape (-1 where rows differ)."""
    cells = [np.asarray(value) for value in series.dropna()]
    if len({cell.ndim for cell in cells}) != 1:
        raise ValidationFailed([(name, "the rows hold arrays of different numbers of dimensions")])
    shapes = np.array([cell.shape for cell in cells], dtype=np.int64).reshape(len(cells), -1)
    shape = tuple(int(dims[0]) if (dims == dims[0]).all() else -1 for dims in shapes.T)
    if len({cell.dtype for cell in cells}) > 1:
        cells = [cell.astype(object) for cell in cells]
    element = infer_field(name, np.concatenate([cell.reshape(-1) for cell in cells]))
    return dataclasses.replace(element, nullable=bool(series.hasnans), shape=shape, categories=None)


def _flat_field(name: str, array: Array) -> FieldSpec:
    """The field of a whole array whose first axis is rows, e.g. a tensor or an output."""
    if array.ndim == 0:
        array = array.reshape(1)
    element = infer_field(name, array.reshape(-1))
    return dataclasses.replace(element, shape=(-1, *array.shape[1:]), categories=None)


def _outputs(predictions: object) -> tuple[FieldSpec, ...]:
    if predictions is None:
        return ()
    items = predictions.items() if isinstance(predictions, Mapping) else [("predict", predictions)]
    return tuple(_flat_field(str(name), _as_array(value)) for name, value in items)


def _as_array(value: object) -> Array:
    if isinstance(value, pd.Series | pd.DataFrame):
        return value.to_numpy()
    return np.asarray(value)


__all__ = ["infer_field", "infer_signature"]
