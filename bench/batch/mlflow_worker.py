"""The MLflow side of the batch benchmark, run by run.py in bench/.venvs/mlflow.

    mlflow_worker.py prepare DIR FEATURES MODEL      → JSON: checksum of its predictions (same as ours)
    mlflow_worker.py score DIR PATH OUT BATCH_ROWS   → JSON: seconds to score the file with the pyfunc model

Scoring is what MLflow's documentation suggests for files that do not fit in memory: the pyfunc
model over pandas chunks, here read as Arrow record batches and written back as Parquet.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import checksum, cpu_seconds, feature_names, train


def prepare(folder: str, features: int, kind: str) -> dict[str, object]:
    import mlflow.sklearn

    model = train(features, kind)
    # MLflow 3 saves with skops, which wants the boosted trees' node arrays named as trusted (we made them).
    trusted = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"] if kind == "hgb" else None
    mlflow.sklearn.save_model(model, str(Path(folder) / "model"), skops_trusted_types=trusted)
    return {"checksum": checksum(model, features)}


def score(folder: str, path: str, out: str, batch_rows: int) -> dict[str, object]:
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(Path(folder) / "model"))
    parquet = pq.ParquetFile(path)
    names = feature_names(parquet.metadata.num_columns - 1)
    began, cpu = time.perf_counter(), cpu_seconds()
    writer = None
    rows = positives = 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        frame = batch.to_pandas()
        predicted = np.asarray(model.predict(frame[names]))
        table = pa.table({"id": batch.column("id"), "predict": predicted})
        writer = writer or pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        rows += len(frame)
        positives += int(predicted.sum())
    if writer is not None:
        writer.close()
    seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    return {"rows": rows, "seconds": seconds, "cpu_seconds": cpu, "positives": positives}


def main() -> None:
    step, *args = sys.argv[1:]
    if step == "prepare":
        result = prepare(args[0], int(args[1]), args[2])
    elif step == "score":
        result = score(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
