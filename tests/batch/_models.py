"""Models for the batch tests. This module is pickled by value with the models (python flavor)."""

from __future__ import annotations

import time
from typing import Any


class SlowModel:
    """Wraps a classifier and sleeps on every call, so a job lasts long enough to be killed midway."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.classes_ = inner.classes_

    def predict(self, data: Any) -> Any:
        time.sleep(self.delay)
        return self.inner.predict(data)

    def predict_proba(self, data: Any) -> Any:
        time.sleep(self.delay)
        return self.inner.predict_proba(data)


class FailingModel:
    """Raises on rows whose first feature is above `limit` (a model bug met halfway through a file)."""

    def __init__(self, inner: Any, limit: float) -> None:
        self.inner = inner
        self.limit = limit

    def predict(self, data: Any) -> Any:
        if (data.iloc[:, 0] > self.limit).any():
            raise ArithmeticError("feature a is out of the range this model was built for")
        return self.inner.predict(data)
