"""Observers hear of every inference — answered or failed — with the caller, protocol and data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from shipyard.config import ServerSettings
from shipyard.registry import Registry
from shipyard.serving.app import create_app, create_plane
from shipyard.serving.events import InferenceRecord

from .conftest import v2_rows


class Collect:
    def __init__(self) -> None:
        self.records: list[InferenceRecord] = []

    def observe(self, record: InferenceRecord) -> None:
        self.records.append(record)


class Broken:
    def observe(self, record: InferenceRecord) -> None:
        raise RuntimeError("observer bug")


@pytest.fixture
def observed(serving_registry: Registry, server_settings: ServerSettings) -> Iterator[tuple[TestClient, Collect]]:
    plane = create_plane(serving_registry, server_settings)
    seen = Collect()
    plane.add_observer(Broken())
    plane.add_observer(seen)
    with TestClient(create_app(plane, server_settings), raise_server_exceptions=False) as client:
        yield client, seen


def test_an_answered_request_is_observed_with_its_data(observed: tuple[TestClient, Collect], cancer_data: Any) -> None:
    client, seen = observed
    X = cancer_data.data.to_numpy()[:3]
    response = client.post("/v2/models/cancer/infer", json=v2_rows(X), headers={"x-user-id": "u1"})
    assert response.status_code == 200  # the broken observer did not fail it
    request_id = response.json()["id"]
    assert request_id  # made up by the server, so feedback can name it
    (record,) = seen.records
    assert record.request_id == request_id and record.ok
    assert (record.endpoint, record.model, record.version, record.arm) == ("cancer", "cancer", 1, "primary")
    assert record.rows == 3 and record.latency_seconds > 0 and record.call.protocol == "v2"
    assert record.call.header("X-User-Id") == "u1" and record.call.header("authorization") is None
    assert record.outputs is not None
    assert record.outputs["predict"].tolist() == response.json()["outputs"][0]["data"]
    assert record.input_names == tuple(cancer_data.data.columns)
    assert np.allclose(record.inputs, X)  # a numeric block, columns named by input_names


def test_failed_requests_are_observed_with_the_error(observed: tuple[TestClient, Collect]) -> None:
    client, seen = observed
    bad = client.post("/v2/models/cancer/infer", json=v2_rows([[1.0, 2.0]]))
    assert bad.status_code == 400
    failing = client.post("/v1/models/sum:predict", json={"instances": [[6, 7, 0]]})
    assert failing.status_code == 500
    statuses = [(r.status, r.call.protocol, r.outputs) for r in seen.records]
    assert statuses == [("ValidationFailed", "v2", None), ("ModelFailed", "v1", None)]


def test_a_given_request_id_is_kept(observed: tuple[TestClient, Collect], cancer_data: Any) -> None:
    client, seen = observed
    body = {**v2_rows(cancer_data.data.to_numpy()[:1]), "id": "mine-1"}
    assert client.post("/v2/models/cancer/infer", json=body).json()["id"] == "mine-1"
    assert [r.request_id for r in seen.records] == ["mine-1"]
