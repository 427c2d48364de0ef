"""Cutting a job into tasks: runs of chunks of one file that one worker reads, scores and writes.

The local engine takes one task per file. Ray takes more, so that one large Parquet file keeps
several workers busy: its chunks are grouped so that each task starts near a row-group boundary
(reading a task decodes at most one row group it does not keep). A CSV file cannot be entered in
the middle, so it is always one task.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .parts import part_name
from .reader import FileLayout


@dataclass(frozen=True)
class Task:
    """Chunks `first_chunk` up to `stop_chunk` (None: to the end of the file) of input file `file_index`."""

    file_index: int
    first_chunk: int
    stop_chunk: int | None

    def chunks(self) -> range | None:
        return None if self.stop_chunk is None else range(self.first_chunk, self.stop_chunk)

    def is_done(self, done: set[str]) -> bool:
        chunks = self.chunks()
        return chunks is not None and all(part_name(self.file_index, c) in done for c in chunks)


def chunk_count(rows: int, batch_rows: int) -> int:
    return math.ceil(rows / batch_rows)


def plan_tasks(layouts: Sequence[FileLayout], batch_rows: int, *, split: bool) -> list[Task]:
    """The tasks of a job: one per file, or (`split`) Parquet files cut at row-group-sized runs."""
    tasks: list[Task] = []
    for index, layout in enumerate(layouts):
        rows = layout.rows
        if rows is None:  # CSV: read from the start, to the end
            tasks.append(Task(index, 0, None))
            continue
        chunks = chunk_count(rows, batch_rows)
        if not split:
            tasks.append(Task(index, 0, chunks))
            continue
        groups = layout.group_rows or (rows,)
        per_task = max(1, math.ceil(max(groups) / batch_rows))
        tasks += [Task(index, first, min(first + per_task, chunks)) for first in range(0, chunks, per_task)]
    return tasks


def pending_tasks(tasks: Iterable[Task], done: set[str]) -> list[Task]:
    """The tasks with at least one chunk left to do (a CSV task always counts: its chunks are unknown)."""
    return [task for task in tasks if not task.is_done(done)]


def expected_parts(layouts: Sequence[FileLayout], batch_rows: int) -> Mapping[int, int] | None:
    """Parts per file when every file's rows are known (all Parquet), else None."""
    counts: dict[int, int] = {}
    for index, layout in enumerate(layouts):
        if layout.rows is None:
            return None
        counts[index] = chunk_count(layout.rows, batch_rows)
    return counts


__all__ = ["Task", "chunk_count", "expected_parts", "pending_tasks", "plan_tasks"]
