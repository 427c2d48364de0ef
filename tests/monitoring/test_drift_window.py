"""The current window from segments the prediction log itself writes (its entries and Arrow schema),
flattened into the columns a reference profile names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.errors import ValidationFailed
from shipyard.monitoring.drift import Reference, compare, current_columns, read_window
from shipyard.monitoring.predlog import partition_dir
from shipyard.monitoring.predlog.entries import batches_from_records
from shipyard.monitoring.predlog.schema import batch_table
from shipyard.schema import profile_data
from shipyard.serving.events import CallContext, InferenceRecord

from ._drift import ThresholdModel, frame

NOW = datetime.now(UTC)


def _log(root: Path, version: int, drift: bool, at: datetime, requests: int = 40) -> None:
    data = frame(requests * 25, seed=version + 10 * drift, drift=drift)
    model = ThresholdModel()
    records = []
    for i in range(requests):
        rows = data.iloc[i * 25 : (i + 1) * 25]
        record = InferenceRecord(
            f"r{version}-{i}", "churn", "churn", version, "primary", at.timestamp(), 0.001, 25, "ok", CallContext("v2")
        )
        record.inputs = {c: rows[c].to_numpy(dtype=object if c == "city" else np.float64) for c in rows.columns}
        record.input_names = tuple(rows.columns)
        record.outputs = {"predict": model.predict(rows), "predict_proba": model.predict_proba(rows)}
        records.append((i + 1, record))
    [batch] = batches_from_records(records)
    folder = Path(partition_dir(str(root), "churn", at))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(batch_table(batch), folder / f"w{version}.parquet")


def test_logged_segments_become_the_profiles_columns(tmp_path: Path) -> None:
    root = tmp_path / "predictions"
    _log(root, 1, drift=True, at=NOW - timedelta(minutes=30))
    _log(root, 2, drift=False, at=NOW - timedelta(minutes=20))
    window = read_window(str(root), "churn", since="1h")
    assert window.versions() == [1, 2] and window.table.num_rows == 2000
    columns = current_columns(window.rows_of(1))
    assert columns.column_names == [
        "x1",
        "x2",
        "x3",
        "city",
        "output:predict",
        "output:predict_proba[0]",
        "output:predict_proba[1]",
    ]
    assert columns.num_rows == 1000

    training = frame(2000, seed=0)
    outputs = {"predict": ThresholdModel().predict(training), "predict_proba": ThresholdModel().predict_proba(training)}
    profile = profile_data(
        {
            **{c: training[c] for c in training.columns},
            "output:predict": outputs["predict"],
            "output:predict_proba[0]": outputs["predict_proba"][:, 0],
            "output:predict_proba[1]": outputs["predict_proba"][:, 1],
        },
        sample_size=2000,
    )
    reference = Reference.from_profile(profile)
    drifted = compare(reference, columns)
    steady = compare(reference, current_columns(window.rows_of(2)))
    assert sorted(drifted.drifted_features) == ["city", "x1", "x2"] and drifted.prediction_drift
    assert steady.drifted_features == [] and steady.prediction_drift is False


def test_list_outputs_of_uneven_length_and_tensor_inputs_are_left_out() -> None:
    rows = pa.table(
        {
            "version": pa.array([1, 1], pa.int32()),
            "inputs": pa.StructArray.from_arrays(
                [pa.array([1.0, 2.0]), pa.array([[1.0, 2.0], [3.0]])], names=["x", "image"]
            ),
            "outputs": pa.StructArray.from_arrays(
                [pa.array([0, 1]), pa.array([[0.1, 0.9], [0.2]])], names=["predict", "scores"]
            ),
        }
    )
    assert current_columns(rows).column_names == ["x", "output:predict"]


def test_a_bad_window_names_its_field(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="since"):
        read_window(str(tmp_path), "churn", since="last tuesday")
    with pytest.raises(ValidationFailed, match="model"):
        read_window(str(tmp_path), "../etc", since="1h")
    assert read_window(str(tmp_path), "churn", since="1h").versions() == []
