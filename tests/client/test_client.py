"""`shipyard.Client` against the real app in process: every input kind, outputs, versions and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import shipyard
from shipyard.errors import (
    AliasNotFound,
    ConfigError,
    ModelFailed,
    ModelNotFound,
    RequestTooLarge,
    ShipyardError,
    ValidationFailed,
    VersionNotFound,
)

from .._services import free_port
from .conftest import MAX_BODY_BYTES, AppTransport, Models


def test_health_and_metadata(client: shipyard.Client, models: Models) -> None:
    assert client.is_live() and client.is_ready()
    assert "binary_tensor_data" in client.server_metadata()["extensions"]
    meta = client.model_metadata("cancer")
    assert [i["name"] for i in meta["inputs"]] == list(models.cancer.columns)
    assert meta["versions"] == ["1", "2"] and meta["parameters"]["version"] == "1"
    assert client.model_metadata("cancer", version=2)["parameters"]["version"] == "2"
    assert client.model_ready("cancer") and client.model_ready("cancer", version="production")
    with pytest.raises(ModelNotFound):
        client.model_ready("nope")


def test_numpy_rows_go_and_come_back_binary(client: shipyard.Client, transport: AppTransport, models: Models) -> None:
    X = models.cancer.to_numpy()[:20]
    labels = client.predict("cancer", X)
    assert isinstance(labels, np.ndarray)
    np.testing.assert_array_equal(labels, models.cancer_model.predict(models.cancer.iloc[:20]))
    sent, answer = transport.requests[-1], transport.responses[-1]
    assert sent.headers["content-type"] == "application/octet-stream"
    assert int(sent.headers["inference-header-content-length"]) < len(sent.content)
    assert int(answer.headers["inference-header-content-length"]) < len(answer.content)


def test_dataframe_in_series_out_with_its_index(client: shipyard.Client, models: Models) -> None:
    X = models.cancer.iloc[100:110]
    labels = client.predict("cancer", X)
    assert isinstance(labels, pd.Series) and labels.name == "predict"
    assert labels.index.equals(X.index)
    assert labels.tolist() == models.cancer_model.predict(X).tolist()


def test_list_of_rows_and_dict_of_columns(client: shipyard.Client, models: Models) -> None:
    X = models.cancer.iloc[:5]
    expected = models.cancer_model.predict(X).tolist()
    assert client.predict("cancer", X.to_numpy().tolist()).tolist() == expected
    columns = {name: X[name].to_numpy() for name in X.columns}
    by_columns = client.predict("cancer", columns)
    assert isinstance(by_columns, np.ndarray) and by_columns.tolist() == expected


def test_predict_proba(client: shipyard.Client, models: Models) -> None:
    X = models.cancer.iloc[30:36]
    proba = client.predict("cancer", X.to_numpy(), output="predict_proba")
    assert proba.shape == (6, 2)
    np.testing.assert_allclose(proba, models.cancer_model.predict_proba(X))
    frame = client.predict("cancer", X, output="predict_proba")
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.equals(X.index) and frame.columns.equals(pd.RangeIndex(2))
    np.testing.assert_allclose(frame.to_numpy(), proba)


def test_string_labels_come_back_as_str(client: shipyard.Client, models: Models) -> None:
    X = models.iris[::25]
    labels = client.predict("iris", X)
    assert labels.tolist() == models.iris_model.predict(X).tolist()
    assert all(type(label) is str for label in labels)
    raw = client.infer("iris", X[:2], outputs=["predict"]).outputs["predict"]
    assert raw.tolist() == [b"setosa", b"setosa"]


def test_text_columns_go_as_bytes(client: shipyard.Client, models: Models) -> None:
    X = models.mixed.iloc[:40]
    assert str(X["color"].dtype) in ("str", "object", "string")
    labels = client.predict("mixed", X)
    assert isinstance(labels, pd.Series) and labels.tolist() == models.mixed_model.predict(X).tolist()
    proba = client.predict("mixed", X.astype({"color": "category"}), output="predict_proba")
    np.testing.assert_allclose(proba.to_numpy(), models.mixed_model.predict_proba(X))


def test_version_pinning(client: shipyard.Client, models: Models) -> None:
    X = models.cancer.to_numpy()[:2]
    assert client.infer("cancer", X).model_version == "1"  # the production alias
    assert client.infer("cancer", X, version=2).model_version == "2"
    assert client.infer("cancer", X, version="production").model_version == "1"
    assert client.predict("cancer", X, version=2).shape == (2,)


def test_infer_returns_every_output_and_the_request_id(client: shipyard.Client, models: Models) -> None:
    X = models.cancer.iloc[:3]
    result = client.infer("cancer", X, request_id="req-7")
    assert result.id == "req-7" and result.model_name == "cancer" and result.model_version == "1"
    assert set(result.outputs) == {"predict", "predict_proba"}
    assert result.outputs["predict_proba"].shape == (3, 2) and result.outputs["predict"].dtype == np.int64
    assert "InferResult(model_name='cancer'" in repr(result) and "'predict_proba': [3, 2]" in repr(result)


def test_unknown_model_and_version(client: shipyard.Client, models: Models) -> None:
    X = models.cancer.to_numpy()[:1]
    with pytest.raises(ModelNotFound, match="cancer") as missing:
        client.predict("cancr", X)  # the server's message names the closest model
    assert isinstance(missing.value, LookupError) and missing.value.name == "cancr"
    with pytest.raises(VersionNotFound, match="no version 9") as no_version:
        client.predict("cancer", X, version=9)
    assert (no_version.value.name, no_version.value.version) == ("cancer", 9)
    with pytest.raises(AliasNotFound, match="no alias 'staging'"):
        client.predict("cancer", X, version="staging")


def test_bad_input_is_validation_failed(client: shipyard.Client) -> None:
    with pytest.raises(ValidationFailed, match=r"expected \[rows, 30\]") as bad:
        client.predict("cancer", np.ones((2, 3)))
    assert isinstance(bad.value, ValueError) and len(bad.value.problems) == 1
    with pytest.raises(ValidationFailed, match="unknown output"):
        client.infer("cancer", np.ones((1, 30)), outputs=["logits"])


def test_oversized_body_is_request_too_large(client: shipyard.Client) -> None:
    with pytest.raises(RequestTooLarge, match="limit") as too_large:
        client.predict("cancer", np.ones((1000, 30)))
    assert too_large.value.limit == MAX_BODY_BYTES
    assert too_large.value.size is not None and too_large.value.size > MAX_BODY_BYTES


def test_a_failing_model_is_model_failed_without_its_secrets(client: shipyard.Client) -> None:
    with pytest.raises(ModelFailed, match="failed while predicting") as failed:
        client.predict("sum", [[6, 6, 1]])
    assert "secret internal detail" not in str(failed.value) and failed.value.name == "sum"
    assert client.predict("sum", [[1, 1, 1]]).tolist() == [3.0]  # the server is fine afterwards


def test_input_problems_found_before_sending(client: shipyard.Client, transport: AppTransport) -> None:
    with pytest.raises(ValidationFailed, match="color: 1 of its 2 values are not text"):
        client.predict("mixed", pd.DataFrame({"color": ["red", None], "size": [0.1, 0.2], "count": [1, 2]}))
    with pytest.raises(TypeError, match="to_frame"):
        client.predict("cancer", pd.Series([1.0, 2.0]))  # type: ignore[call-overload]  # the mistake under test
    with pytest.raises(TypeError, match="got set"):
        client.predict("cancer", {1.0, 2.0})  # type: ignore[call-overload]  # the mistake under test
    assert transport.requests == []


def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with shipyard.Client(url, timeout=5) as client:
        with pytest.raises(ShipyardError, match=r"Cannot reach .*127\.0\.0\.1.*shipyard serve"):
            client.predict("cancer", [[1.0, 2.0]])
        assert not client.is_live() and not client.is_ready()


def test_lifecycle_and_repr(transport: AppTransport) -> None:
    with shipyard.Client("http://example.test:9000/", transport=transport) as client:
        assert repr(client) == "Client(url='http://example.test:9000')"
        assert client.is_live()
    with pytest.raises(RuntimeError, match="closed"):
        client.is_live()
    with pytest.raises(ConfigError, match="http://localhost:8080"):
        shipyard.Client("localhost:8080")
