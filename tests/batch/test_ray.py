"""The Ray engine (a local Ray with 2 CPUs): the same parts as the local engine, errors unwrapped.

These are the slow batch tests (Ray starts in seconds, its workers import Shipyard): marked `ray`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from shipyard.batch import BatchJobStore, BatchSpec, run_batch
from shipyard.config import Settings
from shipyard.errors import BatchFailed
from shipyard.registry import Registry

from ._models import FailingModel
from .conftest import frame, register_logreg, train

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_and_local_engines_write_the_same_output(
    local_ray: None, local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    register_logreg(local_registry)
    folder = tmp_path / "in"
    folder.mkdir()
    big = frame(1_000, seed=1)
    big.loc[[7, 512], "a"] = float("nan")
    big.to_parquet(folder / "big.parquet", row_group_size=300)  # four tasks on Ray
    small = frame(90, seed=2, start_id=1_000)
    small.to_csv(folder / "small.csv", index=False)
    common = {"batch_rows": 100, "id_column": "id"}
    local = run_batch(
        local_registry, local_settings, BatchSpec("churn", str(folder), str(tmp_path / "local"), **common)
    )
    on_ray = run_batch(
        local_registry, local_settings, BatchSpec("churn", str(folder), str(tmp_path / "ray"), engine="ray", **common)
    )

    assert (on_ray.engine, on_ray.status, on_ray.rows_in, on_ray.rows_rejected) == ("ray", "succeeded", 1090, 2)
    assert (local.rows_out, local.parts) == (on_ray.rows_out, on_ray.parts) == (1088, 11)
    for name in ("local", "ray"):
        assert sorted(p.name for p in (tmp_path / name).glob("part-*")) == sorted(
            p.name for p in (tmp_path / "local").glob("part-*")
        )
    a = pd.read_parquet(tmp_path / "local").sort_values("id", ignore_index=True)
    b = pd.read_parquet(tmp_path / "ray").sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for part in (tmp_path / "local").glob("part-*"):
        assert pq.read_table(part).equals(pq.read_table(tmp_path / "ray" / part.name))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "local" / "_rejects"),
                                  pd.read_parquet(tmp_path / "ray" / "_rejects"))  # fmt: skip


def test_a_model_that_raises_on_a_ray_worker_fails_the_job_with_its_reason(
    local_ray: None, local_registry: Registry, local_settings: Settings, tmp_path: Path
) -> None:
    inner, data, target = train()
    local_registry.register(FailingModel(inner, limit=1.0), "fragile", data=data[data.a <= 1], target=target)
    rows = frame(6)
    rows["a"] = [0.0, 0.1, 0.2, 5.0, 0.1, 0.1]
    rows.to_parquet(tmp_path / "in.parquet")
    spec = BatchSpec("fragile", str(tmp_path / "in.parquet"), str(tmp_path / "out"), batch_rows=3, engine="ray")
    with pytest.raises(BatchFailed, match=r"raised ArithmeticError on rows 3\.\.5 of in\.parquet"):
        run_batch(local_registry, local_settings, spec)
    (job,) = BatchJobStore(local_registry.db).list()
    assert job.status == "failed" and "ArithmeticError" in (job.error or "")
