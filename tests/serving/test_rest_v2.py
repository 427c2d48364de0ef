"""V2 REST through the ASGI app in process: health, metadata, inference, and every kind of bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from shipyard.registry import Registry

from .conftest import v2_rows


def test_health_and_server_metadata(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    meta = client.get("/v2").json()
    assert meta["name"] == "shipyard" and "binary_tensor_data" in meta["extensions"]


def test_model_metadata_from_the_signature(client: TestClient, cancer_data: Any) -> None:
    meta = client.get("/v2/models/cancer").json()
    assert meta["name"] == "cancer" and meta["versions"] == ["1", "2"] and meta["platform"] == "sklearn"
    assert [i["name"] for i in meta["inputs"]] == list(cancer_data.data.columns)
    assert {i["datatype"] for i in meta["inputs"]} == {"FP64"}
    assert {o["name"] for o in meta["outputs"]} == {"predict", "predict_proba"}
    assert client.get("/v2/models/cancer/versions/2").json()["parameters"]["version"] == "2"


def test_model_ready(client: TestClient) -> None:
    assert client.get("/v2/models/cancer/ready").json() == {"name": "cancer", "ready": True}
    assert client.get("/v2/models/cancer/versions/2/ready").status_code == 200
    assert client.get("/v2/models/nope/ready").status_code == 404


def test_infer_one_2d_tensor(client: TestClient, cancer_data: Any) -> None:
    X = cancer_data.data.to_numpy()[:3]
    body = {**v2_rows(X), "id": "req-1", "parameters": {"note": "x"}}
    response = client.post("/v2/models/cancer/infer", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["id"] == "req-1" and out["model_name"] == "cancer" and out["model_version"] == "1"
    outputs = {o["name"]: o for o in out["outputs"]}
    assert outputs["predict"]["shape"] == [3] and outputs["predict_proba"]["shape"] == [3, 2]
    assert outputs["predict"]["data"] == cancer_data.target[:3].tolist()


def test_infer_one_tensor_per_column_nested_data(client: TestClient, cancer_data: Any) -> None:
    X = cancer_data.data.head(2)
    inputs = [{"name": c, "shape": [2, 1], "datatype": "FP64", "data": [[v] for v in X[c]]} for c in X.columns]
    out = client.post("/v2/models/cancer/infer", json={"inputs": inputs}).json()
    assert out["outputs"][0]["data"] == cancer_data.target[:2].tolist()


def test_requested_outputs_and_pinned_version(client: TestClient, cancer_data: Any) -> None:
    body = {**v2_rows(cancer_data.data.to_numpy()[:1]), "outputs": [{"name": "predict_proba"}]}
    out = client.post("/v2/models/cancer/versions/2/infer", json=body).json()
    assert out["model_version"] == "2" and [o["name"] for o in out["outputs"]] == ["predict_proba"]


def test_string_labels_come_back_as_bytes_tensors(client: TestClient) -> None:
    out = client.post("/v2/models/iris/infer", json=v2_rows([[5.1, 3.5, 1.4, 0.2]])).json()
    predict = next(o for o in out["outputs"] if o["name"] == "predict")
    assert predict["datatype"] == "BYTES" and predict["data"] == ["setosa"]


def test_model_without_signature_takes_tensors_as_sent(client: TestClient) -> None:
    out = client.post("/v2/models/raw/infer", json=v2_rows([[1, 2], [3, 4]])).json()
    assert out["outputs"][0]["data"] == [3.0, 7.0]


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/v2/models/cancr/infer", {}, 404, "cancer"),
        ("/v2/models/cancer/versions/9/infer", {}, 404, "no version 9"),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
            400,
            "expected [rows, 30]",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "BYTES", "data": ["a"] * 30}]},
            400,
            "does not fit",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "mean radius", "shape": [1], "datatype": "FP64", "data": [1.0]}]},
            400,
            "mean texture: missing input",
        ),
        (
            "/v2/models/sum/infer",
            {
                "inputs": [
                    {"name": "x0", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "x1", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "x2", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "x9", "shape": [1], "datatype": "FP64", "data": [1]},
                ]
            },
            400,
            "x9: unknown input",
        ),
        (
            "/v2/models/sum/infer",
            {
                "inputs": [
                    {"name": "x0", "shape": [2], "datatype": "FP64", "data": [1, 2]},
                    {"name": "x1", "shape": [1], "datatype": "FP64", "data": [1]},
                    {"name": "x2", "shape": [1], "datatype": "FP64", "data": [1]},
                ]
            },
            400,
            "rows",
        ),
        (
            "/v2/models/cancer/infer",
            {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [1] * 29}]},
            400,
            "x",
        ),
        ("/v2/models/cancer/infer", {"inputs": []}, 400, "inputs"),
        ("/v2/models/cancer/infer", {"nothing": 1}, 400, "inputs"),
        ("/v2/models/cancer/infer", [1, 2], 400, "object"),
        ("/v2/models/cancer/infer", {**v2_rows(np.ones((1, 30))), "outputs": [{"name": "logits"}]}, 400, "logits"),
        ("/v2/models/sum/infer", v2_rows([[6, 6, 1]]), 500, "failed while predicting"),
    ],
)
def test_bad_requests_get_a_clear_error(client: TestClient, path: str, body: Any, status: int, needle: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert needle in error
    assert "secret internal detail" not in error


def test_non_json_wrong_content_type_and_oversized(client: TestClient) -> None:
    assert (
        client.post(
            "/v2/models/cancer/infer", content=b"{nope", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    wrong = client.post("/v2/models/cancer/infer", content=b"{}", headers={"content-type": "text/plain"})
    assert wrong.status_code == 400 and "Content-Type" in wrong.json()["error"]
    huge = client.post("/v2/models/cancer/infer", json=v2_rows(np.random.default_rng(0).random((1000, 30))))
    assert huge.status_code == 413 and "limit" in huge.json()["error"]


def test_a_failing_model_does_not_hurt_the_server(client: TestClient, cancer_data: Any) -> None:
    assert client.post("/v2/models/sum/infer", json=v2_rows([[6, 6, 1]])).status_code == 500
    assert client.post("/v2/models/sum/infer", json=v2_rows([[1, 1, 1]])).json()["outputs"][0]["data"] == [3.0]
    assert client.post("/v2/models/cancer/infer", json=v2_rows(cancer_data.data.to_numpy()[:1])).status_code == 200


def test_bad_request_never_fails_its_batch_mates(client: TestClient) -> None:
    good = v2_rows([[1, 2, 3]])
    bad = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: client.post("/v2/models/sum/infer", json=good if i % 2 else bad), range(40)))
    assert [r.status_code for r in results] == [400 if i % 2 == 0 else 200 for i in range(40)]
    assert all(r.json()["outputs"][0]["data"] == [6.0] for r in results if r.status_code == 200)


def test_archived_version_is_no_longer_served(client: TestClient, serving_registry: Registry) -> None:
    assert client.post("/v2/models/cancer/versions/2/infer", json=v2_rows(np.ones((1, 30)))).status_code == 200
    serving_registry.archive("cancer", 2)
    plane = client.app.state.plane  # type: ignore[attr-defined]
    client.portal.call(plane.resolver.refresh)  # type: ignore[union-attr]
    gone = client.post("/v2/models/cancer/versions/2/infer", json=v2_rows(np.ones((1, 30))))
    assert gone.status_code == 404 and "archived" in gone.json()["error"]


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_where_training_had_none_is_refused(client: TestClient, bad_value: float) -> None:
    import tritonclient.http as httpclient

    X = np.ones((2, 30))
    X[1, 4] = bad_value
    tensor = httpclient.InferInput("input-0", list(X.shape), "FP64")
    tensor.set_data_from_numpy(X, binary_data=True)
    body, json_size = httpclient.InferenceServerClient.generate_request_body([tensor])
    response = client.post(
        "/v2/models/cancer/infer", content=body, headers={"Inference-Header-Content-Length": str(json_size)}
    )
    assert response.status_code == 400
    assert "mean smoothness" in response.json()["error"] and "NaN or Inf" in response.json()["error"]


def test_binary_request_and_response(client: TestClient, cancer_data: Any) -> None:
    import tritonclient.http as httpclient

    X = cancer_data.data.to_numpy()[:3]
    tensor = httpclient.InferInput("input-0", list(X.shape), "FP64")
    tensor.set_data_from_numpy(X, binary_data=True)
    outputs = [httpclient.InferRequestedOutput("predict_proba", binary_data=True)]
    body, json_size = httpclient.InferenceServerClient.generate_request_body([tensor], outputs=outputs)
    response = client.post(
        "/v2/models/cancer/infer", content=body, headers={"Inference-Header-Content-Length": str(json_size)}
    )
    assert response.status_code == 200
    header = response.headers["Inference-Header-Content-Length"]
    result = httpclient.InferenceServerClient.parse_response_body(response.content, header_length=int(header))
    assert result.as_numpy("predict_proba").shape == (3, 2)
