from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from shipyard.errors import ValidationFailed
from shipyard.schema import FieldSpec, Signature, infer_signature, to_model_input

Problems = list[tuple[str, str]]

SIG = Signature(
    inputs=(
        FieldSpec("age", "int64"),
        FieldSpec("income", "float64", nullable=True, allow_nan=True),
        FieldSpec("score", "float32"),
        FieldSpec("city", "category", categories=("Oslo", "Rome")),
        FieldSpec("name", "string", nullable=True),
        FieldSpec("member", "bool"),
    ),
    outputs=(FieldSpec("predict", "int64", shape=(-1,)),),
    layout="columns",
)
GOOD: dict[str, list[Any]] = {
    "age": [31, 42],
    "income": [1000.5, None],
    "score": [0.5, 1],
    "city": ["Oslo", "Rome"],
    "name": ["Ann", None],
    "member": [True, False],
}


def payload(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def fields(problems: Problems) -> list[str]:
    return [field for field, _ in problems]


def only(problems: Problems, field: str) -> str:
    assert fields(problems) == [field], problems
    return problems[0][1]


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, Signature]:
    frame: pd.DataFrame = load_breast_cancer(as_frame=True).data
    return frame, infer_signature(frame)


# --- accepted payload forms ---------------------------------------------------------------


def test_dict_of_columns_is_valid() -> None:
    assert SIG.validate(GOOD) == []
    SIG.check(GOOD)


def test_list_of_row_objects_is_valid() -> None:
    rows = [dict(zip(GOOD, values, strict=True)) for values in zip(*GOOD.values(), strict=True)]
    assert SIG.validate(rows) == []


def test_dataframe_is_valid() -> None:
    frame = pd.DataFrame(GOOD).astype({"city": pd.CategoricalDtype(["Oslo", "Rome"])})
    assert SIG.validate(frame) == []


def test_list_of_lists_is_valid_positionally() -> None:
    rows = [list(values) for values in zip(*GOOD.values(), strict=True)]
    assert SIG.validate(rows) == []


def test_dict_of_scalars_is_one_row() -> None:
    assert SIG.validate({key: values[0] for key, values in GOOD.items()}) == []


def test_training_frame_and_its_array_are_valid(cancer: tuple[pd.DataFrame, Signature]) -> None:
    frame, sig = cancer
    assert sig.validate(frame) == []
    assert sig.validate(frame.to_numpy()) == []
    assert sig.validate(frame.head(3).to_dict(orient="records")) == []
    assert sig.validate(frame.head(3).to_numpy().tolist()) == []


def test_structured_array_names_its_columns() -> None:
    sig = Signature((FieldSpec("a", "int64"), FieldSpec("b", "float64")))
    records = np.array([(1, 2.0)], dtype=[("a", "i8"), ("b", "f8")])
    assert sig.validate(records) == []


# --- missing, unknown, lengths, shapes ---------------------------------------------------------


def test_missing_input_is_named() -> None:
    data = payload()
    del data["age"]
    assert only(SIG.validate(data), "age") == "missing input (int64)"


def test_unknown_input_suggests_the_closest() -> None:
    assert "did you mean 'income'" in only(SIG.validate(payload(incme=[1, 2])), "incme")


def test_key_missing_in_some_rows() -> None:
    rows = [{"age": 1}, {}]
    problems = SIG.validate(rows)
    assert ("age", "missing at row 1 (1 of 2 rows lack it)") in problems


def test_unknown_key_in_some_rows_is_unknown_not_missing() -> None:
    rows = [dict(zip(GOOD, values, strict=True)) for values in zip(*GOOD.values(), strict=True)]
    rows[1]["extra"] = 1
    assert only(SIG.validate(rows), "extra") == "unknown input"


def test_length_mismatch_names_the_odd_column() -> None:
    assert only(SIG.validate(payload(score=[0.5])), "score") == "has 1 values but the other inputs have 2"


def test_wrong_number_of_columns_in_a_matrix(cancer: tuple[pd.DataFrame, Signature]) -> None:
    frame, sig = cancer
    message = only(sig.validate(frame.to_numpy()[:, :29]), "")
    assert message.startswith("expected 30 columns (mean radius") and message.endswith("got 29")


