"""Small python-flavor models for serving tests (their code travels with the artifact)."""

from __future__ import annotations

from typing import Any

import numpy as np


class SumModel:
    """Sums each row; raises on any row whose sum is exactly 13 (an unlucky input)."""

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        sums = rows.reshape(len(rows), -1).sum(axis=1)
        if np.any(sums == 13):
            raise RuntimeError("secret internal detail: unlucky row")
        return sums


class SlowModel:
    """Records batch sizes it saw (for batching tests); answers the row index sum."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        self.calls.append(len(rows))
        return rows.sum(axis=1)


class HangModel:
    """Sums each row; takes `hang_seconds` on a batch holding the value 99 and `slow_seconds` on one
    holding 50 (a model stuck, and one merely slow, inside its own code)."""

    hang_seconds = 4.0
    slow_seconds = 0.2

    def predict(self, data: Any) -> Any:
        import time

        rows = np.asarray(data, dtype=float)
        if np.any(rows == 99):
            time.sleep(self.hang_seconds)
        elif np.any(rows == 50):
            time.sleep(self.slow_seconds)
        return rows.reshape(len(rows), -1).sum(axis=1)
