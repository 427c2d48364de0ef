"""Data, a model and prediction-log segments for the drift tests.

Segments are written in the prediction log's layout (`<log>/model=<m>/date=YYYY-MM-DD/hour=HH/*.parquet`,
inputs and outputs as structs) by `write_log`, independently of the log's own writer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CITIES = np.array(["Oslo", "Rome", "Lima", "Pune"])


def frame(rows: int, seed: int, *, drift: bool = False) -> pd.DataFrame:
    """x1 normal, x2 lognormal, x3 uniform (never drifts), city categorical; drift moves x1, x2 and city."""
    g = np.random.default_rng(seed)
    p = np.array([0.1, 0.2, 0.3, 0.4]) if drift else np.array([0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame(
        {
            "x1": g.normal(1.0 if drift else 0.0, 1.0, rows),
            "x2": g.lognormal(0.0, 0.9 if drift else 0.5, rows),
            "x3": g.uniform(0.0, 1.0, rows),
            "city": CITIES[g.choice(4, rows, p=p)],
        }
    )


class ThresholdModel:
    """A python-function classifier over `frame`'s columns."""

    def predict(self, data: Any) -> np.ndarray:
        return (np.asarray(data["x1"], dtype=np.float64) > 0.5).astype(np.int64)

    def predict_proba(self, data: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-np.asarray(data["x1"], dtype=np.float64)))
        return np.column_stack([1 - p, p])


def write_log(
    root: Path,
    model: str,
    version: int,
    data: pd.DataFrame,
    at: datetime,
    *,
    shadow: bool = False,
    outputs: dict[str, Any] | None = None,
) -> Path:
    """One segment holding `data` as logged rows of `model` `version` at time `at`."""
    rows = len(data)
    if outputs is None:
        model_ = ThresholdModel()
        outputs = {"predict": model_.predict(data), "predict_proba": model_.predict_proba(data)}
    output_arrays = {
        name: pa.array(list(values)) if np.asarray(values).ndim == 2 else pa.array(values)
        for name, values in outputs.items()
    }
    table = pa.table(
        {
            "request_id": pa.array([uuid.uuid4().hex for _ in range(rows)]),
            "row": pa.array(np.zeros(rows, dtype=np.int32)),
            "time": pa.array([at] * rows, pa.timestamp("us", "UTC")),
            "endpoint": pa.array([model] * rows),
            "model": pa.array([model] * rows),
            "version": pa.array(np.full(rows, version, dtype=np.int32)),
            "arm": pa.array(["shadow" if shadow else "primary"] * rows),
            "shadow": pa.array(np.full(rows, shadow)),
            "protocol": pa.array(["v2"] * rows),
            "caller": pa.array(["key:abc"] * rows),
            "latency_ms": pa.array(np.full(rows, 1.5)),
            "status": pa.array(["ok"] * rows),
            "inputs": pa.StructArray.from_arrays(
                [pa.array(data[c].to_numpy()) for c in data.columns], names=list(data.columns)
            ),
            "outputs": pa.StructArray.from_arrays(list(output_arrays.values()), names=list(output_arrays)),
        }
    )
    at = at.astimezone(UTC)
    folder = root / f"model={model}" / f"date={at:%Y-%m-%d}" / f"hour={at:%H}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"test-{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(table, path)
    return path


__all__ = ["CITIES", "ThresholdModel", "frame", "write_log"]
