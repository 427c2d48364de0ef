"""The alert job end to end: rules read the per-minute traffic rows and the stored quality figures, fire to a
real webhook once (then repeat silently), resolve when the figures recover; a broken rule spares the others."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest

from shipyard.monitoring.alerts import AlertManager, AlertStore, DatabaseFigures, RuleEvaluator, WebhookOptions
from shipyard.monitoring.metrics.figures import DriftFigures, QualityFigure
from shipyard.monitoring.metrics.results import DatabaseResults
from shipyard.monitoring.metrics.traffic import Traffic, read_traffic, write_minute
from shipyard.store import Database, open_database
from shipyard.store.tables import utcnow
from shipyard.store.tables.feedback import QualityRow

from ._webhook import Receiver, webhook_receiver


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as found:
        yield found


class BrokenDrift(DatabaseResults):
    def drift(self) -> Sequence[DriftFigures]:
        raise ConnectionError("drift results unreachable")


def store_quality(db: Database, accuracy: float) -> None:
    now = utcnow()
    with db.write() as session:
        session.merge(
            QualityRow(
                model="churn",
                version=1,
                task="classification",
                window_start=now - timedelta(hours=1),
                window_end=now,
                labelled=200,
                coverage=0.5,
                metrics={"accuracy": accuracy, "f1": None},
                computed_at=now,
            )
        )


def test_rules_fire_repeat_and_resolve(db: Database, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    store = AlertStore(db)
    for rule in (
        {"name": "churn-errors", "kind": "error_rate", "subject": "churn", "threshold": 0.1, "notify": [receiver.url]},
        {
            "name": "fraud-quiet",
            "kind": "no_traffic",
            "subject": "fraud",
            "window_minutes": 1,
            "notify": [receiver.url],
        },
        {
            "name": "churn-acc",
            "kind": "quality",
            "subject": "churn",
            "metric": "accuracy",
            "threshold": 0.8,
            "notify": [receiver.url],
        },
        {"name": "drift", "kind": "drift_share", "threshold": 0.3},
        {"name": "off", "kind": "no_traffic", "enabled": False},
    ):
        store.add_rule(rule, actor="alice")
    minute = utcnow().replace(second=0, microsecond=0)
    write_minute(db, "w1", minute, {("churn", "churn", 1): Traffic(requests=60, errors=15)})
    write_minute(db, "w2", minute, {("churn", "churn", 1): Traffic(requests=40, errors=5)})
    write_minute(db, "w1", minute - timedelta(days=3), {("churn", "churn", 1): Traffic(requests=1)})
    store_quality(db, 0.6)
    manager = AlertManager(store, webhook=WebhookOptions(2, 0.01, 5))
    later = utcnow() + timedelta(minutes=2)  # the no-traffic rule has watched its window by then
    evaluator = RuleEvaluator(manager, DatabaseFigures(db, BrokenDrift(db)), clock=lambda: later)

    with caplog.at_level(logging.ERROR):
        results = evaluator.run_once()
    assert "alert rule drift could not be evaluated" in caplog.text  # the others still ran
    assert set(results) == {"churn-errors", "fraud-quiet", "churn-acc"}
    assert manager.wait_idle(30)
    assert sorted(r["rule"] for r in receiver.received) == ["churn-acc", "churn-errors", "fraud-quiet"]
    errors = next(r for r in receiver.received if r["rule"] == "churn-errors")
    assert errors["details"]["requests"] == 100 and errors["details"]["rate"] == 0.2  # both workers' rows
    assert read_traffic(db, minute - timedelta(days=4))["churn"].requests == 100  # the 3-day-old row is pruned

    evaluator.run_once()  # still firing: repeats, nobody is told again
    assert manager.wait_idle(30)
    assert len(receiver.received) == 3
    assert {e.rule: e.repeats for e in store.history()} == {"churn-acc": 1, "churn-errors": 1, "fraud-quiet": 1}

    write_minute(db, "w1", minute, {("churn", "churn", 1): Traffic(requests=60, errors=0)})
    write_minute(db, "w2", minute, {("churn", "churn", 1): Traffic(requests=40, errors=0)})
    store_quality(db, 0.95)
    evaluator = RuleEvaluator(manager, DatabaseFigures(db, DatabaseResults(db)), clock=lambda: later)
    evaluator.run_once()
    assert manager.wait_idle(30)
    manager.close()
    state = {e.rule: e.firing for e in store.history()}
    assert state == {"churn-acc": False, "churn-errors": False, "fraud-quiet": True}
    assert len(receiver.received) == 3  # resolving notifies nobody


def test_quality_figures_from_the_database(db: Database) -> None:
    assert DatabaseResults(db).quality() == []
    store_quality(db, 0.75)
    [figure] = DatabaseResults(db).quality()  # the None f1 is left out
    assert isinstance(figure, QualityFigure)
    assert (figure.model, figure.version, figure.metric, figure.value, figure.count) == (
        "churn",
        1,
        "accuracy",
        0.75,
        200,
    )
    assert figure.computed_at.tzinfo is not None


def drift_report(age_drifted: bool) -> Any:
    """A drift run of churn v2 as the drift engine stores it: age (ks p-value), plan (psi), one column it could
    not compare."""
    from shipyard.monitoring.drift import DriftReport
    from shipyard.monitoring.drift import FeatureDrift as ColumnDrift

    def column(name: str, method: str, score: float, drifted: bool, error: str | None = None) -> ColumnDrift:
        threshold = 0.05 if method == "ks" else 0.1
        statistics = {} if error else {method: score}
        return ColumnDrift(
            name, "numeric", "input", method, threshold, score, drifted, statistics, 1000, 1000, 0, 0.0, error=error
        )

    features = [
        column("age", "ks", 0.001 if age_drifted else 0.6, age_drifted),
        column("plan", "psi", 0.01, False),
        column("broken", "psi", float("nan"), False, error="missing from the window"),
    ]
    return DriftReport(features, 1000, 0.5, model="churn", version=2, computed_at=utcnow())


def test_drift_results_from_the_database_fire_rules(db: Database, receiver: Receiver) -> None:
    from shipyard.monitoring.drift.store import save_report

    assert DatabaseResults(db).drift() == []
    save_report(db, drift_report(age_drifted=False), trigger="cli", actor="alice")
    save_report(db, drift_report(age_drifted=True), trigger="schedule", actor="server")
    [run] = DatabaseResults(db).drift()  # the newest run only
    assert (run.model, run.version, run.share, run.detected) == ("churn", 2, 0.5, True)
    assert [f.feature for f in run.features] == ["age", "plan"]  # the feature that could not be compared is left out
    age = run.features[0]
    assert age.lower_is_drift and age.drifted and age.statistics == {"ks": 0.001}
    store = AlertStore(db)
    store.add_rule({"name": "share", "kind": "drift_share", "threshold": 0.4, "notify": [receiver.url]}, actor="a")
    store.add_rule({"name": "age", "kind": "feature_drift", "feature": "age", "notify": [receiver.url]}, actor="a")
    store.add_rule({"name": "plan", "kind": "feature_drift", "feature": "plan"}, actor="a")
    manager = AlertManager(store, webhook=WebhookOptions(2, 0.01, 5))
    results = RuleEvaluator(manager, DatabaseFigures(db, DatabaseResults(db))).run_once()
    assert [f.subject for f in results["share"]] == ["churn"] and results["plan"] == []
    assert manager.wait_idle(30)
    manager.close()
    assert sorted(r["rule"] for r in receiver.received) == ["age", "share"]


def test_without_request_figures_traffic_rules_are_skipped(db: Database) -> None:
    store = AlertStore(db)
    store.add_rule({"name": "quiet", "kind": "no_traffic", "window_minutes": 1}, actor="alice")
    store_quality(db, 0.5)
    store.add_rule({"name": "acc", "kind": "quality", "metric": "accuracy", "threshold": 0.8}, actor="alice")
    manager = AlertManager(store)
    later = utcnow() + timedelta(minutes=5)
    skipping = RuleEvaluator(manager, DatabaseFigures(db, DatabaseResults(db)), traffic=False, clock=lambda: later)
    assert set(skipping.run_once()) == {"acc"}  # no rows would read as "no traffic at all"
    judging = RuleEvaluator(manager, DatabaseFigures(db, DatabaseResults(db)), clock=lambda: later)
    assert [f.subject for f in judging.run_once()["quiet"]] == ["*"]
    manager.close()
