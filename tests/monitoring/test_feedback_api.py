"""The edges: /api/v1/logs, /feedback, /quality on the real app (auth on), the V1 request-id header,
and the `shipyard logs|redact|feedback|quality` commands."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from starlette.testclient import TestClient
from typer.testing import CliRunner

from shipyard.cli import app as cli
from shipyard.config import Settings
from shipyard.errors import ValidationFailed
from shipyard.registry import open_registry
from shipyard.security.bootstrap import ensure_admin_key
from shipyard.security.keys import KeyService
from shipyard.server import build_app

runner = CliRunner()
HOME_ENV = "SHIPYARD_HOME"


Served = tuple[TestClient, dict[str, dict[str, str]]]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path / "home")  # the same home the CLI sees (tests/conftest.py sets SHIPYARD_HOME)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One app for the tests that change nothing (bad input)."""
    yield from _serve(tmp_path_factory.mktemp("shared") / "home")


def _serve(home: Path) -> Iterator[Served]:
    settings = Settings(
        home=home,
        user="alice",
        monitoring={"log_flush_seconds": 0.2, "log_settings_refresh_seconds": 0.1, "feedback_max_items": 50},
    )
    registry = open_registry(settings)
    frame = pd.DataFrame({"age": [20.0, 70.0, 30.0, 80.0], "email": [1.0, 2.0, 3.0, 4.0]})
    registry.register(LogisticRegression().fit(frame, [0, 1, 0, 1]), "churn", data=frame)
    registry.register(LogisticRegression().fit(frame, [0, 1, 0, 1]), "fraud", data=frame)
    admin = ensure_admin_key(registry.db, home, "alice")
    keys = KeyService(registry.db)
    _, fraud_only = keys.create("fraud-app", ["predictor"], ["fraud"], actor="alice")
    _, viewer = keys.create("dash", ["viewer"], actor="alice")
    registry.db.close()
    app = build_app(settings)
    who = {
        "admin": {"Authorization": f"Bearer {admin}"},
        "fraud": {"Authorization": f"Bearer {fraud_only}"},
        "viewer": {"Authorization": f"Bearer {viewer}"},
    }
    with TestClient(app) as client:
        client.app_state = app.state  # type: ignore[attr-defined]
        yield client, who


