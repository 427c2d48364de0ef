"""Model flavors: one module per kind of model, each saving, loading and predicting it.

`flavor_for(model)` picks the flavor for a Python object, `flavor_for_file(path)` the one for a
file given to the CLI, and `get_flavor(name)` the one recorded with a registered version.
Importing this package imports no framework: each flavor imports its own when it is used.

    >>> flavor = flavor_for(model)            # e.g. SklearnFlavor
    >>> saved = flavor.save(model, folder)    # folder is empty
    >>> flavor.load(folder, saved, allow_pickle=True).predict(X)
"""

from __future__ import annotations

from pathlib import Path

from ..errors import NotFound, UnsupportedModel, ValidationFailed, closest
from .base import Flavor, LoadedModel, SavedModel, type_name
from .lightgbm import LightGBMFlavor
from .mlflow import MlflowFlavor, MlflowModelDir, mlflow_signature_columns, read_mlflow_model
from .onnx import OnnxFlavor
from .pyfunc import PythonFlavor
from .sklearn import SklearnFlavor
from .torch import NOT_SCRIPTED_HINT, TorchFlavor, is_plain_module
from .xgboost import XGBoostFlavor

FLAVORS: tuple[Flavor, ...] = (
    XGBoostFlavor(),
    LightGBMFlavor(),
    OnnxFlavor(),
    TorchFlavor(),
    SklearnFlavor(),
    MlflowFlavor(),
    PythonFlavor(),
)
"""Every flavor, most specific first: XGBoost and LightGBM wrappers are also sklearn estimators,
and almost anything has a `predict`, so the python flavor comes last."""

_FILE_KINDS = (
    ".skops/.pkl/.pickle/.joblib (sklearn), .ubj/.json (xgboost), .txt (lightgbm), .onnx, "
    ".pt/.pth (TorchScript), .pt2 (torch.export), or an MLflow model folder"
)


def flavor_names() -> list[str]:
    """The names of all flavors, in the order they are tried."""
    return [flavor.name for flavor in FLAVORS]


def flavor_for(obj: object) -> Flavor:
    """The first flavor that can save `obj`; `UnsupportedModel` (listing the flavors) if none can."""
    for flavor in FLAVORS:
        if flavor.can_save(obj):
            return flavor
    raise UnsupportedModel(type_name(obj), flavor_names(), NOT_SCRIPTED_HINT if is_plain_module(obj) else None)


def get_flavor(name: str) -> Flavor:
    """The flavor called `name` (as recorded in `SavedModel.flavor`); `NotFound` with suggestions if none."""
    for flavor in FLAVORS:
        if flavor.name == name:
            return flavor
    hint = closest(name, flavor_names())
    suggestion = f" Did you mean {', '.join(hint)}?" if hint else ""
    raise NotFound(f"There is no flavor {name!r}.{suggestion} Known flavors: {', '.join(flavor_names())}.")


def flavor_for_file(path: Path) -> Flavor:
    """The flavor that reads the file or folder at `path`; `ValidationFailed` on field "path" if none does."""
    if not path.exists():
        raise ValidationFailed([("path", f"{path} does not exist")])
    for flavor in FLAVORS:
        if flavor.can_read_file(path):
            return flavor
    raise ValidationFailed([("path", f"{path} is not a model file Shipyard can read. Supported: {_FILE_KINDS}.")])


__all__ = [
    "FLAVORS",
    "Flavor",
    "LightGBMFlavor",
    "LoadedModel",
    "MlflowFlavor",
    "MlflowModelDir",
    "OnnxFlavor",
    "PythonFlavor",
    "SavedModel",
    "SklearnFlavor",
    "TorchFlavor",
    "XGBoostFlavor",
    "flavor_for",
    "flavor_for_file",
    "flavor_names",
    "get_flavor",
    "mlflow_signature_columns",
    "read_mlflow_model",
]