def test_row_of_the_wrong_length() -> None:
    rows = [list(values) for values in zip(*GOOD.values(), strict=True)]
    rows[1] = rows[1][:-1]
    assert (
        only(SIG.validate(rows), "")
        == "row 1: expected 6 values (age, income, score, city, name, … 1 more); got 5 values"
    )


@pytest.mark.parametrize("array", [np.zeros(6), np.zeros((2, 6, 1))])
def test_array_of_the_wrong_rank(array: np.ndarray) -> None:
    assert "expected a 2-D array of shape (rows, 6)" in only(SIG.validate(array), "")


def test_column_given_as_a_matrix() -> None:
    problems = SIG.validate(payload(score=np.zeros((2, 2))))
    assert only(problems, "score") == "expected one value per row, got an array of shape (2, 2)"


# --- value types ----------------------------------------------------------------------------------


def test_string_in_a_float_column() -> None:
    assert only(SIG.validate(payload(score=[0.5, "high"])), "score") == "expected float32, got string 'high' at row 1"


def test_ints_are_fine_for_floats_but_bools_are_not() -> None:
    assert SIG.validate(payload(score=[1, 2])) == []
    assert only(SIG.validate(payload(score=[True, 2.0])), "score") == "expected float32, got bool True at row 0"
    assert only(SIG.validate(payload(score=np.array([True, False]))), "score").startswith("expected float32, got bool")


def test_whole_floats_fit_an_int_column_fractions_do_not() -> None:
    assert SIG.validate(payload(age=[31.0, 42.0])) == []
    message = only(SIG.validate(payload(age=[31.5, 42])), "age")
    assert message == "expected int64, got float 31.5 at row 0; only whole numbers fit"


def test_bool_column_takes_bools_or_zero_and_one() -> None:
    assert SIG.validate(payload(member=[1, 0])) == []
    assert only(SIG.validate(payload(member=[1, 2])), "member") == "expected bool, got int 2 at row 1"
    assert only(SIG.validate(payload(member=["yes", True])), "member") == "expected bool, got string 'yes' at row 0"


def test_number_in_a_string_column() -> None:
    assert only(SIG.validate(payload(name=["Ann", 7])), "name") == "expected string, got int 7 at row 1"


def test_unseen_category_is_not_a_problem_but_a_wrong_type_is() -> None:
    assert SIG.validate(payload(city=["Oslo", "Paris"])) == []
    assert only(SIG.validate(payload(city=["Oslo", 2.5])), "city") == "expected category, got float 2.5 at row 1"
    assert only(SIG.validate(payload(city=[{"a": 1}, "Rome"])), "city").startswith("expected category, got dict")


def test_number_spelling_a_known_category_is_accepted() -> None:
    sig = Signature((FieldSpec("grade", "category", categories=("1", "2")),))
    assert sig.validate({"grade": [1, 2]}) == []
    assert sig.validate({"grade": np.array([1, 2])}) == []
    assert only(sig.validate({"grade": np.array([1, 3])}), "grade") == "expected category, got int 3 at row 1"


def test_datetime_takes_iso_strings_and_timestamps() -> None:
    sig = Signature((FieldSpec("when", "datetime"),))
    assert sig.validate({"when": ["2024-01-01", "2024-01-01T10:00:00+02:00"]}) == []
    assert sig.validate({"when": pd.to_datetime(["2024-01-01"])}) == []
    assert sig.validate({"when": np.array(["2024-01-01"], dtype="datetime64[ns]")}) == []
    assert only(sig.validate({"when": ["2024-01-01", "soon"]}), "when") == (
        "cannot read 'soon' at row 1 as an ISO 8601 datetime"
    )
    assert only(sig.validate({"when": [20240101]}), "when") == "expected datetime, got int 20240101 at row 0"


def test_bytes_column() -> None:
    sig = Signature((FieldSpec("blob", "bytes"),))
    assert sig.validate({"blob": [b"\x00", b"\x01"]}) == []
    assert only(sig.validate({"blob": ["text"]}), "blob") == "expected bytes, got string 'text' at row 0"


