from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import ModelNotFound, UnsupportedModel, ValidationFailed, VersionNotFound
from shipyard.registry import Registry


def test_register_returns_numbered_immutable_versions(registry: Registry, logreg: Any, cancer: Any) -> None:
    X, y = cancer
    first = registry.register(
        logreg, "churn", data=X, target=y, params={"C": 1.0}, metrics={"auc": 0.99}, tags={"team": "risk"}
    )
    second = registry.register(logreg, "churn")
    assert (first.version, second.version) == (1, 2)
    assert first.uri == "models:/churn/1"
    assert first.flavor == "sklearn" and not first.uses_pickle
    assert first.params == {"C": 1.0} and first.metrics == {"auc": 0.99} and first.tags == {"team": "risk"}
    assert first.digest.startswith("sha256:") and first.size > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.version = 5  # type: ignore[misc]


def test_signature_profile_and_lineage_are_recorded(registry: Registry, logreg: Any, cancer: Any) -> None:
    X, y = cancer
    mv = registry.register(logreg, "churn", data=X, target=y)
    assert mv.signature is not None
    names = [f["name"] for f in mv.signature["inputs"]]  # type: ignore[index, union-attr]
    assert names == list(X.columns)
    outputs = {f["name"] for f in mv.signature["outputs"]}  # type: ignore[index, union-attr]
    assert outputs == {"predict", "predict_proba"}
    assert mv.profile_digest is not None and registry.load_profile_bytes(mv)
    data = mv.lineage["data"]
    assert isinstance(data, dict)
    assert data["rows"] == len(X) and data["columns"] == X.shape[1] and len(str(data["sha256"])) == 64
    assert mv.lineage["registered_by"] == "alice"
    env = mv.lineage["environment"]
    assert isinstance(env, dict) and "scikit-learn" in env["packages"]  # type: ignore[operator]
    assert mv.saved.requirements.get("scikit-learn")


def test_same_data_same_fingerprint_and_changed_data_differs(registry: Registry, logreg: Any, cancer: Any) -> None:
    X, y = cancer
    a = registry.register(logreg, "m", data=X, target=y)
    b = registry.register(logreg, "m", data=X.copy(), target=y)
    changed = X.copy()
    changed.iloc[0, 0] += 1.0
    c = registry.register(logreg, "m", data=changed, target=y)
    fp = [v.lineage["data"]["sha256"] for v in (a, b, c)]  # type: ignore[index, call-overload]
    assert fp[0] == fp[1] != fp[2]


def test_load_predicts_like_the_original(registry: Registry, logreg: Any, cancer: Any) -> None:
    X, _ = cancer
    registry.register(logreg, "churn", data=X)
    loaded = registry.load("models:/churn/1")
    np.testing.assert_array_equal(loaded.predict(X), logreg.predict(X))


def test_unsupported_object_lists_supported_flavors(registry: Registry) -> None:
    with pytest.raises(UnsupportedModel) as info:
        registry.register(object(), "nope")
    assert "sklearn" in str(info.value)
    with pytest.raises(ModelNotFound):
        registry.get_model("nope")  # nothing stored by the failed attempt


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metrics": {"auc": float("nan")}}, "metrics.auc"),
        ({"metrics": {"auc": "high"}}, "metrics.auc"),
        ({"metrics": [1, 2]}, "metrics"),
        ({"params": "C=1"}, "params"),
        ({"serving": {"max_batch_size": 0}}, "serving.max_batch_size"),
        ({"serving": {"batch": 3}}, "serving.batch"),
    ],
)
def test_bad_attachments_name_the_field_and_store_nothing(
    registry: Registry, logreg: Any, kwargs: dict[str, Any], field: str
) -> None:
    registry.register(logreg, "churn")
    with pytest.raises(ValidationFailed) as info:
        registry.register(logreg, "churn", **kwargs)
    assert field in str(info.value)
    assert [v.version for v in registry.list_versions("churn")] == [1]


@pytest.mark.parametrize("name", ["", "has space", "../etc", "x" * 200, "-lead", "a/b"])
def test_bad_names_are_refused(registry: Registry, logreg: Any, name: str) -> None:
    with pytest.raises(ValidationFailed, match="name"):
        registry.register(logreg, name)
    assert registry.list_models() == []


def test_missing_names_suggest_the_closest(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn")
    registry.register(logreg, "churn")
    with pytest.raises(ModelNotFound, match="churn"):
        registry.resolve("chrun")
    with pytest.raises(VersionNotFound) as info:
        registry.resolve("churn/9")
    assert info.value.suggestions  # names existing versions


def test_numpy_training_data_gives_array_signature(registry: Registry, logreg: Any, cancer: Any) -> None:
    X, y = cancer
    array_model = type(logreg)(logreg.steps).fit(X.to_numpy(), y)
    mv = registry.register(array_model, "arr", data=X.to_numpy())
    assert mv.signature is not None and mv.signature["layout"] == "array"
    loaded = registry.load("arr")
    assert loaded.predict(X.to_numpy()[:3]).shape == (3,)


def test_derived_from_records_the_parent(registry: Registry, logreg: Any) -> None:
    registry.register(logreg, "churn")
    child = registry.register(logreg, "churn", derived_from="models:/churn/1")
    assert child.parent_version == 1
    assert child.lineage["derived_from"] == {"name": "churn", "version": 1}


def test_dataframe_with_categorical_and_strings(registry: Registry) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"city": ["a", "b", "c", "a"] * 25, "size": np.arange(100.0)})
    target = frame["size"] * 2 + (frame["city"] == "a")
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough"), LinearRegression()
    ).fit(frame, target)
    mv = registry.register(model, "price", data=frame, target=target)
    dtypes = {f["name"]: f["dtype"] for f in mv.signature["inputs"]}  # type: ignore[index, union-attr]
    assert dtypes == {"city": "string", "size": "float64"}
    np.testing.assert_allclose(registry.load("price").predict(frame), model.predict(frame))


def test_version_validate_names_every_problem(registry: Registry, logreg: Any, cancer: Any) -> None:
    X, y = cancer
    mv = registry.register(logreg, "churn", data=X, target=y)
    assert mv.validate(X.head(3)) == []
    bad = X.head(2).drop(columns=["mean radius"]).assign(**{"mean texture": ["a", "b"], "extra": [1, 2]})
    fields = {field for field, _ in mv.validate(bad)}
    assert {"mean radius", "mean texture", "extra"} <= fields
