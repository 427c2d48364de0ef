"""The data a run trains and judges on: labelled rows from the prediction log and/or a dataset.

The window is one DataFrame: the model's feature columns, the label column and `TIME` (when each row
was seen; missing for dataset rows without a time column, which then count as older than any logged
row). `split_holdout` keeps its most recent rows out of training to compare champion and challenger.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ..errors import RetrainFailed, ShipyardError
from ..schema import fingerprint
from .policy import DataWindow, duration_seconds

TIME = "__time__"
"""The window's time column (a name no model input uses)."""
_TABLE_SUFFIXES = (".parquet", ".pq", ".csv")
_LOG_COLUMNS = ("label", "prediction", "version", "time", "request_id", "row", "arm", "shadow", "score")

LogWindow = Callable[[str, datetime, datetime], pd.DataFrame]
"""(model, since, until) → the logged predictions of `model` joined with their feedback (monitoring)."""


@dataclass(frozen=True)
class Window:
    frame: pd.DataFrame
    """Feature columns, the label column and `TIME`, oldest first."""
    features: tuple[str, ...]
    label: str
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.frame)

    def fingerprint(self) -> str:
        return fingerprint(self.frame[list(self.features)], target=self.frame[self.label]).sha256

    def describe(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "features": list(self.features),
            "label": self.label,
            "sources": self.sources,
            "fingerprint": self.fingerprint(),
        }


