"""Inference records as the data plane makes them, for the prediction-log tests."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from shipyard.serving.events import CallContext, InferenceRecord


def tabular(
    request_id: str,
    values: list[list[float]],
    *,
    model: str = "churn",
    version: int = 1,
    at: float | None = None,
    shadow: bool = False,
    arm: str = "primary",
    caller: str | None = "key:abc",
) -> InferenceRecord:
    block = np.asarray(values, dtype=np.float64)
    record = InferenceRecord(
        request_id, model, model, version, arm, at or time.time(), 0.002, len(block), "ok", CallContext("v2", caller)
    )
    record.inputs, record.input_names = block, ("age", "income")
    proba = np.column_stack([1 - block[:, 0] / 100, block[:, 0] / 100])
    record.outputs = {"predict": (block[:, 0] > 50).astype(np.int64), "predict_proba": proba}
    record.shadow = shadow
    return record


def columns(request_id: str, city: list[Any], age: list[int], *, model: str = "towns") -> InferenceRecord:
    record = InferenceRecord(
        request_id, model, model, 1, "primary", time.time(), 0.001, len(city), "ok", CallContext("v1")
    )
    record.inputs = {"city": np.array(city, dtype=object), "age": np.array(age, dtype=np.int64)}
    record.input_names = ("city", "age")
    record.outputs = {"predict": np.array(["big" if a > 30 else "small" for a in age], dtype=object)}
    return record


def tensor(request_id: str, rows: int, *, model: str = "digits") -> InferenceRecord:
    record = InferenceRecord(
        request_id, model, model, 2, "primary", time.time(), 0.003, rows, "ok", CallContext("grpc")
    )
    record.inputs = np.arange(rows * 4, dtype=np.float32).reshape(rows, 2, 2)
    record.input_names = ("image",)
    record.outputs = {"predict": np.arange(rows, dtype=np.int64)}
    return record
