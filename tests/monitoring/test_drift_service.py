"""`DriftService` over a real registry and prediction-log segments, on SQLite and PostgreSQL:
windows read by version, reports stored with their window, settings, the scheduled job, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.errors import ModelNotFound, NoDriftData, NoReferenceProfile, ValidationFailed, VersionNotFound
from shipyard.monitoring.drift import DriftConfig, DriftReport, DriftService, store
from shipyard.registry import Registry, open_registry
from shipyard.store import list_events

from ._drift import ThresholdModel, frame, write_log

NOW = datetime.now(UTC)


@pytest.fixture
def registry(tmp_path: Path, db_url: str) -> Iterator[Registry]:
    reg = open_registry(Settings(home=tmp_path / "home", db_url=db_url, user="alice"))
    reg.register(ThresholdModel(), "churn", data=frame(2000, seed=0))  # version 1
    reg.register(ThresholdModel(), "churn", data=frame(2000, seed=0))  # version 2
    yield reg
    reg.db.close()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    root = tmp_path / "predictions"
    write_log(root, "churn", 1, frame(1500, seed=1, drift=True), NOW - timedelta(minutes=20))
    write_log(root, "churn", 2, frame(1500, seed=2), NOW - timedelta(minutes=10))
    write_log(root, "churn", 2, frame(1500, seed=3, drift=True), NOW - timedelta(hours=5))  # outside 1h
    return root


@pytest.fixture
def service(registry: Registry, log: Path) -> DriftService:
    return DriftService(registry, str(log), threads=2)


def test_each_version_is_judged_on_its_own_rows_and_stored(service: DriftService, registry: Registry) -> None:
    reports = service.evaluate("churn", since="1h", actor="bob")
    assert [(r.version, r.rows) for r in reports] == [(1, 1500), (2, 1500)]
    drifted, steady = reports
    assert drifted.dataset_drift and sorted(drifted.drifted_features) == ["city", "x1", "x2"]
    assert not steady.dataset_drift and steady.drifted_features == []
    assert drifted.window_end is not None and drifted.window_start == drifted.window_end - timedelta(hours=1)

    stored = store.list_runs(registry.db, "churn")
    assert [r.id for r in stored] == [reports[1].id, reports[0].id]  # newest first
    again = store.get_run(registry.db, "churn", drifted.id or 0)
    assert again.to_dict()["results"] == drifted.to_dict()["results"]
    assert again.trigger == "api" and again.window_start == drifted.window_start
    assert store.latest_run(registry.db, "churn", version=1).id == drifted.id
    assert [(r.version, r.dataset_drift) for r in store.latest_per_version(registry.db)] == [(1, True), (2, False)]


def test_predictions_drift_against_the_models_outputs_on_its_training_data(service: DriftService) -> None:
    drifted, steady = service.evaluate("churn", since="1h", store_results=False)
    names = {f.name: f for f in drifted.predictions}
    assert set(names) == {"output:predict", "output:predict_proba[0]", "output:predict_proba[1]"}
    assert names["output:predict"].drifted and drifted.prediction_drift is True
    assert steady.prediction_drift is False
    assert "output:predict" not in drifted.drifted_features  # predictions are not counted in the share


def test_one_version_and_a_narrower_window(service: DriftService) -> None:
    [report] = service.evaluate("churn", since="6h", version=2, store_results=False)
    assert report.rows == 3000 and report.version == 2
    window_end = NOW - timedelta(hours=4)
    [old] = service.evaluate("churn", since=NOW - timedelta(hours=6), until=window_end, store_results=False)
    assert old.rows == 1500 and old.dataset_drift


def test_settings_are_stored_audited_and_applied(service: DriftService, registry: Registry) -> None:
    assert store.get_config(registry.db, "churn") == DriftConfig()
    config = DriftConfig(numeric_method="psi", thresholds={"psi": 5.0}, share_threshold=0.9)
    store.set_config(registry.db, "churn", config, actor="carol")
    assert store.get_config(registry.db, "churn") == config
    [report] = service.evaluate("churn", since="1h", version=1, store_results=False)
    assert report.feature("x1").method == "psi" and not report.feature("x1").drifted
    assert not report.dataset_drift and report.share_threshold == 0.9
    with registry.db.read() as session:
        [event] = list_events(session, action="drift.settings")
    assert (event.actor, event.target, event.before, event.after) == ("carol", "churn", None, config.to_dict())


def test_the_scheduled_job_covers_every_logged_model(service: DriftService, registry: Registry, log: Path) -> None:
    write_log(log, "unregistered", 1, frame(200, seed=4), NOW - timedelta(minutes=5))
    assert service.run_scheduled(3600, min_rows=1) == 2
    assert {r.trigger for r in store.list_runs(registry.db, "churn")} == {"schedule"}
    assert service.run_scheduled(3600, min_rows=2000) == 0  # too few rows per version: skipped
    store.set_config(registry.db, "churn", DriftConfig(enabled=False), actor="carol")
    assert service.run_scheduled(3600, min_rows=1) == 0
    assert service.run_scheduled(3600, min_rows=1, retention_days=1e-9) == 0
    assert store.list_runs(registry.db, "churn") == []  # retention removed the old runs


def test_data_handed_over_directly(service: DriftService) -> None:
    report = service.compare_data("churn", frame(1200, seed=5, drift=True), version=1)
    assert report.version == 1 and report.window_start is None and report.dataset_drift
    assert report.prediction_drift is None  # no output columns handed over


def test_bad_input_is_refused_and_nothing_is_stored(service: DriftService, registry: Registry) -> None:
    with pytest.raises(ModelNotFound):
        service.evaluate("nope", since="1h")
    with pytest.raises(VersionNotFound):
        service.evaluate("churn", since="1h", version=9)
    with pytest.raises(ValidationFailed, match="since"):
        service.evaluate("churn", since="yesterday-ish")
    with pytest.raises(ValidationFailed, match="until"):
        service.evaluate("churn", since="1h", until="2h")
    with pytest.raises(NoDriftData, match="No logged predictions of model 'churn'"):
        service.evaluate("churn", since="2d", until="1d")
    assert store.list_runs(registry.db, "churn") == []


def test_a_version_without_a_profile(service: DriftService, registry: Registry, log: Path) -> None:
    registry.register(ThresholdModel(), "churn")  # version 3: no data, no profile
    write_log(log, "churn", 3, frame(100, seed=6), NOW - timedelta(minutes=1))
    with pytest.raises(NoReferenceProfile, match="version 3 has no reference profile"):
        service.evaluate("churn", since="1h", version=3)
    reports: list[DriftReport] = service.evaluate("churn", since="1h", store_results=False)
    assert [r.version for r in reports] == [1, 2]  # skipped among the others
