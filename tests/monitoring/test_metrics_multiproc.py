"""The per-run folder of the workers' metric files: fresh each run, stale runs removed, dead workers' live
gauges dropped."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import prometheus_client  # noqa: F401  # imported without the variable, as in every other test
import pytest

from shipyard.monitoring.metrics.multiproc import ENV, configured_dir, mark_dead_workers, prepare_run_dir, use_run_dir


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_folder_is_fresh_and_stale_runs_go(tmp_path: Path) -> None:
    base = tmp_path / "metrics"
    stale, alive, mine = base / f"run-{dead_pid()}", base / f"run-{os.getppid()}", base / f"run-{os.getpid()}"
    for folder in (stale, alive, mine):
        folder.mkdir(parents=True)
        (folder / "counter_1.db").write_bytes(b"old")
    (base / "notes.txt").write_text("not ours")
    run = prepare_run_dir(base)
    assert run == mine and list(run.iterdir()) == []  # our pid again (a restarted container): emptied
    assert not stale.exists()
    assert (alive / "counter_1.db").exists()  # another server's run, still serving: untouched
    assert (base / "notes.txt").read_text() == "not ours"


def test_use_run_dir_sets_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    run = use_run_dir(tmp_path / "metrics")
    assert os.environ[ENV] == str(run) and run.is_dir()


def test_configured_dir_needs_the_library_to_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert configured_dir() is None
    monkeypatch.setenv(ENV, str(tmp_path / "missing"))
    assert configured_dir() is None
    # This test process imported prometheus_client without the variable: its values stay in process.
    monkeypatch.setenv(ENV, str(tmp_path))
    with caplog.at_level(logging.WARNING):
        assert configured_dir() is None
    assert "imported before" in caplog.text


def test_configured_dir_in_a_fresh_process(tmp_path: Path) -> None:
    code = "from shipyard.monitoring.metrics.multiproc import configured_dir; print(configured_dir())"
    env = {**os.environ, ENV: str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path)


def test_dead_workers_live_gauges_are_dropped(tmp_path: Path) -> None:
    gone, here = dead_pid(), os.getpid()
    for name in (f"gauge_livesum_{gone}.db", f"gauge_livesum_{here}.db", f"counter_{gone}.db", "gauge_livesum_x.db"):
        (tmp_path / name).write_bytes(b"")
    assert mark_dead_workers(tmp_path) == [gone]
    names = {f.name for f in tmp_path.iterdir()}
    assert f"gauge_livesum_{gone}.db" not in names
    assert {f"gauge_livesum_{here}.db", f"counter_{gone}.db", "gauge_livesum_x.db"} <= names  # counts stay
