"""Monitoring end to end, on a real `shipyard serve`: traffic whose second half shifts exactly two features,
feedback for part of it; the drift run over the shifted half finds exactly those two, quality is computed
for the labelled rows, an alert per shifted feature reaches a webhook, and promtool accepts /metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.config import Settings
from shipyard.monitoring.predlog import read_log
from shipyard.registry import open_registry

from .._services import poll, shipyard_serve
from ._metrics import parse, value
from ._promtool import check_metrics
from ._webhook import Receiver, webhook_receiver

pytestmark = pytest.mark.integration

NUMERIC = ("x0", "x1", "x2", "x3")
FEATURES = (*NUMERIC, "city")
SHIFTED = {"x1", "x3"}
CITIES = np.array(["Oslo", "Rome", "Lima", "Pune"])
REQUESTS, ROWS, LABELLED_ROWS = 30, 20, 10  # per half: 30 requests of 20 rows; rows 0-9 of each get a label
FAST = {
    "SHIPYARD_MONITORING__LOG_FLUSH_SECONDS": "0.3",
    "SHIPYARD_MONITORING__ALERT_INTERVAL_SECONDS": "0.3",
    "SHIPYARD_MONITORING__FIGURES_CACHE_SECONDS": "0",
    "SHIPYARD_MONITORING__ALERT_WEBHOOK_BACKOFF_SECONDS": "0.1",
    # Only the on-demand run over the shifted half: a scheduled one over the last hour would replace it as
    # the latest run the alert rules read.
    "SHIPYARD_DRIFT__SCHEDULE": "false",
    "PYTHONWARNINGS": "ignore",
}


def frame(rows: int, seed: int, *, shifted: bool = False) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """Four numeric features and a city; the shift moves x1 by 1.5 standard deviations and scales x3 by 1.6.
    The label depends on every feature, with noise."""
    g = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "x0": g.normal(0.0, 1.0, rows),
            "x1": g.normal(5.0, 2.0, rows) + (3.0 if shifted else 0.0),
            "x2": g.uniform(0.0, 1.0, rows),
            "x3": g.lognormal(0.0, 0.5, rows) * (1.6 if shifted else 1.0),
            "city": CITIES[g.choice(4, rows, p=[0.4, 0.3, 0.2, 0.1])],
        }
    )
    score = data["x0"] + 0.5 * (data["x1"] - 5) - 2 * data["x2"] + data["x3"] + (data["city"] == "Oslo") - 0.5
    return data, (score + g.normal(0.0, 0.5, rows) > 0).to_numpy(dtype=np.int64)


def v2_body(request_id: str, data: pd.DataFrame) -> dict[str, Any]:
    inputs = [{"name": c, "shape": [len(data)], "datatype": "FP64", "data": data[c].tolist()} for c in NUMERIC]
    inputs.append({"name": "city", "shape": [len(data)], "datatype": "BYTES", "data": data["city"].tolist()})
    return {"id": request_id, "inputs": inputs}


@dataclass
class Served:
    url: str
    home: Path
    api: httpx.Client
    model: Any


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    home = tmp_path / "home"
    data, labels = frame(2000, seed=1)
    model = make_pipeline(
        make_column_transformer((StandardScaler(), list(NUMERIC)), (OneHotEncoder(), ["city"])),
        LogisticRegression(max_iter=500),
    ).fit(data, labels)
    registry = open_registry(Settings(home=home, user="alice"))
    registry.register(model, "churn", data=data, target=labels)
    registry.db.close()
    with shipyard_serve(home, FAST, tmp_path / "server.log") as (url, auth):
        with httpx.Client(base_url=url, headers=auth, timeout=30) as api:
            yield Served(url, home, api, model)


def send_half(served: Served, half: str, *, shifted: bool) -> list[tuple[str, pd.DataFrame, np.ndarray[Any, Any]]]:
    """REQUESTS requests of ROWS rows; each answer must be the model's own prediction. Returns what was sent."""
    sent = []
    for i in range(REQUESTS):
        data, labels = frame(ROWS, seed=(100 if shifted else 200) + i, shifted=shifted)
        request_id = f"{half}-{i}"
        answer = served.api.post("/v2/models/churn/infer", json=v2_body(request_id, data))
        assert answer.status_code == 200, answer.text
        assert answer.json()["id"] == request_id
        [predict] = [o for o in answer.json()["outputs"] if o["name"] == "predict"]
        assert predict["data"] == served.model.predict(data).tolist()
        sent.append((request_id, data, labels))
    return sent


def post_labels(served: Served, sent: list[tuple[str, pd.DataFrame, np.ndarray[Any, Any]]]) -> None:
    items = [
        {"request_id": request_id, "row": row, "label": int(labels[row])}
        for request_id, _, labels in sent
        for row in range(LABELLED_ROWS)
    ]
    stored = served.api.post("/api/v1/feedback", params={"model": "churn"}, json=items)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"stored": len(items), "replaced": 0}


