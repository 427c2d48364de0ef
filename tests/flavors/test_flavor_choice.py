from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import pytest
import skops.io
import torch
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard.flavors
from shipyard.errors import NotFound, UnsupportedModel, ValidationFailed
from shipyard.flavors import FLAVORS, flavor_for, flavor_for_file, flavor_names, get_flavor

from .conftest import Dataset

pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

X = np.arange(20, dtype=np.float64).reshape(10, 2)
Y = np.arange(10, dtype=np.float64)


class WithPredict:
    def predict(self, data: Any) -> Any:
        return data


def _torchscript() -> Any:
    return torch.jit.script(torch.nn.Linear(2, 1))


MODELS: dict[str, Callable[[], object]] = {
    "sklearn": lambda: make_pipeline(StandardScaler(), LinearRegression()).fit(X, Y),
    "xgboost": lambda: xgb.XGBRegressor(n_estimators=2).fit(X, Y),
    "lightgbm": lambda: lgb.LGBMRegressor(n_estimators=2, min_child_samples=1, verbose=-1).fit(X, Y),
    "onnx": lambda: to_onnx(LinearRegression().fit(X, Y), X[:1].astype(np.float32)),
    "torch": _torchscript,
    "python": WithPredict,
}


@pytest.mark.parametrize("expected", list(MODELS))
def test_flavor_for_picks_the_most_specific_flavor(expected: str) -> None:
    assert flavor_for(MODELS[expected]()).name == expected


def test_flavors_are_ordered_with_python_last() -> None:
    assert flavor_names() == ["xgboost", "lightgbm", "onnx", "torch", "sklearn", "mlflow", "python"]
    assert [f.name for f in FLAVORS][-1] == "python"


def test_an_unsupported_object_lists_every_flavor() -> None:
    with pytest.raises(UnsupportedModel) as info:
        flavor_for(42)
    assert info.value.obj_type == "builtins.int"
    assert info.value.supported == flavor_names()
    assert "sklearn, mlflow, python" in str(info.value) and "predict" in str(info.value)


def test_get_flavor_by_name() -> None:
    assert all(get_flavor(name).name == name for name in flavor_names())
    with pytest.raises(NotFound, match="Did you mean sklearn"):
        get_flavor("sklaern")


def _write_files(folder: Path, diabetes: Dataset) -> dict[str, Path]:
    Xd, yd = diabetes
    paths = {
        "sklearn": folder / "model.skops",
        "xgboost": folder / "model.ubj",
        "lightgbm": folder / "model.txt",
        "onnx": folder / "model.onnx",
        "torch": folder / "model.pt",
    }
    skops.io.dump(LinearRegression().fit(Xd, yd), paths["sklearn"])
    xgb.XGBRegressor(n_estimators=2).fit(Xd, yd).save_model(paths["xgboost"])
    lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(Xd, yd).booster_.save_model(str(paths["lightgbm"]))
    onnx.save_model(to_onnx(LinearRegression().fit(X, Y), X[:1].astype(np.float32)), str(paths["onnx"]))
    torch.jit.save(_torchscript(), str(paths["torch"]))
    return paths


def test_flavor_for_file_and_back_to_flavor_for(tmp_path: Path, diabetes: Dataset) -> None:
    for expected, path in _write_files(tmp_path, diabetes).items():
        flavor = flavor_for_file(path)
        assert flavor.name == expected, path
        assert flavor_for(flavor.read_file(path)).name == expected, path


def test_flavor_for_file_refuses_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="does not exist"):
        flavor_for_file(tmp_path / "nope.pkl")
    path = tmp_path / "data.csv"
    path.write_text("a,b\n")
    with pytest.raises(ValidationFailed, match="MLflow model folder") as info:
        flavor_for_file(path)
    assert info.value.problems[0][0] == "path"
    with pytest.raises(ValidationFailed):
        flavor_for_file(tmp_path)  # a folder without MLmodel


def test_importing_flavors_imports_no_framework() -> None:
    heavy = ["torch", "xgboost", "lightgbm", "onnx", "onnxruntime", "mlflow"]
    script = (
        f"import sys, shipyard.flavors; print(__import__('json').dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_public_api_is_exactly_this() -> None:
    assert sorted(shipyard.flavors.__all__) == [
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
