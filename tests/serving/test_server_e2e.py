"""The real `shipyard serve` process, driven by NVIDIA's tritonclient over HTTP (JSON and binary) and gRPC."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.config import Settings
from shipyard.registry import open_registry

from .._services import free_port, wait_ready

pytestmark = pytest.mark.integration

AUTH: dict[str, str] = {}
"""The admin key the server created at its first start (auth is on by default)."""


def auth() -> dict[str, str]:
    """A fresh copy each time: tritonclient adds its own headers to the dict it is given."""
    return dict(AUTH)


def grpc_auth() -> dict[str, str]:
    return {"authorization": AUTH["Authorization"]}


@pytest.fixture(scope="module")
def cancer() -> Any:
    data: Any = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(data.data, data.target)
    return data, model


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, cancer: Any) -> Iterator[tuple[str, str, Path]]:
    data, model = cancer
    home = tmp_path_factory.mktemp("serve") / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    registry.register(model, "cancer", data=data.data, target=data.target)
    registry.register(model, "cancer", data=data.data, target=data.target)
    registry.set_alias("cancer", "production", 1)
    registry.db.close()
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_SERVER__REFRESH_SECONDS": "0.25",
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--grpc-port", str(grpc_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        AUTH["Authorization"] = f"Bearer {(home / 'admin.key').read_text().strip()}"
        yield url, f"127.0.0.1:{grpc_port}", home
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient_http(server: tuple[str, str, Path], cancer: Any, binary: bool) -> None:
    data, model = cancer
    X = data.data.to_numpy()[:5]
    client = httpclient.InferenceServerClient(server[0].removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("cancer", headers=auth())
    assert not client.is_model_ready("cancer")  # no credentials: 401
    metadata = client.get_model_metadata("cancer", headers=auth())
    assert [i["name"] for i in metadata["inputs"]] == list(data.data.columns)
    tensor = httpclient.InferInput("input-0", list(X.shape), "FP64")
    tensor.set_data_from_numpy(X, binary_data=binary)
    outputs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("predict", "predict_proba")]
    result = client.infer("cancer", [tensor], outputs=outputs, request_id="abc", headers=auth())
    np.testing.assert_array_equal(result.as_numpy("predict"), model.predict(X))
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(X), rtol=1e-12)
    response = result.get_response()
    assert response["id"] == "abc" and response["model_version"] == "1"


def test_tritonclient_grpc(server: tuple[str, str, Path], cancer: Any) -> None:
    data, model = cancer
    X = data.data.to_numpy()[:4]
    client = grpcclient.InferenceServerClient(server[1])
    assert client.is_server_live() and client.is_model_ready("cancer", headers=grpc_auth())
    tensor = grpcclient.InferInput("input-0", list(X.shape), "FP64")
    tensor.set_data_from_numpy(X)
    with pytest.raises(Exception, match="UNAUTHENTICATED|Not authenticated"):
        client.infer("cancer", [tensor])
    result = client.infer("cancer", [tensor], model_version="2", headers=grpc_auth())
    np.testing.assert_array_equal(result.as_numpy("predict"), model.predict(X))
    assert result.get_response().model_version == "2"
    bad = grpcclient.InferInput("input-0", [1, 3], "FP64")
    bad.set_data_from_numpy(np.ones((1, 3)))
    with pytest.raises(Exception, match="INVALID_ARGUMENT|expected \\[rows, 30\\]"):
        client.infer("cancer", [bad], headers=grpc_auth())
    with pytest.raises(Exception, match="NOT_FOUND|not registered"):
        client.infer("cancr", [tensor], headers=grpc_auth())


def test_alias_moves_under_load_without_a_failed_request(server: tuple[str, str, Path], cancer: Any) -> None:
    url, _, home = server
    row = cancer[0].data.to_numpy()[:1]
    body = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": row.ravel().tolist()}]}
    seen: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=url, timeout=10, headers=auth()) as http:
            while not stop.is_set():
                response = http.post("/v2/models/cancer/infer", json=body)
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    seen.append(response.json()["model_version"])

    registry = open_registry(Settings(home=home, user="alice"))
    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        for move in range(10):
            target = "2" if move % 2 == 0 else "1"
            registry.set_alias("cancer", "production", int(target))
            deadline = time.monotonic() + 2.0  # the promise: every worker within 2 seconds
            while not (seen and seen[-1] == target):
                assert time.monotonic() < deadline, f"move {move}: still serving {seen[-1:]}"
                time.sleep(0.01)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        registry.db.close()
    assert failures == []
    assert set(seen) == {"1", "2"} and len(seen) > 50


def test_two_workers_share_the_ports_and_both_see_alias_moves(
    tmp_path: Path, server: tuple[str, str, Path], cancer: Any
) -> None:
    home = server[2]
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_SERVER__REFRESH_SECONDS": "0.25",
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard",
            "serve",
            "--port",
            str(port),
            "--grpc-port",
            str(grpc_port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    row = cancer[0].data.to_numpy()[:1]
    body = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": row.ravel().tolist()}]}
    registry = open_registry(Settings(home=home, user="alice"))
    try:
        wait_ready(url, proc)
        grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}")
        assert all(grpc.is_server_live() for _ in range(10))
        assert grpc.is_model_ready("cancer", headers=grpc_auth())
        for _ in range(30):  # warm both workers (first load pays for importing scikit-learn)
            assert httpx.post(f"{url}/v2/models/cancer/infer", json=body, timeout=30, headers=auth()).status_code == 200
        registry.set_alias("cancer", "production", 2)
        deadline = time.monotonic() + 2.0
        streak = 0
        with httpx.Client(base_url=url, timeout=10) as http:
            # New connections are spread over both workers by the kernel; 30 fresh ones in a row on v2
            # means both have moved.
            while streak < 30:
                assert time.monotonic() < deadline, "a worker kept serving the old version"
                response = httpx.post(f"{url}/v2/models/cancer/infer", json=body, timeout=10, headers=auth())
                assert response.status_code == 200
                streak = streak + 1 if response.json()["model_version"] == "2" else 0
            assert http.get("/v2/health/ready").status_code == 200
            assert httpx.post(f"{url}/v2/models/cancer/infer", json=body).status_code == 401
    finally:
        registry.set_alias("cancer", "production", 1)
        registry.db.close()
        proc.terminate()
        proc.wait(timeout=30)
