"""Alert rules: what is accepted and what is refused (naming the field), stored and audited, on SQLite and
PostgreSQL; the CLI over the same service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.errors import AlertRuleNotFound, Conflict, ValidationFailed
from shipyard.monitoring.alerts import AlertStore, parse_rule
from shipyard.store import Database, list_events, open_database

runner = CliRunner()

GOOD: list[dict[str, Any]] = [
    {"name": "churn-errors", "kind": "error_rate", "subject": "churn", "threshold": 0.05, "window_minutes": 10},
    {"name": "slow", "kind": "latency_p99", "threshold": 250, "min_requests": 50, "severity": "critical"},
    {"name": "quiet", "kind": "no_traffic", "subject": "churn", "window_minutes": 30},
    {"name": "drift", "kind": "drift_share", "threshold": 0.5, "notify": ["https://hooks.example/a", "log"]},
    {"name": "age", "kind": "feature_drift", "subject": "churn", "feature": "age"},
    {
        "name": "acc",
        "kind": "quality",
        "subject": "churn",
        "metric": "accuracy",
        "threshold": 0.8,
        "cooldown_seconds": 60,
    },
    {"name": "rmse", "kind": "quality", "metric": "rmse", "threshold": 3.5, "direction": "above", "enabled": False},
]

BAD: list[tuple[dict[str, Any], str]] = [
    ({"name": "x", "kind": "sadness", "threshold": 1}, "kind"),
    ({"name": "x", "kind": "error_rate", "threshold": -0.1}, "threshold"),
    ({"name": "x", "kind": "error_rate", "threshold": 1.5}, "threshold"),
    ({"name": "x", "kind": "error_rate", "threshold": float("nan")}, "threshold"),
    ({"name": "x", "kind": "latency_p99", "threshold": float("inf")}, "threshold"),
    ({"name": "x", "kind": "latency_p99", "threshold": 0}, "threshold"),
    ({"name": "x", "kind": "error_rate"}, "threshold"),
    ({"name": "x", "kind": "error_rate", "threshold": "lots"}, "threshold"),
    ({"kind": "error_rate", "threshold": 0.1}, "name"),
    ({"name": "x"}, "kind"),
    ({"name": "bad name!", "kind": "no_traffic"}, "name"),
    ({"name": "x" * 65, "kind": "no_traffic"}, "name"),
    ({"name": "x", "kind": "no_traffic", "threshold": 3}, "threshold"),
    ({"name": "x", "kind": "no_traffic", "window_minutes": 0}, "window_minutes"),
    ({"name": "x", "kind": "no_traffic", "window_minutes": 10**9}, "window_minutes"),
    ({"name": "x", "kind": "feature_drift"}, "feature"),
    ({"name": "x", "kind": "drift_share", "threshold": 0.5, "feature": "age"}, "feature"),
    ({"name": "x", "kind": "quality", "threshold": 0.5}, "metric"),
    ({"name": "x", "kind": "quality", "threshold": 0.5, "metric": "happiness"}, "metric"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "metric": "accuracy"}, "metric"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "notify": ["ftp://example"]}, "notify"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "severity": "doom"}, "severity"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "cooldown_seconds": -1}, "cooldown_seconds"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "min_requests": -5}, "min_requests"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "subject": "a/b"}, "subject"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "colour": "red"}, "colour"),
    ({"name": "x", "kind": "error_rate", "threshold": 0.1, "errors": "some"}, "errors"),
]


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


def test_good_rules_round_trip(db: Database) -> None:
    store = AlertStore(db)
    for data in GOOD:
        rule = store.add_rule(data, actor="alice")
        assert store.get_rule(data["name"]) == rule
        assert {k: v for k, v in rule.to_dict().items() if k in data} == data
        [event] = list_events_of(db, f"alert_rule:{data['name']}")
        assert event.action == "alert_rule.create" and event.actor == "alice"
    assert [r.name for r in store.list_rules(enabled_only=True)] == sorted(g["name"] for g in GOOD[:-1])


def list_events_of(db: Database, target: str) -> list[Any]:
    with db.read() as session:
        return list(list_events(session, target_prefix=target))


def test_bad_rules_are_refused_naming_the_field(db: Database) -> None:
    store = AlertStore(db)
    store.add_rule(GOOD[0], actor="alice")
    for data, field in BAD:
        with pytest.raises(ValidationFailed) as caught:
            store.add_rule(data, actor="alice")
        fields = [problem_field.split(".")[0] for problem_field, _ in caught.value.problems]
        assert field in fields, (data, caught.value)
    assert [r.name for r in store.list_rules()] == ["churn-errors"]  # nothing else stored, nothing changed
    assert store.get_rule("churn-errors").spec.threshold == 0.05


def test_messages_say_what_to_do() -> None:
    with pytest.raises(ValidationFailed, match="threshold: required for a error_rate rule"):
        parse_rule({"name": "x", "kind": "error_rate"})
    with pytest.raises(ValidationFailed, match="fraction between 0 and 1, not 1.5"):
        parse_rule({"name": "x", "kind": "drift_share", "threshold": 1.5})
    with pytest.raises(ValidationFailed, match="one of accuracy, precision"):
        parse_rule({"name": "x", "kind": "quality", "threshold": 1})
    with pytest.raises(ValidationFailed):
        parse_rule("not a rule")


def test_duplicate_missing_and_removed(db: Database) -> None:
    store = AlertStore(db)
    store.add_rule(GOOD[0], actor="alice")
    with pytest.raises(Conflict, match="churn-errors"):
        store.add_rule({**GOOD[1], "name": "churn-errors"}, actor="bob")
    assert store.get_rule("churn-errors").spec.kind == "error_rate"  # the first one, unchanged
    with pytest.raises(AlertRuleNotFound, match="Closest: churn-errors"):
        store.remove_rule("churn-error", actor="alice")
    removed = store.remove_rule("churn-errors", actor="bob")
    assert removed.name == "churn-errors" and store.list_rules() == []
    events = list_events_of(db, "alert_rule:churn-errors")
    assert {e.action for e in events} == {"alert_rule.create", "alert_rule.delete"}
    assert store.list_rules(enabled_only=True) == []


def test_cli_rules_and_history(tmp_path: Path) -> None:
    added = runner.invoke(
        app,
        [
            "alerts",
            "rules",
            "add",
            "churn-errors",
            "--kind",
            "error_rate",
            "--subject",
            "churn",
            "--threshold",
            "0.05",
            "--window",
            "10",
            "--notify",
            "https://hooks.example/x",
            "--json",
        ],
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["window_minutes"] == 10
    assert runner.invoke(app, ["alerts", "rules", "add", "q", "--kind", "no_traffic"]).exit_code == 0
    listed = runner.invoke(app, ["alerts", "rules", "list", "--json"])
    assert [r["name"] for r in json.loads(listed.stdout)] == ["churn-errors", "q"]
    table = runner.invoke(app, ["alerts", "rules", "list"], env={"COLUMNS": "200"})
    assert "churn-errors" in table.stdout and "no request for 5 min" in table.stdout
    history = runner.invoke(app, ["alerts", "history", "--json"])
    assert history.exit_code == 0 and json.loads(history.stdout) == []
    assert runner.invoke(app, ["alerts", "history", "--firing"]).exit_code == 0
    removed = runner.invoke(app, ["alerts", "rules", "remove", "q"])
    assert removed.exit_code == 0 and "Removed alert rule q" in removed.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--kind", "error_rate", "--threshold", "nan"],
        ["--kind", "error_rate", "--threshold", "-1"],
        ["--kind", "sadness"],
        ["--kind", "quality", "--threshold", "0.5"],
        ["--kind", "no_traffic", "--notify", "mailto:me"],
    ],
)
def test_cli_refuses_bad_rules(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["alerts", "rules", "add", "bad", *args])
    assert result.exit_code != 0 and isinstance(result.exception, ValidationFailed)
    assert json.loads(runner.invoke(app, ["alerts", "rules", "list", "--json"]).stdout) == []
    assert isinstance(runner.invoke(app, ["alerts", "rules", "remove", "bad"]).exception, AlertRuleNotFound)