def test_typed_string_array_in_a_numeric_column() -> None:
    assert only(SIG.validate(payload(age=np.array(["a", "b"]))), "age") == "expected int64, got string 'a' at rows 0, 1"


# --- nulls, NaN, Inf, ranges ---------------------------------------------------------------------


def test_null_where_not_nullable() -> None:
    assert only(SIG.validate(payload(age=[None, 3])), "age") == "null at row 0; this input is not nullable"
    assert only(SIG.validate(payload(city=["Oslo", None])), "city") == "null at row 1; this input is not nullable"


def test_nan_in_a_string_column_is_a_null() -> None:
    assert SIG.validate(payload(name=["Ann", float("nan")])) == []
    sig = Signature((FieldSpec("s", "string"),))
    assert only(sig.validate(pd.DataFrame({"s": ["a", None]})), "s") == "null at row 1; this input is not nullable"


def test_pandas_missing_markers_are_nulls() -> None:
    assert only(SIG.validate(payload(age=pd.array([1, None], dtype="Int64"))), "age").startswith("null at row 1")
    assert only(SIG.validate(payload(age=[pd.NA, 1])), "age").startswith("null at row 0")


def test_nulls_allowed_where_nullable() -> None:
    assert SIG.validate(payload(income=[None, float("nan")])) == []


def test_nan_and_inf_where_not_allowed() -> None:
    problems = SIG.validate(payload(score=[float("nan"), float("inf")]))
    assert problems == [
        ("score", "NaN at row 0; this input does not accept NaN (the training data had none)"),
        ("score", "infinite value at row 1; this input does not accept Inf (the training data had none)"),
    ]


def test_nan_in_a_numpy_matrix(cancer: tuple[pd.DataFrame, Signature]) -> None:
    frame, sig = cancer
    matrix = frame.to_numpy()[:10].copy()
    matrix[[2, 5, 7], 3] = np.nan
    matrix[4, 0] = -np.inf
    assert sig.validate(matrix) == [
        ("mean radius", "infinite value at row 4; this input does not accept Inf (the training data had none)"),
        ("mean area", "NaN at rows 2, 5, 7; this input does not accept NaN (the training data had none)"),
    ]


def test_many_offending_rows_are_counted() -> None:
    sig = Signature((FieldSpec("x", "float64"),))
    message = only(sig.validate({"x": np.full(10, np.nan)}), "x")
    assert message.startswith("NaN at rows 0, 1, 2 (10 rows in all)")


def test_nan_and_inf_where_allowed() -> None:
    assert SIG.validate(payload(income=[float("inf"), float("nan")])) == []


def test_inf_in_an_int_column() -> None:
    assert only(SIG.validate(payload(age=[float("inf"), 1])), "age") == "float inf at row 0 is not an integer"


@pytest.mark.parametrize(
    ("spec", "values", "message"),
    [
        (FieldSpec("x", "int8"), [1, 300], "int 300 at row 1 is out of range for int8 (-128..127)"),
        (FieldSpec("x", "uint8"), [-1, 3], "int -1 at row 0 is out of range for uint8 (0..255)"),
        (FieldSpec("x", "float32"), [1e300], "float 1e+300 at row 0 is out of range for float32"),
        (FieldSpec("x", "int64"), [2**70], "out of range for int64"),
        (FieldSpec("x", "uint64"), [2**64 - 1, -1], "int -1 at row 1 is out of range for uint64"),
        (FieldSpec("x", "int16"), np.array([70000.0]), "float 70000.0 at row 0 is out of range for int16"),
    ],
)
def test_values_out_of_range(spec: FieldSpec, values: Any, message: str) -> None:
    assert message in only(Signature((spec,)).validate({"x": values}), "x")


def test_uint64_beyond_int64_fits_uint64() -> None:
    assert Signature((FieldSpec("x", "uint64"),)).validate({"x": [2**64 - 1]}) == []


# --- garbage, empty, huge ---------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", ["age=3", b"\x00", 42, 3.5, None, {1, 2}, pd.Series([1, 2])])
def test_non_tabular_payload(garbage: object) -> None:
    message = only(SIG.validate(garbage), "")
    assert message.startswith("expected a DataFrame, a dict of columns, a list of row objects or a 2-D array; got ")


