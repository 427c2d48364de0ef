"""Triggers: drift and quality from the results monitoring stores, cron schedules, cooldown; each fires once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.deployments import DeploymentService
from shipyard.registry import Registry
from shipyard.retrain import RetrainService
from shipyard.retrain.policy import ScheduleTrigger
from shipyard.retrain.runs import create_run, update_run
from shipyard.retrain.triggers import check_schedule
from shipyard.store.tables.drift import DriftRunRow
from shipyard.store.tables.feedback import QualityRow

from .conftest import labelled, policy, register_champion
from .trainers import FEATURES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def churn(registry: Registry) -> None:
    register_champion(registry, labelled(100, seed=0))


def store_drift(registry: Registry, at: datetime, *, drifted: list[str], version: int = 1) -> None:
    share = len(drifted) / 3
    with registry.db.write() as session:
        session.add(
            DriftRunRow(
                model="churn",
                version=version,
                window_start=at - timedelta(hours=1),
                window_end=at,
                rows=500,
                dataset_drift=share >= 0.5,
                share=share,
                share_threshold=0.5,
                drifted_features=drifted,
                features=3,
                prediction_drift=None,
                results=[],
                notes=[],
                trigger="schedule",
                seconds=0.1,
                computed_at=at,
                computed_by="test",
            )
        )


def store_quality(registry: Registry, at: datetime, *, accuracy: float, labelled_rows: int, version: int = 1) -> None:
    with registry.db.write() as session:
        session.merge(
            QualityRow(
                model="churn",
                version=version,
                task="classification",
                window_start=at - timedelta(days=1),
                window_end=at,
                labelled=labelled_rows,
                coverage=0.5,
                metrics={"count": float(labelled_rows), "accuracy": accuracy, "f1": accuracy},
                computed_at=at,
            )
        )


def set_triggers(service: RetrainService, triggers: list[dict[str, Any]], **extra: Any) -> Any:
    return service.set_policy("churn", policy("unused.parquet", triggers=triggers, **extra))


def record_run(registry: Registry, kind: str, at: datetime) -> None:
    run = create_run(registry.db, f"run{at:%H%M%S}{kind[:4]}", "churn", {"kind": kind}, "test", 1)
    update_run(registry.db, run.id, started_at=at, status="succeeded")


def test_dataset_drift_fires_once_per_episode(service: RetrainService, registry: Registry, churn: None) -> None:
    stored = set_triggers(service, [{"kind": "drift"}], cooldown="10m")
    assert service.due(stored, NOW) is None  # no drift result yet
    store_drift(registry, NOW - timedelta(minutes=5), drifted=["x0"])  # 1 of 3: below the dataset threshold
    assert service.due(stored, NOW) is None
    store_drift(registry, NOW - timedelta(minutes=2), drifted=["x0", "x1"])
    fired = service.due(stored, NOW)
    assert fired is not None and fired.kind == "drift" and fired.evidence["drifted_features"] == ["x0", "x1"]
    assert "67% of the features drifted" in fired.reason
    record_run(registry, "drift", NOW - timedelta(minutes=1))  # that run started after the result
    assert service.due(stored, NOW + timedelta(hours=1)) is None  # same evidence, no second run
    store_drift(registry, NOW + timedelta(minutes=3), drifted=["x0", "x1", "x2"])
    assert service.due(stored, NOW + timedelta(minutes=5)) is None  # a new episode, but within the cooldown
    assert service.due(stored, NOW + timedelta(minutes=20)) is not None


def test_drift_of_another_version_or_an_old_result_does_not_fire(
    service: RetrainService, registry: Registry, churn: None
) -> None:
    stored = set_triggers(service, [{"kind": "drift", "min_share": 0.9}, {"kind": "feature_drift", "feature": "x2"}])
    store_drift(registry, NOW, drifted=["x0", "x1", "x2"], version=7)
    assert service.due(stored, NOW) is None
    store_drift(registry, NOW - timedelta(minutes=1), drifted=["x0", "x1"])  # 67 % < min_share, x2 steady
    assert service.due(stored, NOW) is None
    store_drift(registry, NOW, drifted=["x2"])
    fired = service.due(stored, NOW)
    assert fired is not None and (fired.kind, fired.evidence["feature"]) == ("feature_drift", "x2")


def test_quality_below_a_threshold_fires_with_enough_labels(
    service: RetrainService, registry: Registry, churn: None
) -> None:
    stored = set_triggers(service, [{"kind": "quality", "metric": "accuracy", "below": 0.8, "min_rows": 100}])
    store_quality(registry, NOW, accuracy=0.6, labelled_rows=40)  # too few labels to judge
    assert service.due(stored, NOW) is None
    store_quality(registry, NOW, accuracy=0.85, labelled_rows=400)
    assert service.due(stored, NOW) is None
    store_quality(registry, NOW, accuracy=0.62, labelled_rows=400)
    fired = service.due(stored, NOW)
    assert fired is not None and fired.kind == "quality"
    assert fired.reason == "accuracy of v1 is 0.6200 on 400 labelled predictions, below 0.8"
    record_run(registry, "quality", NOW + timedelta(minutes=1))
    assert service.due(stored, NOW + timedelta(days=1)) is None  # the figure predates that run


def test_a_disabled_policy_or_one_without_triggers_never_fires(
    service: RetrainService, registry: Registry, churn: None
) -> None:
    store_quality(registry, NOW, accuracy=0.1, labelled_rows=1000)
    stored = set_triggers(service, [{"kind": "quality", "metric": "accuracy", "below": 0.8}], enabled=False)
    assert service.due(stored, NOW) is None
    assert service.due(set_triggers(service, []), NOW) is None


def test_cron_fires_once_per_scheduled_time() -> None:
    trigger = ScheduleTrigger(kind="schedule", cron="0 3 * * *")
    last = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)
    assert check_schedule(trigger, last, datetime(2026, 11, 21, 2, 59, tzinfo=UTC)) is None
    fired = check_schedule(trigger, last, datetime(2026, 11, 21, 3, 0, tzinfo=UTC))
    assert fired is not None and fired.evidence["due"] == "2026-11-21T03:00:00+00:00"
    # Three missed days (the server was down) fold into one run: the first time due.
    late = check_schedule(trigger, last, datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert late is not None and late.evidence["due"] == "2026-11-21T03:00:00+00:00"


def test_the_schedule_counts_from_the_policy_and_the_last_scheduled_run(
    service: RetrainService, registry: Registry, churn: None
) -> None:
    stored = set_triggers(service, [{"kind": "schedule", "cron": "*/30 * * * *"}], cooldown=0)
    set_at = stored.updated_at
    base = set_at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)  # a :00 after the policy
    assert service.due(stored, set_at) is None
    fired = service.due(stored, base + timedelta(minutes=1))
    assert fired is not None and fired.kind == "schedule"
    record_run(registry, "schedule", base + timedelta(minutes=1))
    assert service.due(stored, base + timedelta(minutes=29)) is None
    assert service.due(stored, base + timedelta(minutes=31)) is not None


def test_check_triggers_runs_what_fired_and_records_the_evidence(
    service: RetrainService, registry: Registry, fresh_dataset: Path
) -> None:
    register_champion(registry, labelled(300, seed=1))
    service.set_policy(
        "churn", policy(fresh_dataset, triggers=[{"kind": "feature_drift", "feature": "x1"}], cooldown="1h")
    )
    assert service.check_triggers() == []
    store_drift(registry, datetime.now(UTC), drifted=["x1"])
    [run] = service.check_triggers()
    assert run.status == "succeeded" and run.decision == "accepted", run.error
    assert run.trigger["kind"] == "feature_drift" and run.trigger["feature"] == "x1"
    assert run.started_by == "shipyard-retrain" and registry.get_version("churn", 2).tags["retrain.trigger"] == (
        "feature_drift"
    )
    assert service.check_triggers() == []  # the same drift result does not start another run


def test_no_automatic_run_while_a_canary_is_being_judged(
    service: RetrainService, registry: Registry, churn: None
) -> None:
    stored = set_triggers(service, [{"kind": "drift"}], rollout={"mode": "canary", "steps": [50, 100]})
    store_drift(registry, NOW, drifted=["x0", "x1"])
    deployments = DeploymentService(registry)
    deployments.create("churn", "churn@production")
    frame = labelled(100, seed=9)
    registry.register(LogisticRegression().fit(frame[FEATURES], frame["label"]), "churn")  # v2: the canary
    deployments.canary("churn", 2)
    assert service.due(stored, NOW) is None
    deployments.rollback("churn", reason="test")
    fired = service.due(stored, NOW)
    assert fired is not None and fired.kind == "drift"
