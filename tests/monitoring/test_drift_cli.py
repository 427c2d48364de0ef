"""`shipyard drift MODEL`: the table, `--json`, a self-contained `--html` report, `--latest`,
`--fail-on-drift`, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.cli.drift import DRIFT_EXIT_CODE
from shipyard.config import load_settings
from shipyard.monitoring.drift import store
from shipyard.registry import open_registry

from ._drift import ThresholdModel, frame, write_log

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture(autouse=True)
def churn() -> None:
    settings = load_settings()
    registry = open_registry(settings)
    registry.register(ThresholdModel(), "churn", data=frame(1500, seed=0))
    now = datetime.now(UTC)
    write_log(Path(settings.resolved_log_url), "churn", 1, frame(1200, seed=1, drift=True), now - timedelta(minutes=3))
    registry.db.close()


def test_table_names_each_feature_and_the_verdict() -> None:
    result = runner.invoke(app, ["drift", "churn", "--since", "1h"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "churn version 1" in result.stdout and "1,200 rows" in result.stdout
    for name in ("x1", "x2", "x3", "city", "output:predict (prediction)"):
        assert name in result.stdout
    assert "DATASET DRIFT: 3 of 4 features drifted (75%; threshold 50%)" in result.stdout
    assert "predictions DRIFTED" in result.stdout


def test_json_for_scripts_and_the_stored_run() -> None:
    result = runner.invoke(app, ["drift", "churn", "--json"])
    assert result.exit_code == 0, result.output
    [run] = json.loads(result.stdout)
    assert run["dataset_drift"] and sorted(run["drifted_features"]) == ["city", "x1", "x2"] and run["trigger"] == "cli"
    latest = runner.invoke(app, ["drift", "churn", "--latest", "--json"])
    assert json.loads(latest.stdout)["id"] == run["id"]
    registry = open_registry(load_settings())
    assert store.latest_run(registry.db, "churn").computed_at is not None
    registry.db.close()
    assert json.loads(runner.invoke(app, ["drift", "churn", "--json", "--no-store"]).stdout)[0]["id"] is None


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = runner.invoke(app, ["drift", "churn", "--since", "1h", "--html", str(report)])
    assert result.exit_code == 0, result.output
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Dataset drift" in page and "x1" in page and "city" in page
    assert page.count("<svg") == 7  # x1, x2, x3, city, predict, predict_proba[0] and [1]
    assert "drift when ≥ 0.1" in page and "drifted" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page and "@import" not in page and "url(" not in page


def test_fail_on_drift_sets_the_exit_code() -> None:
    result = runner.invoke(app, ["drift", "churn", "--fail-on-drift"])
    assert result.exit_code == DRIFT_EXIT_CODE


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["drift", "nope"], "Model 'nope' is not registered"),
        (["drift", "churn", "--since", "soon"], "since"),
        (["drift", "churn", "--since", "3d", "--until", "2d"], "No logged predictions"),
        (["drift", "churn", "--version", "4"], "has no version 4"),
        (["drift", "churn", "--latest", "--no-store"], "There is no drift run"),
    ],
)
def test_bad_input_is_one_line(args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and words in str(result.exception)


def test_errors_reach_the_terminal_as_one_line() -> None:
    import subprocess

    code = "from shipyard.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "drift", "nope"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Model 'nope' is not registered" in done.stderr
    assert "Traceback" not in done.stderr
