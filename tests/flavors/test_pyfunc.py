from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shipyard.errors import PickleRefused, UnsupportedModel, ValidationFailed
from shipyard.flavors import PythonFlavor, flavor_for

from .conftest import RoundTrip, SaveTo

FLAVOR = PythonFlavor()


class Threshold:
    """A hand-written classifier: its code lives only in this test module."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(np.asarray(X, dtype=float).sum(axis=1) - self.cut)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


class Doubler:
    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X) * 2


def test_round_trip_with_predict_proba(round_trip: RoundTrip) -> None:
    model = Threshold(cut=3.0)
    X = np.array([[1.0, 1.0], [2.0, 2.5], [0.0, 0.1]])
    saved, loaded = round_trip(model)
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("python", "cloudpickle", True)
    assert "cloudpickle" in saved.requirements
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert "Threshold" in repr(loaded)


def test_predict_only_model_has_no_predict_proba(round_trip: RoundTrip) -> None:
    _, loaded = round_trip(Doubler())
    np.testing.assert_array_equal(loaded.predict([1, 2]), [2, 4])
    assert not hasattr(loaded, "predict_proba")


def test_pickle_is_refused_unless_allowed(save_to: SaveTo) -> None:
    folder, saved = save_to(Doubler())
    with pytest.raises(PickleRefused, match="pickle-based"):
        FLAVOR.load(folder, saved)


def test_code_travels_with_the_artifact(save_to: SaveTo, tmp_path: Path) -> None:
    folder, saved = save_to(Threshold(cut=1.0))
    assert saved.details["code_modules"] == [__name__]
    source = folder / str(saved.details["sources"][0])  # type: ignore[index]
    assert "class Threshold" in source.read_text()
    # A fresh interpreter where this test module cannot be imported still loads and runs the model.
    script = (
        "import pickle, sys; m = pickle.load(open(sys.argv[1], 'rb')); print(m.predict([[0.2, 0.3], [2, 2]]).tolist())"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(folder / "model.pkl")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == [0, 1]


def test_objects_without_predict_are_unsupported(tmp_path: Path) -> None:
    assert not FLAVOR.can_save(object())
    assert not FLAVOR.can_save(Doubler)  # the class, not an instance
    with pytest.raises(UnsupportedModel):
        FLAVOR.save(object(), tmp_path)
    assert flavor_for(Doubler()).name == "python"


def test_a_pickle_without_predict_is_refused_on_load(save_to: SaveTo) -> None:
    folder, saved = save_to(Doubler())
    (folder / "model.pkl").write_bytes(__import__("pickle").dumps({"not": "a model"}))
    with pytest.raises(ValidationFailed, match="no predict method"):
        FLAVOR.load(folder, saved, allow_pickle=True)


def test_python_models_are_not_read_from_files(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"")
    assert not FLAVOR.can_read_file(path)
    with pytest.raises(ValidationFailed, match="registered from Python"):
        FLAVOR.read_file(path)
