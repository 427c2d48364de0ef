"""Input and output on S3 (moto): discovery, fingerprints from ETags, parts and rejects written there."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.batch import BatchSpec, run_batch
from shipyard.config import S3Settings, Settings
from shipyard.errors import Conflict, ValidationFailed
from shipyard.registry import open_registry

from .conftest import FEATURES, frame, register_logreg


def put(boto_s3: Any, bucket: str, key: str, body: bytes) -> None:
    boto_s3.put_object(Bucket=bucket, Key=key, Body=body)


def read_parquet(boto_s3: Any, bucket: str, prefix: str) -> pd.DataFrame:
    listed = boto_s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    keys = sorted(o["Key"] for o in listed if o["Key"].rsplit("/", 1)[-1].startswith("part-"))
    frames = [pd.read_parquet(io.BytesIO(boto_s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]
    return pd.concat(frames, ignore_index=True)


def test_s3_folder_in_s3_folder_out(
    s3_url: tuple[str, S3Settings], boto_s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_url[0].removeprefix("s3://").split("/", 1)[0]
    settings = Settings(home=tmp_path / "home", user="alice", s3=s3_url[1])
    registry = open_registry(settings)
    model = register_logreg(registry)
    first, second = frame(30, seed=1), frame(25, seed=2, start_id=30)
    second.loc[second["id"] == 40, "d"] = np.nan  # its row 10
    buffer = io.BytesIO()
    first.to_parquet(buffer)
    put(boto_s3, bucket, "in/day=1/part.parquet", buffer.getvalue())
    put(boto_s3, bucket, "in/day=2/part.csv", second.to_csv(index=False).encode())
    put(boto_s3, bucket, "in/_SUCCESS", b"")

    spec = BatchSpec("churn", f"s3://{bucket}/in/", f"s3://{bucket}/out", batch_rows=20, id_column="id")
    job = run_batch(registry, settings, spec)

    assert (job.input_uri, job.output_uri, job.rejects_uri) == (
        f"s3://{bucket}/in",
        f"s3://{bucket}/out",
        f"s3://{bucket}/out/_rejects",
    )
    assert (job.status, job.input_files, job.rows_in, job.rows_out, job.rows_rejected) == ("succeeded", 2, 55, 54, 1)
    out = read_parquet(boto_s3, bucket, "out/part-").sort_values("id", ignore_index=True)
    everything = pd.concat([first, second], ignore_index=True)
    everything = everything[everything["id"] != 40].reset_index(drop=True)
    assert out["id"].tolist() == everything["id"].tolist()
    np.testing.assert_array_equal(out["predict"], model.predict(everything[FEATURES]))
    rejects = read_parquet(boto_s3, bucket, "out/_rejects/")
    assert rejects[["_source", "_row", "id"]].values.tolist() == [["day=2/part.csv", 10, 40]]

    again = run_batch(registry, settings, BatchSpec("churn", f"s3://{bucket}/in", f"s3://{bucket}/out", resume=True))
    assert again.id == job.id and again.attempts == 1  # finished: nothing to resume
    with pytest.raises(Conflict, match="already holds 4 part files"):
        run_batch(registry, settings, BatchSpec("churn", f"s3://{bucket}/in", f"s3://{bucket}/out"))
    with pytest.raises(ValidationFailed, match=f"s3://{bucket}/nothing-here does not exist"):
        run_batch(registry, settings, BatchSpec("churn", f"s3://{bucket}/nothing-here", f"s3://{bucket}/o2"))
    registry.db.close()
