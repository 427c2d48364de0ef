"""Benchmark: Shipyard against Seldon MLServer and `mlflow models serve`, side by side in one run (issue 3).

    python bench/serving/run.py [--duration 10] [--warmup 2] [--concurrency 1,16,64] [--workers 2]
                                [--only shipyard,mlserver,mlflow,hello,workers]

Same machine, same run, same two scikit-learn models (StandardScaler + LogisticRegression, and
HistGradientBoostingClassifier, both trained on scikit-learn's breast-cancer data with fixed seeds),
one row per request, every server asked for `predict_proba`. Each server gets one worker process
pinned to core 0 (`taskset -c 0`); wrk, the load generator, is pinned to core 1. For each server ×
model × concurrency: 2 s of warm-up, then the measurement. Also measured: a hello-world ASGI app on
the same stack as Shipyard (uvicorn + uvloop + httptools) as the ceiling, MLServer with adaptive
batching, the RSS of one Shipyard worker holding both models, and Shipyard with `--workers 2` with
nothing pinned.

Sets itself up: MLServer and MLflow go into their own virtualenvs under bench/.venvs/ (created once,
reused while their package list is unchanged), the models are trained in each virtualenv with the
same code (prepare.py), servers run from a temporary directory. Every server started is killed on
exit, Ctrl-C included. The table goes to stdout and to bench/results/serving-<date>.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENVS = ROOT / "bench" / ".venvs"
RESULTS = ROOT / "bench" / "results"
OUR_BIN = ROOT / ".venv" / "bin"
SERVER_CORE, LOADGEN_CORE = "0", "1"
MODELS = ("logreg", "hgb")

# Competitors, pinned so that runs are repeatable. httptools and uvloop give them the HTTP stack
# Shipyard runs on (uvicorn picks both up when installed; neither tool installs httptools itself),
# so the comparison is of the servers, not of the HTTP parser.
SAME_STACK = ["httptools==0.9.0", "uvloop==0.23.0"]
MLSERVER_PACKAGES = ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", *SAME_STACK]
MLFLOW_PACKAGES = ["mlflow==3.17.2", *SAME_STACK]

SHIPYARD = "Shipyard"
MLSERVER = "MLServer"
MLSERVER_BATCH = "MLServer (batching)"
MLFLOW = "MLflow"
HELLO = "hello ASGI (ceiling)"

TARGETS = {
    "logreg": {"rps": 3000.0},
    "hgb": {"rps": 2500.0},
}
P99_TARGET_MS = 50.0
P50_TARGET_MS = 1.0
RSS_TARGET_MB = 300.0


class BenchError(Exception):
    """A step that failed for one tool; the run goes on with the others."""


# --------------------------------------------------------------------------- processes


class Server:
    """One server process group: started in its own session, killed as a group."""

    live: list[Server] = []

    def __init__(
        self, label: str, argv: list[str], logdir: Path, *, env: dict[str, str] | None = None, pinned: bool = True
    ) -> None:
        self.label = label
        self.argv = ["taskset", "-c", SERVER_CORE, *argv] if pinned else argv
        # As if its virtualenv were activated: tools that start other commands (mlflow runs `uvicorn`) find them.
        bindir = str(Path(argv[0]).parent)
        self.env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
        self.logfile = logdir / (label.replace(" ", "_").replace("/", "_") + ".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        Server.live.append(self)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(self.proc.pid):
                self.proc.poll()
                time.sleep(0.05)
            if not _group_alive(self.proc.pid):
                break
        self.proc.poll()
        if self in Server.live:
            Server.live.remove(self)

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, urls: list[str], timeout_s: float, headers: dict[str, str] | None = None) -> None:
        """Poll each URL until it answers 200, failing early if the process dies."""
        deadline = time.monotonic() + timeout_s
        for url in urls:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise BenchError(f"{self.label} exited with {self.proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(OSError, urllib.error.URLError):
                    with urllib.request.urlopen(
                        urllib.request.Request(url, headers=headers or {}), timeout=30
                    ) as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise BenchError(f"{self.label}: {url} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")
                time.sleep(0.1)

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls.live):
            server.stop()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _group_pids(pgid) != []


def _group_pids(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def proc_status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no {key} for process {pid}")


def group_rss_mb(pgid: int) -> float:
    total = 0.0
    for pid in _group_pids(pgid):
        with contextlib.suppress(OSError, BenchError):
            total += proc_status_mb(pid, "VmRSS")
    return total


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_json(url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 60) -> Any:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise BenchError(f"{url}: HTTP {exc.code}: {exc.read()[:500]!r}") from None


# --------------------------------------------------------------------------- setup


def sh(argv: list[str], log: Path, *, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    """Run a set-up command, its output appended to `log`; BenchError with the tail if it fails."""
    result = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT, timeout=timeout
    )
    with open(log, "a") as f:
        f.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        noise = "WARNING: Location"
        tail = [line for line in (result.stdout + result.stderr).splitlines() if noise not in line][-15:]
        raise BenchError(f"`{' '.join(argv[:4])} …` failed ({result.returncode}):\n" + "\n".join(tail))
    return result.stdout


def ensure_venv(name: str, packages: list[str], log: Path) -> Path:
    """bench/.venvs/<name> with `packages`; reused while the package list is the same."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    stamp = venv / (".bench-installed-" + hashlib.sha256("\n".join(packages).encode()).hexdigest()[:12])
    if python.exists() and stamp.exists():
        return python
    print(f"  setting up {venv.relative_to(ROOT)}: pip install {' '.join(packages)} (once; log: {log})", flush=True)
    if not python.exists():
        base = shutil.which("python3") or sys.executable
        sh([base, "-m", "venv", str(venv)], log)
    sh([str(python), "-m", "pip", "install", "--quiet", *packages], log)
    for old in venv.glob(".bench-installed-*"):
        old.unlink()
    stamp.touch()
    return python


