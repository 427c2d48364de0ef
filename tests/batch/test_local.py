"""The local engine scores files, CSV and folders as the model would, keeps the id column, names outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import shipyard
from shipyard.batch import BatchSpec, run_batch
from shipyard.config import Settings
from shipyard.errors import Conflict, ValidationFailed
from shipyard.registry import Registry

from .conftest import FEATURES, frame, register_logreg


def expected(model: object, data: pd.DataFrame) -> pd.DataFrame:
    proba = model.predict_proba(data[FEATURES])  # type: ignore[attr-defined]
    return pd.DataFrame(
        {
            "id": data["id"].to_numpy(),
            "predict": model.predict(data[FEATURES]),  # type: ignore[attr-defined]
            "predict_proba_0": proba[:, 0],
            "predict_proba_1": proba[:, 1],
        }
    )


def test_parquet_scored_in_parts_like_the_model(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    model = register_logreg(local_registry)
    data = frame(1_050)
    data.to_parquet(tmp_path / "in.parquet", row_group_size=400)  # chunks straddle row groups
    spec = BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "out"), batch_rows=250, id_column="id")
    seen: list[int] = []
    job = run_batch(local_registry, local_settings, spec, progress=lambda p: seen.append(p.rows_done))

    parts = sorted(p.name for p in (tmp_path / "out").glob("part-*.parquet"))
    assert parts == [f"part-00000-{i:06d}.parquet" for i in range(5)]
    assert [pq.read_metadata(tmp_path / "out" / p).num_rows for p in parts] == [250, 250, 250, 250, 50]
    out = pd.read_parquet(tmp_path / "out")
    pd.testing.assert_frame_equal(out, expected(model, data), check_dtype=False)
    assert list(out.columns) == ["id", "predict", "predict_proba_0", "predict_proba_1"]
    assert (job.status, job.rows_in, job.rows_out, job.rows_rejected, job.parts) == ("succeeded", 1050, 1050, 0, 5)
    assert (job.model_name, job.model_version, job.rows_total, job.outputs) == (
        "churn",
        1,
        1050,
        ["predict", "predict_proba"],
    )
    assert sorted(seen) == [250, 500, 750, 1000, 1050]
    assert not (tmp_path / "out" / "_rejects").exists()
    assert not list((tmp_path / "out").glob(".tmp-*"))


def test_csv_folder_with_other_files_and_a_chosen_output(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    model = register_logreg(local_registry)
    folder = tmp_path / "in"
    (folder / "2024").mkdir(parents=True)
    first, second, third = frame(30, seed=2), frame(20, seed=3, start_id=30), frame(10, seed=4, start_id=50)
    first.to_csv(folder / "a.csv", index=False)
    second.to_parquet(folder / "2024" / "b.parquet")
    third.to_csv(folder / "c.csv.gz", index=False)
    (folder / "README.md").write_text("not data")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.csv").write_text("id,x\n1,2\n")

    spec = BatchSpec("churn", str(folder), str(tmp_path / "out"), batch_rows=25, id_column="id", outputs=("predict",))
    job = run_batch(local_registry, local_settings, spec)

    names = sorted(p.name for p in (tmp_path / "out").glob("part-*"))
    # Files in sorted order of their path under the input: 2024/b.parquet, a.csv, c.csv.gz.
    assert names == ["part-00000-000000.parquet", "part-00001-000000.parquet", "part-00001-000001.parquet",
                     "part-00002-000000.parquet"]  # fmt: skip
    out = pd.read_parquet(tmp_path / "out").sort_values("id", ignore_index=True)
    everything = pd.concat([first, second, third], ignore_index=True)
    assert list(out.columns) == ["id", "predict"]
    assert out["id"].tolist() == list(range(60))
    np.testing.assert_array_equal(out["predict"], model.predict(everything[FEATURES]))
    assert (job.input_files, job.rows_in, job.rows_out) == (3, 60, 60)


def test_without_an_id_column_rows_keep_their_order(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    model = register_logreg(local_registry)
    data = frame(40)
    data.to_parquet(tmp_path / "in.parquet")
    run_batch(local_registry, local_settings, BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o")))
    out = pd.read_parquet(tmp_path / "o")
    assert list(out.columns) == ["predict", "predict_proba_0", "predict_proba_1"]
    np.testing.assert_array_equal(out["predict"], model.predict(data[FEATURES]))


def test_sdk_batch_predict(local_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    model = register_logreg(local_registry)
    data = frame(30)
    data.to_parquet(tmp_path / "in.parquet")
    job = shipyard.batch_predict("churn", tmp_path / "in.parquet", tmp_path / "out", id_column="id", batch_rows=7)
    assert (job.status, job.rows_out, job.parts) == ("succeeded", 30, 5)
    out = pd.read_parquet(tmp_path / "out")
    np.testing.assert_array_equal(out["predict"], model.predict(data[FEATURES]))


def test_bad_requests_fail_before_anything_is_recorded(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    register_logreg(local_registry)
    frame(10).to_parquet(tmp_path / "in.parquet")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    cases = [
        (BatchSpec("churn", str(tmp_path / "missing.parquet"), str(tmp_path / "o")), "does not exist"),
        (BatchSpec("churn", str(tmp_path / "notes.txt"), str(tmp_path / "o")), "neither Parquet nor CSV"),
        (BatchSpec("churn", str(tmp_path / "empty"), str(tmp_path / "o")), "no Parquet or CSV files"),
        (BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o"), batch_rows=0), "between 1 and"),
        (BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o"), batch_rows=True), "between 1 and"),
        (BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o"), engine="spark"), "local, ray"),  # type: ignore[arg-type]
        (BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "in.parquet")), "must be outside the input"),
        (BatchSpec("churn", str(tmp_path), str(tmp_path / "scores")), "must be outside the input"),
        (
            BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o"), ray_address="ray://x:1"),
            "--engine ray",
        ),
        (BatchSpec("", str(tmp_path / "in.parquet"), str(tmp_path / "o")), "non-empty"),
    ]
    for spec, needle in cases:
        with pytest.raises(ValidationFailed, match=needle):
            run_batch(local_registry, local_settings, spec)
    with pytest.raises(shipyard.ModelNotFound, match="churm"):
        run_batch(local_registry, local_settings, BatchSpec("churm", str(tmp_path / "in.parquet"), str(tmp_path / "o")))
    with pytest.raises(ValidationFailed, match="predict_log_proba: not an output"):
        run_batch(
            local_registry,
            local_settings,
            BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o2"), outputs=("predict_log_proba",)),
        )
    from shipyard.batch import BatchJobStore

    assert BatchJobStore(local_registry.db).list() == []  # nothing was recorded
    assert not list((tmp_path / "o").glob("part-*"))


def test_a_model_without_signature_or_archived_is_refused(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    model = register_logreg(local_registry)
    local_registry.register(model, "bare")  # no data: no signature
    frame(10).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(ValidationFailed, match="no signature"):
        run_batch(local_registry, local_settings, BatchSpec("bare", str(tmp_path / "in.parquet"), str(tmp_path / "o")))
    local_registry.archive("churn", 1)
    with pytest.raises(shipyard.VersionArchived):
        run_batch(
            local_registry, local_settings, BatchSpec("churn/1", str(tmp_path / "in.parquet"), str(tmp_path / "o"))
        )


def test_an_output_folder_with_parts_is_not_overwritten(
    local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    register_logreg(local_registry)
    frame(10).to_parquet(tmp_path / "in.parquet")
    spec = BatchSpec("churn", str(tmp_path / "in.parquet"), str(tmp_path / "o"))
    run_batch(local_registry, local_settings, spec)
    before = (tmp_path / "o" / "part-00000-000000.parquet").read_bytes()
    with pytest.raises(Conflict, match="already holds 1 part files.*batch job 1.*--resume"):
        run_batch(local_registry, local_settings, spec)
    assert (tmp_path / "o" / "part-00000-000000.parquet").read_bytes() == before
