"""Checks of numeric values (bool, int*, uint*, float*) against a field."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._values import BOOL, INT, NULL, NUMBER_CODES, Array, Mask, Rows, describe_value, null_problem, wrong_type
from .dtypes import is_integer
from .field import FieldSpec


def check_numbers(spec: FieldSpec, values: Array, rows: Rows, null: Mask, ignore: Mask) -> list[str]:
    """Problems of a typed numeric array; `null` marks missing values, `ignore` those already reported."""
    valid = ~(null | ignore)
    kind = values.dtype.kind
    if spec.dtype == "bool":
        problems, null = _check_bools(values, rows, null, valid)
    elif kind == "b":
        problems = [wrong_type(spec.dtype, values, valid, rows)] if valid.any() else []
    elif kind == "f":
        problems, null = _check_floats(spec, values, rows, null, valid)
    else:
        problems = _out_of_range(spec, values, valid, rows)
    return problems + null_problem(spec.nullable, null & ~ignore, rows)


def check_object_numbers(spec: FieldSpec, values: Array, codes: Array, rows: Rows) -> list[str]:
    """Problems of an object array (e.g. a JSON list with nulls) against a numeric field."""
    null = codes == NULL
    numbers = np.isin(codes, NUMBER_CODES)
    problems: list[str] = []
    if (bad := ~numbers & ~null).any():
        problems.append(wrong_type(spec.dtype, values, bad, rows))
    if spec.dtype != "bool" and (bools := codes == BOOL).any():
        problems.append(wrong_type(spec.dtype, values, bools, rows))
        numbers &= ~bools
    typed = _typed(values, codes, numbers)
    return problems + check_numbers(spec, typed, rows, null, ignore=~numbers & ~null)


def _typed(values: Array, codes: Array, numbers: Mask) -> Array:
    """The numbers of an object array as one typed array; other positions hold 0."""
    present = set(codes[numbers].tolist())
    # Numbers too large for int64, uint64 or float64 stay Python numbers: exact against the field's range.
    candidates: tuple[type[Any], ...]
    if present == {BOOL}:
        candidates = (np.bool_,)
    elif present == {INT}:
        candidates = (np.int64, np.uint64, object)
    else:
        candidates = (np.float64, object)
    for dtype in candidates[:-1]:
        try:
            typed = np.zeros(len(values), dtype=dtype)
            typed[numbers] = values[numbers].astype(dtype)
            return typed
        except OverflowError:
            continue
    # Plain Python numbers compare exactly with any int; numpy scalars would overflow converting it.
    typed = np.zeros(len(values), dtype=object)
    typed[numbers] = [value.item() if isinstance(value, np.generic) else value for value in values[numbers]]
    return typed


def _check_bools(values: Array, rows: Rows, null: Mask, valid: Mask) -> tuple[list[str], Mask]:
    if values.dtype.kind == "b":
        return [], null
    if values.dtype.kind == "f":
        nan = valid & np.isnan(values)
        null, valid = null | nan, valid & ~nan
    # 0 and 1 are how numeric matrices and many clients spell booleans.
    bad = valid & (values != 0) & (values != 1)
    return ([wrong_type("bool", values, bad, rows)] if bad.any() else []), null


def _check_floats(spec: FieldSpec, values: Array, rows: Rows, null: Mask, valid: Mask) -> tuple[list[str], Mask]:
    nan = valid & np.isnan(values)
    inf = valid & np.isinf(values)
    finite = valid & ~nan & ~inf
    problems: list[str] = []
    if is_integer(spec.dtype):
        null = null | nan  # a float column's NaN is pandas' spelling of a missing integer
        if inf.any():
            problems.append(f"{describe_value(values[np.argmax(inf)])} {rows.at(inf)} is not an integer")
        fractional = finite & (values != np.trunc(values))
        if fractional.any():
            problems.append(wrong_type(spec.dtype, values, fractional, rows) + "; only whole numbers fit")
            finite &= ~fractional
    elif not spec.allow_nan:
        if nan.any():
            problems.append(f"NaN {rows.at(nan)}; this input does not accept NaN (the training data had none)")
        if inf.any():
            problems.append(
                f"infinite value {rows.at(inf)}; this input does not accept Inf (the training data had none)"
            )
    return problems + _out_of_range(spec, values, finite, rows), null


def _out_of_range(spec: FieldSpec, values: Array, mask: Mask, rows: Rows) -> list[str]:
    if not mask.any() or values.dtype.kind == "b":
        return []
    low: int | float
    high: int | float
    if is_integer(spec.dtype):
        low, high = int(np.iinfo(spec.dtype).min), int(np.iinfo(spec.dtype).max)
    else:
        high = float(np.finfo(spec.dtype).max)
        low = -high
    out = _outside(values, mask, low, high)
    if not out.any():
        return []
    value = describe_value(values[np.argmax(out)])
    span = f"{low:g}..{high:g}" if isinstance(high, float) else f"{low}..{high}"
    return [f"{value} {rows.at(out)} is out of range for {spec.dtype} ({span})"]


def _outside(values: Array, mask: Mask, low: float, high: float) -> Mask:
    if values.dtype.kind == "O":
        # Python numbers too large for numpy: compared one by one, exactly (NaN, never in range, is skipped).
        out = np.zeros(len(values), dtype=bool)
        chosen = np.flatnonzero(mask)
        out[chosen] = [value == value and not low <= value <= high for value in values[chosen]]
        return out
    lo, hi = (float(low), float(high)) if values.dtype.kind == "f" else (low, high)
    chosen_values = values[mask]
    if chosen_values.min() >= lo and chosen_values.max() <= hi:
        return np.zeros(len(values), dtype=bool)
    outside: Mask = mask & ((values < lo) | (values > hi))
    return outside


__all__ = ["check_numbers", "check_object_numbers"]