def add_alert_rules(served: Served, receiver: Receiver) -> None:
    """One feature_drift rule per input feature, each POSTing to the webhook receiver."""
    for feature in FEATURES:
        rule = {"name": f"drift-{feature}", "kind": "feature_drift", "subject": "churn", "feature": feature}
        created = served.api.post("/api/v1/alerts/rules", json={**rule, "notify": [receiver.url]})
        assert created.status_code == 201, created.text


def test_a_shift_of_two_features_is_found_labelled_alerted_and_exported(served: Served) -> None:
    with webhook_receiver() as receiver:
        add_alert_rules(served, receiver)
        started = datetime.now(UTC)
        stable = send_half(served, "stable", shifted=False)
        middle = datetime.now(UTC)
        shifted = send_half(served, "shifted", shifted=True)
        ended = datetime.now(UTC)
        post_labels(served, stable[::2] + shifted[::2])  # every other request: a quarter of the rows
        log_url = Settings(home=served.home).resolved_log_url
        poll(lambda: read_log(log_url, "churn", since=started).num_rows == 2 * REQUESTS * ROWS, "the log's segments")

        # Drift over the shifted half: exactly the two shifted features.
        window = {"since": middle.isoformat(), "until": ended.isoformat()}
        ran = served.api.post("/api/v1/drift/churn", json=window)
        assert ran.status_code == 200, ran.text
        [run] = ran.json()["runs"]
        assert run["rows"] == REQUESTS * ROWS and run["features"] == len(FEATURES)
        assert set(run["drifted_features"]) == SHIFTED, run["drifted_features"]
        verdicts = {f["name"]: f["drifted"] for f in run["results"] if f["role"] == "input"}
        assert verdicts == {f: f in SHIFTED for f in FEATURES}
        assert not run["dataset_drift"] and run["share"] == pytest.approx(len(SHIFTED) / len(FEATURES))

        # Quality of the labelled rows, equal to the model's own accuracy on them.
        span = {"since": started.isoformat(), "until": ended.isoformat()}
        quality = served.api.get("/api/v1/quality/churn", params=span)
        assert quality.status_code == 200, quality.text
        [figures] = quality.json()["windows"]
        labelled = stable[::2] + shifted[::2]
        truth = np.concatenate([labels[:LABELLED_ROWS] for _, _, labels in labelled])
        guesses = served.model.predict(pd.concat([data.head(LABELLED_ROWS) for _, data, _ in labelled]))
        assert figures["version"] == 1 and figures["labelled"] == len(truth) == REQUESTS * LABELLED_ROWS
        assert figures["metrics"]["accuracy"] == pytest.approx(float(np.mean(guesses == truth)), abs=1e-9)
        assert {"f1", "roc_auc", "log_loss"} <= set(figures["metrics"])

        # Bad feedback: 400 naming the item, and nothing stored changes (the valid item beside it neither).
        request_id, _, labels = shifted[0]
        flipped = {"request_id": request_id, "row": 0, "label": 1 - int(labels[0]), "model": "churn"}
        body = f'[{json.dumps(flipped)}, {{"request_id": "{request_id}", "row": 1, "label": NaN, "model": "churn"}}]'
        refused = served.api.post("/api/v1/feedback", content=body, headers={"content-type": "application/json"})
        assert refused.status_code == 400 and "items[1].label" in refused.json()["error"], refused.text
        unknown = served.api.post("/api/v1/feedback", json=[{"request_id": "never-sent", "label": 1}])
        assert unknown.status_code == 400 and "items[0].request_id" in unknown.json()["error"], unknown.text
        again = served.api.get("/api/v1/quality/churn", params=span)
        assert again.json()["windows"] == [figures]

        # The alert rules: one alert per shifted feature, delivered to the webhook as JSON; none for the others.
        received = poll(lambda: _features_posted(receiver) == SHIFTED and receiver.received, "both webhook POSTs")
        assert all(post["source"] == "shipyard" and post["subject"] == "churn" for post in received)
        assert {post["rule"] for post in received} == {f"drift-{f}" for f in SHIFTED}
        alerts = poll(lambda: _settled(served.api.get("/api/v1/alerts").json()), "the deliveries recorded")
        assert {(a["rule"], a["delivery"]) for a in alerts} == {(f"drift-{f}", "delivered") for f in SHIFTED}
        # Every pass judges all five rules on the same run, so the other three had their chance and did not fire.

    # /metrics: the run's verdicts as gauges, and a clean exposition by promtool's reading.
    metrics = served.api.get("/metrics")
    assert metrics.status_code == 200, metrics.text
    samples = parse(metrics.text)
    for feature in FEATURES:
        wanted = {("model", "churn"), ("feature", feature)}
        assert any(n == "shipyard_feature_drifted" and wanted <= ls for n, ls in samples), feature
        drifted = value(samples, "shipyard_feature_drifted", model="churn", feature=feature)
        assert drifted == (1 if feature in SHIFTED else 0), feature
    result = check_metrics(metrics.text)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result


def _features_posted(receiver: Receiver) -> set[str]:
    with receiver.lock:
        return {post["details"]["feature"] for post in receiver.received}


def _settled(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`alerts` once none of them waits for its delivery, else nothing."""
    return alerts if alerts and all(a["delivery"] != "pending" for a in alerts) else []
