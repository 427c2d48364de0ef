"""What the metrics cost per request: `WorkerMetrics.observe` timed in process (timeit), in-memory values
and multiprocess (memory-mapped files, as `shipyard serve` runs it), plus one batch hook call and one
flush of the tallies (once per second in a server). Prints a table; the figures go to
docs/benchmarks.md ("Metrics overhead").

    python bench/metrics/bench_observe.py            # full run (1,000,000 observations per case)
    python bench/metrics/bench_observe.py --n 20000  # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CASE = r"""
import json, sys, timeit
from dataclasses import dataclass, field
from pathlib import Path
from shipyard.monitoring.metrics.multiproc import configured_dir
from shipyard.monitoring.metrics.worker import WorkerMetrics

@dataclass
class Call:
    protocol: str = "v2"

@dataclass
class Record:
    endpoint: str = "churn"
    model: str = "churn"
    version: int = 3
    arm: str = "primary"
    status: str = "ok"
    latency_seconds: float = 0.004
    cached: bool = False
    call: Call = field(default_factory=Call)

n = int(sys.argv[1])
metrics = WorkerMetrics(configured_dir())
record, failed = Record(), Record(status="ModelFailed")
hook = metrics.batch_hook("churn", 3)
metrics.observe(record); metrics.observe(failed)  # label children created once, as in a server
many = [Record(endpoint=f"e{i}", model=f"m{i}") for i in range(100)]

def flush_100():
    for r in many:
        metrics.observe(r)
    metrics.flush()

best = lambda fn, k=n: min(timeit.repeat(fn, number=k, repeat=3)) / k * 1e6
print(json.dumps({
    "observe (ok)": best(lambda: metrics.observe(record)),
    "observe (error)": best(lambda: metrics.observe(failed)),
    "batch hook (1 request)": best(lambda: hook(1, 1, [0.0001], 0.002)),
    "flush, 100 series changed": best(flush_100, max(1, n // 1000)),
    "empty call": best(lambda: None),
}))
"""


def run_case(n: int, multiprocess: bool) -> dict[str, float]:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = folder
        else:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        out = subprocess.run([sys.executable, "-c", CASE, str(n)], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="observations per timing (best of 3)")
    args = parser.parse_args()
    results = {"in process": run_case(args.n, False), "multiprocess (files)": run_case(args.n, True)}
    print(f"{'µs per call':<26}" + "".join(f"{mode:>22}" for mode in results))
    for step in next(iter(results.values())):
        print(f"{step:<26}" + "".join(f"{results[mode][step]:>22.2f}" for mode in results))


if __name__ == "__main__":
    main()