def versions(python: Path, packages: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: out[p] = '-'\n"
        "print(json.dumps(out))"
    )
    result = subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


@dataclass
class Setup:
    work: Path
    logdir: Path
    row: list[float]
    columns: list[str]
    checks: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)
    pythons: dict[str, Path] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    mlserver_parallel_workers: int = 0


def prepare(work: Path, wanted: set[str]) -> Setup:
    logdir = work / "logs"
    logdir.mkdir(parents=True)
    ours = OUR_BIN / "python"
    if not ours.exists():
        raise SystemExit(f"{ours} is missing: run `make install` first")
    sh([str(ours), str(HERE / "prepare.py"), "row", str(work)], logdir / "prepare.log")
    row = json.loads((work / "row.json").read_text())
    setup = Setup(work, logdir, row["row"], row["columns"])
    sklearn = versions(ours, ["scikit-learn"])["scikit-learn"]
    tools = [("shipyard", None, ["shipyard", "scikit-learn", "uvicorn"])]
    if wanted & {"mlserver"}:
        tools.append(("mlserver", MLSERVER_PACKAGES, ["mlserver", "mlserver-sklearn", "scikit-learn", "uvicorn"]))
    if wanted & {"mlflow"}:
        tools.append(("mlflow", MLFLOW_PACKAGES, ["mlflow", "scikit-learn", "uvicorn"]))
    for tool, packages, shown in tools:
        try:
            python = (
                ours
                if packages is None
                else ensure_venv(tool, [*packages, f"scikit-learn=={sklearn}"], logdir / f"pip-{tool}.log")
            )
            env = {"SHIPYARD_HOME": str(work / "shipyard-home")} if tool == "shipyard" else None
            sh([str(python), str(HERE / "prepare.py"), tool, str(work / tool)], logdir / "prepare.log", env=env)
            setup.checks[tool] = json.loads((work / tool / "check.json").read_text())
            setup.pythons[tool] = python
            setup.versions[tool] = versions(python, shown)
        except (BenchError, subprocess.SubprocessError, OSError) as exc:
            setup.failures[tool] = str(exc)
            print(f"\n!! {tool} cannot be set up, going on without it:\n{exc}\n", flush=True)
    return setup


