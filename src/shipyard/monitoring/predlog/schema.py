"""`LogBatch` → Arrow: the columns of a prediction-log segment.

    request_id string, row int32, time timestamp[us, UTC], endpoint, model, version int32, arm,
    shadow bool, protocol, caller (nullable), latency_ms float64, status,
    inputs struct<one field per input>, outputs struct<predict, predict_proba list<float64>, …>

A field whose rows are arrays (a tensor model's image, `predict_proba`) is a list of that row's
values, flattened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .entries import Array, LogBatch

if TYPE_CHECKING:
    import pyarrow as pa


def base_schema() -> pa.Schema:
    """The fixed columns (the `inputs`/`outputs` structs have the model's own fields)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("request_id", pa.string()),
            ("row", pa.int32()),
            ("time", pa.timestamp("us", "UTC")),
            ("endpoint", pa.string()),
            ("model", pa.string()),
            ("version", pa.int32()),
            ("arm", pa.string()),
            ("shadow", pa.bool_()),
            ("protocol", pa.string()),
            ("caller", pa.string()),
            ("latency_ms", pa.float64()),
            ("status", pa.string()),
            ("inputs", pa.struct([])),
            ("outputs", pa.struct([])),
        ]
    )


def batch_table(batch: LogBatch) -> pa.Table:
    """One row per input row of every record in `batch`."""
    import pyarrow as pa

    counts = np.asarray(batch.meta["rows"], dtype=np.int64)
    total = int(counts.sum())

    def repeat(name: str, kind: pa.DataType) -> pa.Array:
        values = np.asarray(batch.meta[name], dtype=object if kind in (pa.string(),) else None)
        return pa.array(np.repeat(values, counts), type=kind, from_pandas=False)

    starts = np.repeat(np.cumsum(counts) - counts, counts)
    micros = np.round(np.repeat(np.asarray(batch.meta["time"], dtype=np.float64), counts) * 1e6).astype(np.int64)
    columns = {
        "request_id": repeat("request_id", pa.string()),
        "row": pa.array((np.arange(total) - starts).astype(np.int32)),
        "time": pa.array(micros, type=pa.timestamp("us", "UTC")),
        "endpoint": repeat("endpoint", pa.string()),
        "model": pa.array(np.repeat(np.array([batch.model], dtype=object), total), type=pa.string()),
        "version": pa.array(np.repeat(np.asarray(batch.meta["version"], dtype=np.int32), counts)),
        "arm": repeat("arm", pa.string()),
        "shadow": pa.array(np.repeat(np.asarray(batch.meta["shadow"], dtype=bool), counts)),
        "protocol": repeat("protocol", pa.string()),
        "caller": repeat("caller", pa.string()),
        "latency_ms": pa.array(np.repeat(np.asarray(batch.meta["latency_ms"], dtype=np.float64), counts)),
        "status": repeat("status", pa.string()),
        "inputs": struct_of(batch.input_columns(), total),
        "outputs": struct_of(batch.outputs, total, lists_as_float=("predict_proba",)),
    }
    return pa.table(columns)


def struct_of(columns: dict[str, Array], total: int, lists_as_float: tuple[str, ...] = ()) -> pa.Array:
    import pyarrow as pa

    if not columns:
        return pa.array([{}] * total, type=pa.struct([]))
    arrays = [arrow_column(values, total, float_lists=name in lists_as_float) for name, values in columns.items()]
    return pa.StructArray.from_arrays(arrays, names=list(columns))


def arrow_column(values: Array, total: int, *, float_lists: bool = False) -> pa.Array:
    """A column of `total` rows: scalars as they are, each row of a higher-rank array as a list."""
    import pyarrow as pa

    if values.ndim <= 1:
        return _scalars(values)
    width = int(np.prod(values.shape[1:]))
    flat = values.reshape(total * width)
    items = _scalars(flat.astype(np.float64) if float_lists else flat)
    offsets = pa.array(
        np.arange(0, (total + 1) * width, width, dtype=np.int32) if width else np.zeros(total + 1, np.int32)
    )
    return pa.ListArray.from_arrays(offsets, items)


def _scalars(values: Array) -> pa.Array:
    import pyarrow as pa

    if values.dtype.kind in "biufcMm":
        return pa.array(values)
    if values.dtype.kind == "S":
        return pa.array(np.char.decode(values, "utf-8", "replace").astype(object), type=pa.string())
    items: list[Any] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values.tolist()]
    try:
        return pa.array(items)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python types in one object column: keep them as text
        return pa.array([None if v is None else str(v) for v in items], type=pa.string())


__all__ = ["arrow_column", "base_schema", "batch_table", "struct_of"]
