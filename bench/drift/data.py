"""Synthetic drift data, generated deterministically: 20 numeric + 5 categorical columns.

    reference.parquet            100,000 rows (seed 0)
    current-<rows>-drifted.parquet     drift injected in num_0..num_4 and cat_0, cat_1
    current-<rows>-undrifted.parquet   the reference's distributions, other seeds

Rows are generated in blocks of 1,000,000 (one Parquet row group each), every block from its own
seed, so the 10,000,000-row files are written in bounded memory and the same on every machine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REFERENCE_ROWS = 100_000
BLOCK = 1_000_000
DRIFTED = ["num_0", "num_1", "num_2", "num_3", "num_4", "cat_0", "cat_1"]
SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
DATA = Path(__file__).parent / "data"

Gen = np.random.Generator
Column = Callable[[Gen, int, bool], np.ndarray]


def _numeric_columns() -> list[Column]:
    def normal_shift(g: Gen, n: int, drift: bool) -> np.ndarray:
        return g.normal(0.5 if drift else 0.0, 1.0, n)

    def normal_scale(g: Gen, n: int, drift: bool) -> np.ndarray:
        return g.normal(5.0, 3.0 if drift else 2.0, n)

    def lognormal(g: Gen, n: int, drift: bool) -> np.ndarray:
        return g.lognormal(0.0, 0.8 if drift else 0.5, n)

    def exponential(g: Gen, n: int, drift: bool) -> np.ndarray:
        return g.exponential(1.6 if drift else 1.0, n)

    def uniform(g: Gen, n: int, drift: bool) -> np.ndarray:
        return g.uniform(2.0, 12.0, n) if drift else g.uniform(0.0, 10.0, n)

    stable: list[Column] = [
        lambda g, n, d: g.normal(100.0, 15.0, n),
        lambda g, n, d: g.gamma(2.0, 2.0, n),
        lambda g, n, d: g.beta(2.0, 5.0, n),
        lambda g, n, d: g.poisson(3.0, n).astype(np.float64),  # few distinct values: ties
        lambda g, n, d: np.round(g.normal(0.0, 1.0, n), 1),  # rounded: ties
        lambda g, n, d: np.where(g.random(n) < 0.3, g.normal(-2.0, 0.5, n), g.normal(2.0, 1.0, n)),  # bimodal
        lambda g, n, d: g.standard_t(3.0, n),  # heavy tails
        lambda g, n, d: _with_missing(g, g.normal(10.0, 1.0, n), 0.01),
        lambda g, n, d: g.weibull(1.5, n),
        lambda g, n, d: g.integers(0, 1000, n).astype(np.float64),
        lambda g, n, d: g.laplace(0.0, 1.0, n),
        lambda g, n, d: _with_missing(g, g.chisquare(4.0, n), 0.05),
        lambda g, n, d: g.logistic(0.0, 1.0, n),
        lambda g, n, d: g.pareto(3.0, n),
        lambda g, n, d: g.vonmises(0.0, 2.0, n),
    ]
    return [normal_shift, normal_scale, lognormal, exponential, uniform, *stable]


def _with_missing(g: Gen, values: np.ndarray, share: float) -> np.ndarray:
    values[g.random(len(values)) < share] = np.nan
    return values


def _categories(size: int) -> tuple[np.ndarray, np.ndarray]:
    names = np.array([f"v{i:03d}" for i in range(size)])
    weights = 1.0 / np.arange(1, size + 1) ** 1.1  # Zipf-like: a few frequent values, a long tail
    return names, weights / weights.sum()


CATEGORY_SIZES = [3, 5, 10, 50, 200]


def _categorical(g: Gen, n: int, size: int, drift: bool) -> pa.Array:
    names, p = _categories(size)
    if drift:
        p = p[::-1].copy()  # the rare values become the frequent ones
    return pa.array(names[g.choice(size, n, p=p)], pa.string())


def block(seed: int, index: int, rows: int, drift: bool) -> pa.Table:
    """One block of rows; column generators draw from their own streams, so adding one changes no other."""
    columns: dict[str, pa.Array] = {}
    for i, make in enumerate(_numeric_columns()):
        columns[f"num_{i}"] = pa.array(make(np.random.default_rng([seed, index, i]), rows, drift))
    for i, size in enumerate(CATEGORY_SIZES):
        g = np.random.default_rng([seed, index, 100 + i])
        columns[f"cat_{i}"] = _categorical(g, rows, size, drift and f"cat_{i}" in DRIFTED)
    return pa.table(columns)


def write(path: Path, rows: int, seed: int, drift: bool) -> Path:
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer: pq.ParquetWriter | None = None
    try:
        for index, start in enumerate(range(0, rows, BLOCK)):
            table = block(seed, index, min(BLOCK, rows - start), drift)
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=BLOCK)
    finally:
        if writer is not None:
            writer.close()
    partial.rename(path)
    return path


def reference_path() -> Path:
    return write(DATA / "reference.parquet", REFERENCE_ROWS, seed=0, drift=False)


def current_path(size: str, drifted: bool) -> Path:
    rows = SIZES[size]
    name = f"current-{size}-{'drifted' if drifted else 'undrifted'}.parquet"
    return write(DATA / name, rows, seed=1 if drifted else 2, drift=drifted)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="*", default=["100k"], choices=sorted(SIZES))
    args = parser.parse_args(argv)
    print(reference_path())
    for size in args.sizes:
        for drifted in (True, False):
            print(current_path(size, drifted))


if __name__ == "__main__":
    main(sys.argv[1:])
