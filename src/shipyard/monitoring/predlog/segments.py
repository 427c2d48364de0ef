"""Write-ahead files → Parquet segments in the log store, exactly once.

A WAL file's batches are split by model and hour; each (model, hour) becomes one segment named
after this worker and the first sequence number in it. Converting the same file again (after a
crash between writing the segments and deleting the file) writes the same names with the same
rows, so nothing is ever counted twice. The file is deleted only after every segment is stored.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .entries import LogBatch, merge_batches
from .layout import open_filesystem, partition_dir, segment_name
from .schema import batch_table
from .wal import WalContents, read_wal

if TYPE_CHECKING:
    import pyarrow as pa
    from fsspec import AbstractFileSystem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Converted:
    records: int
    rows: int
    segments: int
    torn_bytes: int
    last_seq: int


class SegmentStore:
    """Where segments go: a folder or any fsspec URL (s3://bucket/prefix, …)."""

    def __init__(self, location: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.location = location
        self._options = dict(storage_options or {})
        self._fs: AbstractFileSystem | None = None
        self._root = ""

    @property
    def fs(self) -> AbstractFileSystem:
        if self._fs is None:
            self._fs, self._root = open_filesystem(self.location, self._options)
        return self._fs

    @property
    def root(self) -> str:
        _ = self.fs
        return self._root

    def put(self, folder: str, name: str, data: bytes) -> None:
        fs = self.fs
        path = f"{folder}/{name}"
        if _is_local(fs):
            # Temp name + rename: a reader never sees half a segment (dot-names are skipped).
            os.makedirs(folder, exist_ok=True)
            temp = f"{folder}/.{name}.{uuid.uuid4().hex[:8]}"
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        else:
            fs.pipe_file(path, data)  # an object store's PUT is atomic

    def __repr__(self) -> str:
        return f"SegmentStore(location={self.location!r})"


def _is_local(fs: AbstractFileSystem) -> bool:
    protocol = fs.protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def convert_wal(path: Path, worker: str, store: SegmentStore, *, batches: list[LogBatch] | None = None) -> Converted:
    """Store the segments of the WAL file at `path` (the file itself is left for the caller to delete).

    `batches`: the file's contents, when the caller still has them as it wrote them (the same segments
    either way: their names and rows come from the records, not from where they were read)."""
    contents = read_wal(path) if batches is None else WalContents(batches, 0)
    groups: dict[tuple[str, datetime], list[LogBatch]] = {}
    for batch in contents.batches:
        for hour, part in _by_hour(batch):
            groups.setdefault((batch.model, hour), []).append(part)
    segments = rows = 0
    for (model, hour), parts in sorted(groups.items()):
        for first_seq, table in _tables(parts):
            store.put(partition_dir(store.root, model, hour), segment_name(worker, first_seq), _parquet(table))
            segments += 1
            rows += table.num_rows
    if contents.torn_bytes:
        logger.warning("prediction log: %s ends with %d torn bytes (a write cut short)", path, contents.torn_bytes)
    return Converted(contents.records, rows, segments, contents.torn_bytes, contents.last_seq)


def _by_hour(batch: LogBatch) -> list[tuple[datetime, LogBatch]]:
    hours = [int(t // 3600) for t in batch.meta["time"]]
    if hours[0] == hours[-1] and len(set(hours)) == 1:
        return [(_hour(hours[0]), batch)]
    parts: list[tuple[datetime, LogBatch]] = []
    start = 0
    for i in range(1, len(hours) + 1):
        if i == len(hours) or hours[i] != hours[start]:
            parts.append((_hour(hours[start]), batch.take(start, i)))
            start = i
    return parts


def _hour(index: int) -> datetime:
    return datetime.fromtimestamp(index * 3600, UTC)


def _tables(parts: list[LogBatch]) -> list[tuple[int, pa.Table]]:
    """(first sequence number, table) per segment: one for the group, or one per layout when the
    batches cannot share a schema (a field's type changed between versions)."""
    import pyarrow as pa

    tables = [(min(p.meta["seq"]), batch_table(p)) for p in merge_batches(parts)]
    try:
        return [(tables[0][0], pa.concat_tables([t for _, t in tables], promote_options="permissive"))]
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        by_schema: dict[pa.Schema, list[tuple[int, pa.Table]]] = {}
        for seq, table in tables:
            by_schema.setdefault(table.schema, []).append((seq, table))
        return [(same[0][0], pa.concat_tables([t for _, t in same])) for same in by_schema.values()]


def _parquet(table: pa.Table) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Dictionary-encode text only: trying it on every float feature costs about three times the rest
    # of the write and saves nothing on continuous values.
    text = [
        name for name, kind in _leaf_columns(table.schema) if pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ]
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", use_dictionary=text)
    return sink.getvalue()


def _leaf_columns(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    import pyarrow as pa

    leaves = []
    for field in schema:
        if pa.types.is_struct(field.type):
            leaves += [(f"{field.name}.{child.name}", child.type) for child in field.type]
        else:
            leaves.append((field.name, field.type))
    return leaves


__all__ = ["Converted", "SegmentStore", "convert_wal"]
