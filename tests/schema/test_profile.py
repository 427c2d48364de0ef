from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from shipyard.errors import ValidationFailed
from shipyard.schema import CategoricalProfile, NumericProfile, Profile, profile_data

QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    frame: pd.DataFrame = load_breast_cancer(as_frame=True).data
    return frame


def numeric(profile: Profile, name: str) -> NumericProfile:
    feature = profile.features[name]
    assert isinstance(feature, NumericProfile)
    return feature


def categorical(profile: Profile, name: str) -> CategoricalProfile:
    feature = profile.features[name]
    assert isinstance(feature, CategoricalProfile)
    return feature


def test_numbers_match_numpy(cancer: pd.DataFrame) -> None:
    profile = profile_data(cancer)
    assert profile.rows == len(cancer) and list(profile.features) == list(cancer.columns)
    for name in cancer.columns:
        values = cancer[name].to_numpy()
        feature = numeric(profile, name)
        assert (feature.count, feature.missing) == (len(values), 0)
        assert (feature.min, feature.max) == (values.min(), values.max())
        assert feature.mean == pytest.approx(values.mean(), rel=1e-12)
        assert feature.std == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert list(feature.quantiles) == list(QUANTILES)
        np.testing.assert_allclose(list(feature.quantiles.values()), np.quantile(values, QUANTILES), rtol=1e-12)


def test_bin_edges_are_the_unique_deciles(cancer: pd.DataFrame) -> None:
    values = cancer["mean radius"].to_numpy()
    edges = numeric(profile_data(cancer), "mean radius").bin_edges
    np.testing.assert_allclose(edges, np.unique(np.quantile(values, np.linspace(0, 1, 11))), rtol=1e-12)
    discrete = numeric(profile_data({"x": np.repeat([1.0, 2.0, 3.0], 10)}), "x")
    assert discrete.bin_edges.tolist() == [1.0, 2.0, 3.0]


def test_nan_and_inf_are_missing() -> None:
    values = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 5.0])
    feature = numeric(profile_data({"x": values}), "x")
    assert (feature.count, feature.missing) == (3, 3)
    assert (feature.min, feature.max, feature.mean) == (1.0, 5.0, 3.0)
    assert feature.sample.tolist() == [1.0, 3.0, 5.0]


def test_all_missing_column() -> None:
    feature = numeric(profile_data({"x": [np.nan, np.nan]}), "x")
    assert (feature.count, feature.missing, feature.quantiles, len(feature.sample)) == (0, 2, {}, 0)
    assert math.isnan(feature.mean)
    json.dumps(feature.to_dict(), allow_nan=False)


def test_single_value_has_zero_std() -> None:
    feature = numeric(profile_data({"x": [4.0]}), "x")
    assert (feature.std, feature.quantiles[0.5]) == (0.0, 4.0)


def test_sample_is_a_sorted_subset_of_the_requested_size() -> None:
    values = np.random.default_rng(1).normal(size=5000)
    feature = numeric(profile_data({"x": values}, sample_size=300), "x")
    assert len(feature.sample) == 300 and feature.sample.dtype == np.float64
    assert np.all(np.diff(feature.sample) >= 0)
    assert np.isin(feature.sample, values).all()
    assert len(np.unique(feature.sample)) == 300  # drawn without replacement


def test_sample_is_everything_when_there_are_fewer_values() -> None:
    feature = numeric(profile_data({"x": [3.0, 1.0, 2.0]}, sample_size=10), "x")
    assert feature.sample.tolist() == [1.0, 2.0, 3.0]


def test_sample_depends_on_the_seed_only() -> None:
    values = np.random.default_rng(2).normal(size=2000)
    first = numeric(profile_data({"x": values}, sample_size=100, seed=7), "x").sample
    again = numeric(profile_data({"x": values}, sample_size=100, seed=7), "x").sample
    other = numeric(profile_data({"x": values}, sample_size=100, seed=8), "x").sample
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


def test_sample_ignores_the_other_columns() -> None:
    values = np.random.default_rng(3).normal(size=2000)
    alone = numeric(profile_data({"x": values}, sample_size=50), "x").sample
    crowded = numeric(profile_data({"a": values, "z": values, "x": values}, sample_size=50), "x").sample
    assert alone.tolist() == crowded.tolist()


