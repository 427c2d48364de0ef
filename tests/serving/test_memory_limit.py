"""A memory limit per worker (`--worker-memory-mb`): a model that allocates without bound fails only
its own requests, with an error naming the limit; the server and the other models keep answering."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from shipyard.config import ServerSettings, Settings
from shipyard.errors import ConfigError, ModelFailed
from shipyard.registry import open_registry
from shipyard.serving.memory_limit import data_bytes, limit_worker_memory
from shipyard.serving.server import export_settings

from .._services import free_port, wait_ready
from .fakes import SumModel
from .reliability_models import GrowingModel, HugeAllocationModel

LIMIT_MB = 1536
"""Far above what a worker maps with these models loaded (about 0.6 GB of VmData), far below the machine."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    home = tmp_path_factory.mktemp("memory") / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    sample = np.zeros((2, 3))
    registry.register(SumModel(), "sum", data=sample)
    registry.register(HugeAllocationModel(), "huge", data=sample)
    registry.register(GrowingModel(), "grow", data=sample)
    registry.db.close()
    port = free_port()
    env = {**os.environ, "SHIPYARD_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc"]
    log = home.parent / "server.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [*command, "--worker-memory-mb", str(LIMIT_MB)], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        headers = {"Authorization": f"Bearer {(home / 'admin.key').read_text().strip()}"}
        yield url, headers, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def infer(url: str, headers: dict[str, str], model: str, row: list[float]) -> httpx.Response:
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": row}]}
    return httpx.post(f"{url}/v2/models/{model}/infer", json=body, headers=headers, timeout=60)


@pytest.mark.integration
@pytest.mark.parametrize("model", ["huge", "grow"])
def test_a_model_past_the_memory_limit_fails_alone(
    server: tuple[str, str, subprocess.Popen[bytes]], model: str
) -> None:
    url, headers, proc = server
    assert infer(url, headers, model, [1, 2, 3]).json()["outputs"][0]["data"] == [6.0]  # loaded, and fine
    for _ in range(2):  # the memory of the failed call is given back: it fails the same way again
        started = time.monotonic()
        failed = infer(url, headers, model, [7, 0, 0])
        assert failed.status_code == 500, failed.text
        error = failed.json()["error"]
        assert "ran out of memory" in error and "SHIPYARD_SERVER__WORKER_MEMORY_MB" in error, error
        assert time.monotonic() - started < 30
        assert infer(url, headers, "sum", [1, 2, 3]).json()["outputs"][0]["data"] == [6.0]
    assert infer(url, headers, model, [1, 2, 3]).json()["outputs"][0]["data"] == [6.0]
    assert httpx.get(f"{url}/v2/health/ready", timeout=5).status_code == 200
    assert proc.poll() is None


def test_the_limit_refuses_a_value_below_what_the_worker_uses() -> None:
    used = data_bytes()
    assert used is not None and used > 0
    with pytest.raises(ConfigError, match="WORKER_MEMORY_MB") as info:
        limit_worker_memory(max(1, used // 2**20 // 2))
    assert "before loading any model" in str(info.value)
    limit_worker_memory(0)  # off: nothing happens


@pytest.mark.parametrize("bad", [-1, "lots", 1.5])
def test_the_setting_takes_a_whole_number_of_megabytes(bad: object) -> None:
    with pytest.raises(ValueError, match="worker_memory_mb"):
        ServerSettings(worker_memory_mb=bad)  # type: ignore[arg-type]


def test_out_of_memory_is_named_in_the_model_error() -> None:
    try:
        raise ModelFailed("churn", 3) from MemoryError("Unable to allocate 100. GiB")
    except ModelFailed as exc:
        assert "ran out of memory" in str(exc) and "100. GiB" not in str(exc)
    assert "failed while predicting" in str(ModelFailed("churn", 3))


def test_serve_hands_the_limit_and_the_drain_to_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers build their settings from the environment that `shipyard serve` exports.
    for name in ServerSettings.model_fields:  # set, then unset: monkeypatch then undoes what export writes
        monkeypatch.setenv(f"SHIPYARD_SERVER__{name.upper()}", "")
        monkeypatch.delenv(f"SHIPYARD_SERVER__{name.upper()}")
    export_settings(ServerSettings(worker_memory_mb=2048, drain_seconds=0.5))
    server = Settings().server
    assert server.worker_memory_mb == 2048 and server.drain_seconds == 0.5
