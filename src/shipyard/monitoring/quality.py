"""Quality of a model's answers against ground truth: the figures scikit-learn computes, made robust.

`quality_metrics` is a pure function over arrays; the feedback join (`monitoring.feedback_join`) feeds
it a labelled window, the API/CLI print it and the metrics exporter turns it into gauges.

Classification conventions (documented in docs/monitoring.md):

- `precision`, `recall`, `f1` are *binary* (for the positive class) when at most two classes are known,
  *macro* averages otherwise. The positive class is the last of `labels` when given, else the largest
  of the sorted classes seen in `y_true` and `y_pred` (1 for 0/1, True for booleans, "yes" for no/yes).
- `roc_auc` needs scores and at least two classes in `y_true`: binary AUC of the positive class; for
  more classes the macro average of one-vs-rest AUCs over the classes present in `y_true` (equal to
  `roc_auc_score(..., multi_class="ovr")` when every class is present, defined when some are not).
- `log_loss` needs probabilities (rows summing to 1); a key is absent when its figure is undefined.

Every result also has `count`, the number of labelled rows the figures rest on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import ValidationFailed

Task = Literal["classification", "regression"]
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")


def quality_metrics(
    task: Task,
    y_true: Any,
    y_pred: Any,
    y_score: Any = None,
    labels: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Quality figures of predictions `y_pred` (and scores `y_score`) against ground truth `y_true`.

    `y_score` (classification only) is either the probability of the positive class (1-D) or one column
    per class (2-D, in the order of `labels`, as `predict_proba` gives them). Raises `ValidationFailed`
    naming the argument on empty, misshapen or non-finite input.

    >>> quality_metrics("regression", [1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["mae"]
    0.3333333333333333
    """
    truth, pred = _vector("y_true", y_true), _vector("y_pred", y_pred)
    if len(truth) != len(pred):
        raise ValidationFailed([("y_pred", f"has {len(pred)} values but y_true has {len(truth)}")])
    if task == "regression":
        return _regression(truth, pred)
    if task == "classification":
        return _classification(truth, pred, y_score, labels)
    raise ValidationFailed([("task", f"{task!r} is not 'classification' or 'regression'")])


def _vector(name: str, values: Any) -> NDArray[Any]:
    if values is None:
        raise ValidationFailed([(name, "is missing")])
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValidationFailed([(name, f"must be one value per row, got shape {array.shape}")])
    if len(array) == 0:
        raise ValidationFailed([(name, "is empty: there are no labelled rows to compute quality on")])
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValidationFailed([(name, f"has {int((~np.isfinite(array)).sum())} NaN or infinite values")])
    if array.dtype.kind == "O" and any(v is None or (isinstance(v, float) and math.isnan(v)) for v in array):
        raise ValidationFailed([(name, "has missing (None or NaN) values")])
    return array


def _numeric(name: str, array: NDArray[Any]) -> NDArray[np.float64]:
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed([(name, f"must be numbers for a regression model, got {array.dtype}")]) from exc


def _regression(truth: NDArray[Any], pred: NDArray[Any]) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    t, p = _numeric("y_true", truth), _numeric("y_pred", pred)
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValidationFailed([("y_true" if not np.isfinite(t).all() else "y_pred", "has NaN or infinite values")])
    result = {
        "count": float(len(t)),
        "mae": float(mean_absolute_error(t, p)),
        "rmse": float(math.sqrt(mean_squared_error(t, p))),
    }
    # R² divides by the variance of y_true: undefined on fewer than two rows (sklearn warns and gives NaN).
    if len(t) >= 2:
        result["r2"] = float(r2_score(t, p))
    return result


def _classes(truth: NDArray[Any], pred: NDArray[Any], labels: Sequence[Any] | None) -> list[Any]:
    if labels is not None:
        known = list(labels)
        if len(set(known)) != len(known) or not known:
            raise ValidationFailed([("labels", "must be a non-empty list of distinct classes")])
        missing = set(truth.tolist()) - set(known)
        if missing:
            raise ValidationFailed([("y_true", f"has classes not in labels: {sorted(map(str, missing))[:5]}")])
        return known
    try:
        return sorted(set(truth.tolist()) | set(pred.tolist()))
    except TypeError as exc:  # e.g. "1" and 1: feedback labels must have the predictions' type
        raise ValidationFailed(
            [("y_true", "mixes value types with y_pred (e.g. strings and numbers); send labels of the model's type")]
        ) from exc


