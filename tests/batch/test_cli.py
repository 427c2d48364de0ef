"""`shipyard batch …`, `batch list`, `batch show`: output, JSON, and one-line errors with exit code 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli import main
from shipyard.config import Settings
from shipyard.registry import Registry

from .conftest import frame, register_logreg


def shipyard_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run the command in this process (as `main()` does for the console script): exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["shipyard", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_score_list_and_show(
    registry: Registry,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPYARD_DB_URL", settings.resolved_db_url)
    register_logreg(registry)
    data = frame(120)
    data.loc[3, "c"] = float("inf")
    data.to_csv(tmp_path / "in.csv", index=False)
    code, out, err = shipyard_cli(
        capsys, monkeypatch, "batch", "churn", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out"),
        "--batch-rows", "50", "--id-column", "id", "--outputs", "predict", "--json",
    )  # fmt: skip
    assert code == 0, err
    job = json.loads(out)  # stdout is only the JSON: the progress bar draws on stderr
    assert (job["status"], job["rows_in"], job["rows_out"], job["rows_rejected"]) == ("succeeded", 120, 119, 1)
    assert (job["model_version_uri"], job["outputs"], job["parts"]) == ("models:/churn/1", ["predict"], 3)
    assert job["input_fingerprint"].startswith("sha256:") and job["input_files"] == 1
    assert list(pd.read_parquet(tmp_path / "out").columns) == ["id", "predict"]

    code, out, _ = shipyard_cli(capsys, monkeypatch, "batch", "list", "--json")
    assert code == 0 and [j["id"] for j in json.loads(out)] == [job["id"]]
    code, out, _ = shipyard_cli(capsys, monkeypatch, "batch", "list")
    assert code == 0 and "succeeded" in out and "churn/1" in out and "119" in out
    code, out, _ = shipyard_cli(capsys, monkeypatch, "batch", "show", str(job["id"]))
    assert code == 0 and "120 in, 119 out, 1 rejected" in out and "local, 50 rows per chunk" in out
    code, out, _ = shipyard_cli(capsys, monkeypatch, "batch", "show", str(job["id"]), "--json")
    assert json.loads(out)["id"] == job["id"]
    code, out, _ = shipyard_cli(capsys, monkeypatch, "batch", "list", "--status", "failed", "--json")
    assert code == 0 and json.loads(out) == []

    code, _, err = shipyard_cli(capsys, monkeypatch, "batch", "show", "999")
    assert code == 1 and "Batch job 999 does not exist" in err and len(err.strip().splitlines()) == 1


def test_bad_command_lines_get_one_line_errors(
    local_registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    register_logreg(local_registry)
    frame(10).to_parquet(tmp_path / "in.parquet")
    source, out = str(tmp_path / "in.parquet"), str(tmp_path / "out")
    cases = [
        (["churn", str(tmp_path / "nope.parquet"), "-o", out], "nope.parquet does not exist"),
        (["churm", source, "-o", out], "Model 'churm' is not registered"),
        (["churn", source, "-o", out, "--batch-rows", "0"], "batch_rows: 0 is not a number of rows"),
        (["churn", source, "-o", out, "--engine", "spark"], "'spark' is not an engine; use one of local, ray"),
        (["churn", source, "-o", out, "--id-column", "key"], "missing column 'key'"),
        (["run", "churn", source, "-o", out, "--outputs", "score"], "score: not an output of models:/churn/1"),
    ]
    for args, needle in cases:
        code, stdout, err = shipyard_cli(capsys, monkeypatch, "batch", *args)
        assert code == 1, (args, err)
        assert needle in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert stdout == ""
    code, _, err = shipyard_cli(capsys, monkeypatch, "batch", "churn", source, "-o", out, "--batch-rows", "many")
    assert code == 2 and "batch-rows" in err  # Typer's own usage error for a value that is not a number
    assert not list((tmp_path / "out").glob("part-*"))
