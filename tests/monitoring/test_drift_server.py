"""The server's `drift` job (registered by `build_app`) and the drift API of the real app, end to end
in process; and `shipyard.drift(...)` from Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

import shipyard
from shipyard.config import Settings, load_settings
from shipyard.registry import open_registry
from shipyard.server import build_app

from ._drift import ThresholdModel, frame, write_log


def _settings(tmp_path: Path, **drift: object) -> Settings:
    return Settings(home=tmp_path / "home", security={"auth": False}, drift=drift)


def test_scheduled_job_stores_runs_the_api_shows(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval_seconds=5, min_rows=10)
    registry = open_registry(settings)
    registry.register(ThresholdModel(), "churn", data=frame(1000, seed=0))
    write_log(Path(settings.resolved_log_url), "churn", 1, frame(800, seed=1, drift=True), datetime.now(UTC))
    app = build_app(settings)
    [job] = [j for j in app.state.jobs.jobs if j.name == "drift"]
    assert job.every_seconds == 5
    assert job.run() == 1
    with TestClient(app, base_url="http://testserver/api/v1") as client:
        latest = client.get("/drift/churn/latest")
        assert latest.status_code == 200, latest.text
        assert latest.json()["trigger"] == "schedule" and latest.json()["dataset_drift"]
        ran = client.post("/drift/churn", json={"since": "30m"})
        assert ran.status_code == 200 and ran.json()["runs"][0]["trigger"] == "api"
        # The lifespan started the job runner too, which may have run the job once more by now.
        triggers = [run["trigger"] for run in client.get("/drift/churn").json()["runs"]]
        assert set(triggers) == {"api", "schedule"} and len(triggers) >= 2
    registry.db.close()


def test_the_job_can_be_turned_off(tmp_path: Path) -> None:
    app = build_app(_settings(tmp_path, schedule=False))
    assert "drift" not in [j.name for j in app.state.jobs.jobs]


def test_python_function(tmp_path: Path) -> None:
    settings = load_settings()
    registry = open_registry(settings)
    registry.register(ThresholdModel(), "churn", data=frame(1000, seed=0))
    write_log(Path(settings.resolved_log_url), "churn", 1, frame(600, seed=2), datetime.now(UTC) - timedelta(minutes=1))
    [report] = shipyard.drift("churn", since="1h")
    assert report.version == 1 and not report.dataset_drift and report.id is not None
    given = shipyard.drift("churn", data=frame(600, seed=3, drift=True))
    assert given.dataset_drift and given.id is None and given.trigger == "sdk"
    registry.db.close()
