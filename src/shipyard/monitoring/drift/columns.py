"""The current values, one column at a time, whatever holds them: an Arrow table, a DataFrame, a
mapping of arrays, or a Parquet file read column by column (so a window larger than memory is
compared one column at a time: a 10,000,000-row numeric column is 80 MB).

Each source gives a numeric column as a fresh float64 array that the engine may sort in place
(nulls become NaN), and a categorical column as value counts keyed by `str(value)` — the keys a
reference profile uses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from ...errors import ValidationFailed

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

Floats = npt.NDArray[np.float64]


class NotNumeric(ValueError):
    """A column the reference knows as numeric holds values that are not numbers."""


class ColumnSource(Protocol):
    @property
    def rows(self) -> int: ...

    @property
    def names(self) -> list[str]: ...

    def numeric(self, name: str) -> Floats:
        """The column as a new, writable float64 array; nulls and non-numbers as NaN. Raises `NotNumeric`."""

    def counts(self, name: str) -> tuple[dict[str, int], int]:
        """(count per distinct value keyed by `str(value)`, number of missing values)."""


def open_source(data: object) -> ColumnSource:
    """A `ColumnSource` over `data`: a pyarrow Table, a pandas DataFrame, a mapping of column name →
    array, or the path of a Parquet file (read lazily, one column at a time)."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return ArrowSource(data)
    if isinstance(data, pd.DataFrame):
        return PandasSource(data)
    if isinstance(data, str | Path):
        return ParquetSource(Path(data))
    if isinstance(data, Mapping):
        try:
            return PandasSource(pd.DataFrame({str(k): v for k, v in data.items()}))
        except (ValueError, TypeError) as exc:
            raise ValidationFailed([("current", f"cannot read the mapping as columns: {exc}")]) from exc
    raise ValidationFailed(
        [("current", f"expected a pyarrow Table, DataFrame, mapping or Parquet path; got {type(data).__name__}")]
    )


class ArrowSource:
    def __init__(self, table: pa.Table) -> None:
        self.table = table

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def names(self) -> list[str]:
        return list(self.table.column_names)

    def numeric(self, name: str) -> Floats:
        return arrow_floats(self.table.column(name))

    def counts(self, name: str) -> tuple[dict[str, int], int]:
        return arrow_counts(self.table.column(name))


class ParquetSource:
    """A Parquet file (or a folder of them, as one dataset) read one column at a time."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        if not path.exists():
            raise ValidationFailed([("current", f"{path} does not exist")])
        try:
            self._schema = pq.read_schema(path) if path.is_file() else pq.ParquetDataset(path).schema
            self._rows = _parquet_rows(path)
        except (OSError, ValueError) as exc:
            raise ValidationFailed([("current", f"{path} is not readable Parquet: {exc}")]) from exc
        self.path = path

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def names(self) -> list[str]:
        return list(self._schema.names)

    def numeric(self, name: str) -> Floats:
        if not self.path.is_file():
            return arrow_floats(self._read(name, dictionary=False))
        # Batch by batch into one array: the column is in memory once, not twice (Arrow, then numpy).
        out = np.empty(self._rows, dtype=np.float64)
        at = 0
        for batch in self._batches(name, dictionary=False):
            at = _fill(out, at, batch.column(0))
        return out[:at]

    def counts(self, name: str) -> tuple[dict[str, int], int]:
        # Strings stay dictionary-encoded as Parquet stores them: counting then touches indices only.
        if not self.path.is_file():
            return arrow_counts(self._read(name, dictionary=True))
        counts: Counter[str] = Counter()
        missing = 0
        for batch in self._batches(name, dictionary=True):
            found, absent = arrow_counts(batch.column(0))
            counts.update(found)
            missing += absent
        return dict(counts), missing

    def _batches(self, name: str, *, dictionary: bool) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        # No pre-buffering: it would read the column of every row group before the first batch.
        options: dict[str, Any] = {"read_dictionary": [name]} if dictionary else {}
        file = pq.ParquetFile(self.path, pre_buffer=False, **options)
        yield from file.iter_batches(batch_size=1 << 20, columns=[name], use_threads=False)

    def _read(self, name: str, *, dictionary: bool) -> pa.ChunkedArray:
        import pyarrow.parquet as pq

        options: dict[str, Any] = {"read_dictionary": [name]} if dictionary else {}
        table = pq.read_table(self.path, columns=[name], use_threads=False, **options)
        return table.column(0)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    if path.is_file():
        return int(pq.ParquetFile(path).metadata.num_rows)
    return sum(int(pq.ParquetFile(f).metadata.num_rows) for f in sorted(path.rglob("*.parquet")))


class PandasSource:
    def __init__(self, frame: pd.DataFrame) -> None:
        if frame.columns.has_duplicates:
            raise ValidationFailed([("current", "a column name appears more than once")])
        self.frame = frame

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def names(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def numeric(self, name: str) -> Floats:
        import pandas as pd

        series = self.frame[name]
        if series.dtype == bool or not (pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == object):
            raise NotNumeric(f"{series.dtype} values")
        try:
            return np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise NotNumeric(str(exc)) from exc

    def counts(self, name: str) -> tuple[dict[str, int], int]:
        series = self.frame[name]
        missing = int(series.isna().sum())
        counts: Counter[str] = Counter()
        for value, count in series.value_counts(dropna=True, sort=False).items():
            if count:
                counts[str(value)] += int(count)
        return dict(counts), missing


def arrow_floats(column: pa.ChunkedArray | pa.Array) -> Floats:
    """A writable float64 copy of an Arrow column (nulls as NaN); raises `NotNumeric` for other values."""
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = np.empty(len(column), dtype=np.float64)
    at = 0
    for chunk in chunks:
        at = _fill(out, at, chunk)
    return out


def _fill(out: Floats, at: int, chunk: pa.Array) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = chunk.type
    if pa.types.is_null(kind):  # a field that was null on every row of this chunk
        out[at : at + len(chunk)] = np.nan
        return at + len(chunk)
    if pa.types.is_dictionary(kind):
        chunk, kind = chunk.dictionary_decode(), kind.value_type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise NotNumeric(f"{kind} values")
    if not pa.types.is_float64(kind):
        chunk = pc.cast(chunk, pa.float64())
    out[at : at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
    return at + len(chunk)


def arrow_counts(column: pa.ChunkedArray | pa.Array) -> tuple[dict[str, int], int]:
    """(count per distinct non-null value keyed by `str(value)`, nulls) of an Arrow column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    counts: Counter[str] = Counter()
    missing = 0
    for chunk in chunks:
        missing += chunk.null_count
        if pa.types.is_floating(chunk.type):
            missing += int(pc.sum(pc.is_nan(chunk)).as_py() or 0)
        found = pc.value_counts(chunk)
        for value, count in zip(found.field("values").to_pylist(), found.field("counts").to_pylist(), strict=True):
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                counts[str(value)] += int(count)
    return dict(counts), missing


__all__ = [
    "ArrowSource",
    "ColumnSource",
    "NotNumeric",
    "PandasSource",
    "ParquetSource",
    "arrow_counts",
    "arrow_floats",
    "open_source",
]
