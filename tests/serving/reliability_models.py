"""Python-flavor models for the reliability tests: slow on demand, or allocating without bound."""

from __future__ import annotations

from typing import Any

import numpy as np


def _sums(data: Any) -> Any:
    rows = np.asarray(data, dtype=float)
    return rows.reshape(len(rows), -1).sum(axis=1)


class SleepModel:
    """Sleeps as many seconds as the batch's largest first cell says (at most 5), then sums each row."""

    def predict(self, data: Any) -> Any:
        import time

        rows = np.asarray(data, dtype=float)
        time.sleep(min(5.0, max(0.0, float(rows[:, 0].max()))))
        return _sums(rows)


class HugeAllocationModel:
    """Asks numpy for 100 GB in one call on a batch holding the value 7; sums each row otherwise."""

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        if np.any(rows == 7):
            block = np.ones(100 * 2**30 // 8)  # 100 GB, written to (not lazily zeroed)
            return _sums(rows) + block[0]
        return _sums(rows)


class GrowingModel:
    """On a batch holding the value 7, keeps adding 64 MB blocks (touched) until memory runs out.

    It stops at 4 GB and answers -1 per row, so that a memory limit that does not work fails the test
    instead of exhausting the machine."""

    def predict(self, data: Any) -> Any:
        rows = np.asarray(data, dtype=float)
        if np.any(rows == 7):
            blocks = []
            while len(blocks) < 64:
                blocks.append(np.ones(8 * 2**20))
            return np.full(len(rows), -1.0)
        return _sums(rows)
