"""`shipyard feedback FILE` (ground truth from a CSV, JSON or Parquet file) and `shipyard quality MODEL`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import typer

from ..config import load_settings
from ..errors import ValidationFailed
from ._output import console, print_json, table
from .logs import JSON_OPTION, open_monitoring

_ORDER = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "mae", "rmse", "r2")
_SHORT = {"accuracy": "acc", "precision": "prec", "recall": "rec", "roc_auc": "auc", "log_loss": "logloss"}


def read_items(path: Path) -> list[dict[str, Any]]:
    """Feedback items from a file: a JSON list (or `{"items": [...]}`), or a CSV/Parquet table with the
    columns `request_id`, `label` and optionally `row`, `model`."""
    if not path.is_file():
        raise ValidationFailed([("FILE", f"{path} does not exist")])
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise ValidationFailed([("FILE", f"{path} is not valid JSON ({exc})")]) from exc
        return data.get("items", data) if isinstance(data, dict) else data  # type: ignore[no-any-return]
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValidationFailed([("FILE", f"{path.name}: use a .csv, .json or .parquet file")])
    import pandas as pd

    frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    missing = {"request_id", "label"} - set(frame.columns)
    if missing:
        raise ValidationFailed([("FILE", f"{path.name} has no column {sorted(missing)[0]!r} (need request_id, label)")])
    return [_clean(record) for record in frame.to_dict("records")]


def _clean(record: dict[Any, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("row", "model") and (value is None or (isinstance(value, float) and math.isnan(value))):
            continue  # an empty optional cell
        if key == "row" and isinstance(value, float) and value.is_integer():
            value = int(value)
        if key == "request_id" and not isinstance(value, str) and value is not None:
            value = str(value)
        item[str(key)] = value
    return item


def feedback(
    file: Path = typer.Argument(..., help="CSV, JSON or Parquet with request_id, label (and row, model)."),
    model: str | None = typer.Option(None, "--model", "-m", help="The model of rows that do not name one."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Store ground-truth labels for logged predictions; a label for a row already labelled replaces it."""
    service = open_monitoring()
    result = service.submit_feedback(read_items(file), actor=load_settings().actor, model=model)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"Stored {result.stored} labels ({result.replaced} replaced earlier ones).", highlight=False)


def quality(
    model: str = typer.Argument(..., help="The model to score."),
    since: str = typer.Option("1d", "--since", "-s", help="Predictions from: a duration ago (1h, 2d) or an ISO time."),
    until: str | None = typer.Option(None, "--until", help="Predictions until (default: now)."),
    window: str | None = typer.Option(None, "--window", "-w", help="One line per window of this length (1h, 1d)."),
    version: int | None = typer.Option(None, "--version", "-v", help="Only this version."),
    task: str | None = typer.Option(None, "--task", help="classification or regression (default: inferred)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Accuracy, F1, ROC AUC … (classification) or MAE, RMSE, R² (regression) of the labelled predictions."""
    if task not in (None, "classification", "regression"):
        raise ValidationFailed([("--task", f"{task!r} is not classification or regression")])
    service = open_monitoring()
    with service.db.read() as session:
        from ..registry.records import find_model

        find_model(session, model)
    windows = service.quality(model, since, until, window=window, version=version, task=task)  # type: ignore[arg-type]
    if as_json:
        print_json([w.to_dict() for w in windows])
        return
    names = [m for m in _ORDER if any(m in w.metrics for w in windows)]
    table(
        f"{model}: quality since {since}" if windows else f"{model}: no labelled predictions since {since}",
        ["v", "from", "to", "n", *(_SHORT.get(n, n) for n in names)],
        (
            [
                w.version,
                f"{w.start:%m-%d %H:%M}",
                f"{w.end:%m-%d %H:%M}",
                w.labelled,
                *(_fmt(w.metrics.get(n)) for n in names),
            ]
            for w in windows
        ),
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


__all__ = ["feedback", "quality", "read_items"]
