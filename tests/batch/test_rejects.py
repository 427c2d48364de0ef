"""Rows that do not fit the signature go to the rejects with a reason each; the job goes on.
A missing column, or a model that raises, stops the whole job with a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from shipyard.batch import BatchJobStore, BatchSpec, run_batch
from shipyard.config import Settings
from shipyard.errors import BatchFailed, ValidationFailed
from shipyard.registry import Registry

from ._models import FailingModel
from .conftest import FEATURES, frame, register_logreg, train


def mixed_training(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    age = rng.uniform(18, 80, rows)
    age[::10] = np.nan  # the training data has missing ages: age is nullable and takes NaN
    return pd.DataFrame(
        {
            "x": rng.standard_normal(rows),
            "n": rng.integers(0, 5, rows).astype(np.int64),
            "flag": rng.random(rows) > 0.5,
            "city": rng.choice(["oslo", "rome", "lima"], rows),
            "age": age,
        }
    )


@pytest.fixture
def mixed_model(local_registry: Registry) -> Any:
    data = mixed_training()
    target = (data.x + data.n > 2).astype(int)
    encode = ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])], remainder="passthrough")
    model = make_pipeline(encode, HistGradientBoostingClassifier(max_iter=5, random_state=0)).fit(data, target)
    version = local_registry.register(model, "mixed", data=data, target=target)
    inputs = {f["name"]: f for f in version.signature["inputs"]}  # type: ignore[index]
    assert (inputs["x"]["nullable"], inputs["age"]["nullable"], inputs["age"]["allow_nan"]) == (False, True, True)
    assert (inputs["n"]["dtype"], inputs["flag"]["dtype"], inputs["city"]["dtype"]) == ("int64", "bool", "string")
    return model


CSV = """id,x,n,flag,city,age
0,0.5,1,true,oslo,30
1,abc,1,true,oslo,30
2,,2,false,rome,41
3,inf,2,false,rome,41
4,0.1,1.5,true,lima,
5,0.2,3,maybe,lima,52
6,nan,x,true,oslo,20
7,1.5,4,false,paris,
8,-0.3,0,1,rome,66
"""


def test_bad_csv_rows_go_to_rejects_with_reasons(
    mixed_model: Any, local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text(CSV)
    spec = BatchSpec("mixed", str(tmp_path / "in.csv"), str(tmp_path / "out"), id_column="id", batch_rows=4)
    job = run_batch(local_registry, local_settings, spec)

    assert (job.status, job.rows_in, job.rows_out, job.rows_rejected, job.parts) == ("succeeded", 9, 3, 6, 3)
    rejects = pd.read_parquet(tmp_path / "out" / "_rejects").sort_values("_row", ignore_index=True)
    assert list(rejects.columns[:3]) == ["_source", "_row", "_reason"]
    assert set(rejects["_source"]) == {"in.csv"}
    assert rejects["_row"].tolist() == [1, 2, 3, 4, 5, 6]
    assert rejects["id"].tolist() == [1, 2, 3, 4, 5, 6]
    reasons = rejects["_reason"].tolist()
    assert reasons[0] == "x: expected float64, got 'abc'"
    assert reasons[1] == "x: missing value (the training data had none)"
    assert reasons[2] == "x: inf is not allowed (the training data had no NaN or Inf)"
    assert reasons[3] == "n: expected int64, got '1.5' (only whole numbers fit)"
    assert reasons[4] == "flag: expected bool, got 'maybe' (true/false or 1/0)"
    # Two bad values in one row: both reasons. ("nan" is one of the CSV reader's spellings of null.)
    assert reasons[5] == "x: missing value (the training data had none); n: expected int64, got 'x'"
    assert rejects.loc[0, "x"] == "abc"  # the row as it was read, to fix and score again

    out = pd.read_parquet(tmp_path / "out").sort_values("id", ignore_index=True)
    assert out["id"].tolist() == [0, 7, 8]
    good = pd.DataFrame(
        {"x": [0.5, 1.5, -0.3], "n": [1, 4, 0], "flag": [True, False, True], "city": ["oslo", "paris", "rome"],
         "age": [30.0, np.nan, 66.0]}
    )  # fmt: skip
    np.testing.assert_array_equal(out["predict"], mixed_model.predict(good))
    np.testing.assert_allclose(out["predict_proba_1"], mixed_model.predict_proba(good)[:, 1])


def test_bad_parquet_values_nulls_nan_and_a_wrongly_typed_column(
    mixed_model: Any, local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "id": pa.array([10, 11, 12, 13, 14], pa.int64()),
            "x": pa.array([0.1, float("nan"), 0.3, None, 0.5], pa.float64()),
            "n": pa.array(["1", "2", "three", "4", "5"], pa.string()),  # numbers written as text
            "flag": pa.array([True, False, None, True, False]),
            "city": pa.array(["oslo", "rome", "lima", "oslo", None]),
            "age": pa.array([20.0, None, 30.0, float("nan"), 40.0]),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    spec = BatchSpec("mixed", str(tmp_path / "in.parquet"), str(tmp_path / "out"), id_column="id")
    job = run_batch(local_registry, local_settings, spec)

    rejects = pd.read_parquet(tmp_path / "out" / "_rejects")
    assert dict(zip(rejects["id"], rejects["_reason"], strict=True)) == {
        11: "x: nan is not allowed (the training data had no NaN or Inf)",
        12: "n: expected int64, got 'three'; flag: missing value (the training data had none)",
        13: "x: missing value (the training data had none)",
        14: "city: missing value (the training data had none)",
    }
    out = pd.read_parquet(tmp_path / "out")
    assert out["id"].tolist() == [10] and (job.rows_out, job.rows_rejected) == (1, 4)


def test_a_chunk_with_no_good_row_writes_an_empty_part(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    register_logreg(local_registry)
    data = frame(6)
    data.loc[0:2, "a"] = np.nan
    data.to_parquet(tmp_path / "in.parquet")
    spec = BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "out"), id_column="id", batch_rows=3)
    job = run_batch(local_registry, local_settings, spec)
    empty = pq.read_table(tmp_path / "out" / "part-00000-000000.parquet")
    full = pq.read_table(tmp_path / "out" / "part-00000-000001.parquet")
    assert empty.num_rows == 0 and full.num_rows == 3
    assert empty.schema.remove_metadata() == full.schema.remove_metadata()  # one dataset, one schema
    assert (job.rows_in, job.rows_out, job.rows_rejected) == (6, 3, 3)
    assert pd.read_parquet(tmp_path / "out")["id"].tolist() == [3, 4, 5]


def test_a_missing_column_stops_the_whole_job(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    register_logreg(local_registry)
    folder = tmp_path / "in"
    folder.mkdir()
    frame(5).to_parquet(folder / "1.parquet")
    frame(5).rename(columns={"c": "C"}).to_csv(folder / "2.csv", index=False)
    spec = BatchSpec("churn", str(folder), str(tmp_path / "out"), id_column="id")
    with pytest.raises(ValidationFailed) as caught:
        run_batch(local_registry, local_settings, spec)
    message = str(caught.value)
    assert "2.csv: missing column 'c' that models:/churn/1 needs (did you mean 'C'?)" in message
    assert "the file has 5 columns: id, a, b, C, d" in message
    assert not list((tmp_path / "out").glob("part-*"))  # checked before the first file is scored
    (job,) = BatchJobStore(local_registry.db).list()
    assert job.status == "failed" and job.error is not None and "missing column 'c'" in job.error

    with pytest.raises(ValidationFailed, match="missing column 'key'"):
        run_batch(local_registry, local_settings, BatchSpec("churn", str(folder / "1.parquet"), str(tmp_path / "o"),
                                                            id_column="key"))  # fmt: skip


def test_a_model_that_raises_fails_the_job_naming_the_rows(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    inner, data, target = train()
    local_registry.register(FailingModel(inner, limit=1.0), "fragile", data=data[data.a <= 1], target=target)
    rows = frame(9)
    rows["a"] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 2.0, 0.1, 0.1]
    rows.to_parquet(tmp_path / "in.parquet")
    spec = BatchSpec("fragile", str(tmp_path / "in.parquet"), str(tmp_path / "out"), batch_rows=3)
    with pytest.raises(BatchFailed, match=r"raised ArithmeticError on rows 6\.\.8 of in\.parquet: feature a is out"):
        run_batch(local_registry, local_settings, spec)
    (job,) = BatchJobStore(local_registry.db).list()
    assert job.status == "failed" and "ArithmeticError" in (job.error or "")
    assert job.rows_in == 6 and job.parts == 2  # the chunks before the failure are kept for --resume
    assert sorted(p.name for p in (tmp_path / "out").glob("part-*")) == [
        "part-00000-000000.parquet",
        "part-00000-000001.parquet",
    ]
    assert list(FEATURES) == ["a", "b", "c", "d"]
