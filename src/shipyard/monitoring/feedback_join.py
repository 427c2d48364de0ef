"""Labels joined with logged predictions, and the quality figures of each version and time window.

    frame = labelled_window(db, settings.resolved_log_url, "churn", since="7d")
    # one row per labelled prediction: the input features, `label`, `prediction`, `version`, `time`
    windows = quality_windows(db, settings.resolved_log_url, "churn", since="1d", window="1h")

The join happens here, at query time, so feedback may arrive late (hours or days after the
prediction) or twice (the later label wins, see `feedback`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import ValidationFailed
from ..store import Database
from .feedback import labels_since
from .predlog.layout import parse_duration, parse_time
from .predlog.reader import read_log
from .quality import Task, quality_metrics

if TYPE_CHECKING:
    import pandas as pd

_CLOCK_SKEW = timedelta(hours=1)
META = ("request_id", "row", "time", "version", "arm")


def labelled_window(
    db: Database,
    log_location: str,
    model: str,
    since: datetime | str | float,
    until: datetime | str | float | None = None,
    version: int | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The predictions of `model` logged in [since, until) that have a label: one row per labelled row,
    with the logged input features as columns, `label`, `prediction` (the logged `predict`), the
    `predict_proba` list when it was logged, and `request_id`, `row`, `time`, `version`, `arm`.

    Shadow answers are left out (their callers never saw them). Empty (with those columns) when
    nothing is labelled yet.
    """
    import pandas as pd

    start, end = parse_time(since, field="since"), parse_time(until, field="until")
    table = read_log(log_location, model, start, end, version=version, storage_options=storage_options)
    labels = labels_since(db, model, start - _CLOCK_SKEW)
    if table.num_rows == 0 or not labels:
        return pd.DataFrame(columns=[*META, "label", "prediction"])
    feedback = pd.DataFrame(labels, columns=["request_id", "row", "label", "received_at"]).drop(columns="received_at")
    logged = _flatten(table)
    # many_to_one: a client may reuse its own request ids; each label then applies to every such row.
    joined = logged.merge(feedback, on=["request_id", "row"], how="inner", validate="many_to_one")
    return joined.reset_index(drop=True)


def _flatten(table: Any) -> pd.DataFrame:
    import pandas as pd

    frame = table.select(list(META)).to_pandas()
    inputs = table.column("inputs").combine_chunks()
    for i, field in enumerate(inputs.type):
        if field.name in frame.columns or field.name in ("label", "prediction"):
            continue  # a feature named like a column of ours keeps ours; the log still has it under inputs
        frame[field.name] = inputs.field(i).to_pandas()
    outputs = table.column("outputs").combine_chunks()
    names = [f.name for f in outputs.type]
    if "predict" in names:
        frame["prediction"] = outputs.field(names.index("predict")).to_pandas()
    if "predict_proba" in names:
        frame["predict_proba"] = outputs.field(names.index("predict_proba")).to_pandas()
    return pd.DataFrame(frame)


@dataclass(frozen=True)
class QualityWindow:
    """Quality of one version over one time window (by prediction time)."""

    version: int
    start: datetime
    end: datetime
    task: str
    labelled: int
    metrics: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "task": self.task,
            "labelled": self.labelled,
            "metrics": self.metrics,
        }

    def __repr__(self) -> str:
        return f"QualityWindow(version={self.version}, start={self.start:%Y-%m-%d %H:%M}, labelled={self.labelled})"


def quality_windows(
    db: Database,
    log_location: str,
    model: str,
    since: datetime | str | float,
    until: datetime | str | float | None = None,
    window: str | float | None = None,
    version: int | None = None,
    task: Task | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> list[QualityWindow]:
    """Quality figures per version and per `window` ("1h", "1d"; None: the whole span) of labelled
    predictions. `task` is inferred when omitted: classification when probabilities were logged or
    predictions are not floats, else regression."""
    start, end = parse_time(since, field="since"), parse_time(until, field="until")
    step = parse_duration(window, field="window") if window is not None else end - start
    if (end - start) / step > 10_000:
        raise ValidationFailed([("window", f"{window} splits the span into more than 10,000 windows")])
    frame = labelled_window(db, log_location, model, start, end, version, storage_options=storage_options)
    results: list[QualityWindow] = []
    if frame.empty:
        return results
    kind = task or infer_task(frame)
    frame = frame.assign(_window=((frame["time"] - start) // step).astype("int64"))
    for key, part in frame.groupby(["version", "_window"], sort=True):
        ver, index = cast(tuple[int, int], key)
        lo = start + step * int(index)
        results.append(QualityWindow(int(ver), lo, min(lo + step, end), kind, len(part), score(kind, part)))
    return results


def infer_task(frame: pd.DataFrame) -> Task:
    if "predict_proba" in frame.columns and frame["predict_proba"].notna().any():
        return "classification"
    return "regression" if frame["prediction"].dtype.kind == "f" else "classification"


def score(task: Task, frame: pd.DataFrame) -> dict[str, float]:
    """`quality_metrics` of one labelled frame; probabilities are used when every row has them."""
    y_pred = frame["prediction"].to_numpy()
    y_true = _labels_like(frame["label"].to_numpy(), y_pred, task)
    scores = None
    if task == "classification" and "predict_proba" in frame.columns and frame["predict_proba"].notna().all():
        rows = frame["predict_proba"].tolist()
        if len({len(r) for r in rows}) == 1:
            scores = np.asarray([list(r) for r in rows], dtype=np.float64)
    try:
        return quality_metrics(task, y_true, y_pred, scores)
    except ValidationFailed:
        if scores is None:
            raise
        return quality_metrics(task, y_true, y_pred)  # probabilities whose classes cannot be told apart


def _labels_like(labels: Any, predictions: Any, task: Task) -> Any:
    """Labels in the predictions' type ("1" → 1 for an integer model), so they compare as they should."""
    target = np.asarray(predictions).dtype
    values = np.asarray(labels.tolist())
    if task == "regression" or target.kind in "biuf":
        try:
            return values.astype(np.float64 if task == "regression" else target)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                [("label", f"labels must be numbers like the model's predictions ({target}), got {values.dtype}")]
            ) from exc
    return np.asarray([str(v) if not isinstance(v, str) else v for v in labels.tolist()], dtype=object)


__all__ = ["QualityWindow", "infer_task", "labelled_window", "quality_windows", "score"]
