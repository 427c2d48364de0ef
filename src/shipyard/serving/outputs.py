"""Run a loaded model on a batch and name its outputs: `predict`, and `predict_proba` for classifiers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from ..flavors.base import LoadedModel

Array = np.ndarray[Any, Any]


def available_outputs(model: LoadedModel) -> tuple[str, ...]:
    return ("predict", "predict_proba") if callable(getattr(model, "predict_proba", None)) else ("predict",)


def run_outputs(model: LoadedModel, data: Any, wanted: Collection[str]) -> dict[str, Array]:
    """The wanted outputs for `data`. A classifier asked for both runs once: labels are the argmax of
    the probabilities (what scikit-learn's own `predict` does for probabilistic classifiers)."""
    outputs: dict[str, Array] = {}
    if "predict_proba" in wanted:
        proba = np.asarray(model.predict_proba(data))  # type: ignore[attr-defined]  # checked by available_outputs
        outputs["predict_proba"] = proba
        classes = getattr(getattr(model, "raw", None), "classes_", None)
        if "predict" in wanted and classes is not None and proba.ndim == 2 and proba.shape[1] == len(classes):
            outputs["predict"] = np.asarray(classes)[proba.argmax(axis=1)]
    if "predict" in wanted and "predict" not in outputs:
        outputs["predict"] = np.asarray(model.predict(data))
    return outputs


def split_outputs(outputs: dict[str, Array], sizes: list[int]) -> list[dict[str, Array]]:
    """Cut batch outputs back into one dict per request, by each request's row count."""
    bounds = np.cumsum([0, *sizes])
    return [
        {name: values[start:end] for name, values in outputs.items()}
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]


__all__ = ["available_outputs", "run_outputs", "split_outputs"]
