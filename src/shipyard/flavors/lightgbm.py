"""LightGBM boosters and scikit-learn wrappers, in LightGBM's own text format (no pickle).

The text file holds only the booster. A classifier wrapper also needs its `classes_` to turn
probabilities into labels, so they are kept in the saved details and the loaded model does
what `LGBMClassifier.predict` does: argmax over the class probabilities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency, UnsupportedModel
from ._files import bad_file, first_line, has_suffix
from ._imports import import_optional
from .base import LoadedModel, SavedModel, mro_names, package_versions, type_name

MODEL_FILE = "model.txt"
BOOSTER = "lightgbm.basic.Booster"
SKLEARN_BASE = "lightgbm.sklearn.LGBMModel"
CLASSIFIER = "lightgbm.sklearn.LGBMClassifier"


def _lightgbm() -> Any:
    return import_optional("lightgbm", feature="lightgbm flavor", extra="lightgbm")


class LightGBMModel:
    """A LightGBM booster: regressors, rankers and bare boosters predict its raw output."""

    flavor = "lightgbm"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def predict(self, data: Any) -> Any:
        return self.raw.predict(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(trees={self.raw.num_trees()})"


class LightGBMClassifierModel(LightGBMModel):
    """A booster trained by `LGBMClassifier`: labels from `classes`, probabilities one column per class."""

    def __init__(self, raw: Any, classes: np.ndarray[Any, Any]) -> None:
        super().__init__(raw)
        self.classes = classes

    def predict_proba(self, data: Any) -> np.ndarray[Any, Any]:
        scores = np.asarray(self.raw.predict(data))
        # Binary objectives give P(class 1) only; LGBMClassifier stacks the complement the same way.
        return np.column_stack([1.0 - scores, scores]) if scores.ndim == 1 else scores

    def predict(self, data: Any) -> Any:
        return self.classes[np.argmax(self.predict_proba(data), axis=1)]


class LightGBMFlavor:
    """`lightgbm.Booster` and the scikit-learn API models (`LGBMClassifier`, `LGBMRegressor`, …)."""

    name = "lightgbm"

    def can_save(self, obj: object) -> bool:
        names = mro_names(obj)
        return BOOSTER in names or SKLEARN_BASE in names

    def save(self, obj: object, path: Path) -> SavedModel:
        if not self.can_save(obj):
            raise UnsupportedModel(type_name(obj), [self.name])
        model: Any = obj
        names = mro_names(obj)
        booster = model.booster_ if SKLEARN_BASE in names else model
        booster.save_model(str(path / MODEL_FILE))
        details: dict[str, Any] = {"file": MODEL_FILE, "class": type_name(obj), "classes": None}
        if CLASSIFIER in names:
            details["classes"] = np.asarray(model.classes_).tolist()
        return SavedModel(self.name, "lightgbm-txt", False, package_versions("lightgbm", "numpy"), details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        file = path / str(saved.details.get("file", MODEL_FILE))
        booster = _lightgbm().Booster(model_file=str(file))
        classes = saved.details.get("classes")
        if isinstance(classes, list):
            return LightGBMClassifierModel(booster, np.asarray(classes))
        return LightGBMModel(booster)

    def can_read_file(self, path: Path) -> bool:
        return has_suffix(path, ".txt") and first_line(path) == "tree"

    def read_file(self, path: Path) -> object:
        """Read a model file written by `Booster.save_model` (text whose first line is "tree")."""
        if not self.can_read_file(path):
            raise bad_file(path, "expected a LightGBM model .txt file (its first line is 'tree')")
        try:
            return _lightgbm().Booster(model_file=str(path))
        except MissingDependency:
            raise
        except Exception as exc:  # LightGBMError for damaged files
            raise bad_file(path, f"cannot be read as a LightGBM model ({type(exc).__name__}: {exc})") from exc


__all__ = ["LightGBMClassifierModel", "LightGBMFlavor", "LightGBMModel"]
