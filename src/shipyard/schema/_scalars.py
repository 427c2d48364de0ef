"""Checks of a column of scalar values (one per row) against a field."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._numbers import check_numbers, check_object_numbers
from ._values import BYTES, DATETIME, STR, Array, Mask, Rows, missing_mask, null_problem, type_codes, wrong_type
from .field import FieldSpec

_ACCEPTED_CODES = {"string": (STR,), "category": (STR,), "bytes": (BYTES,), "datetime": (DATETIME, STR)}
_ACCEPTED_KINDS = {"string": "U", "category": "U", "bytes": "S", "datetime": "MU"}


def check_scalars(spec: FieldSpec, values: Array, rows: Rows) -> list[str]:
    """Every problem of a 1-D array of values against a scalar field, as messages."""
    if values.dtype.kind == "O":
        return _check_objects(spec, values, rows)
    nothing = np.zeros(len(values), dtype=bool)
    if spec.is_numeric:
        if values.dtype.kind in "biuf":
            return check_numbers(spec, values, rows, null=nothing, ignore=nothing)
        return [wrong_type(spec.dtype, values, ~nothing, rows)]
    null = np.isnat(values) if values.dtype.kind == "M" else nothing
    if values.dtype.kind not in _ACCEPTED_KINDS[spec.dtype]:
        bad = ~null & ~_known_categories(spec, values, ~null)
        return [wrong_type(spec.dtype, values, bad, rows)] if bad.any() else []
    problems = _unparsable_dates(values, ~null, rows) if spec.dtype == "datetime" else []
    return problems + null_problem(spec.nullable, null, rows)


def _check_objects(spec: FieldSpec, values: Array, rows: Rows) -> list[str]:
    codes = type_codes(values)
    if spec.is_numeric:
        return check_object_numbers(spec, values, codes, rows)
    # NaN is how pandas marks a missing string or timestamp.
    null = missing_mask(values, codes)
    bad = ~null & ~np.isin(codes, _ACCEPTED_CODES[spec.dtype])
    bad &= ~_known_categories(spec, values, bad)
    problems = [wrong_type(spec.dtype, values, bad, rows)] if bad.any() else []
    if spec.dtype == "datetime":
        problems += _unparsable_dates(values, codes == STR, rows)
    return problems + null_problem(spec.nullable, null, rows)


def _known_categories(spec: FieldSpec, values: Array, mask: Mask) -> Mask:
    """Where a non-string value of a category field spells a known category (e.g. 3 for "3")."""
    known = np.zeros(len(values), dtype=bool)
    if spec.dtype == "category" and spec.categories and mask.any():
        spelled = np.array([str(value) for value in values[mask].tolist()], dtype=object)
        known[mask] = np.isin(spelled, np.array(spec.categories, dtype=object))
    return known


def _unparsable_dates(values: Array, strings: Mask, rows: Rows) -> list[str]:
    if values.dtype.kind == "M" or not strings.any():
        return []
    parsed = pd.to_datetime(pd.Series(values[strings], dtype=object), format="ISO8601", errors="coerce", utc=True)
    bad = np.zeros(len(values), dtype=bool)
    bad[strings] = parsed.isna().to_numpy()
    if not bad.any():
        return []
    return [f"cannot read {values[np.argmax(bad)]!r} {rows.at(bad)} as an ISO 8601 datetime"]


__all__ = ["check_scalars"]
