"""`/api/v1/alerts/rules` and `/api/v1/alerts` in the real app: roles, bad input (400, nothing changed), history."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from shipyard.config import Settings
from shipyard.monitoring.alerting import Alert
from shipyard.monitoring.alerts import AlertManager, AlertStore
from shipyard.store import open_database

from ._metrics import served

RULE = {"name": "churn-errors", "kind": "error_rate", "subject": "churn", "threshold": 0.05}


def rules(client: TestClient, auth: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts/rules", headers={"Authorization": auth})
    assert response.status_code == 200
    return list(response.json())


def test_rules_crud_and_roles(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, keys):
        admin, viewer = {"Authorization": keys["admin"]}, {"Authorization": keys["viewer"]}
        created = client.post("/api/v1/alerts/rules", json=RULE, headers=admin)
        assert created.status_code == 201, created.text
        assert created.json()["created_by"].startswith("key:") and created.json()["window_minutes"] == 5
        assert client.post("/api/v1/alerts/rules", json=RULE, headers=admin).status_code == 409
        assert [r["name"] for r in rules(client, keys["viewer"])] == ["churn-errors"]
        assert client.get("/api/v1/alerts/rules/churn-errors", headers=viewer).json()["threshold"] == 0.05
        assert client.post("/api/v1/alerts/rules", json={**RULE, "name": "v"}, headers=viewer).status_code == 403
        assert client.delete("/api/v1/alerts/rules/churn-errors", headers=viewer).status_code == 403
        assert client.get("/api/v1/alerts/rules", headers={"Authorization": keys["predictor"]}).status_code == 403
        assert client.get("/api/v1/alerts/rules").status_code == 401
        missing = client.get("/api/v1/alerts/rules/churn-error", headers=viewer)
        assert missing.status_code == 404 and "churn-errors" in missing.json()["error"]
        assert client.delete("/api/v1/alerts/rules/churn-errors", headers=admin).status_code == 200
        assert rules(client, keys["admin"]) == []
        assert client.delete("/api/v1/alerts/rules/churn-errors", headers=admin).status_code == 404


BAD_BODIES: list[tuple[Any, str]] = [
    ({**RULE, "kind": "sadness"}, "kind"),
    ({**RULE, "threshold": -1}, "threshold"),
    ({**RULE, "threshold": 2}, "threshold"),
    ({**RULE, "threshold": "high"}, "threshold"),
    ({"name": "x", "kind": "error_rate"}, "threshold"),
    ({"kind": "no_traffic"}, "name"),
    ({"name": "x", "kind": "quality", "threshold": 0.5}, "metric"),
    ({"name": "x", "kind": "feature_drift"}, "feature"),
    ({**RULE, "notify": "https://one.example"}, "notify"),
    ({**RULE, "notify": ["gopher://x"]}, "notify"),
    ({**RULE, "window_minutes": 0}, "window_minutes"),
    ({**RULE, "surprise": True}, "surprise"),
    ([RULE], "body"),
]


def test_bad_rules_get_400_and_change_nothing(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, keys):
        admin = {"Authorization": keys["admin"]}
        assert client.post("/api/v1/alerts/rules", json={**RULE, "name": "kept"}, headers=admin).status_code == 201
        for body, field in BAD_BODIES:
            response = client.post("/api/v1/alerts/rules", json=body, headers=admin)
            assert response.status_code == 400, (body, response.text)
            assert field in response.json()["error"], (body, response.json())
        raw = [
            '{"name": "x", "kind": "error_rate", "threshold": NaN}',
            '{"name": "x", "kind": "latency_p99", "threshold": Infinity}',
            '{"name": "x", "kind": ',
            "",
        ]
        for text in raw:
            response = client.post(
                "/api/v1/alerts/rules", content=text, headers={**admin, "Content-Type": "application/json"}
            )
            assert response.status_code == 400, (text, response.text)
        assert [r["name"] for r in rules(client, keys["admin"])] == ["kept"]
        assert client.get("/api/v1/alerts/rules/kept", headers=admin).json()["threshold"] == 0.05


def test_history_endpoint(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with served(home) as (client, keys):
        db = open_database(Settings(home=home).resolved_db_url)
        store = AlertStore(db)
        store.record(Alert("churn-errors", "churn", "12% failed", "critical"), timedelta(0))
        store.record(Alert("quiet", "fraud", "no request in 15 min"), timedelta(0))
        store.resolve("quiet", set())
        viewer = {"Authorization": keys["viewer"]}
        every = client.get("/api/v1/alerts", headers=viewer).json()
        assert [a["rule"] for a in every] == ["quiet", "churn-errors"]
        firing = client.get("/api/v1/alerts", params={"state": "firing"}, headers=viewer).json()
        assert [(a["rule"], a["state"], a["severity"]) for a in firing] == [("churn-errors", "firing", "critical")]
        assert client.get("/api/v1/alerts", params={"rule": "quiet"}, headers=viewer).json()[0]["resolved_at"]
        assert len(client.get("/api/v1/alerts", params={"limit": 1}, headers=viewer).json()) == 1
        for params in ({"state": "burning"}, {"limit": 0}, {"limit": "many"}):
            response = client.get("/api/v1/alerts", params=params, headers=viewer)
            assert response.status_code == 400 and list(params)[0] in response.json()["error"]
        assert client.get("/api/v1/alerts", headers={"Authorization": keys["predictor"]}).status_code == 403
        db.close()


def test_the_server_wires_an_alert_manager_and_the_rule_job(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, _keys):
        assert isinstance(client.app.state.alerts, AlertManager)  # type: ignore[attr-defined]
        assert "alerts.evaluate" in [job.name for job in client.app.state.jobs.jobs]  # type: ignore[attr-defined]
    with served(tmp_path / "other", alerts=False, alert_interval_seconds=1) as (client, _keys):
        assert "alerts.evaluate" not in [job.name for job in client.app.state.jobs.jobs]  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/api/v1/alerts/rules/%00", "/api/v1/alerts/rules/" + "x" * 300])
def test_odd_rule_names_are_404(tmp_path: Path, path: str) -> None:
    with served(tmp_path / "home") as (client, keys):
        assert client.get(path, headers={"Authorization": keys["admin"]}).status_code == 404
