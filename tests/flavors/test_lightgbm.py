from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from shipyard.errors import ValidationFailed
from shipyard.flavors import LightGBMFlavor

from .conftest import Dataset, RoundTrip

FLAVOR = LightGBMFlavor()


def test_binary_classifier_round_trip(round_trip: RoundTrip, cancer: Dataset) -> None:
    X, y = cancer
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(X, y)
    saved, loaded = round_trip(model, allow_pickle=False)
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("lightgbm", "lightgbm-txt", False)
    assert "lightgbm" in saved.requirements
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_multiclass_classifier_keeps_string_labels(round_trip: RoundTrip, iris: Dataset) -> None:
    X, y = iris
    labels = y.map({0: "setosa", 1: "versicolor", 2: "virginica"})
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(X, labels)
    saved, loaded = round_trip(model)
    assert saved.details["classes"] == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_regressor_round_trip(round_trip: RoundTrip, diabetes: Dataset) -> None:
    X, y = diabetes
    model = lgb.LGBMRegressor(n_estimators=5, num_leaves=4, verbose=-1).fit(X, y)
    _, loaded = round_trip(model)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert not hasattr(loaded, "predict_proba")
    assert "trees=5" in repr(loaded)


def test_booster_round_trip(round_trip: RoundTrip, diabetes: Dataset) -> None:
    X, y = diabetes
    booster = lgb.train({"num_leaves": 4, "verbose": -1}, lgb.Dataset(X, y), num_boost_round=3)
    saved, loaded = round_trip(booster)
    assert saved.details["classes"] is None
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), booster.predict(X.to_numpy()))


def test_read_file(tmp_path: Path, diabetes: Dataset) -> None:
    X, y = diabetes
    model = lgb.LGBMRegressor(n_estimators=3, num_leaves=4, verbose=-1).fit(X, y)
    path = tmp_path / "model.txt"
    model.booster_.save_model(str(path))
    assert FLAVOR.can_read_file(path)
    read = FLAVOR.read_file(path)
    assert isinstance(read, lgb.Booster)
    np.testing.assert_allclose(read.predict(X), model.predict(X))


def test_read_file_rejects_a_text_file_that_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    assert not FLAVOR.can_read_file(path)
    with pytest.raises(ValidationFailed, match="first line is 'tree'"):
        FLAVOR.read_file(path)


def test_read_file_rejects_a_corrupted_model(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text("tree\nversion=v4\nnum_class=banana\n")
    with pytest.raises(ValidationFailed, match="cannot be read as a LightGBM model"):
        FLAVOR.read_file(path)
