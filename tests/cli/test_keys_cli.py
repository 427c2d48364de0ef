"""`shipyard keys create|list|revoke`: the key printed once, never again; errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.config import load_settings
from shipyard.security.keys import parse_api_key
from shipyard.store import list_events, open_database

runner = CliRunner()


def test_create_list_revoke(tmp_path: Path) -> None:
    created = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "churn-app",
            "--role",
            "predictor",
            "--scope",
            "churn",
            "--expires",
            "30d",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    assert "shown only once" in created.stderr
    info = json.loads(created.stdout)
    key = info.pop("key")
    assert parse_api_key(key) == (info["id"], key.split("_", 2)[2])
    assert info["roles"] == ["predictor"] and info["scope"] == ["churn"] and info["expires_at"]
    assert info["created_by"] == "alice" and info["status"] == "active"

    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert listed.exit_code == 0 and key.split("_", 2)[2] not in listed.output
    assert [k["id"] for k in json.loads(listed.stdout)] == [info["id"]]

    table = runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"})
    assert info["id"] in table.stdout and "churn-app" in table.stdout and key not in table.stdout

    revoked = runner.invoke(app, ["keys", "revoke", info["id"]])
    assert revoked.exit_code == 0 and "within 2 seconds" in revoked.stdout
    assert json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout) == []
    everything = json.loads(runner.invoke(app, ["keys", "list", "--all", "--json"]).stdout)
    assert [k["status"] for k in everything] == ["revoked"]

    db = open_database(load_settings().resolved_db_url)
    with db.read() as session:
        assert [e.action for e in list_events(session, target_prefix="key:")] == ["key.revoke", "key.create"]
    db.close()


def test_human_output_shows_the_key_once() -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "ops", "--role", "admin", "--role", "viewer"])
    assert created.exit_code == 0, created.output
    key = next(line for line in created.stdout.splitlines() if line.startswith("sy_"))
    assert parse_api_key(key) is not None


def test_errors_name_the_problem() -> None:
    bad_role = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "boss"])
    assert bad_role.exit_code != 0 and "unknown role 'boss'" in str(bad_role.exception)
    bad_expiry = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "viewer", "--expires", "soon"])
    assert bad_expiry.exit_code != 0 and "expires" in str(bad_expiry.exception)
    unknown = runner.invoke(app, ["keys", "revoke", "0123456789ab"])
    assert unknown.exit_code != 0 and "does not exist" in str(unknown.exception)
    missing = runner.invoke(app, ["keys", "create", "--name", "x"])
    assert missing.exit_code == 2 and "--role" in missing.output
