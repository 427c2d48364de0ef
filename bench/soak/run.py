"""Soak: the real server held at 80% of its measured maximum throughput for a while, memory watched.

    python bench/soak/run.py                    # 10 minutes (issue 6); JSON to bench/results/
    python bench/soak/run.py --minutes 1        # a short run, to see that it works

1. Registers `logreg` (StandardScaler + LogisticRegression on scikit-learn's breast-cancer data) in a
   temporary `SHIPYARD_HOME` and starts `shipyard serve` (auth on, one worker unless `--workers`).
2. Measures the maximum: `wrk` with `--connections` connections for `--max-seconds`, as fast as it goes.
3. Holds `--fraction` (0.8) of that rate for `--minutes` with `wrk` at a constant rate: a Lua
   `delay()` hands each request the next slot of a fixed schedule (behind schedule, requests go at
   once until it is caught up), so the offered rate does not fall when the server slows down.
4. Samples the server's RSS (VmRSS of the worker processes) every `--sample-seconds`.

Pass: no error (non-2xx, socket errors, timeouts), an achieved rate within 5% of the target, and RSS
at the end within 5% of RSS after warm-up (`--warmup-seconds`, default: a fifth of the run, at most
60 s). Exit code 1 when any of these fails. The figures move with whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"

# Constant rate in wrk: `delay()` (ms before each request) reserves the next slot of a schedule kept
# per wrk thread, read from a monotonic clock through LuaJIT's FFI (wrk's Lua has no clock of its own).
LUA = """local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } shipyard_timespec;
int clock_gettime(int clk_id, shipyard_timespec *tp);
]]
local ts = ffi.new("shipyard_timespec[1]")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts[0].tv_sec) * 1000 + tonumber(ts[0].tv_nsec) / 1e6
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.body = [==[{body}]==]

local interval_ms = 0
local next_at = nil

function init(args)
  local rate = tonumber(args[1] or "0")
  if rate > 0 then interval_ms = 1000 / rate end
end

