from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

import shipyard.schema
from shipyard.errors import ValidationFailed
from shipyard.schema import FieldSpec, Signature, infer_signature


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    frame: pd.DataFrame = load_breast_cancer(as_frame=True).data
    return frame


def test_schema_exports_exactly_this() -> None:
    assert sorted(shipyard.schema.__all__) == [
        "CategoricalProfile",
        "DTYPES",
        "DataFingerprint",
        "FieldSpec",
        "Layout",
        "NumericProfile",
        "Profile",
        "Signature",
        "fingerprint",
        "infer_signature",
        "profile_data",
        "to_model_input",
    ]


def test_dataframe_gives_columns_in_training_order(cancer: pd.DataFrame) -> None:
    sig = infer_signature(cancer)
    assert sig.layout == "columns"
    assert sig.input_names == tuple(cancer.columns)
    assert all(spec == FieldSpec(spec.name, "float64") for spec in sig.inputs)
    assert sig.outputs == ()


def test_outputs_from_a_mapping_of_predictions(cancer: pd.DataFrame) -> None:
    labels = np.zeros(len(cancer), dtype=np.int64)
    probabilities = np.full((len(cancer), 2), 0.5)
    sig = infer_signature(cancer, {"predict": labels, "predict_proba": probabilities})
    assert sig.outputs == (
        FieldSpec("predict", "int64", shape=(-1,)),
        FieldSpec("predict_proba", "float64", shape=(-1, 2)),
    )


def test_a_single_prediction_array_is_named_predict() -> None:
    sig = infer_signature(pd.DataFrame({"x": [1.0, 2.0]}), ["yes", "no"])
    assert sig.outputs == (FieldSpec("predict", "string", shape=(-1,)),)


def test_prediction_series_and_nan_outputs() -> None:
    sig = infer_signature(pd.DataFrame({"x": [1.0, 2.0]}), pd.Series([0.5, np.nan]))
    assert sig.outputs[0].allow_nan and sig.outputs[0].shape == (-1,)


def test_2d_array_gives_array_layout_named_x() -> None:
    data = load_iris().data
    sig = infer_signature(data)
    assert sig.layout == "array"
    assert sig.input_names == ("x0", "x1", "x2", "x3")
    assert {spec.dtype for spec in sig.inputs} == {"float64"}


def test_list_of_lists_gives_array_layout() -> None:
    sig = infer_signature([[1, 2.5, "a"], [3, 4.0, "b"]])
    assert sig.layout == "array"
    assert [spec.dtype for spec in sig.inputs] == ["int64", "float64", "string"]


def test_dataframe_without_column_names_is_an_array() -> None:
    sig = infer_signature(pd.DataFrame(np.ones((3, 2))))
    assert sig.layout == "array" and sig.input_names == ("x0", "x1")


def test_nd_array_gives_one_tensor_input() -> None:
    sig = infer_signature(np.zeros((4, 3, 8, 8), dtype=np.float32))
    assert sig.layout == "tensor"
    assert sig.inputs == (FieldSpec("input", "float32", shape=(-1, 3, 8, 8)),)


def test_1d_array_is_a_tensor_of_rows() -> None:
    sig = infer_signature(np.arange(5))
    assert sig.inputs == (FieldSpec("input", "int64", shape=(-1,)),)


def test_column_dtypes_map_to_the_vocabulary() -> None:
    frame = pd.DataFrame(
        {
            "i8": np.array([1, 2], dtype=np.int8),
            "u16": np.array([1, 2], dtype=np.uint16),
            "f32": np.array([1, 2], dtype=np.float32),
            "flag": [True, False],
            "name": ["a", "b"],
            "obj": np.array(["a", "b"], dtype=object),
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "when_tz": pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC"),
            "blob": [b"x", b"y"],
            "masked": pd.array([1, 2], dtype="Int32"),
        }
    )
    dtypes = {spec.name: spec.dtype for spec in infer_signature(frame).inputs}
    assert dtypes == {
        "i8": "int8",
        "u16": "uint16",
        "f32": "float32",
        "flag": "bool",
        "name": "string",
        "obj": "string",
        "when": "datetime",
        "when_tz": "datetime",
        "blob": "bytes",
        "masked": "int32",
    }


def test_categorical_keeps_its_categories() -> None:
    frame = pd.DataFrame({"city": pd.Categorical(["Oslo", "Rome", "Oslo"], categories=["Rome", "Oslo", "Paris"])})
    (spec,) = infer_signature(frame).inputs
    assert spec.dtype == "category" and spec.categories == ("Rome", "Oslo", "Paris")


@pytest.mark.parametrize(
    ("values", "nullable", "allow_nan"),
    [
        ([1.0, 2.0], False, False),
        ([1.0, np.nan], True, True),
        ([1.0, np.inf], False, True),
        (pd.array([1, None], dtype="Int64"), True, False),
        (["a", None], True, False),
        ([1, None], True, True),  # pandas makes this a float column with NaN
    ],
)
def test_nullable_and_allow_nan_come_from_the_training_data(values: Any, nullable: bool, allow_nan: bool) -> None:
    (spec,) = infer_signature(pd.DataFrame({"x": values})).inputs
    assert (spec.nullable, spec.allow_nan) == (nullable, allow_nan)


