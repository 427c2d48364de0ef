"""Benchmark: batch scoring a large Parquet file, Shipyard's local engine against its ceiling and MLflow (issue 7).

    python bench/batch/run.py [--rows 10000000] [--features 30] [--batch-rows 100000] [--only ceiling,floor,ours,mlflow]

Same machine, same run, same data and model. The data is `--rows` rows of an int64 id and 30
float64 features, generated deterministically (bench/batch/common.py) into one snappy Parquet file
(~2.4 GB at 10 M rows; kept under bench/results/batch-work/ and reused). The model is a logistic
regression, fast on purpose so that reading, checking and writing are what is measured.

Four measurements, each in its own process (so each peak RSS is its own):
- ceiling: the registered model's `predict` on the whole file already in memory (one array, best of 3);
- floor (read + predict): the file read with pyarrow in `--batch-rows` batches, each turned into the
  model's input and predicted, on one thread, nothing else (no checks, nothing written; best of 3).
  For a model as fast as the logistic regression, reading costs more than predicting, so this, not
  the ceiling, is what bounds a pipeline that reads the file (ours overlaps the two steps, and may
  beat it where there are cores to spare);
- ours: `run_batch` of the file (local engine, `--outputs predict`, id column kept; imports and the
  first model load done before the clock, as for the ceiling);
- MLflow: the same model saved with `mlflow.sklearn` in bench/.venvs/mlflow, scored as a pyfunc over
  pandas chunks of the same size, read with pyarrow and written as Parquet.

Targets: ours ≥ 90% of the ceiling's rows/s, ours' peak RSS < 1.5 GB, ours faster than MLflow. The report
also gives ours as a share of the floor: the overhead of checking rows and writing the output.
Results go to stdout and bench/results/batch-<date>.md. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are
unset for every measured process (they slow numpy on this machine; see the environment notes).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _serving_bench() -> Any:
    """The serving benchmark's module: its virtualenv helpers (`ensure_venv`, `versions`) are reused here."""
    spec = importlib.util.spec_from_file_location("serving_bench", ROOT / "bench" / "serving" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["serving_bench"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_serving = _serving_bench()
ensure_venv, versions = _serving.ensure_venv, _serving.versions
# The serving benchmark's MLflow virtualenv, package for package, so that both benchmarks share it.
MLFLOW_PACKAGES = _serving.MLFLOW_PACKAGES

RESULTS = ROOT / "bench" / "results"
OURS = ROOT / ".venv" / "bin" / "python"
CEILING_SHARE = 0.90
RSS_LIMIT_MB = 1536.0


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONWARNINGS"] = "ignore"
    return env


def warm_cache(path: Path) -> None:
    """Read the file once so that every measurement starts with it in the page cache, none from disk."""
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass


def measure(argv: list[str], log: Path) -> tuple[dict[str, object], float]:
    """Run one step; its JSON result and its peak RSS in MiB (from wait4, this child alone)."""
    with open(log, "a") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, env=child_env(), cwd=ROOT)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(argv[1:3])}` failed ({proc.returncode}); see {log}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--only", default="ceiling,floor,ours,mlflow")
    parser.add_argument("--model", default="logreg", choices=["logreg", "hgb"], help="logreg (I/O-bound) or hgb")
    parser.add_argument("--work", type=Path, default=RESULTS / "batch-work")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    wanted = set(args.only.split(","))
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    data = work / f"data-{args.rows}x{args.features}.parquet"
    if not data.exists():
        print(f"generating {data} …", flush=True)
        measure([str(OURS), str(HERE / "worker.py"), "generate", str(data), str(args.rows), str(args.features)], log)
    home = work / f"shipyard-home-{args.model}"
    shutil.rmtree(home, ignore_errors=True)
    registered, _ = measure(
        [str(OURS), str(HERE / "worker.py"), "register", str(home), str(args.features), args.model], log
    )
    labels: dict[str, str] = {}
    results: dict[str, dict[str, object]] = {}

    if "ceiling" in wanted:
        print("ceiling: model.predict on the whole in-memory array …", flush=True)
        step = [str(OURS), str(HERE / "worker.py"), "ceiling", str(home), str(data), str(args.features)]
        warm_cache(data)
        results["ceiling"], rss = measure(step, log)
        results["ceiling"]["rss_mib"] = rss
        labels["ceiling"] = "ceiling: the model's `predict` on the whole in-memory array"
    if "floor" in wanted:
        print("floor: read the file and predict, nothing else …", flush=True)
        step = [str(OURS), str(HERE / "worker.py"), "floor", str(home), str(data), str(args.features)]
        warm_cache(data)
        results["floor"], rss = measure([*step, str(args.batch_rows)], log)
        results["floor"]["rss_mib"] = rss
        labels["floor"] = f"floor: pyarrow read + `predict`, {args.batch_rows:,}-row batches, one thread"
    if "ours" in wanted:
        print("ours: shipyard batch, local engine …", flush=True)
        out = work / f"out-ours-{args.model}"
        shutil.rmtree(out, ignore_errors=True)
        step = [str(OURS), str(HERE / "worker.py"), "ours", str(home), str(data), str(out), str(args.batch_rows)]
        warm_cache(data)
        results["ours"], rss = measure(step, log)
        results["ours"]["rss_mib"] = rss
        labels["ours"] = f"Shipyard, local engine ({args.batch_rows:,}-row chunks)"
    if "mlflow" in wanted:
        print("MLflow: pyfunc over pandas chunks …", flush=True)
        sklearn = versions(OURS, ["scikit-learn"])["scikit-learn"]
        python = ensure_venv("mlflow", [*MLFLOW_PACKAGES, f"scikit-learn=={sklearn}"], work / "pip-mlflow.log")
        folder = work / f"mlflow-{args.model}"
        shutil.rmtree(folder, ignore_errors=True)
        prepared, _ = measure(
            [str(python), str(HERE / "mlflow_worker.py"), "prepare", str(folder), str(args.features), args.model], log
        )
        if prepared["checksum"] != registered["checksum"]:
            raise SystemExit(f"the MLflow model differs from ours: {prepared} vs {registered}")
        out = work / f"out-mlflow-{args.model}.parquet"
        step = [
            str(python),
            str(HERE / "mlflow_worker.py"),
            "score",
            str(folder),
            str(data),
            str(out),
            str(args.batch_rows),
        ]
        warm_cache(data)
        results["mlflow"], rss = measure(step, log)
        results["mlflow"]["rss_mib"] = rss
        labels["mlflow"] = f"MLflow {versions(python, ['mlflow'])['mlflow']} pyfunc over pandas chunks"

    positives = {name: r.get("positives") for name, r in results.items()}
    if len(set(positives.values())) > 1:
        raise SystemExit(f"the measurements disagree on the predictions: {positives}")
    print(report(args, labels, results))


def report(args: argparse.Namespace, labels: dict[str, str], results: dict[str, dict[str, object]]) -> str:
    def figure(key: str, name: str) -> float:
        return float(results[key][name])  # type: ignore[arg-type]

    speed = {key: figure(key, "rows") / figure(key, "seconds") for key in results}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"### Batch scoring, {args.rows:,} rows × {args.features} float features, model {args.model} "
        f"({datetime.date.today()})",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"load average at the end {load}. Command: `python3 bench/batch/run.py {' '.join(sys.argv[1:])}`.",
        "",
        "| | rows/s | CPU s per 1M rows | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    for key, label in labels.items():
        cpu = figure(key, "cpu_seconds") / figure(key, "rows") * 1e6
        lines.append(f"| {label} | {speed[key]:,.0f} | {cpu:.2f} | {figure(key, 'rss_mib'):,.0f} MiB |")
    lines.append("")
    if "ceiling" in speed and "ours" in speed:
        share = speed["ours"] / speed["ceiling"]
        verdict = "meets" if share >= CEILING_SHARE else "misses"
        lines.append(f"- Shipyard reaches {share:.0%} of the ceiling ({verdict} the {CEILING_SHARE:.0%} target).")
    if "ceiling" in speed and "floor" in speed:
        floor_share = speed["floor"] / speed["ceiling"]
        lines.append(
            f"- Reading the file and predicting, nothing else, reaches {floor_share:.0%} of the ceiling: "
            "what a pipeline that reads the file reaches on one thread before it checks or writes anything."
        )
    if "floor" in speed and "ours" in speed:
        lines.append(f"- Shipyard runs at {speed['ours'] / speed['floor']:.0%} of the read + predict floor.")
    if "ours" in results:
        rss = figure("ours", "rss_mib")
        verdict = "meets" if rss < RSS_LIMIT_MB else "misses"
        lines.append(f"- Shipyard's peak RSS is {rss:,.0f} MiB ({verdict} the {RSS_LIMIT_MB:,.0f} MiB target).")
        lines.append(
            f"- The job's own duration (model load and planning included): {figure('ours', 'job_seconds'):.1f} s."
        )
    if "ours" in speed and "mlflow" in speed:
        lines.append(f"- Shipyard's rows/s are {speed['ours'] / speed['mlflow']:.1f}× MLflow's.")
    text = "\n".join(lines)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"batch-{args.model}-{datetime.date.today()}.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
