"""quality_metrics equals scikit-learn's figures on the same data, and refuses bad input by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics

from shipyard.errors import ValidationFailed
from shipyard.monitoring.quality import quality_metrics

RNG = np.random.default_rng(7)


def test_binary_classification_equals_sklearn() -> None:
    y = RNG.integers(0, 2, 300)
    p = np.clip(y * 0.3 + RNG.random(300) * 0.7, 0, 1)
    pred = (p > 0.5).astype(int)
    got = quality_metrics("classification", y, pred, p)
    assert got["count"] == 300
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred), abs=1e-12)
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p), abs=1e-12)
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, p), abs=1e-12)


def test_two_probability_columns_equal_one() -> None:
    y = RNG.integers(0, 2, 100)
    p = RNG.random(100)
    two = np.column_stack([1 - p, p])
    pred = (p > 0.5).astype(int)
    assert quality_metrics("classification", y, pred, two) == pytest.approx(
        quality_metrics("classification", y, pred, p)
    )


def test_multiclass_is_macro_and_equals_sklearn() -> None:
    y = RNG.integers(0, 3, 400)
    proba = RNG.dirichlet([1, 1, 1], 400)
    pred = proba.argmax(axis=1)
    got = quality_metrics("classification", y, pred, proba)
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred, average="macro"), abs=1e-12)
    assert got["precision"] == pytest.approx(metrics.precision_score(y, pred, average="macro"), abs=1e-12)
    assert got["recall"] == pytest.approx(metrics.recall_score(y, pred, average="macro"), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, proba), abs=1e-12)


def test_string_classes_with_labels_in_model_order() -> None:
    y = np.array(["yes", "no", "no", "yes", "no"])
    pred = np.array(["yes", "no", "yes", "yes", "no"])
    # columns in the model's order, which is not sorted order: the figures must not depend on it
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9]])
    got = quality_metrics("classification", y, pred, proba, labels=["yes", "no"])
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, proba[:, ::-1], labels=["no", "yes"]), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(metrics.roc_auc_score(y == "no", proba[:, 1]), abs=1e-12)
    assert got["f1"] == pytest.approx(metrics.f1_score(y, pred, pos_label="no"), abs=1e-12)


def test_a_single_class_gives_what_is_defined() -> None:
    got = quality_metrics("classification", [1, 1, 1], [1, 0, 1], [0.9, 0.2, 0.8])
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert "roc_auc" not in got  # undefined with one class in y_true


def test_window_missing_a_class_keeps_auc_over_present_classes() -> None:
    y = np.array([0, 1, 0, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]])
    got = quality_metrics("classification", y, proba.argmax(axis=1), proba)
    assert got["roc_auc"] == pytest.approx(1.0)
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, proba, labels=[0, 1, 2]), abs=1e-12)


def test_scores_that_are_not_probabilities_give_no_log_loss() -> None:
    got = quality_metrics("classification", [0, 1, 0, 1], [0, 1, 0, 1], [-2.0, 3.0, -1.0, 0.5])
    assert got["roc_auc"] == 1.0 and "log_loss" not in got


def test_regression_equals_sklearn() -> None:
    y = RNG.normal(size=200)
    pred = y + RNG.normal(scale=0.3, size=200)
    got = quality_metrics("regression", y, pred)
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, pred), abs=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, pred)), abs=1e-12)
    assert got["r2"] == pytest.approx(metrics.r2_score(y, pred), abs=1e-12)


def test_one_regression_row_has_no_r2() -> None:
    assert quality_metrics("regression", [2.0], [3.0]) == {"count": 1.0, "mae": 1.0, "rmse": 1.0}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("classification", [], []), "y_true"),
        (("classification", [1, 0], [1]), "y_pred"),
        (("regression", [1.0, float("nan")], [1.0, 2.0]), "y_true"),
        (("regression", [1.0, 2.0], [1.0, float("inf")]), "y_pred"),
        (("regression", ["a", "b"], [1.0, 2.0]), "y_true"),
        (("classification", ["1", "0"], [1, 0]), "y_true"),
        (("classification", [1, None], [1, 0]), "y_true"),
        (("classification", [[1, 2], [3, 4]], [1, 0]), "y_true"),
        (("classification", [1, 0], [1, 0], [0.5]), "y_score"),
        (("classification", [1, 0], [1, 0], [0.5, float("nan")]), "y_score"),
        (("classification", [1, 0, 2], [1, 0, 2], [0.1, 0.2, 0.3]), "y_score"),
        (("classification", [1, 0], [1, 0], None, [1, 1]), "labels"),
        (("classification", [1, 3], [1, 0], None, [0, 1]), "y_true"),
        (("clustering", [1], [1]), "task"),
    ],
)
def test_bad_input_names_the_argument(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        quality_metrics(*args)
    assert info.value.problems[0][0] == field
