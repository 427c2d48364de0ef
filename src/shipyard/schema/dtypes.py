"""The dtype vocabulary of signatures, and how numpy and pandas dtypes map onto it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float16", "float32", "float64")
NUMERIC_DTYPES = ("bool", *INTEGER_DTYPES, *FLOAT_DTYPES)
DTYPES = (*NUMERIC_DTYPES, "string", "category", "datetime", "bytes")
"""Every dtype a `FieldSpec` may name."""


def is_numeric(dtype: str) -> bool:
    return dtype in NUMERIC_DTYPES


def is_integer(dtype: str) -> bool:
    return dtype in INTEGER_DTYPES


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def numpy_dtype(dtype: str) -> np.dtype[Any]:
    """The numpy dtype a model receives for values of `dtype`; object for text and bytes."""
    if is_numeric(dtype):
        return np.dtype(dtype)
    if dtype == "datetime":
        return np.dtype("datetime64[ns]")
    return np.dtype(object)


def vocabulary_dtype(dtype: Any) -> str | None:
    """The vocabulary name of a numpy or pandas dtype, or None when only the values can tell (object)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return "datetime"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        # Masked and Arrow-backed pandas dtypes carry their numpy twin in `numpy_dtype`.
        base = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype.numpy_dtype)
        # float128 and friends have no vocabulary name; float64 is what models see of them.
        return base.name if base.name in NUMERIC_DTYPES else "float64"
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "U"):
        return "string"
    if isinstance(dtype, np.dtype) and dtype.kind == "S":
        return "bytes"
    return None


__all__ = [
    "DTYPES",
    "FLOAT_DTYPES",
    "INTEGER_DTYPES",
    "NUMERIC_DTYPES",
    "is_float",
    "is_integer",
    "is_numeric",
    "numpy_dtype",
    "vocabulary_dtype",
]
