"""Per-minute request figures: each worker publishes its own gains; rules read the sum (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.errors import DatabaseUnavailable
from shipyard.monitoring.metrics.catalog import LATENCY_BUCKETS
from shipyard.monitoring.metrics.publisher import TrafficPublisher, worker_totals
from shipyard.monitoring.metrics.traffic import Traffic, prune_traffic, quantile, read_traffic, write_minute
from shipyard.monitoring.metrics.worker import WorkerMetrics
from shipyard.store import Database, create_db_engine, open_database

from .test_metrics_worker import Call, Record

T0 = datetime(2026, 11, 23, 12, 0, 10, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


def test_quantile_interpolates_like_histogram_quantile() -> None:
    buckets = [0] * (len(LATENCY_BUCKETS) + 1)
    buckets[LATENCY_BUCKETS.index(0.01)] = 100  # 100 requests in (0.005, 0.01]
    assert quantile(0.5, buckets) == pytest.approx(0.0075)
    assert quantile(0.99, buckets) == pytest.approx(0.005 + 0.005 * 0.99)
    buckets[-1] = 100  # half of them past the largest bound
    assert quantile(0.99, buckets) == LATENCY_BUCKETS[-1]
    assert math.isnan(quantile(0.99, [0] * len(buckets)))
    assert quantile(0.5, [4] + [0] * len(LATENCY_BUCKETS)) == pytest.approx(LATENCY_BUCKETS[0] / 2)


def test_worker_totals_sum_arms_and_skip_unresolved() -> None:
    metrics = WorkerMetrics()
    metrics.observe(Record(arm="v3"))
    metrics.observe(Record(arm="shadow:v3", status="ModelFailed", call=Call("grpc")))
    metrics.observe(Record(status="ValidationFailed", latency_seconds=0.02))
    metrics.observe(Record(endpoint="typo", model="typo", version=0, status="ModelNotFound"))
    assert all(t.requests == 0 for t in worker_totals(metrics.registry).values())  # tallies reach them on flush
    metrics.flush()
    totals = worker_totals(metrics.registry)
    assert list(totals) == [("churn", "churn", 3)]
    t = totals[("churn", "churn", 3)]
    assert (t.requests, t.errors, t.server_errors) == (3, 2, 1)
    assert sum(t.buckets) == 3 and t.latency_sum == pytest.approx(0.028)


def test_publisher_writes_gains_per_minute_and_workers_add_up(db: Database) -> None:
    now = [T0]
    a, b = WorkerMetrics(), WorkerMetrics()
    pub_a = TrafficPublisher(db, a.registry, "host:1", clock=lambda: now[0])
    pub_b = TrafficPublisher(db, b.registry, "host:2", clock=lambda: now[0])
    for _ in range(3):
        a.observe(Record())
    b.observe(Record(status="ModelFailed", latency_seconds=3.0))
    a.flush()
    b.flush()
    assert pub_a.flush() == 1 and pub_b.flush() == 1
    a.observe(Record())
    a.flush()
    assert pub_a.flush() == 1
    assert pub_a.flush() == 0  # nothing new: nothing written
    now[0] = T0 + timedelta(minutes=1)
    a.observe(Record(endpoint="churn-prod", arm="v3"))
    a.flush()
    pub_a.flush()
    found = read_traffic(db, T0 - timedelta(minutes=5))
    assert found["churn"].requests == 5 and found["churn"].errors == 1 and found["churn"].server_errors == 1
    assert found["churn-prod"].requests == 1
    assert found["churn"].quantile(0.99) > 2.5  # the slow failure of worker b is in the sum
    assert read_traffic(db, T0 + timedelta(minutes=1))["churn-prod"].requests == 1
    assert "churn" not in read_traffic(db, T0 + timedelta(minutes=1))  # earlier minute: outside the window
    assert set(read_traffic(db, T0, subject="churn")) == {"churn", "churn-prod"}  # same model behind both
    assert set(read_traffic(db, T0, subject="churn-prod")) == {"churn-prod"}
    assert read_traffic(db, T0, subject="other") == {}


def test_a_failed_publish_loses_nothing(db: Database, tmp_path: Path) -> None:
    metrics = WorkerMetrics()
    unmigrated = Database(create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}"))  # no tables: writes fail
    publisher = TrafficPublisher(unmigrated, metrics.registry, "host:1", clock=lambda: T0)
    metrics.observe(Record())
    metrics.flush()
    with pytest.raises(DatabaseUnavailable):
        publisher.flush()
    metrics.observe(Record())
    metrics.flush()
    publisher.db = db
    publisher.flush()
    assert read_traffic(db, T0)["churn"].requests == 2
    unmigrated.close()


def test_rows_are_replaced_not_added_and_pruned(db: Database) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    key = ("churn", "churn", 3)
    write_minute(db, "w", minute, {key: Traffic(requests=5)})
    write_minute(db, "w", minute, {key: Traffic(requests=7)})
    write_minute(db, "w", minute - timedelta(days=2), {key: Traffic(requests=100)})
    assert read_traffic(db, minute)["churn"].requests == 7
    assert prune_traffic(db, timedelta(hours=24)) == 1
    assert read_traffic(db, minute - timedelta(days=3))["churn"].requests == 7
