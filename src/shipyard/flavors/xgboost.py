"""XGBoost boosters and scikit-learn wrappers, in XGBoost's own UBJSON format (no pickle).

A wrapper's `save_model` also stores its scikit-learn metadata (estimator type, classes), so
rebuilding the recorded wrapper class and calling `load_model` restores `predict` labels and
`predict_proba` exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import MissingDependency, UnsupportedModel, ValidationFailed
from ._files import bad_file, has_suffix
from ._imports import import_optional
from .base import LoadedModel, SavedModel, mro_names, package_versions, type_name
from .sklearn import wrap_estimator

MODEL_FILE = "model.ubj"
BOOSTER = "xgboost.core.Booster"
SKLEARN_BASE = "xgboost.sklearn.XGBModel"
# Only these classes are rebuilt from the name stored in the artifact.
WRAPPERS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")
_WRAPPER_FOR_TYPE = {"classifier": "XGBClassifier", "regressor": "XGBRegressor", "ranker": "XGBRanker"}


def _xgboost() -> Any:
    return import_optional("xgboost", feature="xgboost flavor", extra="xgboost")


class XGBoostBoosterModel:
    """A bare `xgboost.Booster`; predicts from a DataFrame or an array without building a DMatrix."""

    flavor = "xgboost"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def predict(self, data: Any) -> Any:
        # inplace_predict is thread-safe and skips the DMatrix copy.
        return self.raw.inplace_predict(data)

    def __repr__(self) -> str:
        return f"XGBoostBoosterModel(features={self.raw.num_features()})"


def _wrapper_name(obj: object) -> str | None:
    """The xgboost wrapper class `obj` is (or derives from), None for a bare Booster."""
    for cls in type(obj).__mro__:
        if cls.__module__.startswith("xgboost.") and cls.__name__ in WRAPPERS:
            return cls.__name__
    return None


def _wrapper_from_booster(booster: Any) -> str | None:
    """The wrapper class a saved file came from, read from the metadata the wrapper writes."""
    meta = booster.attr("scikit_learn")
    if not meta:
        return None
    return _WRAPPER_FOR_TYPE.get(json.loads(meta).get("_estimator_type", ""))


def _load_file(file: Path, wrapper: str | None) -> Any:
    xgboost = _xgboost()
    if wrapper is None:
        booster = xgboost.Booster()
        booster.load_model(file)
        return booster
    if wrapper not in WRAPPERS:
        raise ValidationFailed([("details.sklearn_class", f"{wrapper!r} is not one of {', '.join(WRAPPERS)}")])
    model = getattr(xgboost, wrapper)()
    model.load_model(file)
    return model


class XGBoostFlavor:
    """`xgboost.Booster` and the scikit-learn API models (`XGBClassifier`, `XGBRegressor`, …)."""

    name = "xgboost"

    def can_save(self, obj: object) -> bool:
        names = mro_names(obj)
        return BOOSTER in names or SKLEARN_BASE in names

    def save(self, obj: object, path: Path) -> SavedModel:
        if not self.can_save(obj):
            raise UnsupportedModel(type_name(obj), [self.name])
        wrapper = _wrapper_name(obj)
        model: Any = obj  # Booster and XGBModel both have save_model
        model.save_model(path / MODEL_FILE)
        requirements = package_versions("xgboost", "xgboost-cpu", "numpy")
        if wrapper is not None:
            requirements.update(package_versions("scikit-learn"))
        details: dict[str, Any] = {"file": MODEL_FILE, "sklearn_class": wrapper, "class": type_name(obj)}
        return SavedModel(self.name, "xgboost-ubj", False, requirements, details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        wrapper = saved.details.get("sklearn_class")
        model = _load_file(path / str(saved.details.get("file", MODEL_FILE)), str(wrapper) if wrapper else None)
        return XGBoostBoosterModel(model) if wrapper is None else wrap_estimator(model, self.name)

    def can_read_file(self, path: Path) -> bool:
        if has_suffix(path, ".ubj"):
            with path.open("rb") as file:
                return file.read(1) == b"{"  # a UBJSON document is an object
        return has_suffix(path, ".json") and _is_xgboost_json(path)

    def read_file(self, path: Path) -> object:
        """Read a `.ubj` or `.json` file written by `save_model`; wrapper files come back as their wrapper."""
        if not self.can_read_file(path):
            raise bad_file(path, "expected an XGBoost model saved as .ubj or .json (with a 'learner' section)")
        try:
            booster = _load_file(path, None)
            wrapper = _wrapper_from_booster(booster)
            return booster if wrapper is None else _load_file(path, wrapper)
        except MissingDependency:
            raise
        except Exception as exc:  # XGBoostError for damaged files
            raise bad_file(path, f"cannot be read as an XGBoost model ({type(exc).__name__}: {exc})") from exc


def _is_xgboost_json(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("learner"), dict)


__all__ = ["XGBoostBoosterModel", "XGBoostFlavor"]
