"""Answered inferences → `LogBatch`: the columnar form records take in the write-ahead file.

Records arrive one per request; the writer groups those of one model with the same input and
output layout and concatenates their arrays, so everything after this point (redaction, the WAL
frame, the Parquet segment) works on whole arrays, not on records one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Array = np.ndarray[Any, Any]

META_COLUMNS = (
    "seq",
    "request_id",
    "time",
    "endpoint",
    "version",
    "arm",
    "shadow",
    "protocol",
    "caller",
    "latency_ms",
    "status",
    "rows",
)
"""One value per record in `LogBatch.meta`; `rows` is how many rows the record has."""


class CallInfo(Protocol):
    @property
    def protocol(self) -> str: ...
    @property
    def caller(self) -> str | None: ...


class LoggedInference(Protocol):
    """What the log reads of an inference: `serving.events.InferenceRecord` has it (the domain does not
    import the runtime, so this is stated here as a protocol)."""

    @property
    def request_id(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def arm(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def latency_seconds(self) -> float: ...
    @property
    def rows(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def call(self) -> CallInfo: ...
    @property
    def inputs(self) -> Any: ...
    @property
    def input_names(self) -> tuple[str, ...]: ...
    @property
    def outputs(self) -> dict[str, Any] | None: ...
    @property
    def shadow(self) -> bool: ...


BLOCK = "__block__"
"""The key of `LogBatch.inputs` holding a 2-D block whose columns `LogBatch.block` names."""


@dataclass
class LogBatch:
    """Records of one model sharing one layout: metadata lists (one value per record, `META_COLUMNS`)
    and named arrays whose first dimension runs over all their rows, in record order.

    A tabular model's rows stay one 2-D block (`inputs[BLOCK]`, columns named by `block`) until the
    segment is written: splitting them per record would cost more than everything else the log does.
    """

    model: str
    meta: dict[str, list[Any]]
    inputs: dict[str, Array] = field(default_factory=dict)
    outputs: dict[str, Array] = field(default_factory=dict)
    block: tuple[str, ...] = ()

    @property
    def records(self) -> int:
        return len(self.meta["seq"])

    @property
    def total_rows(self) -> int:
        return int(sum(self.meta["rows"]))

    def input_columns(self) -> dict[str, Array]:
        """The inputs as one array per field (the block split into its columns)."""
        if not self.block:
            return self.inputs
        block = self.inputs[BLOCK]
        return {name: block[:, i] for i, name in enumerate(self.block)}

    def take(self, start: int, stop: int) -> LogBatch:
        """Records `start:stop`, with their rows."""
        counts = self.meta["rows"]
        first, last = int(sum(counts[:start])), int(sum(counts[:stop]))
        return LogBatch(
            self.model,
            {k: v[start:stop] for k, v in self.meta.items()},
            {k: v[first:last] for k, v in self.inputs.items()},
            {k: v[first:last] for k, v in self.outputs.items()},
            self.block,
        )

    def layout(self) -> tuple[Any, ...]:
        """What batches must share to be concatenated: the block's columns, each array's name, dtype and
        row shape, and the metadata keys."""

        def arrays(named: dict[str, Array]) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
            return tuple((name, a.dtype.str, a.shape[1:]) for name, a in named.items())

        return self.model, self.block, tuple(self.meta), arrays(self.inputs), arrays(self.outputs)

    def __repr__(self) -> str:
        return f"LogBatch(model={self.model!r}, records={self.records}, rows={self.total_rows})"


def merge_batches(batches: Sequence[LogBatch]) -> list[LogBatch]:
    """Consecutive batches of one layout concatenated into one, in order.

    A write-ahead file holds one batch per group commit, often of a handful of records; building a
    table per batch and concatenating them cost more than the rest of the conversion.
    """
    merged: list[LogBatch] = []
    run: list[LogBatch] = []
    for batch in batches:
        if run and batch.layout() != run[0].layout():
            merged.append(_concatenate(run))
            run = []
        run.append(batch)
    if run:
        merged.append(_concatenate(run))
    return merged


def _concatenate(run: list[LogBatch]) -> LogBatch:
    if len(run) == 1:
        return run[0]
    first = run[0]
    return LogBatch(
        first.model,
        {key: [value for batch in run for value in batch.meta[key]] for key in first.meta},
        {name: np.concatenate([batch.inputs[name] for batch in run]) for name in first.inputs},
        {name: np.concatenate([batch.outputs[name] for batch in run]) for name in first.outputs},
        first.block,
    )


def input_columns(inputs: Any, names: Sequence[str], rows: int) -> tuple[dict[str, Array], tuple[str, ...]]:
    """A record's inputs as named arrays of `rows` rows each, and the column names when they are one block.

    A 2-D block with one column per signature input stays a block (`{BLOCK: block}`, its names);
    any other block (a tensor model's images, a model without a signature) is one field, named after
    its single input (or `input`), keeping each row's shape; named columns stay as they are.
    """
    if isinstance(inputs, dict):
        return {str(k): _rows_array(v, rows) for k, v in inputs.items()}, ()
    block = _rows_array(inputs, rows)
    if block.ndim == 2 and len(names) == block.shape[1] and (len(names) > 1 or block.shape[1] == 1):
        return {BLOCK: block}, tuple(names)
    return {names[0] if len(names) == 1 else "input": block}, ()


def _rows_array(values: Any, rows: int) -> Array:
    array = np.asarray(values)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.shape[0] != rows and array.size == rows:
        array = array.reshape(rows)
    return array


def _layout(columns: dict[str, Array]) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    return tuple((name, a.dtype.str, a.shape[1:]) for name, a in columns.items())


def batches_from_records(records: Iterable[tuple[int, LoggedInference]]) -> list[LogBatch]:
    """(sequence number, record) pairs → one `LogBatch` per model and layout, records kept in order."""
    groups: dict[
        tuple[Any, ...], tuple[list[tuple[int, LoggedInference]], list[dict[str, Array]], list[dict[str, Array]]]
    ] = {}
    for seq, record in records:
        rows = max(int(record.rows), 1)
        inputs, block = input_columns(record.inputs, record.input_names, rows)
        outputs = {name: _rows_array(value, rows) for name, value in (record.outputs or {}).items()}
        key = (record.model, block, _layout(inputs), _layout(outputs))
        members, ins, outs = groups.setdefault(key, ([], [], []))
        members.append((seq, record))
        ins.append(inputs)
        outs.append(outputs)
    return [_batch(members, ins, outs, key[1]) for key, (members, ins, outs) in groups.items()]


def _batch(
    members: list[tuple[int, LoggedInference]],
    ins: list[dict[str, Array]],
    outs: list[dict[str, Array]],
    block: tuple[str, ...],
) -> LogBatch:
    records = [r for _, r in members]
    meta: dict[str, list[Any]] = {  # a comprehension per column: cheaper than twelve appends per record
        "seq": [seq for seq, _ in members],
        "request_id": [r.request_id for r in records],
        "time": [r.started_at for r in records],
        "endpoint": [r.endpoint for r in records],
        "version": [r.version for r in records],
        "arm": [r.arm for r in records],
        "shadow": [bool(r.shadow) for r in records],
        "protocol": [r.call.protocol for r in records],
        "caller": [r.call.caller for r in records],
        "latency_ms": [r.latency_seconds * 1000.0 for r in records],
        "status": [r.status for r in records],
        "rows": [max(int(r.rows), 1) for r in records],
    }
    return LogBatch(records[0].model, meta, _concat(ins), _concat(outs), block)


def _concat(parts: list[dict[str, Array]]) -> dict[str, Array]:
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


__all__ = [
    "BLOCK",
    "META_COLUMNS",
    "LogBatch",
    "LoggedInference",
    "batches_from_records",
    "input_columns",
    "merge_batches",
]
