"""The latest quality of each model version, kept in the database for gauges and dashboards.

The quality job (registered in `shipyard.server.build_app`, one worker of all replicas runs it
every `monitoring.quality_every_seconds`) scores, for every model that received feedback in the
last `monitoring.quality_window_seconds`, the labelled predictions of that window per version,
and stores the figures in `quality_latest`. `latest_quality` reads them back (the metrics exporter
turns them into `shipyard_quality{model,version,metric}` gauges). Choose the window longer than
the usual delay of your labels: predictions without a label yet do not count.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..store import Database
from ..store.tables.base import utcnow
from ..store.tables.feedback import FeedbackRow, QualityRow
from .feedback_join import quality_windows
from .predlog.reader import read_log

logger = logging.getLogger(__name__)


def update_latest_quality(
    db: Database,
    log_location: str,
    window_seconds: float,
    *,
    now: datetime | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Recompute and store the latest quality of every model with recent feedback; returns what it stored."""
    end = now or utcnow()
    start = end - timedelta(seconds=window_seconds)
    with db.read() as session:
        models = sorted(
            set(session.scalars(select(FeedbackRow.model).where(FeedbackRow.received_at >= start).distinct()))
        )
    stored = []
    for model in models:
        try:
            stored += _update_model(db, log_location, model, start, end, storage_options)
        except Exception:  # one model's bad log or labels must not stop the others
            logger.exception("quality of %s could not be computed", model)
    return stored


def _update_model(
    db: Database,
    log_location: str,
    model: str,
    start: datetime,
    end: datetime,
    storage_options: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    windows = quality_windows(db, log_location, model, start, end, storage_options=storage_options)
    if not windows:
        return []
    versions = read_log(log_location, model, start, end, columns=["version"], storage_options=storage_options)
    logged: dict[int, int] = {}
    for value in versions.column("version").to_pylist():
        logged[value] = logged.get(value, 0) + 1
    stored = []
    with db.write() as session:
        for window in windows:
            row = session.get(QualityRow, (model, window.version)) or QualityRow(model=model, version=window.version)
            row.task, row.window_start, row.window_end = window.task, start, end
            row.labelled, row.metrics, row.computed_at = window.labelled, window.metrics, utcnow()
            row.coverage = window.labelled / max(logged.get(window.version, 0), window.labelled, 1)
            session.merge(row)
            stored.append(_as_dict(row))
    return stored


def latest_quality(db: Database, model: str | None = None) -> list[dict[str, Any]]:
    """The stored latest figures: one dict per model version (`model`, `version`, `task`, `window_start`,
    `window_end`, `labelled`, `coverage` (labelled share of logged rows), `metrics`, `computed_at`)."""
    with db.read() as session:
        query = select(QualityRow).order_by(QualityRow.model, QualityRow.version)
        if model is not None:
            query = query.where(QualityRow.model == model)
        return [_as_dict(row) for row in session.scalars(query)]


def _as_dict(row: QualityRow) -> dict[str, Any]:
    return {
        "model": row.model,
        "version": row.version,
        "task": row.task,
        "window_start": row.window_start,
        "window_end": row.window_end,
        "labelled": row.labelled,
        "coverage": row.coverage,
        "metrics": dict(row.metrics),
        "computed_at": row.computed_at,
    }


__all__ = ["latest_quality", "update_latest_quality"]
