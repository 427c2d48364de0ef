"""MLflow users move over in one command: an MLflow-saved model directory imported and predicted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shipyard.errors import ValidationFailed
from shipyard.registry import Registry
from shipyard.registry.importer import import_mlflow_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning", "ignore::FutureWarning")


@pytest.fixture
def mlflow_dir(tmp_path: Path, logreg: Any, cancer: Any) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    X, _ = cancer
    path = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(
        logreg, str(path), signature=infer_signature(X, logreg.predict(X)), pip_requirements=["scikit-learn"]
    )
    return path


def test_import_keeps_signature_and_predicts(registry: Registry, mlflow_dir: Path, logreg: Any, cancer: Any) -> None:
    X, _ = cancer
    mv = import_mlflow_model(registry, mlflow_dir, "churn")
    assert mv.flavor == "mlflow" and mv.version == 1
    assert mv.signature is not None
    assert [f["name"] for f in mv.signature["inputs"]] == list(X.columns)
    assert {f["dtype"] for f in mv.signature["inputs"]} == {"float64"}
    assert "mlflow.version" in mv.tags
    np.testing.assert_array_equal(registry.load("churn").predict(X), logreg.predict(X))


def test_import_from_the_cli(mlflow_dir: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", "models", "import-mlflow", str(mlflow_dir), "--name", "churn", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["flavor"] == "mlflow"


def test_not_an_mlflow_folder(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="MLmodel"):
        import_mlflow_model(registry, tmp_path, "churn")
    (tmp_path / "MLmodel").write_text("flavors: [unclosed")
    with pytest.raises(ValidationFailed, match="YAML"):
        import_mlflow_model(registry, tmp_path, "churn")
    assert registry.list_models() == []