def test_flat_list_asks_to_wrap_the_row() -> None:
    assert "wrap a single row in a list" in only(SIG.validate([31, 1.0, 0.5, "Oslo", "Ann", True]), "")


def test_list_mixing_rows_and_scalars() -> None:
    rows = [dict(zip(GOOD, values, strict=True)) for values in zip(*GOOD.values(), strict=True)]
    problems = SIG.validate([rows[0], 5])
    assert only(problems, "") == "row 1: expected an object of input values like row 0; got int"


def test_column_that_is_not_a_list() -> None:
    assert only(SIG.validate(payload(age="31")), "age") == "expected a list of values (one per row); got str"


def test_non_string_keys() -> None:
    data: dict[object, list[Any]] = {key: values for key, values in GOOD.items()}
    data[3] = [1, 2]
    problems = SIG.validate(data)
    assert ("3", "input names must be strings") in problems


@pytest.mark.parametrize(
    "empty",
    [[], {}, pd.DataFrame(), pd.DataFrame(GOOD).iloc[:0], np.empty((0, 6)), {key: [] for key in GOOD}],
)
def test_empty_payload_has_no_rows(empty: object) -> None:
    assert only(SIG.validate(empty), "") == "no rows"


def test_max_rows() -> None:
    big = {key: values * 1000 for key, values in GOOD.items()}
    assert SIG.validate(big) == []
    assert only(SIG.validate(big, max_rows=100), "") == "2000 rows is more than the limit of 100; split the request"


def test_every_problem_is_reported_at_once() -> None:
    data = payload(age=["x", 1], score=[np.nan, 1], member=[3, True], bogus=[1, 2])
    del data["city"]
    assert sorted(fields(SIG.validate(data))) == ["age", "bogus", "city", "member", "score"]


def test_check_raises_with_every_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        SIG.check(payload(age=["x", 1], score=[np.nan, 1]))
    assert fields(caught.value.problems) == ["age", "score"]
    assert str(caught.value).startswith("age: expected int64, got string 'x' at row 0; score: NaN at row 0")


def test_duplicate_dataframe_columns() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["age", "age"])
    assert only(SIG.validate(frame), "age") == "column appears more than once"


# --- array-valued cells, array and tensor layouts ------------------------------------------------


def test_array_valued_cells() -> None:
    sig = Signature((FieldSpec("emb", "float32", shape=(3,)), FieldSpec("tokens", "int64", shape=(-1,))))
    good = {"emb": [[1, 2, 3], np.zeros(3)], "tokens": [[1], [1, 2, 3]]}
    assert sig.validate(good) == []
    assert sig.validate({"emb": np.zeros((2, 3)), "tokens": [[1], [2]]}) == []
    problems = sig.validate({"emb": [[1, 2], 5.0], "tokens": [[1, "a"], None]})
    assert problems == [
        ("emb", "expected an array of shape (3,), got float 5.0 at row 1"),
        ("emb", "expected each row to be an array of shape (3,), got shape (2,) at row 0"),
        ("tokens", "expected int64, got string 'a' at row 0"),
        ("tokens", "null at row 1; this input is not nullable"),
    ]
    assert "got (4,)" in only(sig.validate({"emb": np.zeros((2, 4)), "tokens": [[1], [2]]}), "emb")