def _infer(client: TestClient, headers: dict[str, str], age: float) -> str:
    body = {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP64", "data": [age, 1.0]}]}
    response = client.post("/v2/models/churn/infer", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _flush(client: TestClient) -> None:
    assert client.app_state.prediction_log.flush(10)  # type: ignore[attr-defined]


def test_logs_feedback_and_quality_over_http(served: Served) -> None:
    client, who = served
    ids = [_infer(client, who["admin"], age) for age in (10.0, 90.0, 20.0, 85.0)]
    v1 = client.post("/v1/models/churn:predict", json={"instances": [[75.0, 2.0]]}, headers=who["admin"])
    assert v1.status_code == 200 and len(v1.headers["x-request-id"]) == 32
    ids.append(v1.headers["x-request-id"])
    _flush(client)

    logs = client.get("/api/v1/logs/churn", params={"since": "1h"}, headers=who["viewer"])
    assert logs.status_code == 200, logs.text
    rows = logs.json()["rows"]
    assert [r["request_id"] for r in rows] == ids
    assert rows[-1]["protocol"] == "v1" and rows[0]["caller"].startswith("key:")
    assert rows[0]["inputs"] == {"age": 10.0, "email": 1.0} and len(rows[0]["outputs"]["predict_proba"]) == 2

    items = [{"request_id": i, "label": label} for i, label in zip(ids, [0, 1, 1, 1, 1], strict=True)]
    posted = client.post("/api/v1/feedback", json=items, headers=who["admin"])
    assert posted.status_code == 200 and posted.json() == {"stored": 5, "replaced": 0}
    again = client.post("/api/v1/feedback?model=churn", json=items[:1], headers=who["admin"])
    assert again.json() == {"stored": 1, "replaced": 1}

    quality = client.get("/api/v1/quality/churn", params={"since": "1h"}, headers=who["viewer"])
    assert quality.status_code == 200, quality.text
    [window] = quality.json()["windows"]
    assert window["labelled"] == 5 and window["task"] == "classification"
    assert window["metrics"]["accuracy"] == pytest.approx(0.8)
    assert client.get("/api/v1/quality", headers=who["viewer"]).status_code == 200


def test_who_may_do_what(served: Served) -> None:
    client, who = served
    request_id = _infer(client, who["admin"], 40.0)
    _flush(client)
    item = [{"request_id": request_id, "label": 0}]
    refused = client.post("/api/v1/feedback", json=item, headers=who["fraud"])  # its key is limited to fraud
    assert refused.status_code == 403 and "limited to [fraud]" in refused.json()["error"]
    assert client.post("/api/v1/feedback", json=item, headers=who["viewer"]).status_code == 403
    assert client.get("/api/v1/logs/churn?since=1h", headers=who["fraud"]).status_code == 403
    assert client.put("/api/v1/logs/churn/redaction", json={"drop": ["age"]}, headers=who["viewer"]).status_code == 403
    assert client.get("/api/v1/quality/churn?since=1h").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("POST", "/api/v1/feedback", [], 400, "items: is empty"),
        ("POST", "/api/v1/feedback", {"request_id": "a", "label": 1}, 400, "body"),
        ("POST", "/api/v1/feedback", [{"label": 1}], 400, "request_id"),
        ("POST", "/api/v1/feedback", [{"request_id": "a", "label": [1]}], 400, "label"),
        ("POST", "/api/v1/feedback", [{"request_id": "a", "label": 1, "model": "churn"}] * 51, 400, "limit of 50"),
        ("POST", "/api/v1/feedback", [{"request_id": "a", "label": 1, "model": "nope"}], 400, "not a registered"),
        ("POST", "/api/v1/feedback", [{"request_id": "unseen", "label": 1}], 400, "items[0].request_id"),
        ("GET", "/api/v1/logs/churn?since=soon", None, 400, "since"),
        ("GET", "/api/v1/logs/churn?since=1h&limit=0", None, 400, "limit"),
        ("GET", "/api/v1/logs/nope?since=1h", None, 404, "nope"),
        ("GET", "/api/v1/quality/churn?since=1h&window=0s", None, 400, "window"),
        ("GET", "/api/v1/quality/churn?since=1h&task=ranking", None, 400, "task"),
        ("PUT", "/api/v1/logs/churn/redaction", {"drop": ["age"], "hash": ["age"]}, 400, "either dropped or hashed"),
        ("PUT", "/api/v1/logs/churn/redaction", {"drop": "age"}, 400, "drop"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    shared: Served, method: str, path: str, body: Any, status: int, text: str
) -> None:
    client, who = shared
    response = client.request(method, path, json=body, headers=who["admin"])
    assert response.status_code == status, response.text
    assert text in response.json()["error"]


def test_nan_label_in_raw_json_is_refused(served: Served) -> None:
    client, who = served
    body = b'[{"request_id": "a", "label": NaN, "model": "churn"}]'
    headers = {**who["admin"], "content-type": "application/json"}
    response = client.post("/api/v1/feedback", content=body, headers=headers)
    assert response.status_code == 400 and "items[0].label" in response.json()["error"]
    assert client.get("/api/v1/quality/churn?since=1h", headers=who["admin"]).json()["windows"] == []


def test_redaction_reaches_the_serving_worker(served: Served) -> None:
    client, who = served
    put = client.put("/api/v1/logs/churn/redaction", json={"drop": ["age"], "hash": ["email"]}, headers=who["admin"])
    assert put.json() == {"model": "churn", "drop": ["age"], "hash": ["email"]}
    assert client.get("/api/v1/logs/churn/redaction", headers=who["viewer"]).json()["hash"] == ["email"]
    deadline = time.monotonic() + 5
    while True:  # the worker re-reads the settings every 0.1 s here
        request_id = _infer(client, who["admin"], 55.0)
        _flush(client)
        rows = client.get("/api/v1/logs/churn?since=1h&limit=1", headers=who["admin"]).json()["rows"]
        inputs = rows[-1]["inputs"]
        if rows[-1]["request_id"] == request_id and inputs.get("age") is None and len(str(inputs["email"])) == 64:
            break
        assert time.monotonic() < deadline, inputs
        time.sleep(0.05)


def test_cli_commands(served: Served, tmp_path: Path) -> None:
    client, who = served
    ids = [_infer(client, who["admin"], age) for age in (10.0, 90.0)]
    _flush(client)
    shown = runner.invoke(cli, ["logs", "churn", "--since", "1h", "--json"])
    assert shown.exit_code == 0, shown.output
    assert [r["request_id"] for r in json.loads(shown.stdout)] == ids
    table = runner.invoke(cli, ["logs", "churn", "--since", "1h"])
    assert table.exit_code == 0 and "churn: 2 rows since 1h" in table.stdout
    out = tmp_path / "rows.parquet"
    assert runner.invoke(cli, ["logs", "churn", "--parquet", str(out)]).exit_code == 0
    assert pd.read_parquet(out)["request_id"].tolist() == ids

    labels = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ids, "label": [0, 1]}).to_csv(labels, index=False)
    stored = runner.invoke(cli, ["feedback", str(labels), "--model", "churn", "--json"])
    assert stored.exit_code == 0, stored.output
    assert json.loads(stored.stdout) == {"stored": 2, "replaced": 0}
    as_json = tmp_path / "labels.json"
    as_json.write_text(json.dumps([{"request_id": ids[0], "label": 0}]))
    assert "1 replaced" in runner.invoke(cli, ["feedback", str(as_json)]).stdout

    quality = runner.invoke(cli, ["quality", "churn", "--since", "1h", "--json"])
    assert quality.exit_code == 0, quality.output
    assert json.loads(quality.stdout)[0]["metrics"]["accuracy"] == 1.0
    printed = runner.invoke(cli, ["quality", "churn", "--since", "1h"]).stdout
    assert "churn: quality since 1h" in printed and "1.0000" in printed

    redacted = runner.invoke(cli, ["redact", "churn", "--hash", "email", "--json"])
    assert json.loads(redacted.stdout) == {"model": "churn", "drop": [], "hash": ["email"]}
    assert "email" in runner.invoke(cli, ["redact", "churn"]).stdout


