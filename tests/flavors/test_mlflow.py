from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mlflow.models
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.model import PythonModel
from sklearn.linear_model import LogisticRegression

from shipyard.errors import MissingDependency, PickleRefused, UnsupportedModel, ValidationFailed
from shipyard.flavors import MlflowFlavor, MlflowModelDir, flavor_for, mlflow_signature_columns, read_mlflow_model
from shipyard.flavors.mlflow import mlflow_requirements

from .conftest import Dataset, SaveTo

FLAVOR = MlflowFlavor()
SKLEARN_PIN = "scikit-learn==1.9.1"


class AddColumns(PythonModel):
    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return model_input.sum(axis=1)


@pytest.fixture(scope="module")
def logreg(iris: Dataset) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(*iris)


def _save_sklearn(model: Any, path: Path, X: Any, serialization_format: str) -> Path:
    # pip_requirements skips MLflow's requirement inference, which imports the model in a subprocess.
    signature = mlflow.models.infer_signature(X, model.predict(X))
    mlflow.sklearn.save_model(
        model, path, signature=signature, serialization_format=serialization_format, pip_requirements=[SKLEARN_PIN]
    )
    return path


@pytest.fixture(scope="module")
def pickled_dir(tmp_path_factory: pytest.TempPathFactory, logreg: LogisticRegression, iris: Dataset) -> Path:
    return _save_sklearn(logreg, tmp_path_factory.mktemp("mlflow") / "model", iris[0], "cloudpickle")


@pytest.fixture(scope="module")
def skops_dir(tmp_path_factory: pytest.TempPathFactory, logreg: LogisticRegression, iris: Dataset) -> Path:
    return _save_sklearn(logreg, tmp_path_factory.mktemp("mlflow") / "model", iris[0], "skops")


@pytest.fixture(scope="module")
def pyfunc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mlflow") / "model"
    mlflow.pyfunc.save_model(path, python_model=AddColumns(), pip_requirements=["numpy==2.0.0", "pandas>=2.2"])
    return path


def test_read_mlflow_model(pickled_dir: Path, iris: Dataset) -> None:
    model = read_mlflow_model(pickled_dir)
    assert {"sklearn", "python_function"} <= set(model.flavors)
    assert model.loader == "sklearn" and model.run_id is None and model.mlflow_version
    assert model.signature is not None and isinstance(model.signature["inputs"], list)
    assert read_mlflow_model(pickled_dir / "MLmodel").path == pickled_dir
    assert "sklearn" in repr(model)


def test_signature_columns(pickled_dir: Path, iris: Dataset) -> None:
    columns = mlflow_signature_columns(read_mlflow_model(pickled_dir))
    assert [c["name"] for c in columns] == list(iris[0].columns)
    assert {(c["type"], c["dtype"], c["required"]) for c in columns} == {("double", "float64", True)}


def test_signature_columns_for_tensors_and_no_signature(tmp_path: Path, iris: Dataset, pyfunc_dir: Path) -> None:
    X = iris[0].to_numpy().astype(np.float32)
    path = tmp_path / "tensor"
    mlflow.sklearn.save_model(
        LogisticRegression(max_iter=500).fit(X, iris[1]),
        path,
        signature=mlflow.models.infer_signature(X),
        pip_requirements=[SKLEARN_PIN],
    )
    [column] = mlflow_signature_columns(path)
    assert (column["type"], column["dtype"], column["shape"]) == ("tensor", "float32", [-1, 4])
    assert mlflow_signature_columns(pyfunc_dir) == []


def test_pickled_sklearn_model_round_trip(save_to: SaveTo, pickled_dir: Path, logreg: Any, iris: Dataset) -> None:
    X, _ = iris
    folder, saved = save_to(read_mlflow_model(pickled_dir))
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("mlflow", "mlflow", True)
    assert saved.details["loader"] == "sklearn" and saved.details["serialization_format"] == "cloudpickle"
    assert saved.requirements["scikit-learn"] == "1.9.1" and "mlflow" in saved.requirements
    with pytest.raises(PickleRefused):
        FLAVOR.load(folder, saved)
    loaded: Any = FLAVOR.load(folder, saved, allow_pickle=True)
    assert loaded.flavor == "mlflow"
    np.testing.assert_array_equal(loaded.predict(X), logreg.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), logreg.predict_proba(X))