function delay()
  if interval_ms == 0 then return 0 end
  local now = now_ms()
  if next_at == nil then next_at = now end
  next_at = next_at + interval_ms
  local wait = next_at - now
  if wait < 0 then return 0 end
  return wait
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"""


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    p999_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(home: Path) -> list[float]:
    """Register `logreg` in `home`; a test row as JSON values."""
    os.environ["SHIPYARD_HOME"] = str(home)
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import shipyard

    data = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(
        data.data, data.target
    )
    shipyard.register(model, name="logreg", data=data.data, target=data.target)
    return [float(v) for v in data.data.iloc[0]]


def start_server(home: Path, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHIPYARD_HOME": str(home), "SHIPYARD_SERVER__DRAIN_SECONDS": "0"}
    command = [sys.executable, "-m", "shipyard", "serve", "--port", str(port), "--no-grpc", "--workers", str(workers)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server was not ready within 120 s")


def check_answer(url: str, body: str, key: str) -> None:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        outputs = json.loads(answer.read())["outputs"]
    if not outputs or not outputs[0]["data"]:
        raise SystemExit(f"unexpected answer: {outputs}")


def wrk(url: str, script: Path, connections: int, seconds: float, rate: float = 0.0) -> Load:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(script)]
    argv += [url, "--", f"{rate:.3f}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            n, duration_us, connect, read, write, status, timeout, p50, p99, p999 = (float(v) for v in line.split()[1:])
            errors = int(connect + read + write + status + timeout)
            return Load(int(n), duration_us / 1e6, errors, p50 / 1000, p99 / 1000, p999 / 1000)
    raise SystemExit(f"wrk gave no result ({result.returncode}): {result.stdout[-500:]} {result.stderr[-500:]}")


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        queue += [int(c) for c in children]
    return found


def rss_bytes(pid: int) -> int:
    """VmRSS of the server and its workers (the multiprocessing helper process included: it is small)."""
    total = 0
    for process in descendants(pid):
        try:
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic() - self.started_at, rss_bytes(self.pid)))
            self.stop.wait(self.every)


def rss_verdict(samples: list[tuple[float, int]], warmup: float) -> dict[str, Any]:
    """RSS just after warm-up (median of the first three samples past it) against the end (median of the last three)."""
    after = [rss for at, rss in samples if at >= warmup]
    if len(after) < 2:
        return {"warm_mb": None, "end_mb": None, "growth_pct": None}
    warm, end = statistics.median(after[:3]), statistics.median(after[-3:])
    return {"warm_mb": warm / 2**20, "end_mb": end / 2**20, "growth_pct": 100 * (end - warm) / warm}


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="shipyard-soak-"))
    proc = None
    try:
        row = prepare(work / "home")
        body = json.dumps(
            {"inputs": [{"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}]},
            separators=(",", ":"),
        )
        port = free_port()
        proc = start_server(work / "home", port, args.workers, work / "server.log")
        key = (work / "home" / "admin.key").read_text().strip()
        url = f"http://127.0.0.1:{port}/v2/models/logreg/infer"
        check_answer(url, body, key)
        script = work / "soak.lua"
        script.write_text(LUA.replace("{key}", key).replace("{body}", body))
        print(f"measuring the maximum for {args.max_seconds:g} s ...", flush=True)
        wrk(url, script, args.connections, min(3.0, args.max_seconds))  # warm-up
        peak = wrk(url, script, args.connections, args.max_seconds)
        target = args.fraction * peak.rps
        duration = args.minutes * 60
        warmup = args.warmup_seconds if args.warmup_seconds is not None else min(60.0, duration / 5)
        print(f"max {peak.rps:.0f} req/s; holding {target:.0f} req/s for {duration:.0f} s ...", flush=True)
        sampler = RssSampler(proc.pid, args.sample_seconds)
        sampler.start()
        soak = wrk(url, script, args.connections, duration, rate=target)
        sampler.stop.set()
        sampler.join()
        memory = rss_verdict(sampler.samples, warmup)
        alive = proc.poll() is None
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    passed = {
        "no_errors": soak.errors == 0,
        "rate_within_5pct": soak.rps >= 0.95 * target,
        "rss_growth_under_5pct": memory["growth_pct"] is not None and memory["growth_pct"] < 5.0,
        "server_alive": alive,
    }
    return {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {k: v for k, v in vars(args).items() if k != "out"} | {"warmup_seconds": warmup},
        "max": asdict(peak) | {"rps": peak.rps},
        "target_rps": target,
        "soak": asdict(soak) | {"rps": soak.rps},
        "rss": memory | {"samples": [(round(at, 1), round(rss / 2**20, 1)) for at, rss in sampler.samples]},
        "passed": passed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to hold the rate (default 10)")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="how long to measure the maximum")
    parser.add_argument("--fraction", type=float, default=0.8, help="share of the maximum to hold (default 0.8)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling period (default 5)")
    parser.add_argument("--warmup-seconds", type=float, default=None, help="default: a fifth of the run, ≤ 60 s")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench-soak installs it)")
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"soak-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2))
    soak, rss = result["soak"], result["rss"]
    growth = (
        "n/a"
        if rss["growth_pct"] is None
        else f"{rss['warm_mb']:.0f} → {rss['end_mb']:.0f} MB ({rss['growth_pct']:+.1f}%)"
    )
    print(
        f"max {result['max']['rps']:.0f} req/s · target {result['target_rps']:.0f} · "
        f"achieved {soak['rps']:.0f} req/s · "
        f"errors {soak['errors']} · p50 {soak['p50_ms']:.2f} ms · p99 {soak['p99_ms']:.2f} ms · "
        f"RSS {growth}\n"
        f"passed: {result['passed']}\nwritten to {path}"
    )
    sys.exit(0 if all(result["passed"].values()) else 1)


if __name__ == "__main__":
    main()
