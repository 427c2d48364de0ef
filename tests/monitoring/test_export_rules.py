"""`shipyard monitor export-rules`: valid Prometheus rules (promtool), a valid Grafana dashboard, and every
expression names metrics Shipyard exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shipyard.cli import app
from shipyard.monitoring.metrics.catalog import CATALOG, sample_names
from shipyard.monitoring.metrics.export import alerting_rules, expressions, grafana_dashboard, unknown_metrics

from ._promtool import check_rules

runner = CliRunner()


def test_cli_writes_rules_and_dashboard(tmp_path: Path) -> None:
    out = tmp_path / "monitoring"
    result = runner.invoke(app, ["monitor", "export-rules", "-o", str(out), "--error-rate", "0.02", "--p99-ms", "250"])
    assert result.exit_code == 0, result.output
    rules_file, dashboard_file = out / "shipyard-alerts.yml", out / "shipyard-dashboard.json"
    checked = check_rules(rules_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout
    rules = yaml.safe_load(rules_file.read_text())
    by_name = {r["alert"]: r for r in rules["groups"][0]["rules"]}
    assert by_name["ShipyardHighErrorRate"]["expr"].endswith("> 0.02")
    assert by_name["ShipyardHighLatencyP99"]["expr"].endswith("> 0.25")
    dashboard = json.loads(dashboard_file.read_text())
    assert dashboard["title"] == "Shipyard" and len(dashboard["panels"]) >= 10
    assert unknown_metrics(expressions(rules, dashboard)) == set()


def test_every_expression_names_an_exposed_metric() -> None:
    exprs = expressions(alerting_rules(), grafana_dashboard())
    assert unknown_metrics(exprs) == set()
    assert unknown_metrics(["rate(shipyard_requests_total[5m])", "shipyard_made_up_total"]) == {
        "shipyard_made_up_total"
    }
    used = {name for expr in exprs for name in re.findall(r"shipyard_[a-z0-9_]+", expr)}
    shown = {info.name for info in CATALOG if set(info.samples) & used}
    # The headline figures of every area are on the dashboard or in a rule.
    assert {
        "shipyard_requests",
        "shipyard_request_errors",
        "shipyard_request_duration_seconds",
        "shipyard_inflight_requests",
        "shipyard_batch_rows",
        "shipyard_queue_seconds",
        "shipyard_cache_hits",
        "shipyard_model_load_seconds",
        "shipyard_model_load_failures",
        "shipyard_predlog_backlog",
        "shipyard_predlog_dropped",
        "shipyard_drift_share",
        "shipyard_feature_drifted",
        "shipyard_quality",
    } <= shown
    assert shown <= {info.name for info in CATALOG} and used <= sample_names()


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool parses recording rules' expressions: the dashboard's queries, with Grafana's interval filled in.
    records = [
        {"record": f"shipyard:panel_{i}", "expr": t["expr"].replace("$__rate_interval", "5m")}
        for i, panel in enumerate(grafana_dashboard()["panels"])
        for t in panel["targets"]
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    checked = check_rules(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "1.5"], "--error-rate"),
        (["--error-rate", "nan"], "--error-rate"),
        (["--p99-ms", "0"], "--p99-ms"),
        (["--p99-ms", "-3"], "--p99-ms"),
        (["--no-traffic-minutes", "0"], "--no-traffic-minutes"),
        (["--quality-metric", "happiness"], "--quality-metric"),
        (["--quality-min", "inf"], "--quality-min"),
        (["--p99-ms", "fast"], "p99-ms"),
    ],
)
def test_bad_options_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["monitor", "export-rules", "-o", str(out), *args])
    assert result.exit_code != 0
    assert message in result.output + str(result.exception)
    assert not out.exists()
