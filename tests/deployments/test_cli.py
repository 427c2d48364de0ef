"""`shipyard deploy …` as the issue lists it: create, canary, shadow, ab, promote, pause, rollback, status,
list, history — tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.config import load_settings
from shipyard.errors import DeploymentNotFound, ValidationFailed
from shipyard.registry import open_registry
from shipyard.store import list_events

from .fakes import ScaleModel

runner = CliRunner()


@pytest.fixture(autouse=True)
def model() -> None:
    registry = open_registry(load_settings())
    for factor in (1, 2, 3):
        registry.register(ScaleModel(factor), "churn", data=np.zeros((2, 3)))
    registry.set_alias("churn", "production", 1)
    registry.db.close()


def deploy(*args: str) -> Any:
    result = runner.invoke(app, ["deploy", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_the_commands_of_the_issue() -> None:
    assert "Created churn: v1 100%" in deploy("create", "churn", "--model", "churn@production").stdout
    canary = deploy(
        "canary", "churn", "--version", "2", "--steps", "5,25,50,100", "--interval", "10m",
        "--max-error-rate", "0.01", "--max-p99-ratio", "1.5", "--json",
    )  # fmt: skip
    rollout = json.loads(canary.stdout)["rollout"]
    assert (rollout["weight"], rollout["policy"]["interval_seconds"], rollout["policy"]["max_p99_ratio"]) == (
        5,
        600,
        1.5,
    )
    assert "Paused" in deploy("pause", "churn").stdout
    status = deploy("status", "churn").stdout
    assert (
        "v1" in status and "95%" in status and "p99 ms" in status and "step 1/4 (5%)" in status and "paused" in status
    )
    assert "Rolled back churn: v1 100%" in deploy("rollback", "churn", "--reason", "not today").stdout
    assert "Shadowing on churn: v1 100%, shadow:v3 100%" in deploy("shadow", "churn", "--version", "3").stdout
    assert "Shadow comparison" in deploy("status", "churn").stdout
    split = deploy("ab", "churn", "--split", "1=50,2=50", "--sticky", "header:x-user-id", "--json").stdout
    assert json.loads(split)["sticky"] == "header:x-user-id"
    assert "Promoted churn: v2 100%" in deploy("promote", "churn", "--version", "2").stdout
    listed = deploy("list").stdout
    assert "churn" in listed and "header:x-user-id" in listed
    assert [d["name"] for d in json.loads(deploy("list", "--json").stdout)] == ["churn"]
    history = deploy("history", "churn").stdout
    assert "rollback" in history and "not today" in history and "alice" in history
    events = json.loads(deploy("history", "churn", "--json").stdout)
    assert [e["action"] for e in events] == ["promote", "ab", "shadow", "rollback", "pause", "canary", "create"]
    assert deploy("shadow", "churn", "--version", "3", "--stop").stdout.startswith("Shadow stopped")
    assert "Deleted" in deploy("delete", "churn").stdout
    db = open_registry(load_settings()).db
    with db.read() as session:
        actors = {e.actor for e in list_events(session, target_prefix="deployment:churn")}
        sources = {e.source for e in list_events(session, target_prefix="deployment:churn")}
    assert actors == {"alice"} and sources == {"cli"}


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (["ab", "churn", "--split", "1=50,2=40"], ValidationFailed, "sum to 100"),
        (["ab", "churn", "--split", "1=-5,2=105"], ValidationFailed, "between 0 and 100"),
        (["ab", "churn", "--split", "1=nan,2=50"], ValidationFailed, "finite"),
        (["ab", "churn", "--split", "1=100", "--sticky", "cookie:x"], ValidationFailed, "sticky"),
        (["canary", "churn", "--version", "2", "--interval", "soon"], ValidationFailed, "interval"),
        (["canary", "churn", "--version", "2", "--max-p99-ratio", "fast"], ValidationFailed, "--max-p99-ratio"),
        (["canary", "churn", "--version", "2", "--steps", "5,25"], ValidationFailed, "100"),
        (["status", "nope"], DeploymentNotFound, "does not exist"),
    ],
)
def test_bad_input_changes_nothing(args: list[str], error: type[Exception], message: str) -> None:
    deploy("create", "churn", "--model", "churn/1")
    before = deploy("list", "--json").stdout
    result = runner.invoke(app, ["deploy", *args])
    assert result.exit_code != 0 and isinstance(result.exception, error) and message in str(result.exception)
    assert deploy("list", "--json").stdout == before


def test_errors_are_one_line_with_exit_code_1() -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-c", "from shipyard.cli import main; main()", "deploy", "canary", "nope", "--version", "2"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "Deployment 'nope' does not exist" in proc.stderr
