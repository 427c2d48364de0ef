"""Champion against challenger on the same holdout: the figures of both, and whether the challenger wins.

`decide` is pure: given both figures of the deciding metric and the margin, it says yes or no and
why, in a sentence that goes into the run record as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RetrainFailed, ShipyardError
from ..monitoring.quality import Task, quality_metrics
from .policy import check_metric, higher_is_better

_NEEDS_SCORES = frozenset({"roc_auc", "log_loss"})


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reason: str
    improvement: float
    """How much better the challenger is on the metric (negative: worse), in the metric's units."""


def decide(metric: str, champion: float, challenger: float, margin: float, *, names: tuple[str, str]) -> Decision:
    """Accept the challenger only when it is better than the champion by more than 0 and at least `margin`.

    `names` label the two in the reason, e.g. ("v3", "v4").
    """
    sign = 1.0 if higher_is_better(metric) else -1.0
    improvement = (challenger - champion) * sign
    champ, chall = names
    figures = f"{metric} {challenger:.4f} for {chall} against {champion:.4f} for {champ}"
    if improvement > 0 and improvement >= margin:
        return Decision(True, f"better by {improvement:.4f}: {figures} (margin {margin:g})", improvement)
    if improvement > 0:
        return Decision(
            False,
            f"better by only {improvement:.4f}, under the margin {margin:g}: {figures}; {champ} stays",
            improvement,
        )
    if improvement == 0:
        return Decision(False, f"no better: {figures}; {champ} stays", improvement)
    return Decision(False, f"worse by {-improvement:.4f}: {figures}; {champ} stays", improvement)


def infer_task(model: Any, labels: pd.Series[Any]) -> Task:
    """Classification when the model has `predict_proba` or the labels are not numbers; else regression."""
    if callable(getattr(model, "predict_proba", None)):
        return "classification"
    kind = np.asarray(labels).dtype.kind
    return "regression" if kind in "fiu" else "classification"


def _classes(model: Any) -> list[Any] | None:
    raw = getattr(model, "raw", model)  # a flavor's loaded model wraps the framework's object
    classes = getattr(raw, "classes_", None)
    return list(classes) if classes is not None else None


def score(
    model: Any, who: str, features: pd.DataFrame, truth: pd.Series[Any], task: Task, metric: str
) -> dict[str, float]:
    """The quality figures of `model` on the holdout; RetrainFailed naming `who` when it cannot predict."""
    check_metric(metric, task)
    try:
        predictions = np.asarray(model.predict(features))
        scores = None
        predict_proba = getattr(model, "predict_proba", None)
        if metric in _NEEDS_SCORES and callable(predict_proba):
            scores = np.asarray(predict_proba(features))
    except Exception as exc:  # any framework error: the model cannot answer on this data
        raise RetrainFailed("evaluation", f"{who} cannot predict on the holdout: {type(exc).__name__}: {exc}") from exc
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    try:
        figures = quality_metrics(task, truth.to_numpy(), predictions, scores, _labels(model, scores))
    except ShipyardError as exc:
        raise RetrainFailed("evaluation", f"cannot score {who} on the holdout: {exc}") from exc
    if metric not in figures:
        raise RetrainFailed("evaluation", f"{metric} of {who} is undefined on this holdout (e.g. a single class)")
    return figures


def _labels(model: Any, scores: Any) -> list[Any] | None:
    classes = _classes(model)
    if scores is None or classes is None or np.ndim(scores) != 2 or np.shape(scores)[1] != len(classes):
        return None
    return classes


__all__ = ["Decision", "decide", "infer_task", "score"]
