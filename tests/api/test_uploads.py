"""`POST /models/{name}/versions`: registering uploaded model files, pickles included."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from shipyard.registry import Registry

from .conftest import MAX_UPLOAD, last_event, mount, snapshot


def training_csv(training: tuple[Any, Any]) -> bytes:
    X, y = training
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    return frame.to_csv(index=False).encode()


def test_skops_upload_with_data_metrics_and_tags(
    client: TestClient, registry: Registry, skops_bytes: bytes, training: tuple[Any, Any]
) -> None:
    response = client.post(
        "/models/churn/versions",
        files={"file": ("churn.skops", skops_bytes), "data": ("train.csv", training_csv(training))},
        data={
            "target": "label",
            "metrics": json.dumps({"auc": 0.9}),
            "params": json.dumps({"C": 1.0, "penalty": "l2"}),
            "tags": json.dumps({"team": "risk"}),
            "description": "first",
            "requires_approval": "true",
        },
        headers={"X-Test-Subject": "key:bob", "X-Test-Roles": "deployer"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["uri"] == "models:/churn/1" and body["format"] == "skops" and body["uses_pickle"] is False
    assert body["metrics"] == {"auc": 0.9} and body["params"] == {"C": 1.0, "penalty": "l2"}
    assert body["tags"] == {"team": "risk"} and body["description"] == "first" and body["created_by"] == "key:bob"
    assert [f["name"] for f in body["signature"]["inputs"]] == ["a", "b", "c"]
    assert body["lineage"]["data"]["has_target"] is True and body["profile_digest"]
    assert registry.get_model("churn").requires_approval is True
    event = last_event(registry)
    assert event["action"] == "version.register" and event["source"] == "testclient"
    X, _ = training
    loaded = registry.load("models:/churn/1")
    assert loaded.predict(pd.DataFrame(X[:5], columns=["a", "b", "c"])).shape == (5,)


def test_pickle_upload_is_accepted_from_a_role_allowed_to_register(
    client: TestClient, registry: Registry, pickle_bytes: bytes, classifier: Any, training: tuple[Any, Any]
) -> None:
    response = client.post("/models/churn/versions", files={"file": ("model.pkl", pickle_bytes)})
    assert response.status_code == 201, response.text
    # read from the pickle, stored by the sklearn flavor in its own (skops) format
    assert response.json()["flavor"] == "sklearn"
    X, _ = training
    assert np.array_equal(registry.load("churn").predict(X[:5]), classifier.predict(X[:5]))


def test_parquet_data_and_a_second_version(
    client: TestClient, registry: Registry, skops_bytes: bytes, training: tuple[Any, Any]
) -> None:
    X, _ = training
    buffer = io.BytesIO()
    pd.DataFrame(X, columns=["a", "b", "c"]).to_parquet(buffer)
    files = {"file": ("m.skops", skops_bytes), "data": ("x.parquet", buffer.getvalue())}
    assert client.post("/models/churn/versions", files=files).json()["version"] == 1
    assert client.post("/models/churn/versions", files={"file": ("m.skops", skops_bytes)}).json()["version"] == 2


def test_mlflow_archive_is_imported(client: TestClient, registry: Registry, tmp_path: Path, classifier: Any) -> None:
    import mlflow.sklearn

    folder = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(classifier, str(folder), pip_requirements=["scikit-learn"])
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(folder, arcname="model")
    response = client.post(
        "/models/churn/versions",
        files={"file": ("model.tar.gz", archive.getvalue())},
        data={"tags": json.dumps({"source": "mlflow"})},
    )
    assert response.status_code == 201, response.text
    assert response.json()["flavor"] == "mlflow" and response.json()["tags"]["source"] == "mlflow"
    assert response.json()["created_by"] == "api-default"


BAD_UPLOADS: list[tuple[dict[str, Any], dict[str, str], str]] = [
    ({"description": (None, "no file")}, {}, "file: is required"),
    ({"file": ("m.skops", b"not a zip")}, {}, "file: m.skops: cannot be read"),
    ({"file": ("m.exe", b"MZ...")}, {}, "file: m.exe is not a model file"),
    ({"file": ("m.skops", b"")}, {"flavor": "sklaern"}, "flavor: 'sklaern' is not a flavor"),
    ({"file": ("m.skops", b"")}, {"metrics": '{"auc": NaN}'}, "metrics: NaN is not JSON"),
    ({"file": ("m.skops", b"")}, {"metrics": '{"auc": Infinity}'}, "metrics: Infinity is not JSON"),
    ({"file": ("m.skops", b"")}, {"params": "[1, 2]"}, "params: must be a JSON object"),
    ({"file": ("m.skops", b"")}, {"tags": "{team: risk}"}, "tags: is not valid JSON"),
    ({"file": ("m.skops", b"")}, {"requires_approval": "maybe"}, "requires_approval: 'maybe' is not true or false"),
    ({"file": ("m.skops", b"")}, {"colour": "red"}, "colour: unknown form field"),
    ({"file": ("m.skops", b"")}, {"target": "label"}, "target: names a column of the training data"),
    ({"file": ("m.skops", b""), "data": ("x.xlsx", b"")}, {}, "data: x.xlsx is neither .csv nor .parquet"),
    ({"file": ("m.skops", b""), "data": ("x.csv", b"\xff\xfe\x00")}, {}, "data: x.csv cannot be read as a table"),
    ({"file": (None, "not a file part")}, {}, "file: must be a file part"),
    ({"file": ("m.zip", b"PK not really")}, {}, "file: cannot unpack the archive"),
]


@pytest.mark.parametrize(("files", "fields", "expected"), BAD_UPLOADS)
def test_bad_uploads_are_400_naming_the_field_and_store_nothing(
    client: TestClient, registry: Registry, files: dict[str, Any], fields: dict[str, str], expected: str
) -> None:
    before = snapshot(registry)
    response = client.post("/models/churn/versions", files=files, data=fields)
    assert response.status_code == 400, response.text
    assert expected in response.json()["error"], response.json()
    assert snapshot(registry) == before


def test_upload_problems_with_a_valid_model(
    client: TestClient, registry: Registry, skops_bytes: bytes, training: tuple[Any, Any]
) -> None:
    before = snapshot(registry)
    csv = training_csv(training)
    cases = [
        ({"data": ("t.csv", csv)}, {"target": "nope"}, "target: 'nope' is not a column of the data"),
        ({"data": ("t.csv", csv)}, {}, "data: the model cannot predict on its first rows"),
        ({}, {"flavor": "onnx"}, "file: m.skops"),
        ({}, {"metrics": '{"auc": "high"}'}, "metrics.auc: 'high' is not a number"),
        ({}, {"description": "a\x00b"}, "description: must not contain NUL"),
    ]
    for extra_files, fields, expected in cases:
        files = {"file": ("m.skops", skops_bytes), **extra_files}
        response = client.post("/models/churn/versions", files=files, data=fields)
        assert response.status_code == 400, response.text
        assert expected in response.json()["error"]
        assert "shipyard-upload-" not in response.json()["error"]  # no temporary paths in messages
    assert snapshot(registry) == before


def test_mlflow_archive_refuses_fields_it_does_not_use(client: TestClient, registry: Registry) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model/MLmodel", "flavors: {}\n")
    response = client.post(
        "/models/churn/versions", files={"file": ("m.zip", archive.getvalue())}, data={"metrics": '{"a": 1}'}
    )
    assert response.status_code == 400 and "metrics: is not used when importing" in response.json()["error"]


@pytest.mark.parametrize("member", ["../evil", "/etc/evil"])
def test_archive_members_outside_the_folder_are_refused(client: TestClient, registry: Registry, member: str) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(member, "x")
    response = client.post("/models/churn/versions", files={"file": ("m.zip", archive.getvalue())})
    assert response.status_code == 400 and "points outside the archive" in response.json()["error"]
    assert registry.list_models() == []


def test_archive_that_unpacks_too_large_is_413(client: TestClient, registry: Registry) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model/big", b"\x00" * (4 * MAX_UPLOAD + 1))
    response = client.post("/models/churn/versions", files={"file": ("m.zip", archive.getvalue())})
    assert response.status_code == 413 and "unpacked archive" in response.json()["error"]


def test_huge_upload_is_413_and_stores_nothing(client: TestClient, registry: Registry, skops_bytes: bytes) -> None:
    before = snapshot(registry)
    response = client.post("/models/churn/versions", files={"file": ("m.skops", b"\x00" * (MAX_UPLOAD + 1))})
    assert response.status_code == 413
    assert "over the limit of 2,097,152 bytes" in response.json()["error"]
    assert snapshot(registry) == before


def test_huge_streamed_upload_without_length_is_413(registry: Registry) -> None:
    def body() -> Any:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=m.skops\r\n\r\n"
        for _ in range(MAX_UPLOAD // 65536 + 2):
            yield b"\x00" * 65536

    with TestClient(mount(registry), base_url="http://testserver/api/v1") as client:
        response = client.post(
            "/models/churn/versions", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
    assert response.status_code == 413
    assert registry.list_models() == []


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b'{"file": "x"}', "application/json", "body: send multipart/form-data"),
        (b"", None, "body: send multipart/form-data"),
        (b"--b\r\nContent-Disposition: form-data; name=file; filename=m.skops\r\n\r\nabc", None, "closing boundary"),
        (b"--b\r\nX-Nothing: 1\r\n\r\nabc\r\n--b--", None, "no Content-Disposition"),
    ],
)
def test_malformed_bodies_are_400(
    client: TestClient, registry: Registry, content: bytes, content_type: str | None, expected: str
) -> None:
    headers = {"Content-Type": content_type or "multipart/form-data; boundary=b"}
    if content_type is None and not content:
        headers = {}
    response = client.post("/models/churn/versions", content=content, headers=headers)
    assert response.status_code == 400 and expected in response.json()["error"]
    assert registry.list_models() == []


def test_bad_model_name_is_refused_before_reading_the_upload(client: TestClient, skops_bytes: bytes) -> None:
    response = client.post("/models/-bad/versions", files={"file": ("m.skops", skops_bytes)})
    assert response.status_code == 400 and response.json()["error"].startswith("name: ")
