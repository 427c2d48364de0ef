"""`/metrics` of the real app in process: the values after known traffic, validity (promtool), access."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from ._metrics import known_traffic, parse, served, v2, value
from ._promtool import check_metrics


def _scrape(client: TestClient, auth: str) -> str:
    response = client.get("/metrics", headers={"Authorization": auth})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return str(response.text)


def test_metric_values_after_known_traffic(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, keys):
        known_traffic(client, keys["admin"])
        text = _scrape(client, keys["admin"])
    samples = parse(text)
    sum_v1 = {"endpoint": "sum", "model": "sum", "version": "1", "arm": "primary"}
    assert value(samples, "shipyard_requests_total", **sum_v1, protocol="v2", status="ok") == 4
    assert value(samples, "shipyard_requests_total", **sum_v1, status="ModelFailed") == 1
    assert value(samples, "shipyard_requests_total", **sum_v1, status="ValidationFailed") == 1
    assert value(samples, "shipyard_request_errors_total", **sum_v1, status="ModelFailed", kind="server") == 1
    assert value(samples, "shipyard_request_errors_total", **sum_v1, status="ValidationFailed", kind="client") == 1
    assert value(samples, "shipyard_request_errors_total", status="ok") == 0
    assert value(samples, "shipyard_request_duration_seconds_count", **sum_v1) == 6
    assert value(samples, "shipyard_request_duration_seconds_bucket", **sum_v1, le="+Inf") == 6
    # The bad request never reached the model: 4 answered and 1 failing call, one request each.
    assert value(samples, "shipyard_batch_rows_count", model="sum", version="1") == 5
    assert value(samples, "shipyard_batch_rows_sum", model="sum", version="1") == 5
    assert value(samples, "shipyard_queue_seconds_count", model="sum", version="1") == 5
    assert value(samples, "shipyard_model_call_seconds_count", model="sum", version="1") == 5
    cached = {"endpoint": "cached", "model": "cached", "version": "1"}
    assert value(samples, "shipyard_requests_total", **cached, protocol="v1", status="ok") == 3
    assert value(samples, "shipyard_cache_hits_total", model="cached", version="1") == 2
    assert value(samples, "shipyard_cache_misses_total", model="cached", version="1") == 1
    assert value(samples, "shipyard_cache_hits_total", model="sum") == 0
    assert value(samples, "shipyard_model_load_seconds_count", model="sum", version="1") == 1
    assert value(samples, "shipyard_model_load_failures_total") == 0
    assert value(samples, "shipyard_inflight_requests") == 0
    assert value(samples, "shipyard_workers") == 1
    assert "nope" not in text  # a name that resolved to nothing makes no series
    assert value(samples, "shipyard_requests_total") == 9


def test_exposition_passes_promtool(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, keys):
        known_traffic(client, keys["admin"])
        text = _scrape(client, keys["admin"])
    result = check_metrics(text)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result


def test_gauges_are_sampled(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, keys):
        assert client.post("/v2/models/sum/infer", json=v2([1, 2, 3]), headers={"Authorization": keys["admin"]})
        deadline = time.monotonic() + 10
        while value(parse(_scrape(client, keys["admin"])), "shipyard_models_loaded") != 1:
            assert time.monotonic() < deadline, "loaded models were never sampled"
            time.sleep(0.02)
        assert value(parse(_scrape(client, keys["admin"])), "shipyard_model_memory_bytes") > 0


def test_metrics_need_monitoring_read(tmp_path: Path) -> None:
    with served(tmp_path / "home") as (client, keys):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer sy_000000000000_nope"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": keys["predictor"]}).status_code == 403
        assert client.get("/metrics", headers={"Authorization": keys["viewer"]}).status_code == 200


def test_metrics_public_opens_only_metrics(tmp_path: Path) -> None:
    with served(tmp_path / "home", metrics_public=True) as (client, keys):
        assert client.get("/metrics").status_code == 200
        assert client.post("/metrics").status_code in (401, 405)  # only reading is open
        assert client.get("/api/v1/alerts").status_code == 401
        assert client.post("/v2/models/sum/infer", json=v2([1, 2, 3])).status_code == 401
        assert client.get("/debug/batching").status_code == 401


def test_metrics_off(tmp_path: Path) -> None:
    with served(tmp_path / "home", metrics=False) as (client, keys):
        assert client.post("/v2/models/sum/infer", json=v2([1, 2, 3]), headers={"Authorization": keys["admin"]})
        assert client.get("/metrics", headers={"Authorization": keys["admin"]}).status_code == 404


@pytest.mark.parametrize("bad", ["/metrics/", "/metrics?name[]=x", "/metricsx"])
def test_odd_metrics_paths(tmp_path: Path, bad: str) -> None:
    with served(tmp_path / "home", metrics_public=True) as (client, keys):
        response = client.get(bad)
        assert response.status_code in (200, 307, 401, 404)  # never a 500
        if response.status_code == 200:
            assert check_metrics(response.text).returncode == 0


def test_drift_and_quality_gauges_come_from_the_database(tmp_path: Path) -> None:
    from shipyard.config import Settings
    from shipyard.monitoring.drift.store import save_report
    from shipyard.store import open_database

    from .test_alerts_job import drift_report, store_quality

    home = tmp_path / "home"
    with served(home, figures_cache_seconds=0) as (client, keys):
        db = open_database(Settings(home=home).resolved_db_url)
        save_report(db, drift_report(age_drifted=True), trigger="cli", actor="alice")  # e.g. `shipyard drift` run
        store_quality(db, 0.83)
        db.close()
        text = _scrape(client, keys["viewer"])
    samples = parse(text)
    assert value(samples, "shipyard_drift_share", model="churn", version="2") == 0.5
    assert value(samples, "shipyard_drift_detected", model="churn", version="2") == 1
    assert value(samples, "shipyard_feature_drifted", model="churn", feature="age") == 1
    assert value(samples, "shipyard_feature_drift_score", feature="age", statistic="ks") == 0.001
    assert value(samples, "shipyard_quality", model="churn", version="1", metric="accuracy") == 0.83
    assert check_metrics(text).returncode == 0
