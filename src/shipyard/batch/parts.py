"""The output of a batch job: a folder of Parquet part files, one per input chunk, written atomically.

A chunk is `batch_rows` rows of one input file, so its part's name (`part-<file>-<chunk>.parquet`)
is known before it is scored. A part appears whole or not at all (a local file is written under a
temporary name, then renamed; an object store's upload becomes visible only when complete), and it
appears after its rejects part: a part that exists is a finished chunk. That is what makes resume
exact: it skips the chunks whose parts exist and redoes the rest, and nothing is written twice.

Each part carries its chunk's figures in its Parquet metadata, so a resumed job adds up what was
already done from the footers alone, however the previous run ended.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .sources import open_filesystem

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_PART = re.compile(r"^part-(\d{5})-(\d{6})\.parquet$")
_TEMP_PREFIX = ".tmp-"  # a leading dot: Parquet readers (pyarrow, pandas, Spark) skip such files
_ROWS_IN = b"shipyard.rows_in"
_ROWS_REJECTED = b"shipyard.rows_rejected"


def part_name(file_index: int, chunk_index: int) -> str:
    return f"part-{file_index:05d}-{chunk_index:06d}.parquet"


def parse_part_name(name: str) -> tuple[int, int] | None:
    """(file index, chunk index) of a part file name, or None for any other name."""
    match = _PART.match(name)
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class PartFigures:
    rows_in: int
    rows_out: int
    rows_rejected: int


def with_figures(table: pa.Table, rows_in: int, rows_rejected: int) -> pa.Table:
    """`table` with its chunk's figures in the schema metadata (stored in the Parquet footer)."""
    metadata = dict(table.schema.metadata or {})
    metadata[_ROWS_IN] = str(rows_in).encode()
    metadata[_ROWS_REJECTED] = str(rows_rejected).encode()
    return table.replace_schema_metadata(metadata)


def _write_options(table: pa.Table) -> dict[str, Any]:
    # Dictionary encoding pays for columns with few distinct values (class labels), not for keys and
    # scores, where it is most of the writer's time for nothing: Parquet falls back to plain anyway.
    few = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_boolean(f.type)]
    return {"use_dictionary": few or False}


class PartFolder:
    """One folder of part files (the output, or the rejects) on any fsspec filesystem."""

    def __init__(self, uri: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.uri = uri
        self._options = dict(storage_options or {})
        self._fs_path: tuple[AbstractFileSystem, str] | None = None

    def __repr__(self) -> str:
        return f"PartFolder(uri={self.uri!r})"

    @property
    def fs(self) -> AbstractFileSystem:
        return self._open()[0]

    @property
    def root(self) -> str:
        return self._open()[1]

    def _open(self) -> tuple[AbstractFileSystem, str]:
        if self._fs_path is None:
            fs, path = open_filesystem(self.uri, self._options)
            self._fs_path = fs, path.rstrip("/")
        return self._fs_path

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to Ray workers: each opens its own filesystem (clients hold sockets and locks).
        return {"uri": self.uri, "_options": self._options, "_fs_path": None}

    @property
    def local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in ((protocol,) if isinstance(protocol, str) else protocol)

    def path_of(self, name: str) -> str:
        return f"{self.root}/{name}"

    def make(self) -> None:
        self.fs.makedirs(self.root, exist_ok=True)

    def exists(self) -> bool:
        return bool(self.fs.exists(self.root))

    def names(self) -> set[str]:
        """The finished parts in the folder."""
        if not self.fs.exists(self.root):
            return set()
        self.fs.invalidate_cache(self.root)  # S3 listings are cached per filesystem instance
        listed = self.fs.ls(self.root, detail=False)
        return {name for name in (str(p).rstrip("/").rsplit("/", 1)[-1] for p in listed) if parse_part_name(name)}

    def remove_temporaries(self) -> None:
        """Delete what an interrupted run left half-written (only ever under temporary names)."""
        if not self.fs.exists(self.root):
            return
        for path in self.fs.ls(self.root, detail=False):
            if str(path).rstrip("/").rsplit("/", 1)[-1].startswith(_TEMP_PREFIX):
                self.fs.rm(str(path))

    def write(self, name: str, table: pa.Table) -> None:
        """Write `table` as part `name`: complete, or not at all."""
        final = self.path_of(name)
        if not self.local:
            # An object store makes an upload visible only once it is complete: no rename needed.
            with self.fs.open(final, "wb") as out:
                pq.write_table(table, out, **_write_options(table))
            return
        temporary = self.path_of(f"{_TEMP_PREFIX}{uuid.uuid4().hex[:8]}-{name}")
        try:
            pq.write_table(table, temporary, **_write_options(table))
            self.fs.mv(temporary, final)
        except BaseException:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)
            raise

    def figures(self, names: Iterable[str]) -> PartFigures:
        """What the named parts hold, added up from their footers."""
        rows_in = rows_out = rejected = 0
        for name in names:
            with self.fs.open(self.path_of(name), "rb") as f:
                meta = pq.read_metadata(f)
            kv = meta.metadata or {}
            rows_out += meta.num_rows
            rows_in += int(kv.get(_ROWS_IN, meta.num_rows))
            rejected += int(kv.get(_ROWS_REJECTED, 0))
        return PartFigures(rows_in, rows_out, rejected)


__all__ = ["PartFigures", "PartFolder", "parse_part_name", "part_name", "with_figures"]
