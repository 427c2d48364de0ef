"""The current window: a model's logged predictions between two times, as one column per feature.

The prediction log (`monitoring.predlog`) stores each row's `inputs` and `outputs` as structs. Drift
needs them side by side: every input field becomes a column of its own name, every output a
column `output:<name>` (the names of a reference profile's output features), and a list output
with the same length on every row (`predict_proba`) one column per position,
`output:predict_proba[0]`, `output:predict_proba[1]`, … Fields holding arrays of varying length
(tensor inputs) are left out: profiles do not describe them either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from ...schema.profile import OUTPUT_PREFIX
from ..predlog import parse_time, read_log

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    table: pa.Table
    """The logged rows: `version` plus the `inputs` and `outputs` structs."""

    def describe(self) -> str:
        return f"between {self.start.isoformat(timespec='seconds')} and {self.end.isoformat(timespec='seconds')}"

    def versions(self) -> list[int]:
        import pyarrow.compute as pc

        if self.table.num_rows == 0:
            return []
        return sorted(int(v) for v in pc.unique(self.table.column("version")).to_pylist() if v is not None)

    def rows_of(self, version: int) -> pa.Table:
        import pyarrow.compute as pc

        return self.table.filter(pc.equal(self.table.column("version"), version))


def window_bounds(
    since: datetime | str | float, until: datetime | str | float | None = None
) -> tuple[datetime, datetime]:
    """(start, end) from a datetime, epoch seconds, an ISO time or a duration ago ("1h"); end defaults to now.

    Raises `ValidationFailed` naming `since`/`until` for anything else, or when end is not after start.
    """
    from ...errors import ValidationFailed

    now = datetime.now(UTC)
    start, end = parse_time(since, field="since", now=now), parse_time(until, field="until", now=now)
    if end <= start:
        raise ValidationFailed([("until", f"{end.isoformat()} is not after since ({start.isoformat()})")])
    return start, end


def read_window(
    location: str,
    model: str,
    since: datetime | str | float,
    until: datetime | str | float | None = None,
    *,
    version: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Window:
    """The logged rows of `model` (every arm, shadows included: each version is judged on its own rows)."""
    start, end = window_bounds(since, until)
    table = read_log(
        location,
        model,
        start,
        end,
        version=version,
        include_shadow=True,
        columns=["version", "inputs", "outputs"],
        storage_options=storage_options,
    )
    return Window(start, end, table)


def current_columns(rows: pa.Table) -> pa.Table:
    """One column per input field and per output (see the module doc) of logged `rows`."""
    import pyarrow as pa

    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    for struct_name, prefix in (("inputs", ""), ("outputs", OUTPUT_PREFIX)):
        if struct_name not in rows.column_names:
            continue
        struct = rows.column(struct_name).combine_chunks()
        if not pa.types.is_struct(struct.type):
            continue
        for index in range(struct.type.num_fields):
            field = struct.type.field(index)
            values = struct.field(index)
            if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
                if prefix:
                    columns.update(_positions(f"{prefix}{field.name}", values))
                continue
            columns[f"{prefix}{field.name}"] = values
    return pa.table(columns) if columns else rows.select([])


def _positions(name: str, values: pa.Array) -> dict[str, pa.Array]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) == 0 or values.null_count:
        return {}
    lengths = pc.list_value_length(values)
    width = pc.min_max(lengths).as_py()
    if width["min"] != width["max"] or not width["min"] or width["min"] > 64:
        return {}
    flat = pc.list_flatten(values)
    if not (pa.types.is_floating(flat.type) or pa.types.is_integer(flat.type)):
        return {}
    matrix = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(len(values), width["min"])
    return {f"{name}[{j}]": pa.array(matrix[:, j]) for j in range(width["min"])}


__all__ = ["Window", "current_columns", "read_window", "window_bounds"]
