"""Scoring one chunk: check its rows, predict the good ones, build the output and rejects tables.

The three steps are separate methods so that an engine can run them on different threads: `prepare`
(checks and conversion, numpy and Arrow work that releases the GIL), `predict` (the model), and
`assemble` (Arrow tables for the writer). The output has the id column (when the job names one)
and one column per prediction, named from the output signature: a 1-D output keeps its name
(`predict`), a 2-D one gets a column per class or position (`predict_proba_<class>`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ValidationFailed
from ..flavors.base import LoadedModel
from ..schema import FieldSpec, Signature
from ..schema.dtypes import is_numeric
from ..serving.outputs import available_outputs, run_outputs
from .parts import with_figures
from .rows import CheckedRows, RowChecker

Array = np.ndarray[Any, Any]

REJECT_COLUMNS = ("_source", "_row", "_reason")
"""What each rejected row gets besides its own columns: its file, its row number there (from 0), why."""


@dataclass(frozen=True)
class OutputColumn:
    """One column of the output: all of a 1-D model output, or one position of a 2-D one."""

    output: str
    position: int | None
    name: str
    type: pa.DataType


@dataclass(frozen=True)
class Chunk:
    """Where a chunk comes from: the input file (its index and name) and its place in that file."""

    file_index: int
    chunk_index: int
    first_row: int
    source: str


@dataclass
class PreparedChunk:
    chunk: Chunk
    rows_in: int
    checked: CheckedRows
    ids: pa.Array | None
    rejects: pa.Table | None


def output_columns(signature: Signature, model: LoadedModel, wanted: Sequence[str] | None) -> list[OutputColumn]:
    """The output columns for the model outputs `wanted` (default: every output of the signature)."""
    specs = {spec.name: spec for spec in signature.outputs}
    can = set(available_outputs(model))
    names = list(wanted) if wanted else [name for name in specs if name in can]
    problems = [
        (name, f"not an output of this model; it has {', '.join(sorted(can & set(specs)))}")
        for name in names
        if name not in specs or name not in can
    ]
    if problems or not names:
        raise ValidationFailed(problems or [("outputs", "the model's signature names no outputs")])
    columns: list[OutputColumn] = []
    for name in names:
        columns += _columns_of(specs[name], model)
    return columns


def _columns_of(spec: FieldSpec, model: LoadedModel) -> list[OutputColumn]:
    arrow = _arrow_type(spec.dtype)
    shape = spec.shape or (-1,)
    if len(shape) == 1:
        return [OutputColumn(spec.name, None, spec.name, arrow)]
    if len(shape) != 2 or shape[1] < 1:
        raise ValidationFailed([(spec.name, f"an output of shape {list(shape)} does not fit in table columns")])
    labels: list[Any] = list(range(shape[1]))
    classes = getattr(getattr(model, "raw", None), "classes_", None)
    if spec.name == "predict_proba" and classes is not None and len(classes) == shape[1]:
        labels = [c.item() if isinstance(c, np.generic) else c for c in classes]
    return [OutputColumn(spec.name, i, f"{spec.name}_{label}", arrow) for i, label in enumerate(labels)]


def _arrow_type(dtype: str) -> pa.DataType:
    if is_numeric(dtype):
        return pa.from_numpy_dtype(np.dtype(dtype))
    if dtype == "datetime":
        return pa.timestamp("ns")
    if dtype == "bytes":
        return pa.binary()
    return pa.string()


class Scorer:
    """Scores the chunks of one job with one loaded model."""

    def __init__(
        self,
        model: LoadedModel,
        signature: Signature,
        *,
        outputs: Sequence[str] | None = None,
        id_column: str | None = None,
    ) -> None:
        self.model = model
        self.checker = RowChecker(signature)
        self.columns = output_columns(signature, model, outputs)
        self.outputs = tuple(dict.fromkeys(column.output for column in self.columns))
        self.id_column = id_column

    def __repr__(self) -> str:
        return f"Scorer(outputs={list(self.outputs)}, id_column={self.id_column!r})"

    @property
    def needed_columns(self) -> list[str]:
        """The input columns a file must have: the model's inputs, then the id column."""
        names = list(self.checker.names)
        return names + [self.id_column] if self.id_column and self.id_column not in names else names

    @property
    def schema(self) -> pa.Schema:
        """The output's schema, minus the id column (its type is the input's)."""
        return pa.schema([(column.name, column.type) for column in self.columns])

    def prepare(self, chunk: Chunk, batch: pa.RecordBatch) -> PreparedChunk:
        checked = self.checker.check(batch)
        ids = batch.column(self.id_column) if self.id_column else None
        rejects = None
        if checked.rejected.size:
            rejected = pa.array(checked.rejected)
            rejects = pa.Table.from_batches([batch.take(rejected)])
            rejects = rejects.add_column(0, "_reason", pa.array(checked.reasons, pa.string()))
            rejects = rejects.add_column(0, "_row", pa.array(checked.rejected + chunk.first_row, pa.int64()))
            rejects = rejects.add_column(0, "_source", pa.array([chunk.source] * len(checked.reasons), pa.string()))
            if ids is not None and checked.kept is not None:
                ids = ids.take(pa.array(checked.kept))
        return PreparedChunk(chunk, batch.num_rows, checked, ids, rejects)

    def predict(self, prepared: PreparedChunk) -> dict[str, Array]:
        if prepared.checked.data is None:
            return {}
        with self._trusted_input():
            return run_outputs(self.model, prepared.checked.data, self.outputs)

    def _trusted_input(self) -> contextlib.AbstractContextManager[Any]:
        """scikit-learn checks every input for NaN and Inf, one more pass over the chunk: skip it when
        `rows.py` has just made the same check (a float block whose inputs take no NaN)."""
        if self.checker.all_finite and self.model.flavor == "sklearn":
            import sklearn

            trusted: contextlib.AbstractContextManager[Any] = sklearn.config_context(assume_finite=True)
            return trusted  # the setting is thread-local: it covers this call only
        return contextlib.nullcontext()

    def assemble(self, prepared: PreparedChunk, outputs: dict[str, Array]) -> pa.Table:
        """The output part's table (with the chunk's figures in its metadata)."""
        kept = prepared.rows_in - len(prepared.checked.reasons)
        arrays: list[pa.Array] = []
        names: list[str] = []
        if self.id_column and prepared.ids is not None:
            arrays.append(prepared.ids)
            names.append(self.id_column)
        for column in self.columns:
            arrays.append(_output_array(outputs, column, kept))
            names.append(column.name)
        table = pa.Table.from_arrays(arrays, names=names)
        return with_figures(table, prepared.rows_in, len(prepared.checked.reasons))


def _output_array(outputs: dict[str, Array], column: OutputColumn, rows: int) -> pa.Array:
    if column.output not in outputs:  # no good row in the chunk
        return pa.array([], type=column.type)
    values = np.asarray(outputs[column.output])
    if column.position is not None:
        values = values[:, column.position]
    elif values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != rows:
        raise ValidationFailed(
            [
                (
                    column.output,
                    f"the model gave shape {list(values.shape)} for {rows} rows; its signature says otherwise",
                )
            ]
        )
    try:
        return pa.array(values, type=column.type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise ValidationFailed(
            [(column.output, f"the model's values do not fit its signature's {column.type}: {exc}")]
        ) from exc


__all__ = ["REJECT_COLUMNS", "Chunk", "OutputColumn", "PreparedChunk", "Scorer", "output_columns"]
