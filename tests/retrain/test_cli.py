"""`shipyard retrain …` as a user runs it: a real process for the run and the errors, the rest in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.config import load_settings
from shipyard.registry import open_registry

from .conftest import labelled, policy, register_champion

ROOT = Path(__file__).parents[2]
SHIPYARD = [sys.executable, "-c", "from shipyard.cli import main; main()"]
runner = CliRunner()


def shipyard(*args: str) -> subprocess.CompletedProcess[str]:
    # The tests' trainers are importable from the repository root, as a project's own code would be.
    env = {**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    return subprocess.run([*SHIPYARD, *args], capture_output=True, text=True, env=env, timeout=300)


def test_policy_file_a_manual_run_and_its_record(fresh_dataset: Path, tmp_path: Path) -> None:
    registry = open_registry(load_settings())
    register_champion(registry, labelled(300, seed=1))
    registry.db.close()
    file = tmp_path / "policy.yaml"
    file.write_text(yaml.safe_dump(policy(fresh_dataset, triggers=[{"kind": "schedule", "cron": "0 3 * * 1"}])))

    assert runner.invoke(app, ["retrain", "policy", "set", "churn", "--file", str(file)]).exit_code == 0
    shown = runner.invoke(app, ["retrain", "policy", "show", "churn"])
    assert shown.exit_code == 0 and "cron: 0 3 * * 1" in shown.stdout and "by alice" in shown.stdout
    assert "schedule" in runner.invoke(app, ["retrain", "policy", "list"], env={"COLUMNS": "200"}).stdout

    ran = shipyard("retrain", "churn")  # `retrain MODEL` is `retrain run MODEL`
    assert ran.returncode == 0, ran.stderr
    assert "training on 225 rows" in ran.stderr and "accepted" in ran.stdout and "better by" in ran.stdout

    [listed] = json.loads(runner.invoke(app, ["retrain", "list", "--json"]).stdout)
    assert (listed["model"], listed["decision"], listed["challenger_version"]) == ("churn", "accepted", 2)
    shown_run = runner.invoke(app, ["retrain", "show", listed["id"]], env={"COLUMNS": "200"})
    assert shown_run.exit_code == 0 and "registered the challenger as v2" in shown_run.stdout
    assert json.loads(runner.invoke(app, ["retrain", "check", "--json"]).stdout)[0]["due"] is None


def test_errors_are_one_line_and_exit_1(fresh_dataset: Path, tmp_path: Path) -> None:
    registry = open_registry(load_settings())
    register_champion(registry, labelled(300, seed=1))
    registry.db.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "trainer: {command: train.sh}\ndata: {dataset: x.parquet}\ntriggers: [{kind: schedule, cron: nope}]\n"
    )
    refused = shipyard("retrain", "policy", "set", "churn", "--file", str(bad))
    assert refused.returncode == 1 and "triggers.0.cron: 'nope' is not a cron expression" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    missing = runner.invoke(app, ["retrain", "policy", "set", "churn", "--file", str(tmp_path / "none.yaml")])
    assert missing.exit_code != 0 and "is not a file" in str(missing.exception)
    no_policy = runner.invoke(app, ["retrain", "churn"])
    assert no_policy.exit_code != 0 and "has no retraining policy" in str(no_policy.exception)

    file = tmp_path / "policy.yaml"
    file.write_text(yaml.safe_dump(policy(fresh_dataset, trainer={"command": "echo no model here; exit 2"})))
    assert runner.invoke(app, ["retrain", "policy", "set", "churn", "--file", str(file)]).exit_code == 0
    failed = shipyard("retrain", "run", "churn", "--quiet")
    assert failed.returncode == 1 and "exited with status 2: its last lines: no model here" in failed.stderr
    assert "no model here" not in failed.stderr.splitlines()  # --quiet: the trainer's lines are not streamed
    assert "retrain.failed churn" in failed.stderr  # the alert, through the AlertManager's log notifier
