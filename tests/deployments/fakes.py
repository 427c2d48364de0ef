"""Small python-flavor models for deployment tests (their code travels with the artifact)."""

from __future__ import annotations

from typing import Any

import numpy as np


class ScaleModel:
    """Answers `factor` × the row sum: versions built with different factors are told apart by their answers."""

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        return rows.reshape(len(rows), -1).sum(axis=1) * self.factor


class LabelModel:
    """A classifier-like model: label 1 when the row sum is above `threshold`, else 0 (integer labels)."""

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        return (rows.reshape(len(rows), -1).sum(axis=1) > self.threshold).astype(np.int64)


class FlakyModel:
    """Raises on 30 % of inputs: any batch holding a row whose first value, as an integer, ends in 0, 1 or 2."""

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        if np.any(np.floor(rows[:, 0]).astype(np.int64) % 10 < 3):
            raise RuntimeError("flaky model: unlucky input")
        return rows.reshape(len(rows), -1).sum(axis=1)


class SlowModel:
    """Answers like ScaleModel(1) after sleeping `seconds` per call (a slow shadow)."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def predict(self, data: Any) -> Any:
        import time

        time.sleep(self.seconds)
        rows = np.asarray(data, dtype=float)
        return rows.reshape(len(rows), -1).sum(axis=1)
