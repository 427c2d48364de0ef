"""Reading the prediction log back: only the hour partitions a time window touches.

What a worker has accepted but not yet turned into a segment (its write-ahead file, at most
`monitoring.log_flush_seconds` old; longer while the store is unreachable) is not visible here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import ValidationFailed
from .layout import check_model_name, hour_of, hours_between, open_filesystem, parse_time, partition_dir

if TYPE_CHECKING:
    import pyarrow as pa
    from fsspec import AbstractFileSystem

logger = logging.getLogger(__name__)


def read_log(
    location: str,
    model: str,
    since: datetime | str | float,
    until: datetime | str | float | None = None,
    version: int | None = None,
    arm: str | None = None,
    include_shadow: bool = False,
    *,
    columns: list[str] | None = None,
    limit: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> pa.Table:
    """The logged rows of `model` with `since <= time < until` (until: now), oldest first.

    `since`/`until` take a datetime, epoch seconds, an ISO time or a duration ago ("1h", "2d").
    Only the partitions `model=<model>/date=…/hour=…` of the window are listed and read; segments
    written by different versions (other input columns) are merged, missing fields as nulls.
    `columns` reads only those top-level columns; `limit` keeps the newest `limit` rows.

        table = read_log(".shipyard/predictions", "churn", since="1h")
        table.to_pandas()     # or: duckdb.sql("select * from table")
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    check_model_name(model)
    start, end = parse_time(since, field="since"), parse_time(until, field="until")
    if end <= start:
        raise ValidationFailed([("until", f"{end.isoformat()} is not after since ({start.isoformat()})")])
    if limit is not None and limit < 1:
        raise ValidationFailed([("limit", f"{limit} is not a positive number of rows")])
    fs, root = open_filesystem(location, storage_options)
    wanted = _with_filter_columns(columns)
    tables = [_read_segment(fs, path, wanted) for path in _segments(fs, root, model, start, end)]
    if not tables:
        return _empty(columns)
    table = merge_tables(tables)
    mask = pc.and_(
        pc.greater_equal(table["time"], pa.scalar(start, pa.timestamp("us", "UTC"))),
        pc.less(table["time"], pa.scalar(end, pa.timestamp("us", "UTC"))),
    )
    if version is not None:
        mask = pc.and_(mask, pc.equal(table["version"], version))
    if arm is not None:
        mask = pc.and_(mask, pc.equal(table["arm"], arm))
    if not include_shadow:
        mask = pc.and_(mask, pc.invert(table["shadow"]))
    table = table.filter(mask).sort_by([("time", "ascending"), ("request_id", "ascending"), ("row", "ascending")])
    if limit is not None and table.num_rows > limit:
        table = table.slice(table.num_rows - limit)
    return table.select(columns) if columns is not None else table


def merge_tables(tables: list[pa.Table]) -> pa.Table:
    """One table from segments of different versions: missing fields become nulls, and a field whose
    type changed between versions (say `predict` int → string) is read as text in every segment."""
    import pyarrow as pa

    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        conflicts = _conflicting_fields(tables)
        return pa.concat_tables([_as_text(t, conflicts) for t in tables], promote_options="permissive")


def _conflicting_fields(tables: list[pa.Table]) -> set[tuple[str, str]]:

    seen: dict[tuple[str, str], pa.Field] = {}
    conflicts: set[tuple[str, str]] = set()
    for table in tables:
        for column in ("inputs", "outputs"):
            if column not in table.column_names:
                continue
            for child in table.schema.field(column).type:
                key = (column, child.name)
                if key in seen and not _compatible(seen[key], child):
                    conflicts.add(key)
                seen.setdefault(key, child)
    return conflicts


def _compatible(a: pa.Field, b: pa.Field) -> bool:
    import pyarrow as pa

    try:
        pa.unify_schemas([pa.schema([a]), pa.schema([b])], promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return False
    return True


def _as_text(table: pa.Table, conflicts: set[tuple[str, str]]) -> pa.Table:
    import pyarrow as pa

    for column in ("inputs", "outputs"):
        names = [c.name for c in table.schema.field(column).type] if column in table.column_names else []
        if not any((column, n) in conflicts for n in names):
            continue
        struct = table.column(column).combine_chunks()
        children = [
            _text(struct.field(i)) if (column, n) in conflicts else struct.field(i) for i, n in enumerate(names)
        ]
        rebuilt = pa.StructArray.from_arrays(children, names=names)
        table = table.set_column(table.column_names.index(column), column, rebuilt)
    return table


def _text(values: pa.Array) -> pa.Array:
    import pyarrow as pa

    try:
        return values.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], type=pa.string())


def _with_filter_columns(columns: list[str] | None) -> list[str] | None:
    if columns is None:
        return None
    return list(dict.fromkeys([*columns, "time", "request_id", "row", "version", "arm", "shadow"]))


def _segments(fs: AbstractFileSystem, root: str, model: str, start: datetime, end: datetime) -> list[str]:
    # Three listings narrow it down (dates of the model, hours of a date, files of an hour), so a
    # window costs a request per touched date and hour on S3, never a walk of the whole log.
    hours = [hour_of(h) for h in hours_between(start, end)]
    dates = _children(fs, f"{root}/model={model}", "date=")
    paths: list[str] = []
    for date in sorted({f"{h:%Y-%m-%d}" for h in hours} & dates):
        present = _children(fs, f"{root}/model={model}/date={date}", "hour=")
        for hour in hours:
            if f"{hour:%Y-%m-%d}" == date and f"{hour:%H}" in present:
                paths.extend(sorted(p for p in fs.ls(partition_dir(root, model, hour), detail=False) if _is_segment(p)))
    return paths


def _children(fs: AbstractFileSystem, folder: str, prefix: str) -> set[str]:
    try:
        entries = fs.ls(folder, detail=False)
    except FileNotFoundError:
        return set()
    names = (str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries)
    return {n.removeprefix(prefix) for n in names if n.startswith(prefix)}


def _is_segment(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def _read_segment(fs: AbstractFileSystem, path: str, columns: list[str] | None) -> pa.Table:
    import pyarrow.parquet as pq

    with fs.open(path, "rb") as handle:
        file = pq.ParquetFile(handle)
        present = None if columns is None else [c for c in columns if c in file.schema_arrow.names]
        return file.read(columns=present)


def _empty(columns: list[str] | None) -> pa.Table:
    from .schema import base_schema

    schema = base_schema()
    table = schema.empty_table()
    return table.select([c for c in columns if c in schema.names]) if columns is not None else table


__all__ = ["read_log"]
