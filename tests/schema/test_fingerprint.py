from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

from shipyard.errors import ValidationFailed
from shipyard.schema import DataFingerprint, fingerprint


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": np.array([31, 42, 27], dtype=np.int64),
            "income": [1000.5, np.nan, 3.25],
            "city": ["Oslo", None, "Rome"],
            "member": [True, False, True],
        }
    )


# Pinned: the same data must hash the same in every process, on every platform, in every release.
PINNED = "81e020985a957268c68d3e650ca90d01acbd5e762d25bea246d4d92449d90e85"


def test_known_answer() -> None:
    assert fingerprint(frame()).sha256 == PINNED


def test_known_answer_in_another_process() -> None:
    code = (
        "import numpy as np, pandas as pd; from shipyard.schema import fingerprint; "
        "print(fingerprint(pd.DataFrame({'age': np.array([31, 42, 27], dtype=np.int64), "
        "'income': [1000.5, np.nan, 3.25], 'city': ['Oslo', None, 'Rome'], 'member': [True, False, True]})).sha256)"
    )
    other_process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other_process.stdout.strip() == PINNED


def test_describes_the_data() -> None:
    fp = fingerprint(frame())
    assert (fp.rows, fp.columns, fp.column_names) == (3, 4, ("age", "income", "city", "member"))
    assert len(fp.sha256) == 64 and int(fp.sha256, 16) >= 0


def test_same_data_same_hash() -> None:
    assert fingerprint(frame().copy()).sha256 == PINNED
    assert fingerprint(frame().to_dict(orient="list")).sha256 == PINNED
    assert fingerprint(frame().astype({"city": object})).sha256 == PINNED  # str or object storage alike


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(income=[1000.5, np.nan, 3.2500000001]),
        lambda f: f.assign(income=[1000.5, 0.0, 3.25]),
        lambda f: f.assign(city=["Oslo", "", "Rome"]),
        lambda f: f.assign(city=["Osl", "oRome", None]),
        lambda f: f.assign(member=[True, False, False]),
        lambda f: f.rename(columns={"age": "Age"}),
        lambda f: f[["income", "age", "city", "member"]],
        lambda f: f.iloc[::-1].reset_index(drop=True),
        lambda f: f.iloc[:2],
        lambda f: f.astype({"age": np.int32}),
        lambda f: f.astype({"age": np.float64}),
        lambda f: f.drop(columns="member"),
    ],
)
def test_any_change_changes_the_hash(change: object) -> None:
    assert callable(change)
    assert fingerprint(change(frame())).sha256 != PINNED


def test_nan_bit_patterns_do_not_matter() -> None:
    quiet = np.array([1.0, np.nan])
    other = quiet.copy()
    other.view(np.uint64)[1] = 0x7FF8_0000_0000_0001  # another NaN payload
    assert np.isnan(other[1])
    assert fingerprint({"x": quiet}).sha256 == fingerprint({"x": other}).sha256


def test_byte_order_does_not_matter() -> None:
    little = np.arange(5, dtype="<i4")
    assert fingerprint({"x": little}).sha256 == fingerprint({"x": little.astype(">i4")}).sha256


def test_target_is_included() -> None:
    data, target = load_iris(return_X_y=True, as_frame=True)
    plain = fingerprint(data)
    with_target = fingerprint(data, target=target)
    assert with_target.sha256 != plain.sha256
    assert with_target.columns == plain.columns and with_target.column_names == plain.column_names
    changed = target.copy()
    changed.iloc[0] = 2
    assert fingerprint(data, target=changed).sha256 != with_target.sha256
    assert fingerprint(data, target=target.to_numpy()).sha256 != plain.sha256


def test_arrays_and_lists() -> None:
    matrix = load_breast_cancer().data
    fp = fingerprint(matrix)
    assert (fp.rows, fp.columns, fp.column_names[:2]) == (569, 30, ("x0", "x1"))
    assert fingerprint(np.ascontiguousarray(matrix.T).T).sha256 == fp.sha256  # memory layout does not matter
    assert fingerprint(matrix.tolist()).sha256 == fp.sha256
    tensor = fingerprint(np.zeros((2, 3, 4)))
    assert tensor.column_names == ("input",)
    assert tensor.sha256 != fingerprint(np.zeros((2, 4, 3))).sha256


def test_pandas_dtypes() -> None:
    base = pd.DataFrame(
        {
            "cat": pd.Categorical(["a", "b", "a"]),
            "masked": pd.array([1, None, 3], dtype="Int64"),
            "when": pd.to_datetime(pd.Series(["2024-01-01", "2024-01-02", None])).dt.tz_localize("UTC"),
            "mixed": pd.Series([1, "a", None], dtype=object),
        }
    )
    fp = fingerprint(base)
    assert fingerprint(base.copy()).sha256 == fp.sha256
    changes: dict[str, Any] = {
        "cat": pd.Categorical(["a", "b", "b"]),
        "masked": pd.array([1, 2, 3], dtype="Int64"),
        "when": pd.to_datetime(pd.Series(["2024-01-01", "2024-01-03", None])).dt.tz_localize("UTC"),
        "mixed": pd.Series([1, "b", None], dtype=object),
    }
    for column, values in changes.items():
        assert fingerprint(base.assign(**{column: values})).sha256 != fp.sha256, column


def test_dict_round_trip() -> None:
    fp = fingerprint(frame())
    assert DataFingerprint.from_dict(fp.to_dict()) == fp
    with pytest.raises(ValidationFailed):
        DataFingerprint.from_dict({"sha256": "x"})
    assert repr(fp) == f"DataFingerprint(sha256={PINNED[:12]!r}, rows=3, columns=4)"


@pytest.mark.parametrize("garbage", ["text", 3, None, []])
def test_garbage_is_refused(garbage: object) -> None:
    with pytest.raises(ValidationFailed):
        fingerprint(garbage)


def test_mixed_and_array_valued_columns() -> None:
    def data(last: float) -> dict[str, list[Any]]:
        return {
            "cells": [np.zeros(2), [1, 2], (3.5, None)],
            "mixed": [1, "a", None],
            "when": [pd.Timestamp("2024-01-01"), b"x", last],
        }

    fp = fingerprint(data(2.5))
    assert fingerprint(data(2.5)).sha256 == fp.sha256
    assert fingerprint(data(2.25)).sha256 != fp.sha256
    assert fingerprint({**data(2.5), "cells": [np.ones(2), [1, 2], (3.5, None)]}).sha256 != fp.sha256
    assert fingerprint({**data(2.5), "mixed": [1, "a", float("nan")]}).sha256 == fp.sha256  # NaN and None: missing


def test_objects_without_a_stable_form_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        fingerprint({"thing": [object(), 1]})
    assert caught.value.problems[0][0] == "thing"