@pytest.mark.parametrize(
    ("args", "content", "text"),
    [
        (["feedback", "{dir}/missing.csv"], None, "does not exist"),
        (["feedback", "{dir}/labels.txt"], "x", "use a .csv"),
        (["feedback", "{dir}/labels.csv", "--model", "churn"], "request_id,truth\na,1\n", "no column 'label'"),
        (["feedback", "{dir}/labels.csv", "--model", "churn"], "request_id,label\na,\n", "items[0].label"),
        (["feedback", "{dir}/labels.json"], "{not json", "not valid JSON"),
        (["quality", "churn", "--task", "ranking"], None, "--task"),
        (["logs", "churn", "--since", "tomorrow"], None, "since"),
    ],
)
def test_cli_bad_input(
    served: Served,
    tmp_path: Path,
    args: list[str],
    content: str | None,
    text: str,
) -> None:
    argv = [a.format(dir=tmp_path) for a in args]
    if content is not None:
        Path(argv[1]).write_text(content)
    result = runner.invoke(cli, argv)
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationFailed) and text in str(result.exception)


def test_sdk_feedback_and_quality(served: Served) -> None:
    import shipyard

    client, who = served
    request_id = _infer(client, who["admin"], 95.0)
    _flush(client)
    assert shipyard.feedback(pd.DataFrame({"request_id": [request_id], "label": [1]})) == {"stored": 1, "replaced": 0}
    [window] = shipyard.quality("churn", since="1h")
    assert window["metrics"]["accuracy"] == 1.0
    assert shipyard.prediction_log("churn", since="1h").num_rows == 1
    assert np.isfinite(window["metrics"]["log_loss"])