def test_object_columns_of_python_values() -> None:
    frame = pd.DataFrame(
        {
            "ints": pd.Series([1, None, 3], dtype=object),
            "bools": pd.Series([True, None], dtype=object).reindex(range(3)),
            "empty": pd.Series([None, None, None], dtype=object),
        }
    )
    specs = {spec.name: spec for spec in infer_signature(frame).inputs}
    assert (specs["ints"].dtype, specs["ints"].nullable) == ("int64", True)
    assert (specs["bools"].dtype, specs["bools"].nullable) == ("bool", True)
    assert (specs["empty"].dtype, specs["empty"].nullable) == ("string", True)


def test_array_valued_column_gets_a_per_row_shape() -> None:
    frame = pd.DataFrame({"fixed": [np.zeros(3), np.ones(3)], "ragged": [[1, 2], [1, 2, 3]]})
    specs = {spec.name: spec for spec in infer_signature(frame).inputs}
    assert specs["fixed"] == FieldSpec("fixed", "float64", shape=(3,))
    assert specs["ragged"] == FieldSpec("ragged", "int64", shape=(-1,))


def test_cells_of_different_rank_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        infer_signature(pd.DataFrame({"cells": [[1, 2], [[1], [2]]]}))
    assert caught.value.problems[0][0] == "cells"


def test_mixed_object_column_is_refused_by_name() -> None:
    with pytest.raises(ValidationFailed) as caught:
        infer_signature(pd.DataFrame({"ok": [1.0, 2.0], "mixed": pd.Series([1, "a"], dtype=object)}))
    assert caught.value.problems[0][0] == "mixed"
    assert "convert the column" in str(caught.value)


@pytest.mark.parametrize("data", ["text", 42, None, np.float64(1.0), []])
def test_non_tabular_data_is_refused(data: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        infer_signature(data)
    assert caught.value.problems[0][0] == "data"


def test_duplicate_columns_are_refused() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValidationFailed, match="more than once"):
        infer_signature(frame)


def test_round_trip_through_json(cancer: pd.DataFrame) -> None:
    extra: dict[str, Any] = {
        "city": pd.Categorical(["a", "b", "a", "b", "a"]),
        "emb": [np.zeros(2)] * 5,
        "note": ["x", None, "y", "z", "w"],
    }
    frame = cancer.head(5).assign(**extra)
    sig = infer_signature(frame, {"predict": np.zeros(5), "predict_proba": np.zeros((5, 2))})
    document = json.loads(json.dumps(sig.to_dict()))
    assert Signature.from_dict(document) == sig


def test_tensor_signature_round_trips() -> None:
    sig = infer_signature(np.zeros((2, 3, 4), dtype=np.uint8), np.zeros(2))
    assert Signature.from_dict(sig.to_dict()) == sig


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"inputs": [{"name": "x", "dtype": "flaot64"}]}, "signature.inputs[0].dtype"),
        ({"inputs": [{"dtype": "float64"}]}, "signature.inputs[0].name"),
        ({"inputs": [{"name": "x", "dtype": "float64", "shape": "3"}]}, "signature.inputs[0].shape"),
        ({"inputs": [{"name": "x", "dtype": "float64", "shape": [0]}]}, "signature.inputs[0].shape"),
        ({"inputs": ["x"]}, "signature.inputs[0]"),
        ({"inputs": "x"}, "signature.inputs"),
        ({}, "signature.inputs"),
        ({"inputs": [{"name": "x", "dtype": "float64"}], "layout": "grid"}, "signature.layout"),
        ({"inputs": [{"name": "x", "dtype": "float64"}] * 2}, "signature.inputs"),
        ({"inputs": [{"name": "x", "dtype": "float64"}], "layout": "tensor"}, "signature.inputs"),
    ],
)
def test_from_dict_names_the_broken_place(document: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Signature.from_dict(document)
    assert field in [where for where, _ in caught.value.problems]


def test_from_dict_refuses_a_non_object() -> None:
    with pytest.raises(ValidationFailed):
        Signature.from_dict([])  # type: ignore[arg-type]


def test_unknown_dtype_suggests_the_closest() -> None:
    with pytest.raises(ValidationFailed, match="Did you mean 'float64'"):
        FieldSpec("x", "flaot64")


@pytest.mark.parametrize(
    ("kwargs", "attribute"),
    [
        ({"dtype": "float64", "shape": (2, 0)}, "x.shape"),
        ({"dtype": "string", "categories": ("a",)}, "x.categories"),
        ({"dtype": "int64", "allow_nan": True}, "x.allow_nan"),
        ({"dtype": "category", "categories": (1, 2)}, "x.categories"),
    ],
)
def test_field_spec_checks_itself(kwargs: dict[str, Any], attribute: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        FieldSpec("x", **kwargs)
    assert caught.value.problems[0][0] == attribute


def test_field_spec_keeps_tuples_hashable() -> None:
    spec = FieldSpec("x", "category", categories=["a", "b"], shape=[3])  # type: ignore[arg-type]
    assert spec.categories == ("a", "b") and spec.shape == (3,)
    assert hash(spec) == hash(FieldSpec("x", "category", categories=("a", "b"), shape=(3,)))


def test_repr_shows_identity(cancer: pd.DataFrame) -> None:
    sig = infer_signature(cancer, np.zeros(len(cancer)))
    assert repr(sig) == "Signature(layout='columns', inputs=30, outputs=['predict'])"