# --------------------------------------------------------------------------- load generation


LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
{headers}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(url: str, script: Path, concurrency: int, seconds: int, pinned: bool) -> Load:
    threads = 1 if pinned else min(2, concurrency)
    argv = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url]
    if pinned:
        argv = ["taskset", "-c", LOADGEN_CORE, *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            n, duration_us, connect, read, write, status, timeout, p50, p99 = (float(v) for v in line.split()[1:])
            errors = int(connect + read + write + status + timeout)
            return Load(int(n), duration_us / 1e6, errors, p50 / 1000, p99 / 1000)
    raise BenchError(f"wrk gave no result ({result.returncode}): {result.stdout[-500:]} {result.stderr[-500:]}")


@dataclass
class Row:
    target: str
    model: str
    concurrency: int
    load: Load | None
    note: str = ""
    failure: str = ""
    background: float = 0.0  # % of one core used by other processes during the measurement (+ steal)
    attempts: int = 1


@dataclass
class Endpoint:
    url: str
    body: str
    proba: Callable[[Any], list[float]] | None  # how to read predict_proba from a response
    headers: dict[str, str] = field(default_factory=dict)


def v2_body(row: list[float]) -> str:
    tensor = {"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}
    return json.dumps({"inputs": [tensor], "outputs": [{"name": "predict_proba"}]}, separators=(",", ":"))


def v2_proba(response: Any) -> list[float]:
    return next(o["data"] for o in response["outputs"] if o["name"] == "predict_proba")


def mlflow_body(columns: list[str], row: list[float]) -> str:
    return json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}, separators=(",", ":"))


def mlflow_proba(response: Any) -> list[float]:
    predictions = response["predictions"]
    return list(predictions[0]) if isinstance(predictions[0], list) else list(predictions[0].values())


def check_answer(endpoint: Endpoint, expected: list[list[float]] | None) -> None:
    """One request; its predict_proba must match the one computed where the model was trained."""
    response = http_json(endpoint.url, endpoint.body.encode(), endpoint.headers)
    if endpoint.proba is None or expected is None:
        return
    got = [float(v) for v in endpoint.proba(response)]
    want = [float(v) for v in expected[0]]
    if len(got) != len(want) or max(abs(a - b) for a, b in zip(got, want, strict=True)) > 1e-9:
        raise BenchError(f"{endpoint.url} answered {got}, expected {want}")


Stats = Callable[[str], dict[str, float] | None]  # a model's batching counters on the server


def auth_headers(home: Path) -> dict[str, str]:
    """With auth on, Shipyard's first start writes an admin key into its home: requests then carry it,
    as a client's would. Without one (auth off, or not there yet), no header."""
    try:
        key = (home / "admin.key").read_text().strip()
    except OSError:
        return {}
    return {"Authorization": f"Bearer {key}"} if key else {}


