"""Per-arm figures in the database: each worker appends its counts per flush window; readers sum them.

One row per (worker, arm, window) with requests, errors, a latency histogram and, for shadow arms,
the comparison sums. Summing rows whose window ended after some instant gives the figures of every
worker and replica since then (the canary controller: since the step started; `deploy status`: the
last minute). Rows older than the retention are deleted by the controller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select

from ..store import Database
from ..store.tables.deployments import DeploymentSampleRow
from .comparison import Comparison
from .figures import ArmFigures


@dataclass
class Sample:
    """One arm's figures (and, for a shadow arm, its comparison with the primary) over a window."""

    deployment: str
    arm: str
    version: int
    figures: ArmFigures = field(default_factory=ArmFigures)
    comparison: Comparison | None = None

    def merge(self, other: Sample) -> None:
        self.figures.merge(other.figures)
        if other.comparison is not None:
            if self.comparison is None:
                self.comparison = Comparison()
            self.comparison.merge(other.comparison)


def write_samples(
    db: Database, worker: str, window_start: datetime, window_end: datetime, samples: Sequence[Sample]
) -> None:
    with db.write() as session:
        session.add_all(
            DeploymentSampleRow(
                deployment=s.deployment,
                arm=s.arm,
                version=s.version,
                worker=worker,
                window_start=window_start,
                window_end=window_end,
                requests=s.figures.requests,
                errors=s.figures.errors,
                latency_sum=s.figures.latency_sum,
                latency_buckets=s.figures.buckets_json(),
                comparison=s.comparison.to_json() if s.comparison is not None else None,
            )
            for s in samples
        )


def read_samples(db: Database, deployment: str, since: datetime) -> dict[str, Sample]:
    """Arm label → the figures of every worker summed, over windows that ended after `since`."""
    query = select(DeploymentSampleRow).where(
        DeploymentSampleRow.deployment == deployment, DeploymentSampleRow.window_end > since
    )
    totals: dict[str, Sample] = {}
    with db.read() as session:
        for row in session.scalars(query):
            figures = ArmFigures.from_json(row.requests, row.errors, row.latency_sum, row.latency_buckets)
            comparison = Comparison.from_json(row.comparison) if row.comparison is not None else None
            sample = Sample(row.deployment, row.arm, row.version, figures, comparison)
            if row.arm in totals:
                totals[row.arm].merge(sample)
            else:
                totals[row.arm] = sample
    return totals


def prune_samples(db: Database, before: datetime) -> int:
    """Delete figures of windows that ended before `before`; how many rows went."""
    with db.write() as session:
        result = session.execute(delete(DeploymentSampleRow).where(DeploymentSampleRow.window_end < before))
        return int(getattr(result, "rowcount", 0) or 0)


__all__ = ["Sample", "prune_samples", "read_samples", "write_samples"]
