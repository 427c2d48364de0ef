"""`shipyard logs MODEL` (the prediction log) and `shipyard redact MODEL` (fields dropped or hashed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..config import load_settings
from ..monitoring.feedback_service import MonitoringService
from ..registry import open_registry
from ._output import console, print_json, short_time, table

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")
_META = ["time", "request_id", "row", "version", "arm", "latency_ms"]


def open_monitoring() -> MonitoringService:
    """The monitoring service of the configured home (the registry checks model names)."""
    settings = load_settings()
    registry = open_registry(settings)
    return MonitoringService.from_settings(settings, registry.db)


def _check_model(service: MonitoringService, model: str) -> None:
    from ..registry.records import find_model

    with service.db.read() as session:
        find_model(session, model)


def logs(
    model: str = typer.Argument(..., help="The model whose predictions to show."),
    since: str = typer.Option("1h", "--since", "-s", help="Start: a duration ago (1h, 30m, 2d) or an ISO time."),
    until: str | None = typer.Option(None, "--until", help="End (default: now), same forms."),
    version: int | None = typer.Option(None, "--version", "-v", help="Only this version."),
    arm: str | None = typer.Option(None, "--arm", help="Only this deployment arm."),
    shadow: bool = typer.Option(False, "--shadow", help="Include answers of shadow arms."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="The newest N rows of the window."),
    as_json: bool = JSON_OPTION,
    parquet: Path | None = typer.Option(None, "--parquet", help="Write the rows (no limit) to this Parquet file."),
) -> None:
    """The logged predictions of MODEL (entries appear within `monitoring.log_flush_seconds`)."""
    service = open_monitoring()
    _check_model(service, model)
    rows_limit = None if parquet is not None else limit
    table_ = service.logs(model, since, until, version=version, arm=arm, include_shadow=shadow, limit=rows_limit)
    if parquet is not None:
        import pyarrow.parquet as pq

        pq.write_table(table_, parquet)
        console.print(f"Wrote {table_.num_rows} rows to {parquet}.", highlight=False)
        return
    rows = table_.to_pylist()
    if as_json:
        print_json(rows)
        return
    table(
        f"{model}: {len(rows)} rows since {since}",
        [*_META, "inputs", "outputs"],
        ([_cell(r, c) for c in _META] + [_compact(r["inputs"]), _compact(r["outputs"])] for r in rows),
    )


def _cell(row: dict[str, Any], column: str) -> Any:
    value = row[column]
    if column == "time":
        return short_time(value)
    if column == "latency_ms":
        return f"{value:.2f}"
    if column == "request_id":
        return value[:12] + "…" if len(value) > 13 else value  # the whole id: --json
    return value


def _compact(values: dict[str, Any], width: int = 60) -> str:
    text = ", ".join(f"{k}={_short(v)}" for k, v in values.items() if v is not None)
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value[:4]) + (", …]" if len(value) > 4 else "]")
    return str(value)


def redact(
    model: str = typer.Argument(..., help="The model whose logged inputs to redact."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Leave this input field out of the log; repeatable."),
    hash_: list[str] | None = typer.Option(
        None, "--hash", help="Log this field as a salted sha256 instead of its value; repeatable."
    ),
    clear: bool = typer.Option(False, "--clear", help="Log every field again."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show or set which input fields of MODEL are dropped or hashed before logging (servers apply it within
    about a second; past entries are not rewritten). Without options, shows the current setting."""
    service = open_monitoring()
    _check_model(service, model)
    if clear or drop or hash_:
        rule = service.set_redaction(model, drop=list(drop or []), hash=list(hash_ or []), actor=load_settings().actor)
    else:
        rule = service.redaction(model)
    if as_json:
        print_json({"model": model, **rule.to_dict()})
        return
    table(
        f"{model}: logged inputs",
        ["dropped", "hashed (sha256)"],
        [[", ".join(sorted(rule.drop)) or "-", ", ".join(sorted(rule.hash)) or "-"]],
    )


__all__ = ["logs", "open_monitoring", "redact"]
