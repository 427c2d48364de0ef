"""Streaming Arrow record batches out of Parquet and CSV files, in chunks of exactly `batch_rows` rows.

Chunk `c` of a file is its rows `[c * batch_rows, (c + 1) * batch_rows)`, whatever the row groups or
CSV blocks: the chunks, and so the part files named after them, are the same on every run and on
every engine. Only the columns the job needs are read (Parquet projects them; CSV skips the rest).
Memory follows `batch_rows`, not the file's layout: Parquet is read page by page through a small
buffer per column (never a whole row group: a file written as one row group is not held whole), and
CSV one block at a time.

CSV columns the model takes are read as text and converted by `rows.py`, row by row in effect:
a value that does not parse rejects its row instead of failing the whole read.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import ValidationFailed
from .sources import InputFile

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_CSV_BLOCK_BYTES = 8 << 20
_CSV_SAMPLE_BYTES = 1 << 20
# Bytes read at a time from each Parquet column chunk. Locally the page cache makes small reads cheap;
# from an object store each read is one ranged request, so fewer, larger ones.
_PARQUET_BUFFER_BYTES = 256 << 10
_REMOTE_PARQUET_BUFFER_BYTES = 4 << 20


@dataclass(frozen=True)
class FileLayout:
    """What planning needs of one file: its columns and (Parquet) its rows per row group."""

    columns: tuple[str, ...]
    group_rows: tuple[int, ...] | None
    """Rows of each Parquet row group; None for CSV (unknown until read)."""
    estimated_rows: int | None
    """Exact for Parquet; for CSV an estimate from the first MiB (None when compressed)."""

    @property
    def rows(self) -> int | None:
        return sum(self.group_rows) if self.group_rows is not None else None


@contextlib.contextmanager
def _binary(fs: AbstractFileSystem, file: InputFile, local: bool, **options: Any) -> Iterator[Any]:
    if local and file.compression is None:
        yield file.path  # pyarrow's own file reader: faster than a Python file object
        return
    with fs.open(file.path, "rb", compression=file.compression, **options) as f:
        yield f


def read_layout(fs: AbstractFileSystem, file: InputFile, local: bool) -> FileLayout:
    """The columns (and Parquet row groups) of `file`, read from its footer or its header line."""
    try:
        if file.format == "parquet":
            with _binary(fs, file, local) as source:
                meta = pq.read_metadata(source)
            groups = tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
            return FileLayout(tuple(meta.schema.to_arrow_schema().names), groups, sum(groups))
        with _binary(fs, file, local) as source:
            reader = pacsv.open_csv(source, read_options=pacsv.ReadOptions(block_size=1 << 16))
            names = tuple(reader.schema.names)
            reader.close()
        return FileLayout(names, None, _estimate_csv_rows(fs, file))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationFailed([(file.name, f"cannot read it as {file.format.upper()}: {_first_line(exc)}")]) from exc


def _estimate_csv_rows(fs: AbstractFileSystem, file: InputFile) -> int | None:
    if file.compression is not None or file.size == 0:
        return None
    with fs.open(file.path, "rb") as f:
        sample: bytes = f.read(_CSV_SAMPLE_BYTES)
    lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") else 1)
    if len(sample) >= file.size:
        return max(lines - 1, 0)
    return max(int(lines * file.size / len(sample)) - 1, 0)


def read_chunks(
    fs: AbstractFileSystem,
    file: InputFile,
    layout: FileLayout,
    *,
    local: bool,
    columns: Sequence[str],
    text_columns: Sequence[str],
    batch_rows: int,
    first_chunk: int = 0,
    stop_chunk: int | None = None,
) -> Iterator[tuple[int, int, pa.RecordBatch]]:
    """(chunk index, first row, batch) for chunks `first_chunk` up to `stop_chunk` (the end when None).

    `columns` are read; those in `text_columns` are read from CSV as text (Parquet keeps its types).
    """
    if file.format == "parquet":
        batches = _parquet_batches(fs, file, layout, local, columns, batch_rows, first_chunk, stop_chunk)
        skip = 0
    else:
        batches = _csv_batches(fs, file, local, columns, text_columns)
        skip = first_chunk * batch_rows
    chunk = first_chunk
    try:
        for batch in exact_chunks(batches, batch_rows, skip):
            if stop_chunk is not None and chunk >= stop_chunk:
                return
            yield chunk, chunk * batch_rows, batch
            chunk += 1
    except pa.ArrowInvalid as exc:  # e.g. a CSV row with too many fields
        raise ValidationFailed([(file.name, f"cannot read it as {file.format.upper()}: {_first_line(exc)}")]) from exc


def _parquet_batches(
    fs: AbstractFileSystem,
    file: InputFile,
    layout: FileLayout,
    local: bool,
    columns: Sequence[str],
    batch_rows: int,
    first_chunk: int,
    stop_chunk: int | None,
) -> Iterator[pa.RecordBatch]:
    groups = layout.group_rows or ()
    starts = [0]
    for rows in groups:
        starts.append(starts[-1] + rows)
    first_row = first_chunk * batch_rows
    first_group = max(bisect.bisect_right(starts, first_row) - 1, 0)
    last_row = starts[-1] if stop_chunk is None else min(stop_chunk * batch_rows, starts[-1])
    last_group = max(bisect.bisect_left(starts, last_row) - 1, first_group)
    wanted = list(range(first_group, min(last_group + 1, len(groups))))
    if not wanted:
        return
    # No pre-buffering: pyarrow would read every column chunk of the groups it is given whole, and keep
    # them until the iterator is done (a file written as one row group would be held whole). Without it,
    # each column is read through a buffer of `buffer_size` bytes and decoded `batch_rows` rows at a time,
    # and batches run on across row-group boundaries. An object-store file is opened without fsspec's
    # read-ahead cache: the columns are read in turn from different offsets, which it would fetch in
    # blocks of up to 50 MiB each time.
    remote = {} if local else {"cache_type": "none"}
    buffer_size = _PARQUET_BUFFER_BYTES if local else _REMOTE_PARQUET_BUFFER_BYTES
    with _binary(fs, file, local, **remote) as source:
        parquet = pq.ParquetFile(source, pre_buffer=False, buffer_size=buffer_size)
        to_drop = first_row - starts[first_group]
        for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=wanted, columns=list(columns)):
            if to_drop >= batch.num_rows:
                to_drop -= batch.num_rows
                continue
            if to_drop:
                batch, to_drop = batch.slice(to_drop), 0
            yield batch


def _csv_batches(
    fs: AbstractFileSystem, file: InputFile, local: bool, columns: Sequence[str], text_columns: Sequence[str]
) -> Iterator[pa.RecordBatch]:
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in text_columns},
        include_columns=list(columns),
        strings_can_be_null=True,
    )
    with _binary(fs, file, local) as source:
        reader = pacsv.open_csv(
            source, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES), convert_options=convert
        )
        try:
            yield from reader
        finally:
            reader.close()


def exact_chunks(batches: Iterator[pa.RecordBatch], rows: int, skip: int = 0) -> Iterator[pa.RecordBatch]:
    """Re-cut a stream of batches into batches of exactly `rows` rows (the last may be shorter),
    after dropping the first `skip` rows. Slices are zero-copy; only a chunk spanning two input
    batches is copied into one."""
    pending: list[pa.RecordBatch] = []
    have = 0
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        if skip:
            batch, skip = batch.slice(skip), 0
        while batch.num_rows:
            take = min(rows - have, batch.num_rows)
            pending.append(batch.slice(0, take))
            have += take
            batch = batch.slice(take)
            if have == rows:
                yield _concat(pending)
                pending, have = [], 0
    if have:
        yield _concat(pending)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["FileLayout", "exact_chunks", "read_chunks", "read_layout"]
