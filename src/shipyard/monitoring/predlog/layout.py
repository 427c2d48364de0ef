"""Where the prediction log lives: the store URL, hive partitions per model and hour, segment names.

    <log_url>/model=<name>/date=YYYY-MM-DD/hour=HH/<worker-id>-<seq>.parquet

Other features (drift, retraining, DuckDB users) read this layout directly; keep it stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...errors import ValidationFailed

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def open_filesystem(location: str, storage_options: Mapping[str, Any] | None = None) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem of `location` (a folder or a URL such as s3://bucket/prefix) and its root path."""
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(str(location), **dict(storage_options or {}))
    return fs, str(root).rstrip("/")


def check_model_name(model: str) -> str:
    if not isinstance(model, str) or not _MODEL_NAME.match(model):
        raise ValidationFailed([("model", f"{model!r} is not a model name (letters, digits, _ . -)")])
    return model


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def partition_dir(root: str, model: str, hour: datetime) -> str:
    hour = hour_of(hour)
    return f"{root}/model={model}/date={hour:%Y-%m-%d}/hour={hour:%H}"


def segment_name(worker: str, first_seq: int) -> str:
    """Derived from the WAL's writer and the first sequence number in it: converting the same WAL again
    writes the same names, so a conversion interrupted and redone never duplicates rows."""
    return f"{worker}-{first_seq:012d}.parquet"


def hours_between(since: datetime, until: datetime) -> Iterator[datetime]:
    hour = hour_of(since)
    while hour < until:
        yield hour
        hour += timedelta(hours=1)


def parse_time(value: datetime | str | float | None, *, field: str, now: datetime | None = None) -> datetime:
    """A point in time from a datetime, epoch seconds, an ISO 8601 string or a duration ago ("1h", "30m", "2d")."""
    now = now or datetime.now(UTC)
    if value is None:
        return now
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return now - timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
        try:
            return parse_time(datetime.fromisoformat(value.strip()), field=field)
        except ValueError:
            pass
    raise ValidationFailed(
        [(field, f"{value!r} is not a time: use a duration ago like 1h, 30m, 2d or an ISO time like 2026-11-23T10:00Z")]
    )


def parse_duration(value: str | float, *, field: str) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=float(value))
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match[1]) <= 0:
        raise ValidationFailed([(field, f"{value!r} is not a duration like 1h, 15m, 1d")])
    return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])


__all__ = [
    "check_model_name",
    "hour_of",
    "hours_between",
    "open_filesystem",
    "parse_duration",
    "parse_time",
    "partition_dir",
    "segment_name",
]
