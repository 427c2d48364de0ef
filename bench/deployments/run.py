"""What routing through a deployment costs: the same model asked directly, through a one-arm deployment,
through a sticky 50/50 A/B split, and through a deployment mirroring every request to a shadow slowed to
200 ms. One `shipyard serve` worker pinned to core 0, wrk pinned to core 1, one row per request.

    python bench/deployments/run.py                      # 10 s per row at concurrency 1 and 16
    python bench/deployments/run.py --duration 2 --concurrency 4    # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.config import Settings
from shipyard.deployments import DeploymentService, StickySpec
from shipyard.registry import open_registry

RESULTS = Path(__file__).resolve().parents[1] / "results" / "deployments.json"
LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
counter = 0
request = function()
  counter = counter + 1
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer {key}"
  headers["x-user-id"] = "user-" .. (counter % 10000)
  return wrk.format(nil, nil, headers, nil)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.0f %.0f %.0f %.0f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


class SlowShadow:
    """The same pipeline, 200 ms slower per call: a shadow version that must not slow the primary down."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any) -> Any:
        time.sleep(0.2)
        return self.model.predict(data)

    def predict_proba(self, data: Any) -> Any:
        time.sleep(0.2)
        return self.model.predict_proba(data)


def prepare(home: Path) -> list[float]:
    data: Any = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(data.data, data.target)
    registry = open_registry(Settings(home=home, user="bench"))
    registry.register(model, "cancer", data=data.data, target=data.target)
    registry.register(model, "cancer", data=data.data, target=data.target)
    registry.register(SlowShadow(model), "cancer", data=data.data.head(5))
    registry.set_alias("cancer", "production", 1)
    service = DeploymentService(registry)
    service.create("single", "cancer/1")
    service.create("ab", "cancer/1")
    service.ab("ab", {1: 50, 2: 50}, sticky=StickySpec("header", "x-user-id"))
    service.create("shadowed", "cancer/1")
    service.shadow("shadowed", 3)
    registry.db.close()
    return [float(v) for v in data.data.to_numpy()[0]]


def pinned(cores: str) -> list[str]:
    return ["taskset", "-c", cores] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def start(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHIPYARD_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    command = [*pinned("0"), sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("shipyard serve did not become ready in 120 s")


def wrk(url: str, script: Path, concurrency: int, seconds: float) -> dict[str, float]:
    command = [
        *pinned("1"),
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            requests, duration_us, errors, p50_us, p99_us = (float(v) for v in line.split()[1:])
            return {
                "rps": requests / (duration_us / 1e6),
                "p50_ms": p50_us / 1000,
                "p99_ms": p99_us / 1000,
                "errors": errors,
            }
    raise SystemExit(f"wrk gave no result ({result.returncode}): {result.stdout[-500:]} {result.stderr[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per row (default 10)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="bench-deployments-"))
    home = folder / "home"
    row = prepare(home)
    port = 18_000 + os.getpid() % 1000
    proc = start(home, port)
    try:
        key = (home / "admin.key").read_text().strip()
        body = json.dumps({"inputs": [{"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}]})
        script = folder / "request.lua"
        script.write_text(LUA.format(body=body, key=key))
        targets = {"model (direct)": "cancer", "deployment, 1 arm": "single", "A/B 50/50, sticky": "ab",
                   "1 arm + 200 ms shadow": "shadowed"}  # fmt: skip
        for target in targets.values():  # warm up: loads every arm, fills the shadow's queue
            wrk(f"http://127.0.0.1:{port}/v2/models/{target}/infer", script, 4, 2)
        results = []
        print(f"{'target':<24} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
        for concurrency in args.concurrency:
            for label, target in targets.items():
                figures = wrk(f"http://127.0.0.1:{port}/v2/models/{target}/infer", script, concurrency, args.duration)
                results.append({"target": label, "concurrency": concurrency, **figures})
                print(f"{label:<24} {concurrency:>4} {figures['rps']:>9.0f} {figures['p50_ms']:>8.2f} "
                      f"{figures['p99_ms']:>8.2f} {figures['errors']:>6.0f}")  # fmt: skip
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps({"duration_s": args.duration, "rows": results}, indent=2) + "\n")
        print(f"written to {RESULTS}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
