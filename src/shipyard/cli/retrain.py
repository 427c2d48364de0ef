"""`shipyard retrain …`: run a retraining now, set and show policies, list and show runs.

shipyard retrain churn                                 # a manual run, its log streamed, its decision
shipyard retrain policy set churn --file policy.yaml
shipyard retrain list --model churn
shipyard retrain show 3f2a9c0d1b7e
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
import yaml
from typer.core import TyperGroup

from ..config import Settings, load_settings
from ..errors import ValidationFailed
from ..monitoring.alerts import AlertStore
from ..monitoring.alerts.manager import AlertManager
from ..monitoring.alerts.notifiers import WebhookOptions
from ..registry import open_registry
from ..retrain import RetrainRun, RetrainService, parse_policy_text
from ..retrain.factory import open_retrain_service
from ._output import console, err_console, fail, print_json, short_time, table


class _RunByDefault(TyperGroup):
    """`shipyard retrain MODEL` means `shipyard retrain run MODEL` (a model named like a command: use `run`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's vendored click.Context
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Retrain models: run now (shipyard retrain MODEL), policies, runs.",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="Set, show and remove a model's retraining policy (YAML or JSON).", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
MODEL = typer.Argument(..., help="A registered model's name.")


def _alerts(settings: Settings, service: RetrainService) -> AlertManager:
    # The server's AlertManager, built the same way (serving/monitoring.py), so a failed run started here
    # is recorded in the alert history and notified like any other.
    mon = settings.monitoring
    return AlertManager(
        AlertStore(service.registry.db),
        default_notify=mon.alert_webhooks,
        cooldown_seconds=mon.alert_cooldown_seconds,
        webhook=WebhookOptions(
            mon.alert_webhook_attempts, mon.alert_webhook_backoff_seconds, mon.alert_webhook_timeout_seconds
        ),
    )


@contextmanager
def _service() -> Iterator[RetrainService]:
    settings = load_settings()
    service = open_retrain_service(settings, open_registry(settings))
    alerts = _alerts(settings, service)
    service.alerts = alerts
    try:
        yield service
    finally:
        alerts.close()  # deliver what a failed run fired before the command ends


def _short(value: Any, width: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _figure(run: RetrainRun, who: str) -> str:
    metric = run.metrics.get("metric")
    value = (run.metrics.get(who) or {}).get(metric) if metric else None
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def _window_text(window: dict[str, Any]) -> str:
    if not window:
        return "-"
    split = f"{window.get('train_rows')} train, {window.get('holdout_rows')} holdout"
    return f"{window.get('rows')} rows ({split}), {str(window.get('fingerprint', ''))[:16]}"


def _print_run(run: RetrainRun, *, logs: bool) -> None:
    window = run.window or {}
    rows = [
        ("run", run.id),
        ("model", run.model),
        ("status", run.status),
        ("trigger", f"{run.trigger_kind}: {run.trigger.get('reason', '')}"),
        ("started", f"{short_time(run.started_at)} by {run.started_by}"),
        ("finished", short_time(run.finished_at) or "-"),
        ("champion", f"v{run.parent_version}" if run.parent_version else "-"),
        ("challenger", f"v{run.challenger_version}" if run.challenger_version else "-"),
        (
            "window",
            f"{window.get('rows')} rows ({window.get('train_rows')} train, {window.get('holdout_rows')} holdout), "
            f"{str(window.get('fingerprint', ''))[:16]}"
            if window
            else "-",
        ),  # fmt: skip
        (
            "metric",
            f"{run.metrics.get('metric', '-')}: champion {_figure(run, 'champion')}, "
            f"challenger {_figure(run, 'challenger')}",
        ),  # fmt: skip
        ("decision", run.decision or "-"),
        ("why", run.reason or run.error or "-"),
        ("rollout", run.rollout or "-"),
    ]
    table(f"retraining run {run.id}", ["field", "value"], rows)
    if logs and run.logs:
        console.print(run.logs, highlight=False, markup=False, soft_wrap=True)


@app.command("run")
def run(
    model: str = MODEL,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not stream the run's log."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Retrain MODEL now by its policy and wait for the decision (exit code 1 when the run fails)."""

    def stream(line: str) -> None:
        if not quiet:
            err_console.print(line, style="dim", highlight=False, markup=False, soft_wrap=True)

    with _service() as service, err_console.status(f"retraining {model}…"):
        result = service.run(model, on_log=stream)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_run(result, logs=False)
    if result.status == "failed":
        fail(f"retraining run {result.id} of {model} failed: {result.error}")
        raise typer.Exit(1)


@app.command("list")
def list_runs(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model's runs."),
    status: str | None = typer.Option(None, "--status", help="running, succeeded or failed."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=10_000),
    as_json: bool = JSON_OPTION,
) -> None:
    """Runs, newest first: trigger, status, champion and challenger, decision."""
    if status is not None and status not in ("running", "succeeded", "failed"):
        raise ValidationFailed([("--status", f"{status!r} is not running, succeeded or failed")])
    with _service() as service:
        found = service.list_runs(model, limit=limit, status=status)
    if as_json:
        print_json([r.to_dict(logs=False) for r in found])
        return
    table(
        "retraining runs",
        ["run", "model", "started", "trigger", "status", "champion", "challenger", "decision", "why"],
        [
            (
                r.id,
                r.model,
                short_time(r.started_at),
                r.trigger_kind,
                r.status,
                f"v{r.parent_version} {_figure(r, 'champion')}" if r.parent_version else "-",
                f"v{r.challenger_version} {_figure(r, 'challenger')}" if r.challenger_version else "-",
                r.decision or "-",
                _short(r.reason or r.error),
            )
            for r in found
        ],
    )


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help="A run's id, from `shipyard retrain list`."),
    logs: bool = typer.Option(True, "--logs/--no-logs", help="Print the run's log after its record."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One run: trigger, data window, both models' figures, the decision and why, the rollout, the log."""
    with _service() as service:
        found = service.get_run(run_id)
    if as_json:
        print_json(found.to_dict(logs=logs))
        return
    _print_run(found, logs=logs)


@app.command("check")
def check(as_json: bool = JSON_OPTION) -> None:
    """Which policies' triggers would start a run now (nothing is started)."""
    with _service() as service:
        due = [(p.model, p.policy.enabled, service.due(p)) for p in service.list_policies()]
    if as_json:
        print_json([{"model": m, "enabled": e, "due": f.to_dict() if f else None} for m, e, f in due])
        return
    table(
        "retraining triggers",
        ["model", "enabled", "due"],
        [(m, "yes" if e else "no", f.reason if f else "-") for m, e, f in due],
    )


def _read_policy(file: Path) -> dict[str, Any]:
    text = sys.stdin.read() if str(file) == "-" else None
    if text is None:
        if not file.is_file():
            raise ValidationFailed([("--file", f"{file} is not a file")])
        text = file.read_text()
    return parse_policy_text(text).to_dict()


@policy_app.command("set")
def policy_set(
    model: str = MODEL,
    file: Path = typer.Option(..., "--file", "-f", help="The policy, YAML or JSON (`-`: standard input)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Set (or replace) MODEL's policy from a file; every problem is named, and nothing is stored then."""
    document = _read_policy(file)
    with _service() as service:
        stored = service.set_policy(model, document)
    if as_json:
        print_json(stored.to_dict())
        return
    console.print(f"Retraining policy of {model} set ({len(stored.policy.triggers)} triggers).", highlight=False)


@policy_app.command("show")
def policy_show(model: str = MODEL, as_json: bool = JSON_OPTION) -> None:
    """MODEL's policy, every default filled in, as YAML (`--json`: with who set it and when)."""
    with _service() as service:
        stored = service.get_policy(model)
    if as_json:
        print_json(stored.to_dict())
        return
    console.print(f"# {model}: set {short_time(stored.updated_at)} by {stored.updated_by}", highlight=False)
    console.print(yaml.safe_dump(stored.policy.to_dict(), sort_keys=False), highlight=False, markup=False)


@policy_app.command("list")
def policy_list(as_json: bool = JSON_OPTION) -> None:
    """Every model's policy in one line: trainer, triggers, rollout."""
    with _service() as service:
        found = service.list_policies()
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    table(
        "retraining policies",
        ["model", "enabled", "trainer", "triggers", "rollout", "updated"],
        [
            (
                p.model,
                "yes" if p.policy.enabled else "no",
                _short(p.policy.trainer.entry_point or p.policy.trainer.command, 40),
                ", ".join(t.kind for t in p.policy.triggers) or "manual only",
                p.policy.rollout.mode,
                f"{short_time(p.updated_at)} by {p.updated_by}",
            )
            for p in found
        ],
    )


@policy_app.command("rm")
def policy_rm(model: str = MODEL) -> None:
    """Remove MODEL's policy: its triggers stop; its past runs stay."""
    with _service() as service:
        service.delete_policy(model)
    console.print(f"Retraining policy of {model} removed.", highlight=False)


__all__ = ["app"]
