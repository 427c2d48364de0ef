"""Helpers of the metrics tests: a served registry in process, traffic, and the exposition parsed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from shipyard.config import Settings
from shipyard.registry import open_registry
from shipyard.security.keys import KeyService
from shipyard.server import build_app

from ..serving.fakes import SumModel

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition: (name, labels) → value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def v2(*rows: list[float]) -> dict[str, Any]:
    data = np.asarray(rows, dtype=float)
    return {"inputs": [{"name": "x", "shape": list(data.shape), "datatype": "FP64", "data": data.ravel().tolist()}]}


def register_models(settings: Settings) -> None:
    """`sum` (fails on a row summing to 13) and `cached` (the same, with a response cache)."""
    registry = open_registry(settings)
    registry.register(SumModel(), "sum", data=np.zeros((4, 3)))
    registry.register(SumModel(), "cached", data=np.zeros((4, 3)), serving={"cache": True})
    registry.db.close()


@contextmanager
def served(home: Path, **monitoring: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The real app (`build_app`) in process with auth on; yields the client and keys by role."""
    settings = Settings(
        home=home, user="alice", monitoring={"log_mode": "off", "metrics_sample_seconds": 0.05, **monitoring}
    )
    register_models(settings)
    registry = open_registry(settings)
    keys = {
        role: f"Bearer {KeyService(registry.db).create(role, [role], actor='alice')[1]}"
        for role in ("admin", "viewer", "predictor")
    }
    registry.db.close()
    with TestClient(build_app(settings), raise_server_exceptions=False) as client:
        yield client, keys


def known_traffic(client: TestClient, auth: str) -> None:
    """sum: 4 answered over V2, 1 failing in the model, 1 bad input; cached: 3 equal V1 requests (1 miss,
    2 hits); one request for a model that does not exist."""
    headers = {"Authorization": auth}
    for i in range(4):
        assert client.post("/v2/models/sum/infer", json=v2([1, 2, i]), headers=headers).status_code == 200
    assert client.post("/v2/models/sum/infer", json=v2([10, 2, 1]), headers=headers).status_code == 500
    assert client.post("/v2/models/sum/infer", json=v2([1, 2]), headers=headers).status_code == 400
    for _ in range(3):
        response = client.post("/v1/models/cached:predict", json={"instances": [[1, 2, 3]]}, headers=headers)
        assert response.status_code == 200
    assert client.post("/v2/models/nope/infer", json=v2([1, 2, 3]), headers=headers).status_code == 404


__all__ = ["Samples", "known_traffic", "parse", "register_models", "served", "v2", "value"]