class Runner:
    def __init__(self, args: argparse.Namespace, setup: Setup) -> None:
        self.args = args
        self.setup = setup
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.rss: dict[str, str] = {}
        self.rss_value: float | None = None  # the Shipyard worker's, for the target
        self._scripts = 0

    def script(self, endpoint: Endpoint) -> Path:
        self._scripts += 1
        path = self.setup.work / f"req{self._scripts}.lua"
        headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in endpoint.headers.items())
        path.write_text(LUA.format(body=endpoint.body, headers=headers))
        return path

    def measure(
        self,
        target: str,
        server: Server,
        endpoints: dict[str, Endpoint],
        *,
        pinned: bool = True,
        stats: Stats | None = None,
    ) -> None:
        for model, endpoint in endpoints.items():
            script = self.script(endpoint)
            for concurrency in self.args.concurrency:
                print(f"  {target} · {model} · c={concurrency} …", end="", flush=True)
                try:
                    row = self.measure_row(target, server, model, endpoint.url, script, concurrency, pinned, stats)
                except (BenchError, subprocess.SubprocessError) as exc:
                    print(f" failed: {exc}", flush=True)
                    self.rows.append(Row(target, model, concurrency, None, failure=str(exc)))
                    continue
                self.rows.append(row)
                load = row.load
                assert load is not None
                print(
                    f" {load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, "
                    f"{load.errors} errors; background CPU {row.background:.0f}% {row.note}",
                    flush=True,
                )

    def measure_row(
        self,
        target: str,
        server: Server,
        model: str,
        url: str,
        script: Path,
        concurrency: int,
        pinned: bool,
        stats: Stats | None,
    ) -> Row:
        """Warm-up, then the measurement; measured again (up to --retries times) while other processes
        took more than --max-background % of a core, keeping the least disturbed try."""
        best: Row | None = None
        for attempt in range(1 + self.args.retries):
            if attempt:
                print(f" [disturbed: {best.background if best else 0:.0f}% background CPU, again]", end="", flush=True)
            wait_quiet(server.pid, self.args.max_background, self.args.quiet_wait)
            wrk(url, script, concurrency, self.args.warmup, pinned)
            before = stats(model) if stats else None
            cpu = Background(server.pid)
            load = wrk(url, script, concurrency, self.args.duration, pinned)
            background = cpu.percent()
            note = batch_note(before, stats(model)) if stats and before else ""
            row = Row(target, model, concurrency, load, note, background=background, attempts=attempt + 1)
            if best is None or row.background < best.background:
                best = row
            if best.background <= self.args.max_background:
                break
        assert best is not None
        best.attempts = attempt + 1
        return best

    def fail(self, target: str, models: tuple[str, ...], reason: str) -> None:
        print(f"\n!! {target}: {reason}\n", flush=True)
        for model in models:
            self.rows.append(Row(target, model, 0, None, failure=short(reason)))


class Background:
    """CPU used, from now until `percent()`, by user-space processes other than the server under test
    (process group `server_pgid`) and this script's own group (wrk), plus hypervisor steal; as a % of one
    core. A high figure means something else ran on the machine during the measurement."""

    def __init__(self, server_pgid: int) -> None:
        self.exclude = {server_pgid, os.getpgrp()}
        self.start = time.monotonic()
        self.before = _cpu_by_pid(self.exclude)
        self.steal = _steal_seconds()

    def percent(self) -> float:
        after = _cpu_by_pid(self.exclude)
        used = sum(t - self.before.get(pid, 0.0) for pid, t in after.items() if t >= self.before.get(pid, 0.0))
        used += _steal_seconds() - self.steal
        return 100 * used / (time.monotonic() - self.start)


def wait_quiet(server_pgid: int, max_background: float, max_wait: float) -> None:
    """Wait (at most `max_wait` s) for a second in which other processes use at most `max_background` % of a core."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        cpu = Background(server_pgid)
        time.sleep(1.0)
        if cpu.percent() <= max_background:
            return


TICK = os.sysconf("SC_CLK_TCK")


def _cpu_by_pid(exclude_pgids: set[int]) -> dict[int, float]:
    """utime + stime (s) of every user-space process whose group is not excluded (kernel threads left out)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid, pgid = int(fields[1]), int(fields[2])
        if pgid in exclude_pgids or ppid == 2 or entry.name == "2":
            continue
        out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def _steal_seconds() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / TICK if len(fields) > 8 else 0.0


def short(reason: str) -> str:
    """The first line of a failure and, when it has more, its last (a traceback's exception)."""
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    return " … ".join(lines[:1] + lines[-1:]) if len(lines) > 1 else (lines[0] if lines else "")


def batching(stats_url: str, model: str, headers: dict[str, str]) -> dict[str, float] | None:
    with contextlib.suppress(BenchError, OSError, ValueError):
        for entry in http_json(stats_url, headers=headers)["models"]:
            if entry["name"] == model:
                return dict(entry["batching"])
    return None


