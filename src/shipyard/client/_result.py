"""`InferResult`: what one V2 inference returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class InferResult:
    """The outputs of one inference, by name, as numpy arrays, and which model version answered.

    BYTES outputs (string labels, …) are object arrays of `bytes`, as the protocol sends them;
    `Client.predict` decodes them to `str` for you.

    >>> result = client.infer("iris", {"input-0": X})
    >>> result.model_version, result.outputs["predict"][:3]
    ('1', array([b'setosa', b'setosa', b'setosa'], dtype=object))
    """

    model_name: str
    model_version: str | None
    outputs: dict[str, np.ndarray[Any, Any]]
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = {name: list(values.shape) for name, values in self.outputs.items()}
        return (
            f"InferResult(model_name={self.model_name!r}, model_version={self.model_version!r}, "
            f"id={self.id!r}, outputs={shapes})"
        )


__all__ = ["InferResult"]
