"""Benchmark: profile_data (and fingerprint) on 1,000,000 rows × 30 numeric features.

Target (shared/DESIGN.md rule 8 keeps targets here, not in unit tests): profile_data under 3 s
on a 2-core machine; fingerprint well under 1 s.

    python bench/profile/bench_profile.py [--rows 1000000] [--features 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from shipyard.schema import fingerprint, profile_data


def make_data(rows: int, features: int, seed: int = 0) -> pd.DataFrame:
    """Normal, log-normal, uniform and integer columns; every fifth column has 1% NaN."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(features):
        kind = i % 4
        if kind == 0:
            values = rng.normal(50.0, 10.0, rows)
        elif kind == 1:
            values = rng.lognormal(0.0, 1.0, rows)
        elif kind == 2:
            values = rng.uniform(-1.0, 1.0, rows)
        else:
            values = rng.integers(0, 1000, rows).astype(np.float64)
        if i % 5 == 0:
            values[rng.random(rows) < 0.01] = np.nan
        columns[f"f{i:02d}"] = values
    return pd.DataFrame(columns)


def peak_rss_mib() -> float:
    """Peak resident memory since the last `reset_peak_rss()` (Linux), else since the start."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    try:
        Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = make_data(args.rows, args.features)
    data_mib = data.memory_usage(index=False).sum() / 2**20
    resettable = reset_peak_rss()
    before = peak_rss_mib()
    profile_s = best_of(args.repeat, lambda: profile_data(data))
    profile_peak = peak_rss_mib()
    reset_peak_rss()
    fingerprint_s = best_of(args.repeat, lambda: fingerprint(data))
    fingerprint_peak = peak_rss_mib()
    blob = profile_data(data).to_bytes()

    print(f"data: {args.rows:,} rows × {args.features} float64 features ({data_mib:.0f} MiB), cpus={os.cpu_count()}")
    print(f"profile_data : best of {args.repeat} = {profile_s:.3f} s   (target < 3 s)")
    print(f"fingerprint  : best of {args.repeat} = {fingerprint_s:.3f} s   (target < 1 s)")
    print(
        f"peak RSS     : {before:.0f} MiB with the data loaded; {profile_peak:.0f} MiB while profiling "
        f"(+{profile_peak - before:.0f}); {fingerprint_peak:.0f} MiB while fingerprinting"
        + ("" if resettable else " (peak not resettable here: figures are since start)")
    )
    print(f"profile blob : {len(blob) / 2**20:.2f} MiB (to_bytes)")


if __name__ == "__main__":
    main()
