"""Drift runs and per-model drift settings in the metadata database.

Runs are history: each evaluation is a new row with its window, never updated. Settings are one
row per model; changing them writes an audit event (`drift.settings`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from ...errors import DriftRunNotFound
from ...store import Database, record_event
from ...store.tables.drift import DriftRunRow, DriftSettingsRow
from .methods import DriftConfig
from .result import DriftReport, FeatureDrift


def save_report(db: Database, report: DriftReport, *, trigger: str, actor: str) -> DriftReport:
    """Store `report` (its model and version must be set); returns it with its id and time."""
    if report.model is None or report.version is None:
        raise ValueError("a drift report is stored for a model version: set model and version")
    row = DriftRunRow(
        model=report.model,
        version=report.version,
        window_start=report.window_start,
        window_end=report.window_end,
        rows=report.rows,
        dataset_drift=report.dataset_drift,
        share=report.share,
        share_threshold=report.share_threshold,
        drifted_features=report.drifted_features,
        features=len(report.inputs),
        prediction_drift=report.prediction_drift,
        results=[feature.to_dict() for feature in report.features],
        notes=list(report.notes),
        trigger=trigger,
        seconds=report.seconds,
        computed_at=report.computed_at or datetime.now(UTC),
        computed_by=actor,
    )
    with db.write() as session:
        session.add(row)
        session.flush()
        return _report(row)


def list_runs(db: Database, model: str, *, version: int | None = None, limit: int = 20) -> list[DriftReport]:
    """The model's runs, newest first (their feature results included)."""
    query = select(DriftRunRow).where(DriftRunRow.model == model)
    if version is not None:
        query = query.where(DriftRunRow.version == version)
    query = query.order_by(DriftRunRow.computed_at.desc(), DriftRunRow.id.desc()).limit(limit)
    with db.read() as session:
        return [_report(row) for row in session.scalars(query)]


def get_run(db: Database, model: str, run_id: int) -> DriftReport:
    with db.read() as session:
        row = session.get(DriftRunRow, run_id)
        if row is None or row.model != model:
            raise DriftRunNotFound(model, run_id)
        return _report(row)


def latest_run(db: Database, model: str, *, version: int | None = None) -> DriftReport:
    runs = list_runs(db, model, version=version, limit=1)
    if not runs:
        raise DriftRunNotFound(model)
    return runs[0]


def latest_per_version(db: Database, models: Sequence[str] | None = None) -> list[DriftReport]:
    """The newest run of every model version (of `models`, when given): what `/metrics` and alerts read."""
    newest = select(DriftRunRow.model, DriftRunRow.version, func.max(DriftRunRow.id).label("id")).group_by(
        DriftRunRow.model, DriftRunRow.version
    )
    if models is not None:
        newest = newest.where(DriftRunRow.model.in_(list(models)))
    ids = newest.subquery()
    query = select(DriftRunRow).join(ids, DriftRunRow.id == ids.c.id).order_by(DriftRunRow.model, DriftRunRow.version)
    with db.read() as session:
        return [_report(row) for row in session.scalars(query)]


def delete_runs_before(db: Database, before: datetime) -> int:
    """Remove runs computed before `before` (retention); the number removed."""
    with db.write() as session:
        result = session.execute(delete(DriftRunRow).where(DriftRunRow.computed_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


def get_config(db: Database, model: str) -> DriftConfig:
    """The model's drift settings, or the defaults when it has none."""
    with db.read() as session:
        row = session.get(DriftSettingsRow, model)
        return DriftConfig() if row is None else _config(row)


def configured_models(db: Database) -> dict[str, DriftConfig]:
    with db.read() as session:
        return {row.model: _config(row) for row in session.scalars(select(DriftSettingsRow))}


def set_config(db: Database, model: str, config: DriftConfig, *, actor: str, source: str | None = None) -> DriftConfig:
    """Replace the model's drift settings; writes a `drift.settings` audit event with before and after."""
    with db.write() as session:
        row = session.get(DriftSettingsRow, model)
        before = None if row is None else _config(row).to_dict()
        if row is None:
            row = DriftSettingsRow(model=model, updated_by=actor)
            session.add(row)
        _fill(row, config, actor)
        record_event(
            session,
            actor=actor,
            action="drift.settings",
            target=model,
            before=before,
            after=config.to_dict(),
            source=source,
        )
        return config


def _fill(row: DriftSettingsRow, config: DriftConfig, actor: str) -> None:
    row.numeric_method = config.numeric_method
    row.categorical_method = config.categorical_method
    row.methods = dict(config.methods)
    row.thresholds = dict(config.thresholds)
    row.column_thresholds = dict(config.column_thresholds)
    row.share_threshold = config.share_threshold
    row.ignore = list(config.ignore)
    row.enabled = config.enabled
    row.updated_at = datetime.now(UTC)
    row.updated_by = actor


def _config(row: DriftSettingsRow) -> DriftConfig:
    return DriftConfig(
        numeric_method=row.numeric_method,
        categorical_method=row.categorical_method,
        methods=dict(row.methods or {}),
        thresholds={k: float(v) for k, v in (row.thresholds or {}).items()},
        column_thresholds={k: float(v) for k, v in (row.column_thresholds or {}).items()},
        share_threshold=float(row.share_threshold),
        ignore=tuple(row.ignore or ()),
        enabled=bool(row.enabled),
    )


def _aware(at: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every time Shipyard stores is UTC.
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _report(row: DriftRunRow) -> DriftReport:
    return DriftReport(
        features=[FeatureDrift.from_dict(doc) for doc in row.results or ()],
        rows=int(row.rows),
        share_threshold=float(row.share_threshold),
        seconds=float(row.seconds),
        model=row.model,
        version=int(row.version),
        window_start=_aware(row.window_start),
        window_end=_aware(row.window_end),
        computed_at=_aware(row.computed_at),
        id=int(row.id),
        trigger=row.trigger,
        notes=[str(note) for note in row.notes or ()],
    )


__all__ = [
    "configured_models",
    "delete_runs_before",
    "get_config",
    "get_run",
    "latest_per_version",
    "latest_run",
    "list_runs",
    "save_report",
    "set_config",
]
