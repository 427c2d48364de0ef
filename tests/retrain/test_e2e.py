"""The retraining loop end to end, on a real `shipyard serve`: traffic shifts, feedback comes in, the drift
job sees it, the retraining job trains on the shifted window, the challenger beats the champion and goes
out as a canary; then a run whose challenger is worse stops there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from shipyard.config import Settings
from shipyard.registry import open_registry
from shipyard.store import Database, open_database
from shipyard.store.tables import LeaseRow
from shipyard.store.tables.drift import DriftRunRow

from .._services import poll as wait_for
from .._services import shipyard_serve
from .conftest import labelled, register_champion
from .trainers import FEATURES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
FAST = {
    "SHIPYARD_SERVER__REFRESH_SECONDS": "0.25",
    "SHIPYARD_MONITORING__LOG_FLUSH_SECONDS": "0.5",
    "SHIPYARD_DRIFT__INTERVAL_SECONDS": "1",
    "SHIPYARD_DRIFT__MIN_ROWS": "100",
    "SHIPYARD_RETRAIN__CHECK_SECONDS": "1",
    "SHIPYARD_DEPLOYMENTS__CONTROLLER_SECONDS": "0.5",
    # The tests' trainers are importable from the repository root, as a project's own code would be.
    "PYTHONPATH": str(ROOT),
    "PYTHONWARNINGS": "ignore",
}
POLICY: dict[str, Any] = {
    "trainer": {"entry_point": "tests.retrain.trainers:train_good", "timeout": "2m"},
    "data": {"log_period": "1h", "min_rows": 200},
    "evaluation": {"metric": "accuracy", "margin": 0.1, "holdout": 0.25},
    "triggers": [{"kind": "drift"}],
    # One long step: the canary stays out while the test looks; guards loose enough for a busy machine.
    "rollout": {"mode": "canary", "steps": [50, 100], "interval": "1h", "max_p99_ratio": 1000, "max_error_rate": 1},
    "cooldown": "1s",
}


def poll(check: Callable[[], Any], what: str) -> Any:
    return wait_for(check, what, 120)  # the server's drift and trigger jobs run every few seconds


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    home = tmp_path / "home"
    registry = open_registry(Settings(home=home, user="alice"))
    register_champion(registry, labelled(400, seed=1))  # v1 in production: x ~ N(0, 1), label = x0 + x1 > 0
    registry.db.close()
    with shipyard_serve(home, FAST, tmp_path / "server.log", deadline_s=120) as (url, auth):
        yield url, auth, home


def shifted(rows: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The traffic after the shift: x0 and x1 moved to N(2, 1), and there the label is now x0 + x1 < 4."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    X[:, :2] += 2.0
    return X, (X[:, 0] + X[:, 1] < 4).astype(int)


def send_with_feedback(url: str, auth: dict[str, str], X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> None:
    with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
        for start in range(0, len(X), 50):
            block = X[start : start + 50]
            body = {
                "inputs": [
                    {"name": name, "shape": [len(block)], "datatype": "FP64", "data": block[:, i].tolist()}
                    for i, name in enumerate(FEATURES)
                ]
            }
            answer = client.post("/v2/models/churn/infer", json=body)
            assert answer.status_code == 200, answer.text
            request_id = answer.json()["id"]
            labels = [{"request_id": request_id, "row": r, "label": int(y[start + r])} for r in range(len(block))]
            stored = client.post("/api/v1/feedback", params={"model": "churn"}, json=labels)
            assert stored.status_code == 200 and stored.json()["stored"] == len(block), stored.text


def test_drift_retrains_on_the_shifted_window_and_the_winner_goes_out_as_a_canary(
    server: tuple[str, dict[str, str], Path],
) -> None:
    url, auth, home = server
    api = httpx.Client(base_url=f"{url}/api/v1", headers=auth, timeout=30)
    X, y = shifted(400, seed=7)
    send_with_feedback(url, auth, X, y)
    poll(lambda: api.get("/logs/churn", params={"since": "1h", "limit": 1000}).json()["count"] == 400, "the log")
    assert api.put("/retrain/policies/churn", json=POLICY).status_code == 200

    runs = poll(lambda: [r for r in api.get("/retrain/runs").json() if r["status"] != "running"], "a finished run")
    run = api.get(f"/retrain/runs/{runs[0]['id']}").json()
    assert run["status"] == "succeeded", (run["error"], run["logs"])
    assert run["trigger"]["kind"] == "drift" and {"x0", "x1"} <= set(run["trigger"]["drifted_features"])
    assert run["started_by"] == "shipyard-retrain" and run["parent_version"] == 1
    assert run["window"]["sources"][0]["kind"] == "log" and run["window"]["rows"] == 400  # the shifted traffic
    champion, challenger = run["metrics"]["champion"]["accuracy"], run["metrics"]["challenger"]["accuracy"]
    assert run["decision"] == "accepted" and challenger >= champion + 0.1, run["reason"]
    assert run["challenger_version"] == 2 and "canary of v2" in run["reason"]

    v2 = api.get("/models/churn/versions/2").json()
    assert v2["parent_version"] == 1 and v2["tags"]["retrain.trigger"] == "drift"
    assert v2["lineage"]["data"]["rows"] == 300 and v2["tags"]["retrain.window"] == run["window"]["fingerprint"]
    deployment = api.get("/deployments/churn").json()
    assert deployment["rollout"]["canary_version"] == 2 and deployment["rollout"]["state"] == "running"
    assert deployment["rollout"]["weight"] == 50
    answered = poll(lambda: _versions_answering(url, auth) >= {"1", "2"}, "both arms answering")
    assert answered

    # Drift goes on (v1 is still production), but no run starts while the canary is being judged: wait for
    # drift found after the cooldown, then for two trigger checks after it.
    db = open_database(f"sqlite:///{home / 'shipyard.db'}")
    fresh = datetime.fromisoformat(run["finished_at"]) + timedelta(seconds=1)
    drifted = poll(lambda: _newer(_latest(db, DriftRunRow.computed_at, DriftRunRow.dataset_drift.is_(True)), fresh),
                   "drift found after the cooldown")  # fmt: skip
    renewals: set[datetime] = set()
    poll(lambda: _checks_since(db, drifted, renewals) >= 2, "two trigger checks after it")
    db.close()
    assert [r["id"] for r in api.get("/retrain/runs").json()] == [run["id"]]

    # The next run's challenger always answers 0: worse than v1, so it is registered but goes nowhere.
    worse = {**POLICY, "trainer": {"entry_point": "tests.retrain.trainers:train_constant"}, "triggers": []}
    assert api.put("/retrain/policies/churn", json=worse).status_code == 200
    started = api.post("/retrain/runs", json={"model": "churn"})
    assert started.status_code == 202, started.text
    second = poll(lambda: _finished(api, started.json()["id"]), "the second run")
    assert second["status"] == "succeeded" and second["decision"] == "rejected", (second["error"], second["logs"])
    assert second["reason"].startswith("worse by ") and second["rollout"] is None
    assert second["trigger"]["kind"] == "manual" and second["challenger_version"] == 3
    after = api.get("/deployments/churn").json()
    assert after["rollout"]["canary_version"] == 2 and all(a["version"] != 3 for a in after["arms"])
    assert api.get("/models/churn/aliases/production").json()["version"] == 1


def _latest(db: Database, column: Any, *where: Any) -> Any:
    with db.read() as session:
        value = session.scalar(select(func.max(column)).where(*where))
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _newer(at: datetime | None, than: datetime) -> datetime | None:
    return at if at is not None and at > than else None


def _checks_since(db: Database, since: datetime, seen: set[datetime]) -> int:
    """Each trigger check renews the job's lease first (until now + 10 s): renewals after `since`, seen so far."""
    seen.add(_latest(db, LeaseRow.expires_at, LeaseRow.name == "retrain-triggers"))
    return sum(1 for expiry in seen if expiry - timedelta(seconds=10) > since)


def _finished(api: httpx.Client, run_id: str) -> dict[str, Any] | None:
    run: dict[str, Any] = api.get(f"/retrain/runs/{run_id}").json()
    return run if run["status"] != "running" else None


def _versions_answering(url: str, auth: dict[str, str]) -> set[str]:
    X, _ = shifted(1, seed=0)
    body = {
        "inputs": [{"name": n, "shape": [1], "datatype": "FP64", "data": [X[0, i]]} for i, n in enumerate(FEATURES)]
    }
    seen = set()
    for _ in range(20):
        answer = httpx.post(f"{url}/v2/models/churn/infer", json=body, headers=auth, timeout=30)
        assert answer.status_code == 200, answer.text
        seen.add(str(answer.json()["model_version"]))
    return seen
