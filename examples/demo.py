"""`make demo`: train a model on a bundled data set, register it with its data, promote it, show the
registry, then serve it with `shipyard serve` and send it V2 (REST and gRPC) and V1 requests; then
(`demo_operations.py`) roll a second version out as a canary under traffic, post ground truth, and
show the prediction log, quality, drift, metrics and a batch scoring job.

Everything lands in $SHIPYARD_HOME (default ./.shipyard): a SQLite database and a folder of artifacts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
from demo_operations import roll_out_and_observe
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard
from shipyard.config import load_settings
from shipyard.security.bootstrap import read_local_key


def cli(*args: str) -> None:
    print(f"\n$ shipyard {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "shipyard", *args], check=True)


def main() -> None:
    data: Any = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25, random_state=0)
    params = {"C": 1.0, "max_iter": 500}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
    model.fit(X_train, y_train)
    metrics = {
        "accuracy": accuracy_score(y_test, model.predict(X_test)),
        "roc_auc": roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]),
    }

    version = shipyard.register(
        model,
        name="breast-cancer",
        data=X_train,
        target=y_train,
        params=params,
        metrics=metrics,
        tags={"dataset": "sklearn.load_breast_cancer", "owner": "demo"},
        description="StandardScaler + LogisticRegression on the bundled breast-cancer data set",
    )
    print(f"registered {version.uri} ({version.flavor}, {version.digest[:19]}…)")
    shipyard.set_alias("breast-cancer", "production", version.version)
    print(f"promoted {version.uri} to production")

    loaded = shipyard.load("models:/breast-cancer@production")
    print(f"loaded back; predictions for 5 test rows: {loaded.predict(X_test.head(5)).tolist()}")

    cli("models", "list")
    cli("models", "show", "breast-cancer@production")
    serve_and_send_traffic((X_train, X_test, y_train, y_test))
    print(
        "\nThe registry is in ./.shipyard (shipyard.db + artifacts/). Try\n"
        "  .venv/bin/shipyard models show breast-cancer\n"
        "  .venv/bin/shipyard models diff breast-cancer 1 2\n"
        "  .venv/bin/shipyard audit"
    )


def free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_and_send_traffic(data: Any) -> None:
    X_test = data[1]
    port, grpc_port = free_port(8080), free_port(8081)
    print(f"\n$ shipyard serve --port {port} --grpc-port {grpc_port}", flush=True)
    # Shorter background intervals than the defaults, so the demo sees canary steps and log segments quickly.
    quick = {"SHIPYARD_DEPLOYMENTS__CONTROLLER_SECONDS": "1", "SHIPYARD_MONITORING__LOG_FLUSH_SECONDS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--grpc-port", str(grpc_port)],
        env={**os.environ, "PYTHONWARNINGS": "ignore", **quick},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not become ready")
            time.sleep(0.1)
        key = send_requests(url, f"127.0.0.1:{grpc_port}", X_test)
        roll_out_and_observe(url, key, load_settings().home, data)
    finally:
        server.terminate()
        server.wait(timeout=30)


def send_requests(url: str, grpc_target: str, X_test: Any) -> str:
    """Calls over every protocol; returns the local admin key the server created."""

    # Auth is on from the first start: the server created an admin key and kept it for local tools.
    key = read_local_key(load_settings().home)
    auth = {"Authorization": f"Bearer {key}"}
    rows = X_test.head(3)
    denied = httpx.post(f"{url}/v2/models/breast-cancer/infer", json={"inputs": []})
    print(f"without a key → {denied.status_code} {denied.json()['error']}")
    v2 = {
        "id": "demo-1",
        "inputs": [
            {"name": "input-0", "shape": list(rows.shape), "datatype": "FP64", "data": rows.to_numpy().ravel().tolist()}
        ],
    }
    answer = httpx.post(f"{url}/v2/models/breast-cancer/infer", json=v2, headers=auth).json()
    print(f"POST {url}/v2/models/breast-cancer/infer →")
    for output in answer["outputs"]:
        print(f"  {output['name']}: {output['data']}")
    print(f"  (model_version {answer['model_version']}, id {answer['id']})")
    v1 = httpx.post(
        f"{url}/v1/models/breast-cancer:predict", json={"instances": rows.to_dict(orient="records")}, headers=auth
    )
    print(f"POST {url}/v1/models/breast-cancer:predict → {v1.json()} (x-model-version {v1.headers['x-model-version']})")
    malformed = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}
    bad = httpx.post(f"{url}/v2/models/breast-cancer/infer", json=malformed, headers=auth)
    print(f"a malformed request → {bad.status_code} {bad.json()['error']}")
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(grpc_target)
    tensor = grpcclient.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows.to_numpy())
    result = client.infer("breast-cancer", [tensor], headers={"authorization": auth["Authorization"]})
    with shipyard.Client(url) as sdk_client:  # binary V2; finds the local admin key by itself
        print(f"shipyard.Client(...).predict → {sdk_client.predict('breast-cancer', rows).tolist()}")
    print(f"gRPC ModelInfer on {grpc_target} (tritonclient) → predict {result.as_numpy('predict').tolist()}")
    return key


if __name__ == "__main__":
    main()
