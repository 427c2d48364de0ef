"""The evidence triggers look at, read from what monitoring stores: live quality and drift results."""

from __future__ import annotations

from sqlalchemy import select

from ..monitoring.feedback_quality import latest_quality
from ..store import Database
from ..store.tables.drift import DriftRunRow
from .runs import as_utc
from .triggers import DriftEvidence, QualityEvidence


def latest_quality_of(db: Database, model: str, version: int) -> QualityEvidence | None:
    """The quality job's latest figures for `version` of `model` (None before any feedback was scored)."""
    for row in latest_quality(db, model):
        if row["version"] == version:
            metrics = {str(k): float(v) for k, v in row["metrics"].items() if isinstance(v, int | float)}
            return QualityEvidence(version, as_utc(row["computed_at"]), int(row["labelled"]), metrics)
    return None


def latest_drift_of(db: Database, model: str, version: int) -> DriftEvidence | None:
    """The latest drift evaluation of `version` of `model` (the drift job's, or one asked for), if any."""
    query = (
        select(DriftRunRow)
        .where(DriftRunRow.model == model, DriftRunRow.version == version)
        .order_by(DriftRunRow.computed_at.desc(), DriftRunRow.id.desc())
        .limit(1)
    )
    with db.read() as session:
        row = session.scalars(query).first()
        if row is None:
            return None
        window = ""
        if row.window_start is not None and row.window_end is not None:
            window = f"{as_utc(row.window_start):%Y-%m-%d %H:%M} – {as_utc(row.window_end):%Y-%m-%d %H:%M} UTC"
        return DriftEvidence(
            version=row.version,
            computed_at=as_utc(row.computed_at),
            dataset_drift=bool(row.dataset_drift),
            share=float(row.share),
            drifted_features=frozenset(str(f) for f in row.drifted_features or ()),
            window=window,
        )


__all__ = ["latest_drift_of", "latest_quality_of"]
