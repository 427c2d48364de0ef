"""A job killed midway resumes to exactly the output of an uninterrupted run; resume refuses what
would mix two inputs, two cuttings or two processes into one output. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shipyard.batch import BatchJobStore, BatchSpec, run_batch
from shipyard.config import Settings
from shipyard.errors import BatchFailed, Conflict, ValidationFailed
from shipyard.registry import Registry

from ._models import FailingModel, SlowModel
from .conftest import frame, train

SHIPYARD = [sys.executable, "-c", "from shipyard.cli import main; main()"]


def parts_of(folder: Path) -> dict[str, object]:
    return {p.name: pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))}


def wait_for_parts(folder: Path, count: int, proc: subprocess.Popen[str], deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while len(list(folder.glob("part-*.parquet"))) < count:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the job wrote no parts in time"
        time.sleep(0.02)


def test_a_killed_job_resumes_to_the_same_output(registry: Registry, settings: Settings, tmp_path: Path) -> None:
    inner, data, target = train()
    registry.register(SlowModel(inner, delay=0.1), "slow", data=data, target=target)
    rows = frame(1_000)
    rows.loc[[5, 250, 777], "b"] = float("nan")  # some rejects too: they must not be duplicated either
    rows.to_parquet(tmp_path / "in.parquet", row_group_size=300)
    env = {**os.environ, "SHIPYARD_HOME": str(settings.home), "SHIPYARD_DB_URL": settings.resolved_db_url}
    args = ["batch", "slow", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out"), "--batch-rows", "100"]
    proc = subprocess.Popen([*SHIPYARD, *args, "--id-column", "id"], env=env, text=True, stderr=subprocess.PIPE)
    try:
        wait_for_parts(tmp_path / "out", 3, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    written = len(parts_of(tmp_path / "out"))
    assert 3 <= written < 10
    store = BatchJobStore(registry.db)
    (killed,) = store.list()
    assert killed.status == "interrupted"  # stored as running; its process is gone
    (tmp_path / "out" / ".tmp-0badc0de-part-00000-000009.parquet").write_bytes(b"half a part")

    spec = BatchSpec("slow", str(tmp_path / "in.parquet"), str(tmp_path / "out"), resume=True)
    resumed = run_batch(registry, settings, spec)
    reference = run_batch(registry, settings, BatchSpec("slow", str(tmp_path / "in.parquet"), str(tmp_path / "ref"),
                                                        batch_rows=100, id_column="id"))  # fmt: skip

    assert (resumed.id, resumed.status, resumed.attempts) == (killed.id, "succeeded", 2)
    assert (resumed.rows_in, resumed.rows_out, resumed.rows_rejected, resumed.parts) == (1000, 997, 3, 10)
    assert (reference.rows_in, reference.rows_out, reference.rows_rejected) == (1000, 997, 3)
    got, want = parts_of(tmp_path / "out"), parts_of(tmp_path / "ref")
    assert list(got) == list(want)
    assert all(got[name].equals(want[name]) for name in want)  # type: ignore[attr-defined]
    assert parts_of(tmp_path / "out" / "_rejects").keys() == parts_of(tmp_path / "ref" / "_rejects").keys()
    assert not list((tmp_path / "out").glob(".tmp-*"))
    assert resumed.duration_seconds > 0 and resumed.finished_at is not None


def test_resume_continues_a_failed_job_and_is_a_no_op_once_finished(
    registry: Registry, settings: Settings, tmp_path: Path
) -> None:
    inner, data, target = train()
    registry.register(FailingModel(inner, limit=1.0), "fragile", data=data[data.a <= 1], target=target)
    registry.register(inner, "fragile", data=data, target=target)  # v2, the fix
    registry.set_alias("fragile", "production", 1)
    rows = frame(9)
    rows["a"] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 2.0, 0.1, 0.1]
    rows.to_parquet(tmp_path / "in.parquet")
    spec = BatchSpec("fragile", str(tmp_path / "in.parquet"), str(tmp_path / "out"), batch_rows=3, id_column="id")
    with pytest.raises(BatchFailed):
        run_batch(registry, settings, spec)

    # A resumed job keeps the version it started with, even once the alias has moved: one job, one model.
    registry.set_alias("fragile", "production", 2)
    with pytest.raises(BatchFailed, match="models:/fragile/1 raised"):
        run_batch(registry, settings, BatchSpec("fragile", str(tmp_path / "in.parquet"), str(tmp_path / "out"),
                                                resume=True))  # fmt: skip
    store = BatchJobStore(registry.db)
    (job,) = store.list()
    assert (job.status, job.attempts, job.parts, job.rows_in, job.model_version) == ("failed", 2, 2, 6, 1)

    rows.to_parquet(tmp_path / "in2.parquet")
    done = run_batch(registry, settings, BatchSpec("fragile", str(tmp_path / "in2.parquet"), str(tmp_path / "ok"),
                                                   resume=True))  # fmt: skip
    assert done.status == "succeeded" and done.model_version == 2  # nothing to resume: a new job
    again = run_batch(registry, settings, BatchSpec("fragile", str(tmp_path / "in2.parquet"), str(tmp_path / "ok"),
                                                    resume=True))  # fmt: skip
    assert (again.id, again.attempts, again.finished_at) == (done.id, 1, done.finished_at)


def test_resume_refuses_a_changed_input_other_settings_or_a_live_job(
    registry: Registry, settings: Settings, tmp_path: Path
) -> None:
    inner, data, target = train()
    registry.register(FailingModel(inner, limit=1.0), "fragile", data=data[data.a <= 1], target=target)
    rows = frame(9)
    rows["a"] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 2.0, 0.1, 0.1]
    rows.to_parquet(tmp_path / "in.parquet")
    source, out = str(tmp_path / "in.parquet"), str(tmp_path / "out")
    with pytest.raises(BatchFailed):
        run_batch(registry, settings, BatchSpec("fragile", source, out, batch_rows=3))
    before = parts_of(tmp_path / "out")

    for spec, needle in [
        (BatchSpec("fragile", source, out, resume=True, batch_rows=4), "batch_rows: 4 differs from 3"),
        (BatchSpec("fragile", source, out, resume=True, id_column="id"), "id_column: 'id' differs from None"),
        (BatchSpec("fragile/1", source, out, resume=True), "scores with 'fragile', not 'fragile/1'"),
    ]:
        with pytest.raises(ValidationFailed, match=needle):
            run_batch(registry, settings, spec)

    store = BatchJobStore(registry.db)
    (job,) = store.list()
    live = store.take_over(job, "local")  # this process now holds it, and is alive
    with pytest.raises(Conflict, match=f"Batch job {job.id} is still running"):
        run_batch(registry, settings, BatchSpec("fragile", source, out, resume=True))
    with pytest.raises(Conflict, match="just taken over"):
        BatchJobStore(registry.db).take_over(job, "local")  # a second resumer, with the same stale view
    store.finish(live.id, "failed", {})

    frame(9, seed=5).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(Conflict, match=f"The input of batch job {job.id} changed"):
        run_batch(registry, settings, BatchSpec("fragile", source, out, resume=True))
    assert parts_of(tmp_path / "out").keys() == before.keys()
    assert store.get(job.id).attempts == 2