def test_integer_columns_are_numeric() -> None:
    feature = numeric(profile_data(pd.DataFrame({"n": pd.array([1, 2, None, 4], dtype="Int64")})), "n")
    assert (feature.count, feature.missing) == (3, 1)
    assert feature.mean == pytest.approx(7 / 3)


def test_categorical_frequencies() -> None:
    frame = pd.DataFrame(
        {
            "city": ["Oslo", "Rome", "Oslo", None, "Paris", "Oslo"],
            "flag": [True, False, True, True, False, True],
            "grade": pd.Categorical(["a", "b", "a", "a", None, "b"], categories=["a", "b", "unused"]),
        }
    )
    profile = profile_data(frame)
    city = categorical(profile, "city")
    assert (city.count, city.missing) == (5, 1)
    assert list(city.frequencies.items()) == [("Oslo", 3), ("Paris", 1), ("Rome", 1)]
    assert categorical(profile, "flag").frequencies == {"True": 4, "False": 2}
    assert categorical(profile, "grade").frequencies == {"a": 3, "b": 2}


def test_rare_values_are_summed_under_other() -> None:
    values = [f"v{i}" for i in range(10) for _ in range(10 - i)]
    feature = categorical(profile_data({"s": values}, max_categories=3), "s")
    assert feature.frequencies == {"v0": 10, "v1": 9, "v2": 8, "__other__": sum(range(1, 8))}
    assert sum(feature.frequencies.values()) == feature.count


def test_default_cap_is_a_thousand() -> None:
    feature = categorical(profile_data({"s": [str(i) for i in range(1500)]}), "s")
    assert len(feature.frequencies) == 1001 and feature.frequencies["__other__"] == 500


def test_unprofiled_columns_are_left_out() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01"] * 2), "blob": [b"a", b"b"], "x": [1.0, 2.0]})
    assert list(profile_data(frame).features) == ["x"]


def test_other_data_forms() -> None:
    assert list(profile_data(np.ones((4, 2))).features) == ["x0", "x1"]
    assert list(profile_data([[1.0, "a"], [2.0, "b"]]).features) == ["x0", "x1"]
    assert profile_data(np.zeros((2, 3, 4))).features == {}  # tensors are not profiled
    with pytest.raises(ValidationFailed):
        profile_data("not data")


def test_bad_sample_size() -> None:
    with pytest.raises(ValidationFailed):
        profile_data({"x": [1.0]}, sample_size=-1)


def profile_of_everything() -> Profile:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=500), "s": rng.choice(["a", "b"], 500), "empty": np.nan})
    return profile_data(frame, sample_size=100)


def test_dict_round_trip_through_json() -> None:
    profile = profile_of_everything()
    document = json.loads(json.dumps(profile.to_dict(), allow_nan=False))
    again = Profile.from_dict(document)
    assert again.features == profile.features and again.rows == profile.rows


def test_bytes_round_trip_and_are_deterministic() -> None:
    profile = profile_of_everything()
    blob = profile.to_bytes()
    assert blob == profile_of_everything().to_bytes()
    again = Profile.from_bytes(blob)
    assert again.features == profile.features and again.rows == profile.rows
    assert numeric(again, "x").sample.tolist() == numeric(profile, "x").sample.tolist()


def test_bytes_are_compact() -> None:
    profile = profile_data({f"f{i}": np.arange(20_000.0) for i in range(3)})
    assert len(profile.to_bytes()) < 3 * 10_000 * 8 + 4096


@pytest.mark.parametrize(
    "blob",
    [b"", b"garbage-garbage-garbage", b"SHPYPROF" + b"\x02\x00\x00\x00" + bytes(8), b"SHPYPROF" + bytes(12) + b"{"],
)
def test_corrupt_bytes_are_refused(blob: bytes) -> None:
    with pytest.raises(ValidationFailed):
        Profile.from_bytes(blob)


def test_truncated_bytes_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="size does not match"):
        Profile.from_bytes(profile_of_everything().to_bytes()[:-8])


def test_malformed_document_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        Profile.from_dict({"rows": 1, "features": {"x": {"kind": "numeric"}}})


def test_repr() -> None:
    assert repr(profile_of_everything()) == "Profile(rows=500, features=3)"
