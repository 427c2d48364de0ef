from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.linear_model import LinearRegression, LogisticRegression

from shipyard.errors import ValidationFailed
from shipyard.flavors import OnnxFlavor
from shipyard.flavors.onnx import providers

from .conftest import Dataset, RoundTrip, SaveTo

FLAVOR = OnnxFlavor()


@pytest.fixture(scope="module")
def logreg(iris: Dataset) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(*iris)


def _add_model() -> onnx.ModelProto:
    """A two-input model: out = a + b."""
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 1]) for name in ("a", "b")]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 1])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["out"])], "add", inputs, [output])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_classifier_round_trip(round_trip: RoundTrip, logreg: LogisticRegression, iris: Dataset) -> None:
    X, _ = iris
    proto = to_onnx(logreg, X.to_numpy()[:1].astype(np.float32), options={"zipmap": False})
    saved, loaded = round_trip(proto, allow_pickle=False)
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("onnx", "onnx", False)
    assert {"onnx", "onnxruntime"} <= set(saved.requirements)
    assert saved.details["outputs"] == ["label", "probabilities"]
    # float64 frames are cast to the model's float32 input
    np.testing.assert_array_equal(loaded.predict(X), logreg.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X.to_numpy()), logreg.predict_proba(X), atol=1e-5)
    assert "probabilities" in repr(loaded)


def test_zipmap_probabilities_become_an_array(round_trip: RoundTrip, logreg: LogisticRegression, iris: Dataset) -> None:
    X, _ = iris
    _, loaded = round_trip(to_onnx(logreg, X.to_numpy()[:1].astype(np.float32)))
    np.testing.assert_allclose(loaded.predict_proba(X), logreg.predict_proba(X), atol=1e-5)


def test_regressor_has_no_predict_proba(round_trip: RoundTrip, diabetes: Dataset) -> None:
    X, y = diabetes
    model = LinearRegression().fit(X, y)
    _, loaded = round_trip(to_onnx(model, X.to_numpy()[:1].astype(np.float32)))
    np.testing.assert_allclose(loaded.predict(X).ravel(), model.predict(X), rtol=1e-4)
    assert not hasattr(loaded, "predict_proba")


def test_several_inputs_from_a_dict_or_a_frame(round_trip: RoundTrip) -> None:
    _, loaded = round_trip(_add_model())
    a, b = np.array([[1.0], [2.0]]), np.array([[10.0], [20.0]])
    np.testing.assert_allclose(loaded.predict({"a": a, "b": b}), [[11.0], [22.0]])
    np.testing.assert_allclose(loaded.predict(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})), [[4.0], [6.0]])
    with pytest.raises(ValidationFailed, match="b: missing model input"):
        loaded.predict({"a": a})
    with pytest.raises(ValidationFailed, match="inputs"):
        loaded.predict(np.ones((2, 2)))


def test_an_invalid_model_is_refused_on_save(save_to: SaveTo) -> None:
    broken = _add_model()
    broken.graph.node[0].input[1] = "nowhere"
    with pytest.raises(ValidationFailed, match="not a valid ONNX model"):
        save_to(broken)


def test_providers_prefer_cuda_and_keep_cpu() -> None:
    assert providers(["AzureExecutionProvider", "CPUExecutionProvider", "CUDAExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_read_file(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save_model(_add_model(), str(path))
    assert FLAVOR.can_read_file(path)
    assert isinstance(FLAVOR.read_file(path), onnx.ModelProto)


def test_read_file_rejects_a_corrupted_file(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x00\x01 definitely not protobuf \xff\xfe")
    with pytest.raises(ValidationFailed) as info:
        FLAVOR.read_file(path)
    assert info.value.problems[0][0] == "path"


def test_read_file_rejects_another_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.pb"
    onnx.save_model(_add_model(), str(path))
    assert not FLAVOR.can_read_file(path)
    with pytest.raises(ValidationFailed, match=r"\.onnx"):
        FLAVOR.read_file(path)
