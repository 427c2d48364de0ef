"""The `shipyard` command as a user runs it: a real process, real files, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

SHIPYARD = [sys.executable, "-c", "from shipyard.cli import main; main()"]


def run(*args: str, user: str = "alice", ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPYARD_USER": user, "COLUMNS": "200", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([*SHIPYARD, *args], capture_output=True, text=True, env=env, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def saved_model(tmp_path: Path) -> tuple[Path, Path]:
    data: Any = load_iris(as_frame=True)
    model = LogisticRegression(max_iter=300).fit(data.data, data.target)
    path = tmp_path / "iris.skops"
    skops.io.dump(model, path)
    csv = tmp_path / "train.csv"
    data.frame.to_csv(csv, index=False)
    return path, csv


def test_register_promote_show_diff_archive(saved_model: tuple[Path, Path]) -> None:
    path, csv = saved_model
    first = json.loads(
        run(
            "models",
            "register",
            str(path),
            "--name",
            "iris",
            "--data",
            str(csv),
            "--target",
            "target",
            "--metric",
            "acc=0.9",
            "--param",
            "C=1",
            "--json",
        ).stdout
    )
    assert first["version"] == 1 and first["flavor"] == "sklearn" and first["signature"]["layout"] == "columns"
    run("models", "register", str(path), "--name", "iris", "--metric", "acc=0.95", "--tag", "team=risk")
    run("models", "alias", "set", "iris", "production", "2")
    listed = json.loads(run("models", "list", "--json").stdout)
    assert listed[0]["name"] == "iris" and listed[0]["aliases"] == {"production": 2}
    shown = json.loads(run("models", "show", "iris@production", "--json").stdout)
    assert shown["version"] == 2 and shown["aliases"] == ["production"]
    table = run("models", "show", "iris").stdout
    assert "production" in table and "acc=0.95" in table
    diff = json.loads(run("models", "diff", "iris", "1", "2", "--json").stdout)
    assert {"section": "metrics", "key": "acc", "left": 0.9, "right": 0.95, "changed": True} in diff
    found = json.loads(run("models", "search", "--filter", "metrics.acc > 0.92", "--json").stdout)
    assert [v["uri"] for v in found] == ["models:/iris/2"]
    run("models", "archive", "iris/2")
    assert json.loads(run("models", "list", "--json").stdout)[0]["aliases"] == {}
    audit = json.loads(run("audit", "--target", "iris", "--json").stdout)
    assert [e["action"] for e in audit][:2] == ["version.archive", "alias.set"]


def test_approval_flow_from_the_cli(saved_model: tuple[Path, Path]) -> None:
    path, _ = saved_model
    run("models", "register", str(path), "--name", "iris", "--require-approval")
    denied = run("models", "alias", "set", "iris", "production", "1", ok=False)
    assert denied.returncode == 1 and "approve" in denied.stderr
    self_approval = run("models", "approve", "iris/1", ok=False)
    assert self_approval.returncode == 1 and "different user" in self_approval.stderr
    run("models", "approve", "iris/1", user="bob")
    run("models", "alias", "set", "iris", "production", "1")


@pytest.fixture(scope="module")
def populated_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One registry with iris v1, shared by the error cases below (each run is a separate process)."""
    folder = tmp_path_factory.mktemp("cli-errors")
    data: Any = load_iris(as_frame=True)
    path = folder / "iris.skops"
    skops.io.dump(LogisticRegression(max_iter=300).fit(data.data, data.target), path)
    home = folder / "home"
    env = {**os.environ, "SHIPYARD_HOME": str(home), "SHIPYARD_USER": "alice", "PYTHONWARNINGS": "ignore"}
    subprocess.run(
        [*SHIPYARD, "models", "register", str(path), "--name", "iris"], env=env, check=True, capture_output=True
    )
    return home, path


ERROR_CASES = [
    (("models", "show", "nope"), "not registered"),
    (("models", "show", "iris/7"), "no version 7"),
    (("models", "show", "irs"), "Closest: iris"),
    (("models", "alias", "set", "iris", "production", "9"), "no version 9"),
    (("models", "register", "/does/not/exist.skops", "--name", "x"), "exist"),
    (("models", "approve", "iris"), "NAME/VERSION"),
    (("models", "search", "--filter", "nonsense"), "filter"),
    (("models", "register", "{model}", "--name", "bad name"), "name"),
    (("models", "register", "{model}", "--name", "iris", "--metric", "acc=high"), "metrics.acc"),
    (("models", "register", "{model}", "--name", "iris", "--flavor", "sklaern"), "sklearn"),
    (("models", "register", "{model}", "--name", "iris", "--data", "{model}"), "--data"),
]


@pytest.mark.parametrize(("args", "needle"), ERROR_CASES)
def test_errors_are_one_line_with_exit_code_1(
    populated_home: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], needle: str
) -> None:
    home, path = populated_home
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    proc = run(*(a.replace("{model}", str(path)) for a in args), ok=False)
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_failed_commands_changed_nothing(populated_home: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(populated_home[0]))
    listed = json.loads(run("models", "list", "--json").stdout)
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed] == [("iris", 1, {})]


def test_bad_configuration_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_DB_URL", "mysql://nope")
    proc = run("models", "list", ok=False)
    assert proc.returncode == 1 and "SHIPYARD_DB_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_debug_shows_the_traceback() -> None:
    proc = run("--debug", "models", "show", "nope", ok=False)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_help_lists_the_commands() -> None:
    out = run("models", "--help").stdout
    for command in ("register", "list", "show", "alias", "approve", "archive", "diff", "import-mlflow"):
        assert command in out
