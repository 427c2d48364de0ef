from __future__ import annotations

import importlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from shipyard.errors import PickleRefused, UnsupportedModel, ValidationFailed
from shipyard.flavors import SklearnFlavor

from .conftest import Dataset, RoundTrip, SaveTo

FLAVOR = SklearnFlavor()


def test_pipeline_round_trips_with_skops(round_trip: RoundTrip, cancer: Dataset) -> None:
    X, y = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    saved, loaded = round_trip(model, allow_pickle=False)  # skops needs no pickle
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("sklearn", "skops", False)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert {"scikit-learn", "skops", "numpy"} <= set(saved.requirements)
    assert "Pipeline" in repr(loaded)


def test_untrusted_types_are_recorded_and_trusted_on_load(round_trip: RoundTrip, iris: Dataset) -> None:
    X, y = iris
    model = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    saved, loaded = round_trip(model)
    assert any("TreePredictor" in str(t) for t in saved.details["trusted_types"])  # type: ignore[union-attr]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_regressor_has_no_predict_proba(round_trip: RoundTrip, diabetes: Dataset) -> None:
    X, y = diabetes
    model = Ridge().fit(X, y)
    _, loaded = round_trip(model)
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), model.predict(X.to_numpy()))
    assert not hasattr(loaded, "predict_proba")


def test_what_skops_cannot_read_back_falls_back_to_pickle(save_to: SaveTo, iris: Dataset) -> None:
    X, y = iris
    model = make_pipeline(FunctionTransformer(lambda x: x * 2), LogisticRegression(max_iter=500)).fit(X, y)
    folder, saved = save_to(model)
    assert (saved.format, saved.uses_pickle) == ("pickle", True)
    assert "cloudpickle" in saved.requirements
    assert not (folder / "model.skops").exists()
    with pytest.raises(PickleRefused):
        FLAVOR.load(folder, saved)
    loaded = FLAVOR.load(folder, saved, allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_unknown_format_is_refused(save_to: SaveTo, diabetes: Dataset) -> None:
    folder, saved = save_to(Ridge().fit(*diabetes))
    bogus = type(saved)(saved.flavor, "parquet", False, saved.requirements, saved.details)
    with pytest.raises(ValidationFailed, match="parquet"):
        FLAVOR.load(folder, bogus)


def test_save_refuses_a_non_estimator(tmp_path: Path) -> None:
    assert not FLAVOR.can_save(object())
    with pytest.raises(UnsupportedModel, match="builtins.object"):
        FLAVOR.save(object(), tmp_path)


@pytest.mark.parametrize("suffix", [".skops", ".pkl", ".pickle", ".joblib"])
def test_read_file(tmp_path: Path, iris: Dataset, suffix: str) -> None:
    X, y = iris
    model = LogisticRegression(max_iter=500).fit(X, y)
    path = tmp_path / f"model{suffix}"
    if suffix == ".skops":
        skops.io.dump(model, path)
    elif suffix == ".joblib":
        importlib.import_module("joblib").dump(model, path)  # joblib ships no type hints
    else:
        path.write_bytes(pickle.dumps(model))
    assert FLAVOR.can_read_file(path)
    read = FLAVOR.read_file(path)
    np.testing.assert_array_equal(read.predict(X), model.predict(X))  # type: ignore[attr-defined]


@pytest.mark.parametrize("suffix", [".skops", ".pkl", ".joblib"])
def test_read_file_rejects_a_corrupted_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"not a model at all")
    with pytest.raises(ValidationFailed, match="cannot be read") as info:
        FLAVOR.read_file(path)
    assert info.value.problems[0][0] == "path"


def test_read_file_rejects_another_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.csv"
    path.write_text("a,b\n1,2\n")
    assert not FLAVOR.can_read_file(path)
    assert not FLAVOR.can_read_file(tmp_path / "missing.pkl")
    with pytest.raises(ValidationFailed, match=r"\.skops"):
        FLAVOR.read_file(path)
