"""Turning prediction input (DataFrame, array, nested lists) into numpy for tensor runtimes."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_array(data: Any) -> np.ndarray[Any, Any]:
    """`data` as a numpy array; DataFrames and Series lose their labels (tensor runtimes do not use them)."""
    to_numpy = getattr(data, "to_numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else data)


__all__ = ["as_array"]
