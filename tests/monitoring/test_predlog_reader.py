"""Reading the log: only the window's hour partitions, by pyarrow, DuckDB and pyarrow.dataset; on S3 too."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from shipyard.artifacts import open_artifact_store, s3_storage_options
from shipyard.config import MonitoringSettings, S3Settings, Settings
from shipyard.errors import ValidationFailed
from shipyard.monitoring.predlog import PredictionLog, SegmentStore, partition_dir, read_log
from shipyard.monitoring.predlog.entries import batches_from_records
from shipyard.monitoring.predlog.factory import log_storage_options, open_prediction_log
from shipyard.monitoring.predlog.schema import batch_table
from shipyard.store import open_database

from ._records import columns, tabular

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _segment(root: Path, hour: datetime, ids: list[str], version: int = 1) -> None:
    records = [
        (i + 1, tabular(rid, [[1.0, 2.0]], version=version, at=hour.timestamp() + 60 + i)) for i, rid in enumerate(ids)
    ]
    [batch] = batches_from_records(records)
    folder = Path(partition_dir(str(root), "churn", hour))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(batch_table(batch), folder / f"w-{ids[0]}.parquet")


@pytest.fixture
def log_root(tmp_path: Path) -> Path:
    root = tmp_path / "predictions"
    for h in range(6):
        _segment(root, NOON + timedelta(hours=h), [f"h{h}a", f"h{h}b"], version=1 if h < 3 else 2)
    return root


def test_only_the_windows_partitions_are_read(log_root: Path) -> None:
    broken = Path(partition_dir(str(log_root), "churn", NOON + timedelta(hours=5))) / "broken.parquet"
    broken.write_bytes(b"not parquet")  # reading this hour would fail
    table = read_log(str(log_root), "churn", since=NOON + timedelta(hours=1), until=NOON + timedelta(hours=3))
    assert table.column("request_id").to_pylist() == ["h1a", "h1b", "h2a", "h2b"]
    with pytest.raises(pa.ArrowInvalid):
        read_log(str(log_root), "churn", since=NOON, until=NOON + timedelta(hours=6))


def test_filters_and_limit(log_root: Path) -> None:
    until = NOON + timedelta(hours=6)
    assert read_log(str(log_root), "churn", NOON, until, version=2).num_rows == 6
    assert read_log(str(log_root), "churn", NOON, until, arm="canary").num_rows == 0
    newest = read_log(str(log_root), "churn", NOON, until, limit=3)
    assert newest.column("request_id").to_pylist() == ["h4b", "h5a", "h5b"]
    assert read_log(str(log_root), "churn", NOON, NOON + timedelta(seconds=61)).column("request_id").to_pylist() == [
        "h0a"
    ]
    assert read_log(str(log_root), "unknown", NOON, until).num_rows == 0


def test_duckdb_and_pyarrow_dataset_read_the_same_files(log_root: Path) -> None:
    dataset = ds.dataset(str(log_root), format="parquet", partitioning="hive")
    assert dataset.to_table().num_rows == 12
    assert "hour" in dataset.schema.names
    query = f"""select version, count(*) as n, min(hour) as first_hour, min(inputs.age) as age
                from read_parquet('{log_root}/**/*.parquet', hive_partitioning = true)
                where model = 'churn' group by version order by version"""
    # In a child process: duckdb 2.0's bindings report "leaked" objects at interpreter exit.
    script = f"import duckdb, json; print(json.dumps(duckdb.sql({query!r}).fetchall()))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [[1, 6, 12, 1.0], [2, 6, 15, 1.0]]


def test_versions_with_other_columns_and_types_are_merged(tmp_path: Path) -> None:
    root = tmp_path / "p"
    _segment(root, NOON, ["a"])
    [batch] = batches_from_records([(9, columns("b", ["paris"], [3], model="churn"))])
    batch.meta["time"] = [NOON.timestamp() + 30]
    pq.write_table(batch_table(batch), Path(partition_dir(str(root), "churn", NOON)) / "w-b.parquet")
    table = read_log(str(root), "churn", NOON, NOON + timedelta(hours=1))
    assert table.column("inputs").to_pylist() == [
        {"age": 3.0, "income": None, "city": "paris"},
        {"age": 1.0, "income": 2.0, "city": None},
    ]
    assert [o["predict"] for o in table.column("outputs").to_pylist()] == ["small", "0"]  # int and text: text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "1h", "until": "2h"}, "until"),
        ({"since": "1h", "limit": 0}, "limit"),
        ({"since": "1h", "model": "../etc"}, "model"),
    ],
)
def test_bad_arguments_name_the_field(log_root: Path, kwargs: dict[str, object], field: str) -> None:
    arguments = {"model": "churn", **kwargs}
    with pytest.raises(ValidationFailed) as info:
        read_log(str(log_root), **arguments)  # type: ignore[arg-type]
    assert info.value.problems[0][0] == field


@pytest.mark.integration
def test_segments_on_s3(tmp_path: Path, s3_url: tuple[str, S3Settings]) -> None:
    url, s3 = s3_url
    location = url.replace("/artifacts", "/predictions")
    options = s3_storage_options(s3)
    log = PredictionLog(MonitoringSettings(log_mode="durable"), SegmentStore(location, options), tmp_path / "wal")
    _log_five(log, "s")
    table = read_log(location, "churn", since="1h", storage_options=options)
    assert sorted(table.column("request_id").to_pylist()) == [f"s{i}" for i in range(5)]


@pytest.mark.integration
def test_the_log_follows_an_s3_artifact_store_by_default(
    tmp_path: Path, s3_url: tuple[str, S3Settings], boto_s3: Any
) -> None:
    url, s3 = s3_url
    settings = Settings(home=tmp_path / "home", artifacts=url, s3=s3)  # no monitoring.log_url
    assert settings.resolved_log_url == f"{url}/predictions"
    open_artifact_store(settings).put_bytes(b"weights")
    db = open_database(settings.resolved_db_url)
    try:
        log = open_prediction_log(settings, db)
        assert log is not None
        _log_five(log, "d")
    finally:
        db.close()
    table = read_log(settings.resolved_log_url, "churn", since="1h", storage_options=log_storage_options(settings))
    assert sorted(table.column("request_id").to_pylist()) == [f"d{i}" for i in range(5)]
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    keys = [o["Key"] for o in boto_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert {k.removeprefix(prefix + "/").split("/", 1)[0] for k in keys} == {"sha256", "predictions"}
    assert not (tmp_path / "home" / "predictions").exists()  # nothing went to local disk


def _log_five(log: PredictionLog, prefix: str) -> None:
    log.start()
    try:

        async def answer() -> None:
            waits = (log.observe(tabular(f"{prefix}{i}", [[1.0, 2.0]])) for i in range(5))
            await asyncio.gather(*[w for w in waits if w])

        asyncio.run(answer())
        assert log.flush(30)
    finally:
        log.close(10)
