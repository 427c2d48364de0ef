"""`shipyard deploy …`: deployments, canaries, shadows and A/B splits, directly in the metadata database.

Running servers pick every change up within two seconds.
"""

from __future__ import annotations

from typing import Any

import typer

from ..config import load_settings
from ..deployments import Deployment, DeploymentService, DeploymentStatus, RolloutPolicy
from ..deployments.inputs import parse_interval, parse_split, parse_steps, parse_sticky
from ..deployments.transitions import KEEP
from ..errors import ValidationFailed
from ..registry import open_registry
from ._output import console, print_json, short_time, table

app = typer.Typer(
    help="Deploy versions: canary, shadow, A/B with sticky users, promote and roll back.", no_args_is_help=True
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")
NAME = typer.Argument(..., help="The deployment's name (its endpoint: /v2/models/NAME/infer).")


def _service() -> DeploymentService:
    settings = load_settings()
    return DeploymentService(open_registry(settings), status_window_seconds=settings.deployments.status_window_seconds)


def _limit(text: str | None, option: str, default: float | None) -> float | None:
    """A guard's limit: a number, or `off` for no guard."""
    if text is None:
        return default
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise ValidationFailed([(option, f"{text!r} is not a number (or `off`)")]) from None


def _arms(d: Deployment) -> str:
    return ", ".join(f"{a.label} {a.weight:g}%" for a in d.arms)


def _show(d: Deployment, as_json: bool, message: str) -> None:
    if as_json:
        print_json(d.to_dict())
        return
    console.print(f"{message} {d.name}: {_arms(d)}", highlight=False)


@app.command("create")
def create(
    name: str = NAME,
    model: str = typer.Option(..., "--model", "-m", help="The version to serve: churn@production, churn/3 or churn."),
    sticky: str | None = typer.Option(None, "--sticky", help="Routing key: header:x-user-id or param:user."),
    description: str | None = typer.Option(None, "--description", "-d"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a deployment serving one version at 100 % (the reference is resolved now)."""
    d = _service().create(name, model, sticky=parse_sticky(sticky), description=description, source="cli")
    _show(d, as_json, "Created")


@app.command("canary")
def canary(
    name: str = NAME,
    version: int = typer.Option(..., "--version", "-v", help="The new version."),
    steps: str = typer.Option("5,25,50,100", "--steps", help="Canary percent at each step, ending at 100."),
    interval: str = typer.Option("10m", "--interval", help="How long each step must stay healthy: 30s, 10m, 1h."),
    max_error_rate: str | None = typer.Option(None, "--max-error-rate", help="Default 0.01; `off` disables."),
    max_p99_ratio: str | None = typer.Option(None, "--max-p99-ratio", help="× the stable p99; default 1.5; `off`."),
    max_quality_drop: str | None = typer.Option(None, "--max-quality-drop", help="Quality drop allowed (feedback)."),
    min_requests: int = typer.Option(20, "--min-requests", help="Canary requests per step before judging."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start a canary: the controller advances it every interval while healthy, rolls it back on a breach."""
    policy = RolloutPolicy(
        steps=parse_steps(steps),
        interval_seconds=parse_interval(interval),
        max_error_rate=_limit(max_error_rate, "--max-error-rate", 0.01),
        max_p99_ratio=_limit(max_p99_ratio, "--max-p99-ratio", 1.5),
        max_quality_drop=_limit(max_quality_drop, "--max-quality-drop", None),
        min_requests=min_requests,
    )
    d = _service().canary(name, version, policy=policy, source="cli")
    _show(d, as_json, "Canary started on")


@app.command("shadow")
def shadow(
    name: str = NAME,
    version: int = typer.Option(..., "--version", "-v", help="The version answering copies in the background."),
    percent: float = typer.Option(100.0, "--percent", help="Percent of requests mirrored."),
    stop: bool = typer.Option(False, "--stop", help="Stop mirroring to this version."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mirror requests to a version: its answers are compared and logged, never returned to callers."""
    service = _service()
    if stop:
        _show(service.stop_shadow(name, version, source="cli"), as_json, "Shadow stopped on")
        return
    _show(service.shadow(name, version, percent=percent, source="cli"), as_json, "Shadowing on")


@app.command("ab")
def ab(
    name: str = NAME,
    split: str = typer.Option(..., "--split", help="VERSION=PERCENT pairs summing to 100, e.g. 3=50,4=50."),
    sticky: str | None = typer.Option(None, "--sticky", help="header:x-user-id, param:user, or none; default: keep."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Split traffic between versions; with --sticky, each user always reaches the same arm."""
    chosen: Any = KEEP if sticky is None else parse_sticky(sticky)
    _show(_service().ab(name, parse_split(split), sticky=chosen, source="cli"), as_json, "Split")


@app.command("promote")
def promote(
    name: str = NAME,
    version: int | None = typer.Option(None, "--version", "-v", help="Promote this version instead of the canary."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The canary (or --version) becomes the one version served, at 100 %, now."""
    _show(_service().promote(name, version, source="cli"), as_json, "Promoted")


@app.command("pause")
def pause(name: str = NAME, as_json: bool = JSON_OPTION) -> None:
    """Freeze the canary at its step (its guards still roll it back on a breach)."""
    _show(_service().pause(name, source="cli"), as_json, "Paused")


@app.command("resume")
def resume(name: str = NAME, as_json: bool = JSON_OPTION) -> None:
    """Let a paused canary advance again (its step starts over)."""
    _show(_service().resume(name, source="cli"), as_json, "Resumed")


@app.command("rollback")
def rollback(
    name: str = NAME,
    reason: str | None = typer.Option(None, "--reason", help="Recorded in the history and the audit trail."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Back to the stable version at 100 %: the canary (or the other A/B arms) get 0 %."""
    _show(_service().rollback(name, reason=reason, source="cli"), as_json, "Rolled back")


@app.command("delete")
def delete(name: str = NAME) -> None:
    """Remove a deployment (its history stays)."""
    _service().delete(name, source="cli")
    console.print(f"Deleted deployment {name}.", highlight=False)


@app.command("list")
def list_deployments(as_json: bool = JSON_OPTION) -> None:
    """Every deployment: model, arms and weights, mode, sticky key, rollout."""
    deployments = _service().list()
    if as_json:
        print_json([d.to_dict() for d in deployments])
        return
    rows = [
        (
            d.name,
            d.model,
            d.mode,
            _arms(d),
            str(d.sticky) if d.sticky else "-",
            f"v{d.rollout.canary_version} {d.rollout.state}" if d.rollout else "-",
            short_time(d.updated_at),
        )
        for d in deployments
    ]
    table("Deployments", ["name", "model", "mode", "arms", "sticky", "rollout", "updated"], rows)


def _number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _print_status(status: DeploymentStatus) -> None:
    d = status.deployment
    console.print(f"[bold]{d.name}[/] → model {d.model}, {d.mode}, stable v{d.stable_version}"
                  + (f", sticky {d.sticky}" if d.sticky else ""), highlight=False)  # fmt: skip
    rows = [
        (
            a.label,
            "-" if a.weight is None else f"{a.weight:g}%",
            _number(a.figures["requests_per_second"]),
            a.figures["requests"],
            _number(a.figures["error_rate"], 4),
            _number(a.figures["p50_ms"]),
            _number(a.figures["p99_ms"]),
        )
        for a in status.arms
    ]
    table(
        f"Arms (last {status.window_seconds:g} s)",
        ["arm", "weight", "req/s", "requests", "error rate", "p50 ms", "p99 ms"],
        rows,
    )
    if status.shadows:
        table(
            "Shadow comparison",
            [
                "arm",
                "mirrored",
                "pairs",
                "agreement",
                "mean |diff|",
                "max |diff|",
                "dropped",
                "p50/p99 ms",
                "primary p50/p99",
            ],
            [
                (
                    s["label"],
                    f"{s['percent']:g}%",
                    s["pairs"],
                    _number(s["agreement"], 4),
                    _number(s["mean_abs_diff"], 6),
                    _number(s["max_abs_diff"], 6),
                    s["dropped"],
                    f"{_number(s['p50_ms'])}/{_number(s['p99_ms'])}",
                    f"{_number(s['primary_p50_ms'])}/{_number(s['primary_p99_ms'])}",
                )
                for s in status.shadows
            ],
        )
    rollout = status.rollout
    if rollout is not None:
        line = (
            f"Rollout of v{rollout['canary_version']} over v{rollout['stable_version']}: {rollout['state']}, "
            f"step {rollout['step']}/{rollout['steps']} ({rollout['weight']:g}%)"
        )
        if "next_step_in_seconds" in rollout:
            line += f", next step in {rollout['next_step_in_seconds']:g} s"
        if rollout.get("reason"):
            line += f" — {rollout['reason']}"
        console.print(line, highlight=False)


@app.command("status")
def status(
    name: str = NAME,
    window: float = typer.Option(None, "--window", help="Seconds of figures to show (default 60)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Arms, weights, req/s, error rate, p50/p99 per arm, rollout step, shadow comparison."""
    result = _service().status(name, window_seconds=window)
    if as_json:
        print_json(result.to_dict())
        return
    _print_status(result)


@app.command("history")
def history(
    name: str = NAME,
    limit: int = typer.Option(50, "--limit", "-n", help="At most this many events."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every change, newest first: who, when, the arms after it and the figures behind automatic steps."""
    events = _service().history(name, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in events])
        return

    def what(detail: dict[str, Any]) -> str:
        state = detail.get("state") or {}
        arms = ", ".join(f"{k} {v:g}%" for k, v in (state.get("arms") or {}).items())
        reason = detail.get("reason")
        return arms + (f" — {reason}" if reason and reason != "manual" else "")

    table(
        f"History of {name}",
        ["at", "actor", "action", "after"],
        [(short_time(e.at), e.actor, e.action, what(e.detail)) for e in events],
    )


__all__ = ["app"]
