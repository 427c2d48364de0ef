"""`shipyard.Client` against a real `shipyard serve` process, over a real socket."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard
from shipyard.errors import ModelNotFound

from .._services import free_port, wait_ready
from .conftest import Models

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url(registry_home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SHIPYARD_HOME": str(registry_home), "PYTHONWARNINGS": "ignore"}
    env = {k: v for k, v in env.items() if not k.startswith("SHIPYARD_SERVER__")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_predict_over_the_network(
    server_url: str, models: Models, registry_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = models.cancer.iloc[200:260]
    with shipyard.Client(server_url, api_key="sy_000000000000_wrong") as stranger:
        with pytest.raises(shipyard.ShipyardError, match="401"):
            stranger.predict("cancer", X)
    # Like a user on the server's machine: the admin key the server created is found by itself.
    monkeypatch.setenv("SHIPYARD_HOME", str(registry_home))
    with shipyard.Client(server_url) as client:
        assert client.is_ready()
        labels = client.predict("cancer", X)
        assert isinstance(labels, pd.Series) and labels.index.equals(X.index)
        assert labels.tolist() == models.cancer_model.predict(X).tolist()
        proba = client.predict("cancer", X.to_numpy(), output="predict_proba", version=2)
        np.testing.assert_allclose(proba, models.cancer_model.predict_proba(X))
        assert client.predict("iris", models.iris[:1]).tolist() == ["setosa"]
        mixed = client.predict("mixed", models.mixed.head(5))
        assert isinstance(mixed, pd.Series)
        assert mixed.tolist() == models.mixed_model.predict(models.mixed.head(5)).tolist()
        with pytest.raises(ModelNotFound):
            client.predict("nope", X)
