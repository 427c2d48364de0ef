"""Drift benchmark: Shipyard, Evidently's DataDriftPreset, a plain scipy pass and the floor, side by
side in one run on the same synthetic data (see data.py), each measured in its own process.

    python bench/drift/run.py                       # 100k, 1m and 10m current rows (the full run)
    python bench/drift/run.py --sizes 100k          # a quick check that everything works

Per tool and data set: the time of the work (reading the current Parquet file included; interpreter
start and imports not — the same for every tool), the process's peak RSS (its own `ru_maxrss`, imports
included), and the columns it flagged. Shipyard must flag exactly the drifted columns of the drifted variant and none of
the undrifted one. Evidently runs in its own virtualenv (bench/.venvs/evidently, created on first use:
Evidently 0.7.23 does not import with pandas 3). Results: a table here and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import data

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUR_PYTHON = ROOT / ".venv" / "bin" / "python"
VENVS = ROOT / "bench" / ".venvs"
RESULTS = ROOT / "bench" / "results"
EVIDENTLY_PACKAGES = ["evidently==0.7.23", "pandas<3", "pyarrow"]
MODEL = "bench-drift"
TARGET_SECONDS, TARGET_RSS_MB = 3.0, 600.0


def ensure_evidently(log: Path) -> Path:
    """bench/.venvs/evidently, made once (reused while the package list is the same)."""
    venv = VENVS / "evidently"
    python = venv / "bin" / "python"
    stamp = venv / (".bench-installed-" + hashlib.sha256("\n".join(EVIDENTLY_PACKAGES).encode()).hexdigest()[:12])
    if python.exists() and stamp.exists():
        return python
    print(f"setting up {venv.relative_to(ROOT)} (once, a few minutes; log: {log})", flush=True)
    with log.open("a") as out:
        if not python.exists():
            subprocess.run([shutil.which("python3") or sys.executable, "-m", "venv", str(venv)], check=True, stdout=out)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_PACKAGES], check=True, stdout=out, stderr=out
        )
    for old in venv.glob(".bench-installed-*"):
        old.unlink()
    stamp.touch()
    return python


def ensure_reference(home: Path) -> None:
    """A registry whose model `bench-drift` holds the reference profile: all 100,000 rows as the sample."""
    code = f"""
import pandas as pd
from sklearn.dummy import DummyClassifier
from shipyard.config import RegistrySettings, Settings
from shipyard.errors import ModelNotFound
from shipyard.registry import open_registry
registry = open_registry(Settings(home={str(home)!r}, registry=RegistrySettings(profile_sample_size=100_000)))
try:
    registry.get_model({MODEL!r})
except ModelNotFound:
    frame = pd.read_parquet({str(data.reference_path())!r})
    target = (frame["num_0"] > 0).astype(int)
    registry.register(DummyClassifier(strategy="prior").fit(frame, target), {MODEL!r}, data=frame)
"""
    subprocess.run([str(OUR_PYTHON), "-c", code], check=True)


def measure(argv: list[str], timeout: float) -> dict[str, Any]:
    """Run one measured process; its result line plus wall time and peak RSS from the kernel."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    # Peak RSS is the child's own ru_maxrss (RUSAGE_SELF, its whole life, imports included): the
    # parent's RUSAGE_CHILDREN is a maximum over every child so far, not this one's.
    wall = time.perf_counter() - started
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        return {"error": f"exit {process.returncode}: {err.strip().splitlines()[-1:] or out[-300:]}"}
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result["wall_seconds"] = round(wall, 3)
    result["peak_rss_mb"] = result.pop("peak_rss_mb_self")
    return result