def test_skops_sklearn_model_needs_no_pickle(save_to: SaveTo, skops_dir: Path, logreg: Any, iris: Dataset) -> None:
    folder, saved = save_to(read_mlflow_model(skops_dir))
    assert not saved.uses_pickle
    loaded = FLAVOR.load(folder, saved)
    np.testing.assert_array_equal(loaded.predict(iris[0]), logreg.predict(iris[0]))


def test_python_function_model_loads_through_mlflow(save_to: SaveTo, pyfunc_dir: Path) -> None:
    folder, saved = save_to(read_mlflow_model(pyfunc_dir))
    assert saved.details["loader"] == "python_function" and saved.uses_pickle
    assert saved.requirements["numpy"] == "2.0.0" and saved.requirements["pandas"] == ">=2.2"
    assert "mlflow" in saved.requirements  # MLflow adds itself: it is the loader
    loaded = FLAVOR.load(folder, saved, allow_pickle=True)
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    np.testing.assert_allclose(loaded.predict(frame), [4.0, 6.0])
    assert not hasattr(loaded, "predict_proba")


def test_python_function_without_mlflow_names_the_extra(
    save_to: SaveTo, pyfunc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, saved = save_to(read_mlflow_model(pyfunc_dir))
    monkeypatch.setitem(sys.modules, "mlflow.pyfunc", None)  # makes `import mlflow.pyfunc` fail
    with pytest.raises(MissingDependency, match=r"shipyard\[mlflow\]"):
        FLAVOR.load(folder, saved, allow_pickle=True)


def test_flavor_choice_and_file_detection(pickled_dir: Path) -> None:
    model = read_mlflow_model(pickled_dir)
    assert flavor_for(model).name == "mlflow"
    assert FLAVOR.can_read_file(pickled_dir) and FLAVOR.can_read_file(pickled_dir / "MLmodel")
    assert isinstance(FLAVOR.read_file(pickled_dir), MlflowModelDir)
    assert not FLAVOR.can_save(object())
    assert not FLAVOR.can_read_file(pickled_dir / "requirements.txt")


def test_requirements_from_conda_and_requirements_files(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n    sklearn_version: 1.5.0\n"
    )
    (tmp_path / "conda.yaml").write_text(
        "dependencies:\n- python=3.11\n- pip:\n  - pandas==2.2.0\n  - requests\n  - xgboost[scikit-learn]==2.1.0\n"
    )
    (tmp_path / "requirements.txt").write_text(
        "# pinned\n-r other.txt\npandas==2.2.2  # wins\nnumpy>=1.26; python_version>'3'\n"
    )
    found = mlflow_requirements(read_mlflow_model(tmp_path))
    assert found == {
        "pandas": "2.2.2",
        "requests": "",
        "xgboost": "2.1.0",
        "numpy": ">=1.26",
        "scikit-learn": "1.5.0",
    }


@pytest.mark.parametrize(
    ("mlmodel", "problem"),
    [
        (None, "no MLmodel file"),
        ("flavors: [unclosed", "not valid YAML"),
        ("run_id: abc\n", "lists no flavors"),
        ("flavors:\n  sklearn: {}\nsignature:\n  inputs: '[{bad json'\n", "signature.inputs"),
    ],
)
def test_bad_model_folders(tmp_path: Path, mlmodel: str | None, problem: str) -> None:
    if mlmodel is not None:
        (tmp_path / "MLmodel").write_text(mlmodel)
    with pytest.raises(ValidationFailed, match=problem) as info:
        read_mlflow_model(tmp_path)
    assert info.value.problems[0][0] == "path"


def _model_folder(tmp_path: Path, mlmodel: str) -> Path:
    folder = tmp_path / "mlflow-model"
    folder.mkdir()
    (folder / "MLmodel").write_text(mlmodel)
    return folder


def test_a_model_without_a_loadable_flavor_is_unsupported(tmp_path: Path, save_to: SaveTo) -> None:
    folder = _model_folder(tmp_path, "flavors:\n  keras:\n    save_format: h5\n")
    with pytest.raises(UnsupportedModel, match="python_function"):
        save_to(read_mlflow_model(folder))


def test_pickled_model_path_must_stay_inside_the_folder(tmp_path: Path, save_to: SaveTo) -> None:
    source = _model_folder(tmp_path, "flavors:\n  sklearn:\n    pickled_model: ../../etc/passwd\n")
    folder, saved = save_to(read_mlflow_model(source))
    with pytest.raises(ValidationFailed, match="outside the model folder"):
        FLAVOR.load(folder, saved, allow_pickle=True)
