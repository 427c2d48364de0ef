"""Turning a validated payload into what the model was trained on: a DataFrame or an array."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationFailed
from ._payload import tabulate, tensor_value
from ._values import Array, Mask, missing_mask, type_codes
from .dtypes import is_float, numpy_dtype
from .field import FieldSpec
from .signature import Signature


def to_model_input(payload: object, signature: Signature) -> pd.DataFrame | Array:
    """The payload as the model takes it; call after `signature.check(payload)`.

    Layout "columns" gives a DataFrame with the training columns in training order and dtypes
    (an integer or bool column with nulls becomes pandas' nullable "Int64"/"boolean"; a
    category column keeps the training categories first, then any unseen ones). Layout "array"
    gives one 2-D array of the inputs' common dtype (float64 when an integer column has nulls);
    layout "tensor" gives the one array in its field's dtype.
    """
    try:
        if signature.layout == "tensor":
            return _tensor(signature.inputs[0], payload)
        columns, problems = tabulate(payload, signature.input_names)
        missing = [(name, "missing input") for name in signature.input_names if name not in columns]
        if problems or missing:
            raise ValidationFailed(problems + missing)
        converted = {spec.name: _convert(spec, columns[spec.name]) for spec in signature.inputs}
        if signature.layout == "columns":
            return pd.DataFrame(converted, copy=False)
        return _stack(list(converted.values()))
    except ValidationFailed:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationFailed([("", f"cannot convert the payload for the model: {exc}")]) from exc


def _tensor(spec: FieldSpec, payload: object) -> Array:
    values, problems = tensor_value(spec.name, payload)
    if values is None:
        raise ValidationFailed(problems)
    return values.astype(numpy_dtype(spec.dtype), copy=False)


def _convert(spec: FieldSpec, values: Array) -> Any:
    if spec.shape is not None:
        return _cells(spec, values)
    if spec.is_numeric:
        return _numbers(spec, values)
    if spec.dtype == "datetime":
        return _datetimes(values)
    if spec.dtype == "category":
        return _categories(spec, values)
    return _objects(values)


def _numbers(spec: FieldSpec, values: Array) -> Any:
    target = numpy_dtype(spec.dtype)
    null = _null_mask(values)
    if not null.any():
        return values.astype(target, copy=False)
    filled = values.copy()
    filled[null] = 0
    typed = filled.astype(target)
    if is_float(spec.dtype):
        typed[null] = np.nan
        return typed
    # Nulls in an int or bool column: pandas' nullable arrays keep the values exact.
    if spec.dtype == "bool":
        return pd.arrays.BooleanArray(typed, null)
    return pd.arrays.IntegerArray(typed, null)


def _null_mask(values: Array) -> Mask:
    if values.dtype.kind == "O":
        codes = type_codes(values)
        return missing_mask(values, codes)
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    return np.zeros(len(values), dtype=bool)


def _objects(values: Array) -> Array:
    """An object array whose missing values (None, NA, NaN) are all None."""
    values = values.astype(object)
    values[_null_mask(values)] = None
    return values


def _datetimes(values: Array) -> Any:
    if values.dtype.kind == "M":
        return values
    return pd.to_datetime(pd.Series(_objects(values), dtype=object), format="ISO8601")


def _categories(spec: FieldSpec, values: Array) -> pd.Categorical:
    spelled = [None if value is None else str(value) for value in _objects(values).tolist()]
    known = list(spec.categories or ())
    unseen = sorted({value for value in spelled if value is not None} - set(known))
    # Unseen values go after the training categories so that the training codes stay the same.
    return pd.Categorical(spelled, categories=known + unseen)


def _cells(spec: FieldSpec, values: Array) -> Array:
    element = numpy_dtype(spec.dtype)
    cells = np.empty(len(values), dtype=object)
    for row, value in enumerate(values):
        cells[row] = None if value is None else np.asarray(value, dtype=element)
    return cells


def _stack(columns: list[Any]) -> Array:
    arrays = [_plain(column) for column in columns]
    numeric = all(array.dtype.kind in "biuf" for array in arrays)
    out = np.empty((len(arrays[0]), len(arrays)), dtype=np.result_type(*arrays) if numeric else object)
    for i, array in enumerate(arrays):
        out[:, i] = array
    return out


def _plain(column: Any) -> Array:
    if isinstance(column, pd.api.extensions.ExtensionArray):
        # An int or bool column with nulls joins the matrix as floats with NaN.
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(column)


__all__ = ["to_model_input"]
