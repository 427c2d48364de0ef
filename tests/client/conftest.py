"""A Shipyard server in process, reached by `shipyard.Client` through an httpx transport (no sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from starlette.testclient import TestClient

import shipyard
from shipyard.config import ServerSettings, Settings
from shipyard.registry import open_registry
from shipyard.serving.app import create_app, create_plane

from ..serving.fakes import SumModel

MAX_BODY_BYTES = 64 * 1024


class AppTransport(httpx.BaseTransport):
    """Hands each request to the app through Starlette's TestClient, and keeps the requests sent.

    Starlette's TestClient is built on httpx2, not httpx, so it cannot be the client's transport
    itself; this bridge is the in-process equivalent of the network.
    """

    def __init__(self, app_client: TestClient) -> None:
        self.app_client = app_client
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.app_client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.read()
        )
        response = httpx.Response(
            answer.status_code, headers=list(answer.headers.multi_items()), content=answer.content
        )
        self.responses.append(response)
        return response


@dataclass(frozen=True)
class Models:
    """The data and fitted models behind the registered ones, to compare the server's answers with."""

    cancer: pd.DataFrame
    cancer_model: Any
    iris: np.ndarray[Any, Any]
    iris_model: Any
    mixed: pd.DataFrame
    mixed_model: Any


@pytest.fixture(scope="module")
def models() -> Models:
    cancer: Any = load_breast_cancer(as_frame=True)
    cancer_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(cancer.data, cancer.target)
    iris = load_iris()
    labels = np.array(["setosa", "versicolor", "virginica"])[iris.target]
    rng = np.random.default_rng(0)
    mixed = pd.DataFrame(
        {"color": rng.choice(["red", "green", "blue"], 200), "size": rng.random(200), "count": rng.integers(0, 9, 200)}
    )
    mixed_model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["color"]), remainder="passthrough"), LogisticRegression()
    ).fit(mixed, (mixed["color"] == "red") & (mixed["size"] > 0.3))
    return Models(
        cancer.data,
        cancer_model,
        iris.data,
        LogisticRegression(max_iter=500).fit(iris.data, labels),
        mixed,
        mixed_model,
    )


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory: pytest.TempPathFactory, models: Models) -> Path:
    """A registry with cancer (2 versions, production=1), iris (string labels), mixed (text + numbers), sum
    (fails on rows summing to 13)."""
    home = tmp_path_factory.mktemp("client") / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    target = models.cancer_model.predict(models.cancer)
    registry.register(models.cancer_model, "cancer", data=models.cancer, target=target)
    registry.register(models.cancer_model, "cancer", data=models.cancer, target=target)
    registry.set_alias("cancer", "production", 1)
    registry.register(models.iris_model, "iris", data=models.iris)
    registry.register(models.mixed_model, "mixed", data=models.mixed)
    registry.register(SumModel(), "sum", data=np.zeros((4, 3)))
    registry.db.close()
    return home


@pytest.fixture(scope="module")
def app_client(registry_home: Path) -> Iterator[TestClient]:
    server = ServerSettings(max_body_bytes=MAX_BODY_BYTES, refresh_seconds=0.2)
    registry = open_registry(Settings(home=registry_home, user="alice"))
    app = create_app(create_plane(registry, server), server)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    registry.db.close()


@pytest.fixture
def transport(app_client: TestClient) -> AppTransport:
    return AppTransport(app_client)


@pytest.fixture
def client(transport: AppTransport) -> Iterator[shipyard.Client]:
    with shipyard.Client(transport=transport) as client:
        yield client
