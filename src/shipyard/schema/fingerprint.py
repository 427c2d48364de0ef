"""A content fingerprint of a data set, recorded as a model version's training-data lineage.

The sha256 covers a canonical encoding: for each column in order, its name, a dtype token and
its values (numbers as little-endian contiguous bytes with one NaN bit pattern; strings as
UTF-8 with int64 offsets and a null mask). The same data therefore hashes the same in any
process and on any platform, whether pandas holds its strings as `object` or `str`, and any
change of a value, a column name or the column order changes the hash.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationFailed
from ..types import JSONObject
from ._canonical import encode_objects
from ._tabular import Column, as_table
from ._values import Array

_DOMAIN = b"shipyard-fingerprint/1\0"
_FIXED_KINDS = "biufcmM"


@dataclass(frozen=True)
class DataFingerprint:
    """What identifies a training set: the sha256 of its canonical encoding and its dimensions."""

    sha256: str
    rows: int
    columns: int
    column_names: tuple[str, ...]

    def __repr__(self) -> str:
        return f"DataFingerprint(sha256={self.sha256[:12]!r}, rows={self.rows}, columns={self.columns})"

    def to_dict(self) -> JSONObject:
        return {
            "sha256": self.sha256,
            "rows": self.rows,
            "columns": self.columns,
            "column_names": list(self.column_names),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> DataFingerprint:
        try:
            return cls(str(doc["sha256"]), int(doc["rows"]), int(doc["columns"]), tuple(doc["column_names"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed([("fingerprint", f"not a valid fingerprint document: {exc!r}")]) from exc


def fingerprint(data: object, target: object | None = None) -> DataFingerprint:
    """The fingerprint of `data` (a DataFrame, dict of columns, array or list of rows) and its `target`.

    >>> fingerprint({"x": [1.0, 2.0]}).sha256 == fingerprint({"x": [1.0, 2.5]}).sha256
    False
    """
    table = as_table(data)
    digest = hashlib.sha256(_DOMAIN)
    _hash_columns(digest, table.rows, table.columns)
    if target is not None:
        if isinstance(target, pd.Series):
            target = target.to_frame(name="target" if target.name is None else str(target.name))
        target_table = as_table(target)
        digest.update(b"\0target\0")
        _hash_columns(digest, target_table.rows, target_table.columns)
    names = tuple(name for name, _ in table.columns)
    return DataFingerprint(digest.hexdigest(), table.rows, len(names), names)


def _hash_columns(digest: Any, rows: int, columns: list[tuple[str, Column]]) -> None:
    digest.update(struct.pack("<QQ", rows, len(columns)))
    for name, column in columns:
        _update(digest, name.encode())
        _hash_column(digest, name, column)


def _update(digest: Any, chunk: bytes) -> None:
    """A length-prefixed chunk, so that no two different sequences of chunks hash the same."""
    digest.update(struct.pack("<Q", len(chunk)))
    digest.update(chunk)


def _hash_column(digest: Any, name: str, column: Column) -> None:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        assert isinstance(column, pd.Series), "only pandas holds categoricals"
        _update(digest, b"category")
        _hash_column(digest, name, pd.Series(dtype.categories))
        _hash_fixed(digest, column.cat.codes.to_numpy().astype(np.int64))
    elif isinstance(dtype, np.dtype) and dtype.kind in _FIXED_KINDS:
        _hash_fixed(digest, np.asarray(column))
    elif isinstance(dtype, pd.DatetimeTZDtype):
        assert isinstance(column, pd.Series), "only pandas holds tz-aware timestamps"
        _update(digest, str(dtype).encode())
        _hash_fixed(digest, column.to_numpy(dtype="datetime64[ns]"))
    elif _masked_numbers(dtype):
        _hash_masked(digest, column)
    else:
        _hash_objects(digest, name, column)


def _masked_numbers(dtype: Any) -> bool:
    numpy_twin = getattr(dtype, "numpy_dtype", None)
    return numpy_twin is not None and np.dtype(numpy_twin).kind in "biuf"


def _hash_fixed(digest: Any, values: Array) -> None:
    """Numbers, bools and timestamps: a dtype token (with any trailing shape), then the raw bytes."""
    unit = np.datetime_data(values.dtype)[0] if values.dtype.kind in "mM" else ""
    _update(digest, f"{values.dtype.kind}{values.dtype.itemsize}{unit}{values.shape[1:]}".encode())
    if values.dtype.kind in "fc":
        nan = np.isnan(values)
        if nan.any():
            values = np.where(nan, np.nan, values)  # one NaN bit pattern, whatever produced it
    canonical = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    digest.update(canonical.reshape(-1).view(np.uint8))


def _hash_masked(digest: Any, column: Column) -> None:
    """pandas' nullable numbers (Int64, boolean, Float64…): the null mask, then the values with 0 for null."""
    assert isinstance(column, pd.Series), "only pandas holds masked arrays"
    masked: Any = column.dtype
    dtype = np.dtype(masked.numpy_dtype)
    _update(digest, b"masked")
    _hash_fixed(digest, column.isna().to_numpy())
    _hash_fixed(digest, column.to_numpy(dtype=dtype, na_value=dtype.type(0)))


def _hash_objects(digest: Any, name: str, column: Column) -> None:
    series = column if isinstance(column, pd.Series) else pd.Series(np.asarray(column, dtype=object), copy=False)
    if isinstance(series.dtype, pd.StringDtype) or pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        _hash_strings(digest, series)
    else:
        _update(digest, b"objects")
        _update(digest, encode_objects(name, series.to_numpy(dtype=object)))


def _hash_strings(digest: Any, series: pd.Series[Any]) -> None:
    """Strings as Arrow lays them out: a null mask, int64 offsets, then the UTF-8 bytes."""
    strings = _arrow_strings(series)
    _update(digest, b"string")
    offsets = np.frombuffer(strings.buffers()[1], dtype="<i8", count=len(strings) + 1, offset=8 * strings.offset)
    _hash_fixed(digest, strings.is_null().to_numpy(zero_copy_only=False))
    _hash_fixed(digest, offsets - offsets[0])
    data = strings.buffers()[2]
    digest.update(b"" if data is None else memoryview(data)[offsets[0] : offsets[-1]])


def _arrow_strings(series: pd.Series[Any]) -> Any:
    import pyarrow as pa  # imported here: `import shipyard` stays quick for the CLI

    strings = pa.array(series, from_pandas=True)
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    return strings.cast(pa.large_string())


__all__ = ["DataFingerprint", "fingerprint"]
