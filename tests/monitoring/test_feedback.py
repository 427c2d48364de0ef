"""Feedback: validation, upsert with duplicates, the join with the log (late labels), quality per window.

Runs on SQLite and PostgreSQL (the `registry` fixture)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn import metrics
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select

from shipyard.errors import ValidationFailed
from shipyard.monitoring.feedback import parse_feedback
from shipyard.monitoring.feedback_join import labelled_window, quality_windows
from shipyard.monitoring.feedback_quality import latest_quality, update_latest_quality
from shipyard.monitoring.feedback_service import MonitoringService
from shipyard.monitoring.predlog import load_rules, partition_dir
from shipyard.monitoring.predlog.entries import batches_from_records
from shipyard.monitoring.predlog.schema import batch_table
from shipyard.registry import Registry
from shipyard.store import list_events
from shipyard.store.tables.feedback import FeedbackRow

from ._records import tabular

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


@pytest.fixture
def service(registry: Registry, tmp_path: Path) -> MonitoringService:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    registry.register(LogisticRegression().fit(X, [0, 1, 0, 1]), "churn")
    return MonitoringService(registry.db, str(tmp_path / "predictions"))


def log_predictions(service: MonitoringService, rows: list[tuple[str, float, int, datetime]]) -> None:
    """(request id, age, version, time): ages above 50 are predicted 1."""
    for i, (request_id, age, version, at) in enumerate(rows):
        [batch] = batches_from_records([(i + 1, tabular(request_id, [[age, 1.0]], version=version, at=at.timestamp()))])
        folder = Path(partition_dir(service.log_location, "churn", at))
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(batch_table(batch), folder / f"w-{i:06d}.parquet")


@pytest.mark.parametrize(
    ("raw", "field", "text"),
    [
        ({"request_id": "a", "label": 1}, "items", "must be a list"),
        ([], "items", "is empty"),
        ([{"request_id": "a", "label": 1}] * 11, "items", "limit of 10"),
        ([{"label": 1}], "items[0].request_id", "must be the request's id"),
        ([{"request_id": "", "label": 1}], "items[0].request_id", "must be the request's id"),
        ([{"request_id": 7, "label": 1}], "items[0].request_id", "must be the request's id"),
        ([{"request_id": "x" * 129, "label": 1}], "items[0].request_id", "128"),
        ([{"request_id": "a"}], "items[0].label", "is missing"),
        ([{"request_id": "a", "label": None}], "items[0].label", "is null"),
        ([{"request_id": "a", "label": math.nan}], "items[0].label", "NaN"),
        ([{"request_id": "a", "label": math.inf}], "items[0].label", "NaN or infinite"),
        ([{"request_id": "a", "label": [1, 2]}], "items[0].label", "got list"),
        ([{"request_id": "a", "label": {"x": 1}}], "items[0].label", "got dict"),
        ([{"request_id": "a", "label": 1, "row": -1}], "items[0].row", "≥ 0"),
        ([{"request_id": "a", "label": 1, "row": True}], "items[0].row", "row number"),
        ([{"request_id": "a", "label": 1, "row": "0"}], "items[0].row", "row number"),
        ([{"request_id": "a", "label": 1, "model": "../x"}], "items[0].model", "not a model name"),
        ([{"request_id": "a", "label": 1, "colour": "red"}], "items[0].colour", "unknown field"),
        ([{"request_id": "a", "label": 1}, "text"], "items[1]", "must be an object"),
    ],
)
def test_bad_items_are_named(raw: Any, field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_feedback(raw, max_items=10)
    assert info.value.problems[0][0] == field
    assert text in info.value.problems[0][1]


def test_duplicates_replace_and_are_counted_and_bad_batches_change_nothing(service: MonitoringService) -> None:
    first = service.submit_feedback(
        [{"request_id": "r1", "label": 0}, {"request_id": "r1", "label": 1}, {"request_id": "r2", "label": "x"}],
        actor="alice",
        model="churn",
    )
    assert (first.stored, first.replaced) == (2, 1)  # the repeat within one batch: the last one wins
    again = service.submit_feedback([{"request_id": "r2", "label": 1, "model": "churn"}], actor="bob")
    assert (again.stored, again.replaced) == (1, 1)
    with pytest.raises(ValidationFailed):
        service.submit_feedback([{"request_id": "r1", "label": 0}, {"request_id": "r3"}], actor="eve", model="churn")
    with pytest.raises(ValidationFailed, match="not a registered model"):
        service.submit_feedback([{"request_id": "r1", "label": 0}], actor="eve", model="nope")
    with service.db.read() as session:
        rows = {(r.request_id, r.row): (r.label, r.revisions, r.sent_by) for r in session.scalars(select(FeedbackRow))}
    assert rows == {("r1", 0): (1, 1, "alice"), ("r2", 0): (1, 2, "bob")}


def test_model_found_from_the_log_or_the_item_named(service: MonitoringService) -> None:
    log_predictions(service, [("logged", 70.0, 1, datetime.now(UTC) - timedelta(minutes=5))])
    result = service.submit_feedback([{"request_id": "logged", "label": 1}], actor="alice")
    assert result.stored == 1
    with pytest.raises(ValidationFailed) as info:
        service.submit_feedback([{"request_id": "logged", "label": 1}, {"request_id": "ghost", "label": 0}], actor="a")
    assert info.value.problems == [
        (
            "items[1].request_id",
            "'ghost' is not in the recent prediction log (not logged yet, or older); send its model as `model`",
        )
    ]


def test_scoped_callers_are_refused_for_other_models(service: MonitoringService) -> None:
    def only_fraud(model: str) -> None:
        if model != "fraud":
            raise PermissionError(model)

    with pytest.raises(PermissionError):
        service.submit_feedback([{"request_id": "r", "label": 1}], actor="k", model="churn", authorize=only_fraud)
    with service.db.read() as session:
        assert session.scalars(select(FeedbackRow)).all() == []


def test_join_handles_late_and_duplicate_labels(service: MonitoringService) -> None:
    log_predictions(
        service,
        [(f"r{i}", float(age), 1, NOW + timedelta(minutes=i)) for i, age in enumerate([20, 70, 80, 30, 90, 10])],
    )
    assert labelled_window(service.db, service.log_location, "churn", NOW).empty  # no labels yet
    service.submit_feedback(
        [{"request_id": "r0", "label": 1}, {"request_id": "r1", "label": 1}], actor="a", model="churn"
    )
    # late arrivals and a correction of r0
    service.submit_feedback(
        [
            {"request_id": "r0", "label": 0},
            {"request_id": "r4", "label": 0},
            {"request_id": "never-logged", "label": 1},
        ],
        actor="a",
        model="churn",
    )
    frame = labelled_window(service.db, service.log_location, "churn", NOW - timedelta(hours=1))
    assert sorted(frame["request_id"]) == ["r0", "r1", "r4"]
    by_id = frame.set_index("request_id")
    assert by_id.loc["r0", "label"] == 0 and by_id.loc["r4", "label"] == 0
    assert by_id.loc["r1", "prediction"] == 1 and by_id.loc["r1", "age"] == 70.0
    assert {"income", "version", "time", "row", "predict_proba"} <= set(frame.columns)


def test_a_request_id_the_client_reused_labels_each_of_its_rows(service: MonitoringService) -> None:
    log_predictions(service, [("same", 20.0, 1, NOW), ("same", 80.0, 1, NOW + timedelta(minutes=1))])
    service.submit_feedback([{"request_id": "same", "label": 1}], actor="a", model="churn")
    frame = labelled_window(service.db, service.log_location, "churn", NOW - timedelta(minutes=1))
    assert frame["prediction"].tolist() == [0, 1] and frame["label"].tolist() == [1, 1]


def test_quality_per_version_and_window_equals_sklearn(service: MonitoringService) -> None:
    rng = np.random.default_rng(3)
    ages = rng.uniform(0, 100, 80)
    rows = [(f"q{i}", float(a), 1 if i < 40 else 2, NOW + timedelta(minutes=i)) for i, a in enumerate(ages)]
    log_predictions(service, rows)
    labels = (ages + rng.normal(0, 20, 80) > 50).astype(int)
    service.submit_feedback(
        [{"request_id": f"q{i}", "label": int(v)} for i, v in enumerate(labels)], actor="a", model="churn"
    )
    windows = quality_windows(service.db, service.log_location, "churn", NOW, NOW + timedelta(hours=2), "1h")
    assert [(w.version, w.labelled) for w in windows] == [(1, 40), (2, 20), (2, 20)]
    pred = (ages > 50).astype(int)
    proba = ages / 100
    first = windows[0].metrics
    assert first["accuracy"] == pytest.approx(metrics.accuracy_score(labels[:40], pred[:40]))
    assert first["f1"] == pytest.approx(metrics.f1_score(labels[:40], pred[:40]))
    assert first["roc_auc"] == pytest.approx(metrics.roc_auc_score(labels[:40], proba[:40]))
    assert first["log_loss"] == pytest.approx(metrics.log_loss(labels[:40], proba[:40]))
    assert windows[0].task == "classification"
    whole = service.quality("churn", NOW, NOW + timedelta(hours=2), version=2)
    assert [(w.version, w.labelled) for w in whole] == [(2, 40)]
    regression = service.quality("churn", NOW, NOW + timedelta(hours=2), version=1, task="regression")
    assert regression[0].metrics["mae"] == pytest.approx(metrics.mean_absolute_error(labels[:40], pred[:40]))


def test_latest_quality_is_stored_for_gauges(service: MonitoringService) -> None:
    now = datetime.now(UTC)
    log_predictions(service, [(f"g{i}", 70.0 if i % 2 else 20.0, 1, now - timedelta(minutes=10 - i)) for i in range(6)])
    service.submit_feedback([{"request_id": f"g{i}", "label": i % 2} for i in range(3)], actor="a", model="churn")
    stored = update_latest_quality(service.db, service.log_location, 3600)
    assert [(s["model"], s["version"], s["labelled"]) for s in stored] == [("churn", 1, 3)]
    [latest] = latest_quality(service.db)
    assert latest["metrics"]["accuracy"] == 1.0 and latest["coverage"] == pytest.approx(0.5)
    assert latest_quality(service.db, "other") == []


def test_bad_quality_windows(service: MonitoringService) -> None:
    with pytest.raises(ValidationFailed, match="window"):
        service.quality("churn", "1d", window="1s")
    with pytest.raises(ValidationFailed, match="window"):
        service.quality("churn", "1d", window="soon")
    with pytest.raises(ValidationFailed, match="since"):
        service.quality("churn", "whenever")


def test_redaction_settings_are_stored_and_audited(service: MonitoringService) -> None:
    rule = service.set_redaction("churn", drop=["ssn"], hash=["email", "phone"], actor="alice")
    assert rule.to_dict() == {"drop": ["ssn"], "hash": ["email", "phone"]}
    assert load_rules(service.db)["churn"] == rule
    service.set_redaction("churn", drop=[], hash=[], actor="bob")
    assert not service.redaction("churn")
    with service.db.read() as session:
        events = list_events(session, action="log.redaction")
    assert [(e.actor, e.after) for e in events] == [("bob", {"drop": [], "hash": []}), ("alice", rule.to_dict())]
    with pytest.raises(ValidationFailed, match="either dropped or hashed"):
        service.set_redaction("churn", drop=["a"], hash=["a"], actor="alice")
    with pytest.raises(ValidationFailed, match=r"drop\[0\]"):
        service.set_redaction("churn", drop=[""], hash=[], actor="alice")
    assert not service.redaction("churn")  # the refused changes stored nothing