def batch_note(before: dict[str, float], after: dict[str, float] | None) -> str:
    if after is None:
        return ""
    batches = after["batches"] - before["batches"]
    requests = after["requests"] - before["requests"]
    return f"{requests / batches:.1f} req/batch" if batches else ""


# --------------------------------------------------------------------------- the servers


def run_hello(runner: Runner) -> None:
    port = free_port()
    argv = [str(OUR_BIN / "python"), "-m", "uvicorn", "hello_app:app", "--app-dir", str(HERE)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    argv += ["--no-access-log", "--log-level", "warning", "--workers", "1"]
    server = Server(HELLO, argv, runner.setup.logdir)
    body = v2_body(runner.setup.row)
    url = f"http://127.0.0.1:{port}/v2/models/logreg/infer"
    try:
        with running(server):
            server.wait_ready([url.replace("/infer", "")], 60)
            runner.measure(HELLO, server, {"logreg": Endpoint(url, body, None)})
    except BenchError as exc:
        runner.fail(HELLO, ("logreg",), str(exc))


def run_shipyard(runner: Runner, workers: int, target: str) -> None:
    setup = runner.setup
    if "shipyard" in setup.failures:
        runner.fail(target, MODELS, setup.failures["shipyard"])
        return
    port = free_port()
    pinned = workers == 1
    argv = [str(OUR_BIN / "shipyard"), "serve", "--port", str(port), "--no-grpc", "--workers", str(workers)]
    server = Server(target, argv, setup.logdir, env={"SHIPYARD_HOME": str(setup.work / "shipyard-home")}, pinned=pinned)
    base = f"http://127.0.0.1:{port}"
    try:
        with running(server):
            server.wait_ready([f"{base}/v2/health/ready"], 120)
            headers = auth_headers(setup.work / "shipyard-home")
            server.wait_ready([f"{base}/v2/models/{m}/ready" for m in MODELS], 120, headers)
            body = v2_body(setup.row)
            endpoints = {m: Endpoint(f"{base}/v2/models/{m}/infer", body, v2_proba, headers) for m in MODELS}
            for model, endpoint in endpoints.items():
                for _ in range(2 * workers):  # every worker loads both models (requests spread over workers)
                    check_answer(endpoint, setup.checks["shipyard"][model])
            if workers == 1:
                # uvicorn with one worker serves in the process it was started as (taskset execs it).
                rss = proc_status_mb(server.pid, "VmRSS")
                runner.rss[SHIPYARD] = f"{rss:.0f} MB"
                runner.rss_value = rss
            stats_url = f"{base}/debug/batching"
            stats = (lambda model: batching(stats_url, model, headers)) if workers == 1 else None
            runner.measure(target, server, endpoints, pinned=pinned, stats=stats)
            if workers == 1:
                rss_after = proc_status_mb(server.pid, "VmRSS")
                peak = proc_status_mb(server.pid, "VmHWM")
                runner.notes.append(
                    f"Shipyard worker (pid {server.pid}) RSS: {runner.rss_value:.0f} MB once both models had "
                    f"answered, {rss_after:.0f} MB after the load runs (peak {peak:.0f} MB)."
                )
            else:
                workers_rss = [proc_status_mb(pid, "VmRSS") for pid in _children(server.pid)]
                runner.rss[target] = (
                    f"{group_rss_mb(server.pid):.0f} MB all processes (workers: "
                    + ", ".join(f"{r:.0f}" for r in workers_rss)
                    + " MB)"
                )
    except (BenchError, OSError) as exc:
        runner.fail(target, MODELS, str(exc))


def mlserver_repository(setup: Setup, root: Path, port: int, batching: bool) -> None:
    root.mkdir()
    settings = {
        "debug": False,  # MLServer's default (True) writes an access-log line per request
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": setup.mlserver_parallel_workers,
    }
    (root / "settings.json").write_text(json.dumps(settings, indent=2))
    for model in MODELS:
        (root / model).mkdir()
        model_settings: dict[str, Any] = {
            "name": model,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": str(setup.work / "mlserver" / model / "model.joblib")},
        }
        if batching:
            model_settings |= {"max_batch_size": 64, "max_batch_time": 0.01}
        (root / model / "model-settings.json").write_text(json.dumps(model_settings, indent=2))


def run_mlserver(runner: Runner, batching: bool) -> None:
    setup = runner.setup
    target = MLSERVER_BATCH if batching else MLSERVER
    if "mlserver" in setup.failures:
        runner.fail(target, MODELS, "not installed: " + setup.failures["mlserver"])
        return
    port = free_port()
    root = setup.work / ("mlserver-batching" if batching else "mlserver-plain")
    mlserver_repository(setup, root, port, batching)
    mlserver = setup.pythons["mlserver"].parent / "mlserver"
    server = Server(target, [str(mlserver), "start", str(root)], setup.logdir)
    base = f"http://127.0.0.1:{port}"
    endpoints = {m: Endpoint(f"{base}/v2/models/{m}/infer", v2_body(setup.row), v2_proba) for m in MODELS}
    try:
        with running(server):
            server.wait_ready([f"{base}/v2/health/ready"] + [f"{base}/v2/models/{m}/ready" for m in MODELS], 180)
            for model, endpoint in endpoints.items():
                check_answer(endpoint, setup.checks["mlserver"][model])
            runner.rss[target] = f"{group_rss_mb(server.pid):.0f} MB (all its processes)"
            runner.measure(target, server, endpoints)
    except (BenchError, OSError) as exc:
        runner.fail(target, MODELS, str(exc))


def run_mlflow(runner: Runner) -> None:
    setup = runner.setup
    if "mlflow" in setup.failures:
        runner.fail(MLFLOW, MODELS, "not installed: " + setup.failures["mlflow"])
        return
    mlflow = setup.pythons["mlflow"].parent / "mlflow"
    rss = []
    for model in MODELS:  # `mlflow models serve` serves one model per server
        port = free_port()
        argv = [str(mlflow), "models", "serve", "-m", str(setup.work / "mlflow" / model)]
        argv += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
        server = Server(f"{MLFLOW} {model}", argv, setup.logdir, env={"MLFLOW_TRACKING_URI": "file:///dev/null"})
        base = f"http://127.0.0.1:{port}"
        endpoint = Endpoint(f"{base}/invocations", mlflow_body(setup.columns, setup.row), mlflow_proba)
        try:
            with running(server):
                server.wait_ready([f"{base}/ping"], 180)
                check_answer(endpoint, setup.checks["mlflow"][model])
                rss.append(f"{model} {group_rss_mb(server.pid):.0f} MB")
                runner.measure(MLFLOW, server, {model: endpoint})
        except (BenchError, OSError) as exc:
            runner.fail(MLFLOW, (model,), str(exc))
    runner.rss[MLFLOW] = ", ".join(rss) + " (one server per model, all its processes)"


# --------------------------------------------------------------------------- report


def fmt_ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}×" if value and base else "–"


