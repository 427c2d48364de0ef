"""Per-minute request figures in the database: what the error-rate, latency and no-traffic rules read.

Why the database and not the metric files: the files are per host, and the alert rules run on one
worker of one replica, which must judge the traffic of all of them. So every worker, every
`flush_seconds`, turns what its own counters gained since the last flush into its row for the current
minute (requests, errors, a latency histogram) — one upsert per endpoint and model version with
traffic, nothing on the request path. The rules sum the rows of a window over workers and replicas;
what they see is at most one flush old.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ...store import Database
from ...store.tables import utcnow
from ...store.tables.alerts import TrafficMinuteRow
from .catalog import LATENCY_BUCKETS

Key = tuple[str, str, int]
"""(endpoint, model, version)"""


@dataclass
class Traffic:
    """Requests, errors and a latency histogram (non-cumulative counts per `LATENCY_BUCKETS` + overflow)."""

    requests: int = 0
    errors: int = 0
    server_errors: int = 0
    latency_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))

    def add(self, other: Traffic) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.server_errors += other.server_errors
        self.latency_sum += other.latency_sum
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    def minus(self, other: Traffic) -> Traffic:
        return Traffic(
            self.requests - other.requests,
            self.errors - other.errors,
            self.server_errors - other.server_errors,
            self.latency_sum - other.latency_sum,
            [a - b for a, b in zip(self.buckets, other.buckets, strict=True)],
        )

    def error_rate(self, *, server_only: bool = False) -> float:
        if not self.requests:
            return 0.0
        return (self.server_errors if server_only else self.errors) / self.requests

    def quantile(self, q: float) -> float:
        return quantile(q, self.buckets)


def quantile(q: float, buckets: Sequence[int], bounds: Sequence[float] = LATENCY_BUCKETS) -> float:
    """The q-quantile of a histogram, interpolated within its bucket as PromQL's `histogram_quantile` does.

    `buckets` are non-cumulative counts, one per bound plus the overflow; a quantile in the overflow is
    the largest bound. NaN when the histogram is empty.
    """
    total = sum(buckets)
    if total <= 0:
        return math.nan
    rank, seen = q * total, 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            if index >= len(bounds):
                return bounds[-1]
            lower = bounds[index - 1] if index else 0.0
            return lower + (bounds[index] - lower) * (rank - seen) / count
        seen += count
    return bounds[-1]


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def write_minute(db: Database, worker: str, minute: datetime, figures: dict[Key, Traffic]) -> None:
    """Upsert this worker's rows of `minute` with `figures` (the minute's totals so far)."""
    if not figures:
        return
    dialect = postgresql if db.dialect == "postgresql" else sqlite
    with db.write() as session:
        for (endpoint, model, version), t in figures.items():
            values = {
                "requests": t.requests,
                "errors": t.errors,
                "server_errors": t.server_errors,
                "latency_sum": t.latency_sum,
                "latency_buckets": list(t.buckets),
            }
            statement = dialect.insert(TrafficMinuteRow).values(
                minute=minute, worker=worker, endpoint=endpoint, model=model, version=version, **values
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["minute", "worker", "endpoint", "model", "version"], set_=values
                )
            )


def read_traffic(db: Database, since: datetime, subject: str | None = None) -> dict[str, Traffic]:
    """Traffic per endpoint since `since` (to the minute), all workers and replicas; `subject` limits it to
    rows whose endpoint or model is that name."""
    query = select(TrafficMinuteRow).where(TrafficMinuteRow.minute >= minute_of(since))
    if subject is not None:
        query = query.where((TrafficMinuteRow.endpoint == subject) | (TrafficMinuteRow.model == subject))
    found: dict[str, Traffic] = {}
    with db.read() as session:
        for row in session.scalars(query):
            buckets = [int(b) for b in row.latency_buckets]
            if len(buckets) != len(LATENCY_BUCKETS) + 1:  # written with other bounds: counts only
                buckets = [0] * len(LATENCY_BUCKETS) + [0]
            found.setdefault(row.endpoint, Traffic()).add(
                Traffic(row.requests, row.errors, row.server_errors, row.latency_sum, buckets)
            )
    return found


def prune_traffic(db: Database, older_than: timedelta) -> int:
    with db.write() as session:
        result = session.execute(delete(TrafficMinuteRow).where(TrafficMinuteRow.minute < utcnow() - older_than))
        return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


__all__ = ["Key", "Traffic", "minute_of", "prune_traffic", "quantile", "read_traffic", "write_minute"]
