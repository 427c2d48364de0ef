"""What every engine does with a chunk: read it, score it, write its rejects and then its part.

`JobContext` holds everything a worker needs and nothing it cannot be sent (no open filesystem,
no database session), so the same context runs a task in this process or on a Ray worker; the
two engines share these functions and therefore write the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Settings
from ..errors import BatchFailed, ShipyardError
from ..registry import ModelVersion
from ..schema import Signature
from .parts import PartFolder, part_name
from .reader import FileLayout, read_chunks
from .scoring import Chunk, PreparedChunk, Scorer
from .sources import InputFile, open_filesystem
from .tasks import Task

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class PartResult:
    """A chunk written: its part's name and figures."""

    name: str
    rows_in: int
    rows_out: int
    rows_rejected: int


@dataclass(frozen=True)
class JobContext:
    """A job as its workers see it."""

    job_id: int
    settings: Settings
    version: ModelVersion
    input_uri: str
    storage_options: dict[str, Any]
    files: tuple[InputFile, ...]
    layouts: tuple[FileLayout, ...]
    local_input: bool
    output: PartFolder
    rejects: PartFolder
    batch_rows: int
    id_column: str | None
    outputs: tuple[str, ...] | None

    def scorer(self) -> Scorer:
        """Load the model (its artifact verified against the registry's sha256) and build the scorer."""
        from ..registry import open_registry

        registry = open_registry(self.settings)
        try:
            model = registry.load(self.version)
        finally:
            registry.db.close()
        return self.scorer_for(model)

    def scorer_for(self, model: Any) -> Scorer:
        assert self.version.signature is not None  # the runner refuses versions without one
        signature = Signature.from_dict(self.version.signature)
        return Scorer(model, signature, outputs=self.outputs, id_column=self.id_column)

    def input_filesystem(self) -> AbstractFileSystem:
        return open_filesystem(self.input_uri, self.storage_options)[0]


def read_task(
    context: JobContext, fs: AbstractFileSystem, scorer: Scorer, task: Task, done: set[str]
) -> Iterator[tuple[Chunk, Any]]:
    """The chunks of `task` still to do, with their record batches."""
    file = context.files[task.file_index]
    chunks = read_chunks(
        fs,
        file,
        context.layouts[task.file_index],
        local=context.local_input,
        columns=scorer.needed_columns,
        text_columns=scorer.checker.text_columns(),
        batch_rows=context.batch_rows,
        first_chunk=task.first_chunk,
        stop_chunk=task.stop_chunk,
    )
    for chunk_index, first_row, batch in chunks:
        if part_name(task.file_index, chunk_index) in done:
            continue
        yield Chunk(task.file_index, chunk_index, first_row, file.name), batch


def predict_chunk(context: JobContext, scorer: Scorer, prepared: PreparedChunk) -> dict[str, Array]:
    """The model's outputs for the chunk's good rows; `BatchFailed` naming the chunk if the model raises."""
    try:
        return scorer.predict(prepared)
    except ShipyardError:
        raise
    except Exception as exc:
        chunk = prepared.chunk
        where = f"rows {chunk.first_row}..{chunk.first_row + prepared.rows_in - 1} of {chunk.source}"
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BatchFailed(
            context.job_id, f"{context.version.uri} raised {type(exc).__name__} on {where}: {text}"
        ) from exc


def write_chunk(context: JobContext, scorer: Scorer, prepared: PreparedChunk, outputs: dict[str, Array]) -> PartResult:
    """Write the chunk's rejects (if any), then its part: the part's existence marks the chunk done."""
    table = scorer.assemble(prepared, outputs)
    name = part_name(prepared.chunk.file_index, prepared.chunk.chunk_index)
    rejected = 0
    if prepared.rejects is not None:
        rejected = prepared.rejects.num_rows
        context.rejects.make()
        context.rejects.write(name, prepared.rejects)
    context.output.write(name, table)
    return PartResult(name, prepared.rows_in, table.num_rows, rejected)


def score_tasks(context: JobContext, scorer: Scorer, tasks: Sequence[Task], done: set[str]) -> Iterator[PartResult]:
    """Run tasks one chunk after another (what a Ray worker does; the local engine overlaps the steps)."""
    fs = context.input_filesystem()
    for task in tasks:
        for chunk, batch in read_task(context, fs, scorer, task, done):
            prepared = scorer.prepare(chunk, batch)
            yield write_chunk(context, scorer, prepared, predict_chunk(context, scorer, prepared))


__all__ = ["JobContext", "PartResult", "predict_chunk", "read_task", "score_tasks", "write_chunk"]
