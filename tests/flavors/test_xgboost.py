from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from shipyard.errors import ValidationFailed
from shipyard.flavors import XGBoostFlavor
from shipyard.flavors.xgboost import XGBoostBoosterModel

from .conftest import Dataset, RoundTrip, SaveTo

FLAVOR = XGBoostFlavor()


@pytest.fixture(scope="module")
def classifier(cancer: Dataset) -> xgb.XGBClassifier:
    return xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(*cancer)


@pytest.fixture(scope="module")
def booster(diabetes: Dataset) -> xgb.Booster:
    X, y = diabetes
    return xgb.train({"max_depth": 2}, xgb.DMatrix(X, y), num_boost_round=5)


def test_classifier_round_trip_gives_labels_and_probabilities(
    round_trip: RoundTrip, classifier: xgb.XGBClassifier, cancer: Dataset
) -> None:
    X, _ = cancer
    saved, loaded = round_trip(classifier, allow_pickle=False)
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("xgboost", "xgboost-ubj", False)
    assert saved.details["sklearn_class"] == "XGBClassifier"
    assert {"xgboost", "xgboost-cpu"} & set(saved.requirements)
    np.testing.assert_array_equal(loaded.predict(X), classifier.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), classifier.predict_proba(X))


def test_regressor_round_trip(round_trip: RoundTrip, diabetes: Dataset) -> None:
    X, y = diabetes
    model = xgb.XGBRegressor(n_estimators=5, max_depth=2).fit(X.to_numpy(), y)
    saved, loaded = round_trip(model)
    assert saved.details["sklearn_class"] == "XGBRegressor"
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), model.predict(X.to_numpy()))
    assert not hasattr(loaded, "predict_proba")


def test_booster_round_trip_accepts_frames_and_arrays(
    round_trip: RoundTrip, booster: xgb.Booster, diabetes: Dataset
) -> None:
    X, _ = diabetes
    saved, loaded = round_trip(booster)
    assert isinstance(loaded, XGBoostBoosterModel) and saved.details["sklearn_class"] is None
    expected = booster.predict(xgb.DMatrix(X))
    np.testing.assert_allclose(loaded.predict(X), expected)
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), expected)
    assert "features=10" in repr(loaded)


def test_an_unknown_wrapper_name_is_refused(save_to: SaveTo, classifier: xgb.XGBClassifier) -> None:
    folder, saved = save_to(classifier)
    tampered = type(saved)(saved.flavor, saved.format, False, {}, {**saved.details, "sklearn_class": "os.system"})
    with pytest.raises(ValidationFailed, match="os.system"):
        FLAVOR.load(folder, tampered)


def test_read_file_ubj_restores_the_wrapper(tmp_path: Path, classifier: xgb.XGBClassifier, cancer: Dataset) -> None:
    path = tmp_path / "model.ubj"
    classifier.save_model(path)
    assert FLAVOR.can_read_file(path)
    read = FLAVOR.read_file(path)
    assert isinstance(read, xgb.XGBClassifier)
    np.testing.assert_array_equal(read.predict(cancer[0]), classifier.predict(cancer[0]))


def test_read_file_json_booster(tmp_path: Path, booster: xgb.Booster) -> None:
    path = tmp_path / "model.json"
    booster.save_model(path)
    assert FLAVOR.can_read_file(path)
    assert isinstance(FLAVOR.read_file(path), xgb.Booster)


def test_read_file_rejects_json_that_is_not_xgboost(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"weights": [1, 2]}))
    assert not FLAVOR.can_read_file(path)
    with pytest.raises(ValidationFailed, match="learner"):
        FLAVOR.read_file(path)


def test_read_file_rejects_a_corrupted_ubj(tmp_path: Path) -> None:
    path = tmp_path / "model.ubj"
    path.write_bytes(b"{garbage that is not ubjson")
    with pytest.raises(ValidationFailed, match="cannot be read as an XGBoost model"):
        FLAVOR.read_file(path)


def test_read_file_rejects_another_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"{}")
    assert not FLAVOR.can_read_file(path)
