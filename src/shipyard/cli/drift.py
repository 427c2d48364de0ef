"""`shipyard drift MODEL --since 1h`: drift of a model's logged predictions against its reference profile.

The drift engine pulls in scipy, so it is imported when the command runs, not when `shipyard` starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..config import load_settings
from ._output import console, err_console, print_json, short_time, table

if TYPE_CHECKING:
    from ..monitoring.drift import DriftReport, FeatureDrift

DRIFT_EXIT_CODE = 3
"""`--fail-on-drift`: the exit code when a report finds dataset drift (1 stays "the command failed")."""


def drift(
    model: str = typer.Argument(..., help="The model whose logged predictions to compare with its reference."),
    since: str = typer.Option(
        "1h", "--since", "-s", help="Start of the window: a duration ago (1h, 30m, 2d) or a time."
    ),
    until: str | None = typer.Option(None, "--until", help="End of the window (default: now), same forms."),
    version: int | None = typer.Option(None, "--version", "-v", min=1, help="Only this version (default: every one)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts instead of tables."),
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report to this file."),
    latest: bool = typer.Option(False, "--latest", help="Show the newest stored run instead of computing one."),
    store: bool = typer.Option(True, "--store/--no-store", help="Store the run (shown by the API and /metrics)."),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help=f"Exit with code {DRIFT_EXIT_CODE} when dataset drift is found (for CI)."
    ),
) -> None:
    """Per feature: the window's distribution against the version's training data (KS, PSI, Wasserstein,
    Jensen-Shannon; chi-square for categories), and whether the dataset drifted."""
    from ..monitoring.drift import DriftService, render_html
    from ..monitoring.drift import store as drift_store
    from ..registry import open_registry

    settings = load_settings()
    registry = open_registry(settings)
    if latest:
        registry.get_model(model)
        reports = [drift_store.latest_run(registry.db, model, version=version)]
    else:
        service = DriftService.from_settings(settings, registry)
        reports = service.evaluate(
            model, since, until, version=version, trigger="cli", actor=settings.actor, store_results=store
        )
    if html is not None:
        html.write_text(render_html(reports), encoding="utf-8")
        err_console.print(f"Wrote the HTML report to {html}.", highlight=False)
    if as_json:
        print_json([report.to_dict() for report in reports] if not latest else reports[0].to_dict())
    else:
        for report in reports:
            _print(report)
    if fail_on_drift and any(report.dataset_drift for report in reports):
        raise typer.Exit(DRIFT_EXIT_CODE)


def _print(report: DriftReport) -> None:
    window = (
        f"{short_time(report.window_start)} → {short_time(report.window_end)} UTC"
        if report.window_start and report.window_end
        else "data given on demand"
    )
    verdict = "[bold red]DATASET DRIFT[/]" if report.dataset_drift else "[bold green]no dataset drift[/]"
    table(
        f"{report.model} version {report.version} · {window} · {report.rows:,} rows",
        ["feature", "kind", "method", "score", "threshold", "drifted", "PSI", "JS", "rows", "missing"],
        (_row(f) for f in sorted(report.features, key=lambda f: (f.role, f.name))),
    )
    console.print(
        f"{verdict}: {len(report.drifted_features)} of {len(report.inputs)} features drifted "
        f"({report.share:.0%}; threshold {report.share_threshold:.0%})"
        + (f" · predictions {'DRIFTED' if report.prediction_drift else 'stable'}" if report.predictions else ""),
        highlight=False,
    )
    for note in report.notes:
        console.print(f"[dim]{note}[/]", highlight=False)


def _row(feature: FeatureDrift) -> list[Any]:
    name = f"{feature.name} (prediction)" if feature.role == "prediction" else feature.name
    if feature.error is not None:
        return [name, feature.kind, feature.method, "", "", f"not compared: {feature.error}", "", "", "", ""]
    return [
        name,
        feature.kind,
        feature.method,
        _fmt(feature.score),
        _fmt(feature.threshold),
        "[red]yes[/]" if feature.drifted else "no",
        _fmt(feature.statistics.get("psi", float("nan"))),
        _fmt(feature.statistics.get("jensenshannon", float("nan"))),
        f"{feature.current_rows:,}",
        f"{feature.current_missing_share:.1%}" if feature.current_rows + feature.current_missing else "",
    ]


def _fmt(value: float) -> str:
    return "–" if value != value else f"{value:.4g}"


__all__ = ["DRIFT_EXIT_CODE", "drift"]