def test_array_layout_takes_a_matrix_or_named_columns() -> None:
    sig = infer_signature(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert sig.validate([[1, 2]]) == []
    assert sig.validate({"x0": [1.0], "x1": [2.0]}) == []
    assert only(sig.validate([[1, "a"]]), "x1") == "expected float64, got string 'a' at row 0"


TENSOR = Signature((FieldSpec("input", "float32", shape=(-1, 3, 2)),), layout="tensor")


def test_tensor_payloads() -> None:
    assert TENSOR.validate(np.zeros((4, 3, 2))) == []
    assert TENSOR.validate(np.zeros((1, 3, 2)).tolist()) == []
    assert TENSOR.validate({"input": np.zeros((1, 3, 2))}) == []


@pytest.mark.parametrize(
    ("tensor_payload", "problem"),
    [
        (np.zeros((4, 3, 3)), ("input", "expected shape (-1, 3, 2), got (4, 3, 3)")),
        (np.zeros((4, 6)), ("input", "expected shape (-1, 3, 2), got (4, 6)")),
        ([[[1, 2]] * 3, [[1, 2]] * 2], ("input", "ragged nested lists: the rows have different shapes")),
        ({"pixels": np.zeros((1, 3, 2))}, ("pixels", "unknown input; this model takes one input, 'input'")),
        (np.float32(1.0), ("input", "expected an array or a nested list; got float32")),
        (np.array(1.0), ("input", "expected an array; got the scalar 1.0")),
        ("pixels", ("input", "expected an array or a nested list; got str")),
        (np.zeros((0, 3, 2)), ("", "no rows")),
    ],
)
def test_tensor_problems(tensor_payload: object, problem: tuple[str, str]) -> None:
    assert problem in TENSOR.validate(tensor_payload)


def test_tensor_values_are_checked_per_row() -> None:
    values = np.zeros((3, 3, 2))
    values[2, 1, 0] = np.nan
    assert TENSOR.validate(values) == [
        ("input", "NaN at row 2; this input does not accept NaN (the training data had none)")
    ]
    assert only(TENSOR.validate([[["a", 1]] * 3]), "input").startswith("expected float32, got string 'a' at row 0")


# --- to_model_input -----------------------------------------------------------------------------------


def test_to_model_input_gives_training_order_and_dtypes() -> None:
    rows = [{key: GOOD[key][i] for key in reversed(list(GOOD))} for i in range(2)]
    frame = to_model_input(rows, SIG)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(SIG.input_names)
    assert frame["age"].dtype == np.int64 and frame["score"].dtype == np.float32
    assert frame["member"].dtype == bool and np.isnan(frame["income"].iloc[1])
    assert list(frame["city"].cat.categories) == ["Oslo", "Rome"]


def test_to_model_input_keeps_known_category_codes() -> None:
    frame = to_model_input(payload(city=["Paris", "Rome"]), SIG)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["city"].cat.categories) == ["Oslo", "Rome", "Paris"]
    assert frame["city"].cat.codes.tolist() == [2, 1]


def test_to_model_input_int_with_nulls_is_nullable() -> None:
    sig = Signature((FieldSpec("n", "int32", nullable=True), FieldSpec("b", "bool", nullable=True)))
    frame = to_model_input({"n": [1, None], "b": [None, True]}, sig)
    assert isinstance(frame, pd.DataFrame)
    assert str(frame["n"].dtype) == "Int32" and frame["n"].isna().tolist() == [False, True]
    assert str(frame["b"].dtype) == "boolean"


def test_to_model_input_for_the_array_layout() -> None:
    sig = infer_signature(np.array([[1.0, 2.0]]))
    matrix = to_model_input([[1, 2], [3, 4]], sig)
    assert isinstance(matrix, np.ndarray)
    assert matrix.dtype == np.float64 and matrix.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_to_model_input_for_a_tensor() -> None:
    tensor = to_model_input(np.zeros((2, 3, 2)).tolist(), TENSOR)
    assert isinstance(tensor, np.ndarray) and tensor.dtype == np.float32 and tensor.shape == (2, 3, 2)


def test_to_model_input_datetimes_and_cells() -> None:
    sig = Signature((FieldSpec("when", "datetime"), FieldSpec("emb", "float32", shape=(2,))))
    frame = to_model_input({"when": ["2024-01-01"], "emb": [[1, 2]]}, sig)
    assert isinstance(frame, pd.DataFrame)
    assert frame["when"].iloc[0] == pd.Timestamp("2024-01-01")
    assert frame["emb"].iloc[0].dtype == np.float32


@pytest.mark.parametrize("garbage", ["text", {"age": [1]}, TENSOR])
def test_to_model_input_refuses_what_it_cannot_convert(garbage: object) -> None:
    with pytest.raises(ValidationFailed):
        to_model_input(garbage, SIG)


def test_to_model_input_wraps_conversion_errors() -> None:
    with pytest.raises(ValidationFailed, match="cannot convert the payload"):
        to_model_input(payload(age=["x", "y"]), SIG)