def _classification(
    truth: NDArray[Any], pred: NDArray[Any], y_score: Any, labels: Sequence[Any] | None
) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    classes = _classes(truth, pred, labels)
    if len(classes) <= 2:
        average, pos_label = "binary", classes[-1]
    else:
        average, pos_label = "macro", 1
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth,
        pred,
        average=average,
        pos_label=pos_label,
        labels=classes if average == "macro" else None,
        zero_division=0.0,
    )
    result = {
        "count": float(len(truth)),
        "accuracy": float(accuracy_score(truth, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }
    if y_score is not None:
        result.update(_score_metrics(truth, _scores(y_score, len(truth)), classes, labels is not None))
    return result


def _scores(y_score: Any, rows: int) -> NDArray[np.float64]:
    try:
        scores = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed([("y_score", "must be numbers (probabilities)")]) from exc
    if scores.ndim not in (1, 2) or scores.shape[0] != rows:
        raise ValidationFailed([("y_score", f"must have one row per prediction ({rows}), got shape {scores.shape}")])
    if not np.isfinite(scores).all():
        raise ValidationFailed([("y_score", "has NaN or infinite values")])
    return scores


def _score_columns(scores: NDArray[np.float64], classes: list[Any], explicit: bool) -> list[Any]:
    """The class each column of a 2-D `scores` stands for."""
    width = scores.shape[1]
    if width == len(classes):
        return classes
    if not explicit and all(isinstance(c, (int, np.integer)) and 0 <= c < width for c in classes):
        return list(range(width))  # a model's classes 0..k-1, not all of them seen in this window
    raise ValidationFailed([("y_score", f"has {width} columns but there are {len(classes)} classes; pass labels")])


def _score_metrics(
    truth: NDArray[Any], scores: NDArray[np.float64], classes: list[Any], explicit: bool
) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    columns = [classes[0], classes[-1]] if scores.ndim == 1 else _score_columns(scores, classes, explicit)
    if scores.ndim == 1 and len(classes) > 2:
        raise ValidationFailed([("y_score", "is one column but there are more than two classes")])
    result: dict[str, float] = {}
    present = set(truth.tolist())
    if len(present) >= 2 and len(columns) >= 2:
        if scores.ndim == 1:
            result["roc_auc"] = float(roc_auc_score(truth == columns[-1], scores))
        elif len(columns) == 2:
            result["roc_auc"] = float(roc_auc_score(truth == columns[1], scores[:, 1]))
        else:
            aucs = [roc_auc_score(truth == c, scores[:, i]) for i, c in enumerate(columns) if c in present]
            result["roc_auc"] = float(np.mean(aucs))
    if len(columns) >= 2 and _are_probabilities(scores):
        result["log_loss"] = _log_loss(truth, scores, columns)
    return result


def _log_loss(truth: NDArray[Any], scores: NDArray[np.float64], columns: list[Any]) -> float:
    from sklearn.metrics import log_loss

    # sklearn reads probability columns in *sorted* class order; ours follow `labels` (or neg, pos).
    matrix = np.column_stack([1.0 - scores, scores]) if scores.ndim == 1 else scores
    order = sorted(range(len(columns)), key=lambda i: columns[i])
    return float(log_loss(truth, matrix[:, order], labels=[columns[i] for i in order]))


def _are_probabilities(scores: NDArray[np.float64]) -> bool:
    if scores.min() < 0 or scores.max() > 1:
        return False
    return scores.ndim == 1 or bool(np.allclose(scores.sum(axis=1), 1.0, atol=1e-6))


__all__ = ["CLASSIFICATION_METRICS", "REGRESSION_METRICS", "Task", "quality_metrics"]
