"""The Shipyard side of the batch benchmark, run by run.py in our .venv, one step per process.

worker.py generate PATH ROWS FEATURES
worker.py register HOME FEATURES MODEL      → JSON: the version and a checksum of its predictions
worker.py ceiling HOME PATH FEATURES        → JSON: seconds of model.predict on the whole in-memory array
worker.py floor HOME PATH FEATURES BATCH_ROWS → JSON: seconds of reading the file and predicting, nothing else
worker.py ours HOME PATH OUT BATCH_ROWS     → JSON: seconds of the batch job (imports done before the clock)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import checksum, cpu_seconds, feature_names, generate, train, training_data


def settings(home: str):  # type: ignore[no-untyped-def]
    from shipyard.config import Settings

    return Settings(home=Path(home), user="bench")


def register(home: str, features: int, kind: str) -> dict[str, object]:
    from shipyard.registry import open_registry

    model = train(features, kind)
    data, target = training_data(features)
    version = open_registry(settings(home)).register(model, "bench", data=data.head(10_000), target=target[:10_000])
    return {"uri": version.uri, "checksum": checksum(model, features)}


def ceiling(home: str, path: str, features: int) -> dict[str, object]:
    """The model's own predict on the whole file, already in memory: what no pipeline can beat."""
    from shipyard.registry import open_registry

    model = open_registry(settings(home)).load("bench/1")
    names = feature_names(features)
    parquet = pq.ParquetFile(path)
    rows = parquet.metadata.num_rows
    block = np.empty((rows, features), dtype=np.float64, order="F")
    start = 0
    for batch in parquet.iter_batches(batch_size=1_000_000, columns=names):
        for i in range(features):
            block[start : start + batch.num_rows, i] = batch.column(i).to_numpy()
        start += batch.num_rows
    frame = pd.DataFrame(block, columns=names, copy=False)  # the model was trained on a DataFrame
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        began, cpu = time.perf_counter(), cpu_seconds()
        predicted = model.predict(frame)
        best, best_cpu = min(best, time.perf_counter() - began), min(best_cpu, cpu_seconds() - cpu)
    return {"rows": rows, "seconds": best, "cpu_seconds": best_cpu, "positives": int(np.sum(predicted))}


def floor(home: str, path: str, features: int, batch_rows: int) -> dict[str, object]:
    """Read the file batch by batch and predict each batch, nothing else (no checks, no output written),
    on one thread, best of 3 like the ceiling: what reading costs on top of the ceiling's `predict`."""
    from shipyard.registry import open_registry

    model = open_registry(settings(home)).load("bench/1")
    names = feature_names(features)
    labels = pd.Index(names, dtype=object)

    def read_and_predict() -> tuple[int, int]:
        rows = positives = 0
        # No pre-buffering: it would keep every row group read until the end (the whole file).
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows, columns=names):
            block = np.empty((batch.num_rows, features), dtype=np.float64, order="F")
            for i in range(features):
                block[:, i] = batch.column(i).to_numpy()
            positives += int(np.sum(model.predict(pd.DataFrame(block, columns=labels, copy=False))))
            rows += batch.num_rows
        return rows, positives

    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        began, cpu = time.perf_counter(), cpu_seconds()
        rows, positives = read_and_predict()
        best, best_cpu = min(best, time.perf_counter() - began), min(best_cpu, cpu_seconds() - cpu)
    return {"rows": rows, "seconds": best, "cpu_seconds": best_cpu, "positives": positives}


def ours(home: str, path: str, out: str, batch_rows: int) -> dict[str, object]:
    from shipyard.batch import BatchSpec, run_batch
    from shipyard.registry import open_registry

    registry = open_registry(settings(home))
    registry.load("bench/1")  # imports scikit-learn and skops before the clock starts, as the ceiling's load did
    spec = BatchSpec("bench/1", path, out, batch_rows=batch_rows, id_column="id", outputs=("predict",))
    began, cpu = time.perf_counter(), cpu_seconds()
    job = run_batch(registry, settings(home), spec)
    seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    positives = int(pq.read_table(out, columns=["predict"]).column(0).to_numpy().sum())
    return {"rows": job.rows_in, "seconds": seconds, "cpu_seconds": cpu, "job_seconds": job.duration_seconds,
            "positives": positives,
            "rows_out": job.rows_out, "job": job.id}  # fmt: skip


def main() -> None:
    step, *args = sys.argv[1:]
    if step == "generate":
        generate(Path(args[0]), int(args[1]), int(args[2]))
        result: dict[str, object] = {"ok": True}
    elif step == "register":
        result = register(args[0], int(args[1]), args[2])
    elif step == "ceiling":
        result = ceiling(args[0], args[1], int(args[2]))
    elif step == "floor":
        result = floor(args[0], args[1], int(args[2]), int(args[3]))
    elif step == "ours":
        result = ours(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
