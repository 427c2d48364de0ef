"""Which model answered a request: found by its id in the recent prediction log (for feedback that
does not say). It reads only the `request_id` column of the window's segments, of every model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .layout import open_filesystem
from .reader import read_log


def models_in_log(location: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    fs, root = open_filesystem(location, storage_options)
    try:
        entries = fs.ls(root, detail=False)
    except FileNotFoundError:
        return []
    names = (str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries)
    return sorted(n.removeprefix("model=") for n in names if n.startswith("model="))


def find_models(
    location: str,
    request_ids: Sequence[str],
    since: datetime | str | float,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """request id → model, for the ids logged since `since` (ids not found are absent)."""
    wanted = set(request_ids)
    found: dict[str, str] = {}
    for model in models_in_log(location, storage_options):
        table = read_log(
            location, model, since, include_shadow=False, columns=["request_id"], storage_options=storage_options
        )
        for request_id in set(table.column("request_id").to_pylist()) & wanted:
            found.setdefault(request_id, model)
        if len(found) == len(wanted):
            break
    return found


__all__ = ["find_models", "models_in_log"]