def read_dataset(uri: str, storage_options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A Parquet or CSV file, or every such file in a folder (in name order), local or at an fsspec URL.

    `storage_options` (s3fs arguments) are used for `s3://` URLs only."""
    from fsspec.core import url_to_fs

    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    options = dict(storage_options or {}) if scheme in ("s3", "s3a") else {}  # the s3 settings apply to S3 only
    try:
        fs, root = url_to_fs(uri, **options)
        if fs.isdir(root):
            files = sorted(p for p in fs.find(root) if str(p).lower().endswith(_TABLE_SUFFIXES))
            if not files:
                raise RetrainFailed("data window", f"{uri} holds no .parquet or .csv files")
        elif fs.exists(root):
            files = [root]
        else:
            raise RetrainFailed("data window", f"the dataset {uri} does not exist")
        frames = [_read_table(fs, str(path)) for path in files]
    except ShipyardError:
        raise
    except (OSError, ValueError, ImportError) as exc:  # unreachable store, unreadable file, missing s3fs
        raise RetrainFailed("data window", f"cannot read the dataset {uri}: {type(exc).__name__}: {exc}") from exc
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_table(fs: Any, path: str) -> pd.DataFrame:
    with fs.open(path, "rb") as handle:
        if path.lower().endswith(".csv"):
            return pd.read_csv(handle)
        if path.lower().endswith((".parquet", ".pq")):
            return pd.read_parquet(handle)
    raise RetrainFailed("data window", f"{path} is neither .parquet nor .csv")


def dataset_part(frame: pd.DataFrame, spec: DataWindow, features: Sequence[str], uri: str) -> pd.DataFrame:
    """The dataset's features, label and time, checked: every column there, no missing labels."""
    wanted = [*features, spec.label, *([spec.time_column] if spec.time_column else [])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise RetrainFailed(
            "data window", f"the dataset {uri} lacks the columns {missing}; it has {list(frame.columns)[:20]}"
        )
    part = frame[[*features, spec.label]].copy()
    if spec.time_column:
        part[TIME] = _as_utc(frame[spec.time_column], spec.time_column)
    else:
        part[TIME] = pd.Series(pd.NaT, index=part.index, dtype="datetime64[us, UTC]")
    return part


def log_part(logged: pd.DataFrame, features: Sequence[str], label: str) -> pd.DataFrame:
    """Labelled predictions from the log: their inputs, ground truth (renamed to `label`) and time."""
    missing = [c for c in [*features, "label", "time"] if c not in logged.columns]
    if missing:
        raise RetrainFailed("data window", f"the prediction log lacks the columns {missing}")
    part = logged[list(features)].copy()
    part[label] = _labels_like_predictions(logged)
    part[TIME] = _as_utc(logged["time"], "time")
    return part


def _labels_like_predictions(logged: pd.DataFrame) -> Any:
    """Feedback labels are JSON values ("1", 1, true…): give them the predictions' type where it is numeric."""
    labels = logged["label"]
    if "prediction" not in logged.columns or logged["prediction"].dtype.kind not in "biuf":
        return labels.to_numpy()
    try:
        return labels.astype(logged["prediction"].dtype).to_numpy()
    except (TypeError, ValueError) as exc:
        raise RetrainFailed(
            "data window", f"feedback labels are not numbers like the predictions ({logged['prediction'].dtype})"
        ) from exc


def _as_utc(column: pd.Series[Any], name: str) -> pd.Series[Any]:
    try:
        return pd.to_datetime(column, utc=True).astype("datetime64[us, UTC]")
    except (ValueError, TypeError) as exc:
        raise RetrainFailed("data window", f"column {name!r} does not hold times: {exc}") from exc


def default_features(spec: DataWindow, signature: Mapping[str, Any] | None, columns: Sequence[str]) -> tuple[str, ...]:
    """The policy's features, else the production version's signature inputs, else every other column."""
    if spec.features:
        return tuple(spec.features)
    inputs = (signature or {}).get("inputs") or []
    names = [str(i["name"]) for i in inputs if isinstance(i, Mapping) and "name" in i]
    if names:
        return tuple(names)
    skip = {spec.label, spec.time_column, *_LOG_COLUMNS}
    return tuple(c for c in map(str, columns) if c not in skip)


def build_window(
    spec: DataWindow,
    *,
    model: str,
    signature: Mapping[str, Any] | None,
    now: datetime,
    log_window: LogWindow | None,
    storage_options: Mapping[str, Any] | None = None,
) -> Window:
    """Gather the policy's sources into one window, oldest first, without rows lacking a label."""
    parts: list[pd.DataFrame] = []
    sources: list[dict[str, Any]] = []
    dataset = read_dataset(spec.dataset, storage_options) if spec.dataset else None
    logged: pd.DataFrame | None = None
    if spec.log_period is not None:
        if log_window is None:
            raise RetrainFailed("data window", "the prediction log is not configured here (monitoring.log_url)")
        since = now - timedelta(seconds=duration_seconds(spec.log_period))
        logged = log_window(model, since, now)
        sources.append({"kind": "log", "since": since.isoformat(), "until": now.isoformat(), "rows": len(logged)})
    columns = list((dataset if dataset is not None else logged if logged is not None else pd.DataFrame()).columns)
    features = default_features(spec, signature, columns)
    if not features:
        raise RetrainFailed("data window", "no feature columns: set data.features in the policy")
    if dataset is not None and spec.dataset is not None:
        parts.append(dataset_part(dataset, spec, features, spec.dataset))
        sources.insert(0, {"kind": "dataset", "uri": spec.dataset, "rows": len(parts[-1])})
    if logged is not None and len(logged):
        parts.append(log_part(logged, features, spec.label))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*features, spec.label, TIME])
    frame = frame[frame[spec.label].notna()]
    frame = frame.sort_values(TIME, kind="stable", na_position="first").reset_index(drop=True)
    if len(frame) < spec.min_rows:
        found = ", ".join(f"{s['rows']} from the {s['kind']}" for s in sources) or "none"
        raise RetrainFailed(
            "data window", f"{len(frame)} labelled rows ({found}), fewer than data.min_rows = {spec.min_rows}"
        )
    return Window(frame, features, spec.label, sources)


def split_holdout(window: Window, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): the holdout is the most recent `fraction` of the rows (at least one each)."""
    holdout_rows = max(1, math.ceil(window.rows * fraction))
    if holdout_rows >= window.rows:
        raise RetrainFailed("data window", f"{window.rows} rows are too few to keep a holdout of {fraction:.0%}")
    frame = window.frame
    return frame.iloc[: window.rows - holdout_rows], frame.iloc[window.rows - holdout_rows :]


__all__ = [
    "TIME",
    "LogWindow",
    "Window",
    "build_window",
    "dataset_part",
    "default_features",
    "log_part",
    "read_dataset",
    "split_holdout",
]
