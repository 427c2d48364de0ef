"""The stored drift and quality results, read as `FigureSource` figures (for `/metrics` and the alert rules).

Quality: `quality_latest` (one row per model version, written by the quality job; `metrics` holds
accuracy, f1, mae, ...). Drift: the newest stored drift run of each model version
(`monitoring.drift.store.latest_per_version`); features that could not be compared are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from ...store import Database
from ...store.tables import utcnow
from ...store.tables.feedback import QualityRow
from ..drift.methods import P_VALUE_METHODS
from ..drift.result import DriftReport
from ..drift.store import latest_per_version
from .figures import DriftFigures, FeatureDrift, QualityFigure


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=utcnow().tzinfo)


class DatabaseResults:
    def __init__(self, db: Database) -> None:
        self.db = db

    def quality(self) -> Sequence[QualityFigure]:
        figures = []
        with self.db.read() as session:
            for row in session.scalars(select(QualityRow)):
                for metric, value in (row.metrics or {}).items():
                    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                        figures.append(
                            QualityFigure(
                                row.model, row.version, metric, float(value), _aware(row.computed_at), row.labelled
                            )
                        )
        return figures

    def drift(self) -> Sequence[DriftFigures]:
        return [_drift_figures(report) for report in latest_per_version(self.db)]


def _drift_figures(report: DriftReport) -> DriftFigures:
    features = tuple(
        FeatureDrift(
            f.name,
            f.method,
            f.score,
            f.drifted,
            f.threshold,
            lower_is_drift=f.method in P_VALUE_METHODS,
            statistics=dict(f.statistics),
            role=f.role,
        )
        for f in report.features
        if f.evaluated
    )
    at = _aware(report.computed_at) if report.computed_at else utcnow()
    return DriftFigures(str(report.model), int(report.version or 0), report.share, report.dataset_drift, at, features)


__all__ = ["DatabaseResults"]
