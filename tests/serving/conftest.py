from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from starlette.testclient import TestClient

from shipyard.config import ServerSettings, Settings
from shipyard.registry import Registry, open_registry
from shipyard.serving.app import create_app, create_plane

from .fakes import SumModel


@pytest.fixture(scope="session")
def cancer_data() -> Any:
    return load_breast_cancer(as_frame=True)


@pytest.fixture
def serving_registry(tmp_path: Path, cancer_data: Any) -> Iterator[Registry]:
    """A SQLite registry holding: cancer (columns, 2 versions, production=1), iris (string labels, array
    layout), sum (python model that fails on rows summing to 13), raw (no signature)."""
    registry = open_registry(Settings(home=tmp_path / "home", user="alice"))
    X, y = cancer_data.data, cancer_data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    registry.register(model, "cancer", data=X, target=y)
    registry.register(model, "cancer", data=X, target=y)
    registry.set_alias("cancer", "production", 1)
    iris = load_iris()
    labels = np.array(["setosa", "versicolor", "virginica"])[iris.target]
    registry.register(LogisticRegression(max_iter=500).fit(iris.data, labels), "iris", data=iris.data)
    registry.register(SumModel(), "sum", data=np.zeros((4, 3)))
    registry.register(SumModel(), "raw")
    yield registry
    registry.db.close()


@pytest.fixture
def server_settings() -> ServerSettings:
    return ServerSettings(max_body_bytes=64 * 1024, refresh_seconds=0.2)


@pytest.fixture
def client(serving_registry: Registry, server_settings: ServerSettings) -> Iterator[TestClient]:
    app = create_app(create_plane(serving_registry, server_settings), server_settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def v2_rows(rows: Any, name: str = "x") -> dict[str, Any]:
    array = np.asarray(rows, dtype=float)
    return {"inputs": [{"name": name, "shape": list(array.shape), "datatype": "FP64", "data": array.ravel().tolist()}]}
