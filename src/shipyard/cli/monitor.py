"""`shipyard monitor …`: what Prometheus and Grafana need to watch Shipyard."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import typer

from ..errors import ValidationFailed
from ._output import console

app = typer.Typer(
    help="Prometheus alerting rules and a Grafana dashboard for Shipyard's metrics.", no_args_is_help=True
)

RULES_FILE = "shipyard-alerts.yml"
DASHBOARD_FILE = "shipyard-dashboard.json"


@app.command("export-rules")
def export_rules(
    output: Path = typer.Option(Path("."), "--output", "-o", help="Folder to write the two files into (created)."),
    error_rate: float = typer.Option(0.05, "--error-rate", help="Alert above this fraction of server errors (5 min)."),
    p99_ms: float = typer.Option(500.0, "--p99-ms", help="Alert above this p99 latency in milliseconds (10 min)."),
    no_traffic_minutes: int = typer.Option(15, "--no-traffic-minutes", help="Alert after this long without requests."),
    quality_metric: str = typer.Option(
        "accuracy", "--quality-metric", help="Quality figure the quality alert watches."
    ),
    quality_min: float = typer.Option(0.8, "--quality-min", help="Alert when that figure falls below this."),
) -> None:
    """Write shipyard-alerts.yml (Prometheus rules: `rule_files:`) and shipyard-dashboard.json (Grafana import)."""
    from ..monitoring.alerts.rules import QUALITY_METRICS
    from ..monitoring.metrics.export import Thresholds, grafana_dashboard, prometheus_rules_yaml

    problems = []
    if quality_metric not in QUALITY_METRICS:
        problems.append(("--quality-metric", f"{quality_metric!r} is not one of {', '.join(QUALITY_METRICS)}"))
    if not 0 <= error_rate <= 1:
        problems.append(("--error-rate", f"a fraction between 0 and 1, not {error_rate}"))
    if not p99_ms > 0:
        problems.append(("--p99-ms", f"a positive number of milliseconds, not {p99_ms}"))
    if not math.isfinite(quality_min):
        problems.append(("--quality-min", f"a number, not {quality_min}"))
    if no_traffic_minutes < 1:
        problems.append(("--no-traffic-minutes", f"at least 1, not {no_traffic_minutes}"))
    if problems:
        raise ValidationFailed(problems)
    thresholds = Thresholds(
        error_rate, p99_ms / 1000, no_traffic_minutes, quality_metric=quality_metric, quality_min=quality_min
    )
    output.mkdir(parents=True, exist_ok=True)
    (output / RULES_FILE).write_text(prometheus_rules_yaml(thresholds))
    (output / DASHBOARD_FILE).write_bytes(orjson.dumps(grafana_dashboard(), option=orjson.OPT_INDENT_2) + b"\n")
    console.print(f"Wrote {output / RULES_FILE} and {output / DASHBOARD_FILE}", highlight=False)


__all__ = ["app"]