def commands(tool: str, current: Path, home: Path, evidently: Path | None) -> list[str] | None:
    reference = str(data.reference_path())
    if tool == "shipyard":
        return [str(OUR_PYTHON), "tool_shipyard.py", str(home), MODEL, str(current)]
    if tool == "scipy":
        return [str(OUR_PYTHON), "tool_scipy.py", reference, str(current)]
    if tool == "floor":
        return [str(OUR_PYTHON), "tool_floor.py", str(current)]
    if tool == "evidently" and evidently is not None:
        return [str(evidently), "tool_evidently.py", reference, str(current)]
    return None


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = subprocess.run(
        [
            str(OUR_PYTHON),
            "-c",
            "import numpy, scipy, pyarrow, pandas; print(numpy.__version__, scipy.__version__, "
            "pyarrow.__version__, pandas.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": versions[0],
        "scipy": versions[1],
        "pyarrow": versions[2],
        "pandas": versions[3],
        "load_average_at_start": os.getloadavg(),
    }


def best_of(argv: list[str], repeat: int, timeout: float) -> dict[str, Any]:
    tries = [measure(argv, timeout) for _ in range(repeat)]
    good = [t for t in tries if "error" not in t]
    if not good:
        return tries[-1]
    best = min(good, key=lambda t: t["seconds"])
    best["tries_seconds"] = [t["seconds"] for t in good]
    best["peak_rss_mb"] = max(t["peak_rss_mb"] for t in good)
    return best


def check(result: dict[str, Any], drifted: bool) -> str:
    """ "ok" when exactly the drifted columns were flagged, else what was flagged too many or missed."""
    expected = set(data.DRIFTED) if drifted else set()
    if "error" in result:
        return "error"
    flagged = set(result["flagged"])
    extra, missed = sorted(flagged - expected), sorted(expected - flagged)
    return "ok" if not extra and not missed else f"also flagged {extra}, missed {missed}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["100k", "1m", "10m"], choices=sorted(data.SIZES))
    parser.add_argument("--tools", nargs="+", default=["shipyard", "floor", "scipy", "evidently"])
    parser.add_argument("--big-tools", nargs="+", default=["shipyard", "floor"], help="Tools run at 10m.")
    parser.add_argument("--repeat", type=int, default=3, help="Tries of shipyard and floor (best kept).")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    evidently = ensure_evidently(RESULTS / f"drift-pip-{stamp}.log") if "evidently" in args.tools else None
    home = data.DATA / "home"
    ensure_reference(home)
    runs: list[dict[str, Any]] = []
    report: dict[str, Any] = {"started": stamp, "machine": machine(), "runs": runs}
    print(
        f"{'rows':>5} {'variant':<10} {'tool':<10} {'seconds':>8} {'CPU s':>7} {'peak MB':>8}  flagged check",
        flush=True,
    )
    for size in args.sizes:
        tools = args.tools if size != "10m" else [t for t in args.tools if t in args.big_tools]
        for drifted in (True, False):
            current = data.current_path(size, drifted)
            for tool in tools:
                argv_ = commands(tool, current, home, evidently)
                if argv_ is None:
                    continue
                repeat = args.repeat if tool in ("shipyard", "floor") else 1
                result = best_of(argv_, repeat, args.timeout)
                result.update(size=size, rows=data.SIZES[size], variant="drifted" if drifted else "undrifted")
                result["check"] = check(result, drifted) if tool != "floor" else "-"
                runs.append(result)
                print(
                    f"{size:>5} {result['variant']:<10} {tool:<10} {result.get('seconds', float('nan')):>8.2f} "
                    f"{result.get('cpu_seconds', float('nan')):>7.2f} {result.get('peak_rss_mb', float('nan')):>8.0f}  "
                    f"{len(result.get('flagged', []))} "
                    f"{result['check'] if 'error' not in result else result['error']}",
                    flush=True,
                )
    report["load_average_at_end"] = os.getloadavg()
    report["verdicts"] = verdicts(runs)
    out = RESULTS / f"drift-{stamp}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    for line in report["verdicts"]:
        print(line)
    print(f"results: {out.relative_to(ROOT)}")
    return 0 if all("FAIL" not in line for line in report["verdicts"]) else 1


def verdicts(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for run in runs:
        if run.get("tool") == "shipyard" and run["check"] != "ok":
            lines.append(f"FAIL: shipyard on {run['size']} {run['variant']}: {run['check']}")
    by = {(r.get("tool"), r["size"], r["variant"]): r for r in runs if "error" not in r}
    for variant in ("drifted", "undrifted"):
        ours = by.get(("shipyard", "1m", variant))
        if ours is None:
            continue
        ok = ours["seconds"] <= TARGET_SECONDS and ours["peak_rss_mb"] <= TARGET_RSS_MB
        lines.append(
            f"{'PASS' if ok else 'FAIL'}: shipyard 1m {variant}: {ours['seconds']:.2f} s (target <= {TARGET_SECONDS}), "
            f"{ours['peak_rss_mb']:.0f} MB (target <= {TARGET_RSS_MB:.0f})"
        )
        for tool, factor in (("evidently", 20.0), ("scipy", 3.0)):
            other = by.get((tool, "1m", variant))
            if other is not None:
                speedup = other["seconds"] / ours["seconds"]
                verdict = "PASS" if speedup >= factor else "FAIL"
                lines.append(f"{verdict}: {speedup:.1f}x faster than {tool} (target >= {factor:.0f}x)")
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
