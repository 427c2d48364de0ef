from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient


def test_instances_as_lists(client: TestClient, cancer_data: Any) -> None:
    rows = cancer_data.data.to_numpy()[:3].tolist()
    response = client.post("/v1/models/cancer:predict", json={"instances": rows})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": cancer_data.target[:3].tolist()}
    assert response.headers["x-model-version"] == "1"


def test_instances_as_objects_and_inputs_as_columns(client: TestClient, cancer_data: Any) -> None:
    frame = cancer_data.data.head(2)
    objects = client.post("/v1/models/cancer:predict", json={"instances": frame.to_dict(orient="records")})
    columns = client.post("/v1/models/cancer:predict", json={"inputs": frame.to_dict(orient="list")})
    assert objects.json() == columns.json() == {"predictions": cancer_data.target[:2].tolist()}


def test_string_predictions(client: TestClient) -> None:
    assert client.post("/v1/models/iris:predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]}).json() == {
        "predictions": ["setosa"]
    }


def test_pinned_version(client: TestClient, cancer_data: Any) -> None:
    rows = cancer_data.data.to_numpy()[:1].tolist()
    response = client.post("/v1/models/cancer/versions/2:predict", json={"instances": rows})
    assert response.headers["x-model-version"] == "2"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({}, 400, "instances"),
        ({"instances": [], "inputs": []}, 400, "either"),
        ({"instances": []}, 400, "non-empty"),
        ({"instances": [[1, 2], [1]]}, 400, "lengths"),
        ({"instances": [{"a": 1}, {"b": 2}]}, 400, "keys"),
        ({"instances": [{"a": 1}, None]}, 400, "instances[1]: is null"),  # found by fuzzing: was a 500
        ({"instances": [{"a": 1}, [True, {}]]}, 400, "is an array, but row 0 is an object"),
        ({"instances": [[1, 2, 3]]}, 400, "expected [rows, 30]"),
        ({"instances": "rows"}, 400, "list"),
    ],
)
def test_bad_v1_bodies(client: TestClient, body: Any, status: int, needle: str) -> None:
    response = client.post("/v1/models/cancer:predict", json=body)
    assert response.status_code == status
    assert needle in response.json()["error"]


def test_unknown_model(client: TestClient) -> None:
    response = client.post("/v1/models/nope:predict", json={"instances": [[1]]})
    assert response.status_code == 404