def find(rows: list[Row], target: str, model: str, concurrency: int) -> Load | None:
    for row in rows:
        if row.target == target and row.model == model and row.concurrency == concurrency and row.load:
            return row.load
    return None


def main_table(rows: list[Row]) -> list[str]:
    out = [
        "| server | model | conc. | req/s | p50 ms | p99 ms | errors | req/s vs MLServer (plain / batching) "
        "| p50 vs MLServer | p99 vs MLServer | bg CPU | notes |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        if row.load is None:
            conc = str(row.concurrency) if row.concurrency else "–"
            out.append(f"| {row.target} | {row.model} | {conc} | – | – | – | – | – | – | – | – | {row.failure[:120]} |")
            continue
        load = row.load
        note = "; ".join(n for n in (row.note, f"best of {row.attempts} tries" if row.attempts > 1 else "") if n)
        base = find(rows, MLSERVER, row.model, row.concurrency)
        batch = find(rows, MLSERVER_BATCH, row.model, row.concurrency)

        def ratios(attr: str, load: Load = load, base: Load | None = base, batch: Load | None = batch) -> str:
            mine = getattr(load, attr)
            return (
                f"{fmt_ratio(mine, getattr(base, attr) if base else None)} / "
                f"{fmt_ratio(mine, getattr(batch, attr) if batch else None)}"
            )

        out.append(
            f"| {row.target} | {row.model} | {row.concurrency} | {load.rps:,.0f} | {load.p50_ms:.2f} "
            f"| {load.p99_ms:.2f} | {load.errors} | {ratios('rps')} | {ratios('p50_ms')} | {ratios('p99_ms')} "
            f"| {row.background:.0f}% | {note} |"
        )
    return out


def workers_table(rows: list[Row], workers_target: str, concurrency: list[int]) -> list[str]:
    out = [
        f"| model | conc. | 1 worker pinned req/s | {workers_target} req/s | 1 worker p50 / p99 ms "
        f"| {workers_target} p50 / p99 ms | errors (1w / multi) | multi req/s vs MLServer |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for model in MODELS:
        for c in concurrency:
            one, many = find(rows, SHIPYARD, model, c), find(rows, workers_target, model, c)
            base = find(rows, MLSERVER, model, c)
            out.append(
                f"| {model} | {c} | {f'{one.rps:,.0f}' if one else '–'} | {f'{many.rps:,.0f}' if many else '–'} "
                f"| {f'{one.p50_ms:.2f} / {one.p99_ms:.2f}' if one else '–'} "
                f"| {f'{many.p50_ms:.2f} / {many.p99_ms:.2f}' if many else '–'} "
                f"| {one.errors if one else '–'} / {many.errors if many else '–'} "
                f"| {fmt_ratio(many.rps if many else None, base.rps if base else None)} |"
            )
    return out


def verdicts(rows: list[Row], rss: float | None) -> list[str]:
    out = []

    def say(ok: bool | None, text: str) -> None:
        out.append(f"- {'MET' if ok else 'not measured' if ok is None else 'MISSED'}: {text}")

    for model, target in TARGETS.items():
        for c in (16, 64):
            load = find(rows, SHIPYARD, model, c)
            got = f"{load.rps:,.0f}" if load else "–"
            say(load and load.rps >= target["rps"], f"{model} ≥ {target['rps']:,.0f} req/s at concurrency {c} ({got})")
    for model in MODELS:
        load = find(rows, SHIPYARD, model, 64)
        got = f"p99 {load.p99_ms:.1f} ms, {load.errors} errors" if load else "–"
        say(load and load.p99_ms <= P99_TARGET_MS and load.errors == 0, f"{model} p99 ≤ 50 ms at 64, no errors ({got})")
    load = find(rows, SHIPYARD, "logreg", 1)
    say(
        load and load.p50_ms <= P50_TARGET_MS,
        f"logreg p50 ≤ 1 ms at concurrency 1 ({load.p50_ms:.2f} ms)" if load else "logreg p50 ≤ 1 ms at 1",
    )
    say(
        None if rss is None else rss <= RSS_TARGET_MB,
        f"one worker holding both models ≤ 300 MB RSS ({rss:.0f} MB)" if rss else "RSS ≤ 300 MB",
    )
    return out


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    return f"{os.cpu_count()} cores ({model}){mem}, Linux {os.uname().release}"


def report(runner: Runner, args: argparse.Namespace, started: float) -> str:
    setup = runner.setup
    workers_target = f"Shipyard --workers {args.workers}"
    lines = [
        f"# Serving benchmark, {datetime.date.today().isoformat()}",
        "",
        f"Command: `{' '.join(['python bench/serving/run.py', *sys.argv[1:]])}`",
        f"Machine: {machine()}. Servers pinned to core {SERVER_CORE}, wrk to core {LOADGEN_CORE} "
        f"(1 thread); {args.warmup} s warm-up + {args.duration} s per row; one row per request, predict_proba.",
        "Versions: "
        + "; ".join(f"{tool}: " + ", ".join(f"{p} {v}" for p, v in vs.items()) for tool, vs in setup.versions.items()),
        f"MLServer: parallel_workers={args.mlserver_parallel_workers}, debug=false (no access log); with batching: "
        "adaptive batching, max_batch_size 64, max_batch_time 0.01 s. "
        "MLflow: `mlflow models serve --env-manager local -w 1`, "
        "one server per model. Ratios are this row's figure divided by MLServer's for the same model and "
        "concurrency (plain / batching). bg CPU: CPU used by other processes during the row (+ steal), % of a core.",
        "",
        *main_table(runner.rows),
        "",
    ]
    if args.workers > 1 and "workers" in args.only:
        lines += [
            f"With `--workers {args.workers}`, nothing pinned (wrk with 2 threads), beside the 1-worker pinned run:",
            "",
            *workers_table(runner.rows, workers_target, args.concurrency),
            "",
        ]
    lines += ["Memory (VmRSS once every model had answered):", ""]
    lines += [f"- {target}: {value}" for target, value in runner.rss.items()]
    lines += [f"- {note}" for note in runner.notes]
    lines += ["", "Targets (Shipyard, 1 worker pinned):", ""]
    lines += verdicts(runner.rows, runner.rss_value)
    for tool, reason in setup.failures.items():
        lines += ["", f"{tool} could not be set up: {short(reason)}"]
    lines += ["", f"Run took {(time.monotonic() - started) / 60:.1f} min."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per row (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each row (default 2)")
    parser.add_argument("--concurrency", default="1,16,64", help="connections, comma-separated (default 1,16,64)")
    parser.add_argument(
        "--workers", type=int, default=2, help="Shipyard workers of the unpinned run (default 2; 1 skips it)"
    )
    parser.add_argument(
        "--only",
        default="hello,shipyard,mlserver,mlflow,workers",
        help="comma-separated subset of hello,shipyard,mlserver,mlflow,workers",
    )
    parser.add_argument(
        "--max-background",
        type=float,
        default=10.0,
        help="measure a row again when other processes used more than this %% of a core meanwhile (default 10)",
    )
    parser.add_argument("--retries", type=int, default=2, help="extra tries of a disturbed row (default 2)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each try, wait up to this many seconds for the machine to be quiet (default 30)",
    )
    parser.add_argument(
        "--mlserver-parallel-workers",
        type=int,
        default=0,
        help="MLServer's parallel_workers (default 0: inference in the server process)",
    )
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.only = set(args.only.split(","))
    return args


def check_tools() -> None:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install wrk util-linux")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 cores: servers on core 0, wrk on core 1")


def main() -> None:
    args = parse_args()
    check_tools()
    started = time.monotonic()
    # Ctrl-C and SIGTERM both end in the `finally` below (SIGINT may arrive ignored, as in `cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    work = Path(tempfile.mkdtemp(prefix="shipyard-bench-serving-"))
    try:
        print("Setting up (virtualenvs, models) …", flush=True)
        setup = prepare(work, args.only)
        setup.mlserver_parallel_workers = args.mlserver_parallel_workers
        runner = Runner(args, setup)
        print("Measuring …", flush=True)
        if "hello" in args.only:
            run_hello(runner)
        if "shipyard" in args.only:
            run_shipyard(runner, 1, SHIPYARD)
        if "mlserver" in args.only:
            run_mlserver(runner, batching=False)
            run_mlserver(runner, batching=True)
        if "mlflow" in args.only:
            run_mlflow(runner)
        if "workers" in args.only and args.workers > 1:
            run_shipyard(runner, args.workers, f"Shipyard --workers {args.workers}")
        text = report(runner, args, started)
        print("\n" + text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"serving-{datetime.date.today().isoformat()}.md"
        out.write_text(text)
        print(f"Written to {out.relative_to(ROOT)}")
    except KeyboardInterrupt:
        print("\nInterrupted; stopping servers.", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        Server.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
