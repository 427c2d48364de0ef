"""`shipyard alerts …`: alert rules (add, list, remove) and the alert history, directly in the database."""

from __future__ import annotations

from typing import Any

import typer

from ..config import load_settings
from ..monitoring.alerts import AlertEvent, AlertStore, Rule
from ..store import open_database
from ._output import console, print_json, short_time, table

app = typer.Typer(help="Alert rules on drift, quality and traffic, and the alerts they fired.", no_args_is_help=True)
rules_app = typer.Typer(help="Add, list and remove alert rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def _store() -> tuple[AlertStore, str]:
    settings = load_settings()
    return AlertStore(open_database(settings.resolved_db_url)), settings.actor


def _describe(rule: Rule) -> str:
    spec = rule.spec
    if spec.kind == "no_traffic":
        return f"no request for {spec.window_minutes} min"
    if spec.kind in ("error_rate", "latency_p99"):
        unit = " ms" if spec.kind == "latency_p99" else ""
        return f"> {spec.threshold:g}{unit} over {spec.window_minutes} min (min {spec.min_requests} requests)"
    if spec.kind == "quality":
        return f"{spec.metric} {'<' if spec.fires_below() else '>'} {spec.threshold:g}"
    if spec.kind == "feature_drift":
        return f"{spec.feature} drifted" + (f" (score past {spec.threshold:g})" if spec.threshold is not None else "")
    return f"share > {spec.threshold:g}"


@rules_app.command("add")
def add(
    name: str = typer.Argument(..., help="Unique rule name (letters, digits, _ . -)."),
    kind: str = typer.Option(
        ..., "--kind", "-k", help="drift_share, feature_drift, quality, error_rate, latency_p99 or no_traffic."
    ),
    subject: str = typer.Option("*", "--subject", "-s", help="Model or deployment name; * for each of them."),
    threshold: float | None = typer.Option(
        None, "--threshold", "-t", help="Fraction (drift_share, error_rate), ms (latency_p99), value (quality)."
    ),
    window: int | None = typer.Option(None, "--window", "-w", help="Minutes looked at (traffic rules; default 5)."),
    feature: str | None = typer.Option(None, "--feature", help="feature_drift: the feature's name."),
    metric: str | None = typer.Option(None, "--metric", help="quality: accuracy, f1, roc_auc, mae, rmse, ..."),
    direction: str | None = typer.Option(None, "--direction", help="quality: fire when above or below the threshold."),
    min_requests: int | None = typer.Option(
        None, "--min-requests", help="error_rate/latency_p99: judge from this many."
    ),
    errors: str | None = typer.Option(None, "--errors", help="error_rate: all (default) or server errors only."),
    severity: str = typer.Option("warning", "--severity", help="info, warning or critical."),
    cooldown: int | None = typer.Option(None, "--cooldown", help="Seconds before the same alert is sent again."),
    notify: list[str] | None = typer.Option(None, "--notify", "-n", help="Webhook URL or `log`; repeatable."),
    description: str | None = typer.Option(None, "--description", "-d"),
    disabled: bool = typer.Option(False, "--disabled", help="Store the rule without evaluating it yet."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a rule; the server evaluates it at its next pass (monitoring.alert_interval_seconds)."""
    given: dict[str, Any] = {
        "threshold": threshold,
        "window_minutes": window,
        "feature": feature,
        "metric": metric,
        "direction": direction,
        "min_requests": min_requests,
        "errors": errors,
        "cooldown_seconds": cooldown,
        "description": description,
    }
    data = {"name": name, "kind": kind, "subject": subject, "severity": severity, "enabled": not disabled}
    data.update({k: v for k, v in given.items() if v is not None})
    if notify:
        data["notify"] = notify
    store, actor = _store()
    rule = store.add_rule(data, actor=actor, source="cli")
    if as_json:
        print_json(rule.to_dict())
        return
    console.print(f"Added alert rule {rule.name}: {rule.spec.kind} on {rule.spec.subject}, {_describe(rule)}.")


@rules_app.command("list")
def list_rules(as_json: bool = JSON_OPTION) -> None:
    """Every rule, what it watches and where its alerts go."""
    store, _ = _store()
    rules = store.list_rules()
    if as_json:
        print_json([r.to_dict() for r in rules])
        return
    rows = [
        (
            r.name,
            r.spec.kind,
            r.spec.subject,
            _describe(r),
            r.spec.severity,
            ", ".join(r.spec.notify) or "default",
            "yes" if r.spec.enabled else "no",
        )
        for r in rules
    ]
    table("alert rules", ["name", "kind", "subject", "fires when", "severity", "notify", "enabled"], rows)


@rules_app.command("remove")
def remove(
    name: str = typer.Argument(..., help="The rule's name (`shipyard alerts rules list`)."), as_json: bool = JSON_OPTION
) -> None:
    """Remove a rule; the alerts it fired stay in the history."""
    store, actor = _store()
    rule = store.remove_rule(name, actor=actor, source="cli")
    if as_json:
        print_json(rule.to_dict())
        return
    console.print(f"Removed alert rule {rule.name}.")


def _row(event: AlertEvent) -> tuple[str, ...]:
    return (
        str(event.id),
        short_time(event.fired_at),
        event.severity,
        event.rule,
        event.subject,
        event.message,
        str(event.repeats),
        "firing" if event.firing else f"resolved {short_time(event.resolved_at)}",
        event.delivery,
    )


def history(
    rule: str | None = typer.Option(None, "--rule", "-r", help="Only this rule's alerts."),
    subject: str | None = typer.Option(None, "--subject", "-s", help="Only alerts about this model or deployment."),
    firing: bool = typer.Option(False, "--firing", help="Only alerts still firing."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="Newest first, at most this many."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Alerts fired, newest first: when, why, how often repeated, resolved or not, and whether delivered."""
    store, _ = _store()
    events = store.history(rule=rule, subject=subject, firing=True if firing else None, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    columns = ["id", "fired", "severity", "rule", "subject", "message", "repeats", "state", "delivery"]
    table("alerts", columns, map(_row, events))


app.command("history")(history)

__all__ = ["app"]
