"""The second half of `make demo`: what happens after the first request — a canary rollout under
traffic, ground truth coming back, the prediction log, drift, metrics and batch scoring.

Run by `examples/demo.py` while its server is up; every step is a CLI command a user could type.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard

DEPLOYMENT = "cancer"


def cli(*args: str) -> None:
    print(f"\n$ shipyard {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "shipyard", *args], check=True)


def roll_out_and_observe(url: str, key: str, home: Path, data: Any) -> None:
    """Canary a second version under traffic, post feedback, then look at everything that was recorded."""
    X_train, X_test, y_train, y_test = data
    challenger = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)).fit(X_train, y_train)
    v2 = shipyard.register(challenger, name="breast-cancer", data=X_train, target=y_train, params={"C": 0.05})
    print(f"\nregistered {v2.uri} (a challenger with stronger regularisation)")
    cli("deploy", "create", DEPLOYMENT, "--model", "breast-cancer@production")
    cli("deploy", "canary", DEPLOYMENT, "--version", str(v2.version), "--steps", "50,100", "--interval", "2s",
        "--min-requests", "20")  # fmt: skip
    # Live traffic: every row of the data set once (test rows first), so the drift check below compares
    # like with like; a loop over the same few rows would look like drift to KS (far too many ties).
    traffic = pd.concat([X_test, X_train]), np.concatenate([y_test.to_numpy(), y_train.to_numpy()])
    answered = send_until_promoted(url, key, *traffic)
    cli("deploy", "status", DEPLOYMENT)
    cli("deploy", "history", DEPLOYMENT)
    wait_for_log(answered[-1][0])
    # Ground truth arrives later, row by row, naming the request id each response carried.
    items = [
        {"request_id": request_id, "row": row, "label": int(label)}
        for request_id, labels in answered
        for row, label in enumerate(labels)
    ]
    stored = shipyard.feedback(items, model="breast-cancer")
    print(f"\nposted ground truth for {len(items)} rows of {len(answered)} answered requests → {stored}")
    cli("logs", "breast-cancer", "--since", "1h", "--limit", "5")
    cli("quality", "breast-cancer", "--since", "1h")
    report = home / "drift-report.html"
    cli("drift", "breast-cancer", "--since", "1h", "--version", str(v2.version), "--html", str(report))
    show_metrics(url, key)
    scored = score_a_file(home, X_test)
    print(
        "\nWhere to look:\n"
        f"  {report}   (open in a browser: reference vs current per feature)\n"
        f"  {home / 'predictions'}   (the prediction log: Parquet, readable with DuckDB or pyarrow)\n"
        f"  {scored}   (batch scoring output)\n"
        "  .venv/bin/shipyard deploy status cancer | audit | alerts history | batch list\n"
        "  .venv/bin/shipyard serve      # then: curl localhost:8080/metrics -H 'Authorization: Bearer …'"
    )


def send_until_promoted(url: str, key: str, X: Any, y: Any, *, seconds: float = 60) -> list[tuple[str, list[int]]]:
    """One row per request until the canary's rollout ends: (request id, labels) of the answered requests.

    Rows go in order and start over only if the rollout is still running when they run out."""
    auth = {"Authorization": f"Bearer {key}"}
    rows = X.to_numpy()
    answered: list[tuple[str, list[int]]] = []
    served_by: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, headers=auth, timeout=10) as http:
        for n in range(10**6):
            i = n % len(rows)
            body = {
                "inputs": [{"name": "x", "shape": [1, rows.shape[1]], "datatype": "FP64", "data": rows[i].tolist()}]
            }
            answer = http.post(f"/v2/models/{DEPLOYMENT}/infer", json=body)
            answer.raise_for_status()
            out = answer.json()
            answered.append((out["id"], [int(y[i])]))
            served_by[out["model_version"]] = served_by.get(out["model_version"], 0) + 1
            if n % 25 == 24:  # the last step must stay healthy for its interval too, under traffic
                rollout = shipyard.deployment_status(DEPLOYMENT)["rollout"]
                if rollout is None or rollout["state"] != "running" or time.monotonic() > deadline:
                    break
    print(f"\nsent {len(answered)} requests through /v2/models/{DEPLOYMENT}/infer; answered by version: {served_by}")
    return answered


def wait_for_log(request_id: str, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = shipyard.prediction_log("breast-cancer", since="1h")
        if request_id in set(log.column("request_id").to_pylist()):
            return
        time.sleep(0.5)
    raise SystemExit("the prediction log did not show the last request")


def show_metrics(url: str, key: str) -> None:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"}).text
    wanted = ("shipyard_requests_total{", "shipyard_request_duration_seconds_count{")
    lines = [line for line in text.splitlines() if line.startswith(wanted)]
    print(f"\nGET {url}/metrics → {len(text.splitlines())} lines, e.g.")
    for line in lines[:6]:
        print(f"  {line}")


def score_a_file(home: Path, X_test: Any) -> Path:
    source = home / "demo-input.parquet"
    X_test.reset_index(names="row_id").to_parquet(source)
    output = home / "demo-scored"
    cli("batch", "breast-cancer@production", str(source), "-o", str(output), "--id-column", "row_id")
    return output
