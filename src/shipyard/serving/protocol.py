"""The Open Inference Protocol (V2) as plain Python objects, independent of transport.

REST JSON, the binary tensor data extension and gRPC all decode into these, with tensor data
already as numpy arrays, so the data plane never knows which transport a request came by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Parameters = dict[str, Any]
"""V2 `parameters`: string keys to bool, int, float or str values."""


@dataclass
class InferTensor:
    """One named tensor. `data` has `shape` and the numpy dtype of `datatype` (object of bytes for BYTES)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: np.ndarray[Any, Any]
    parameters: Parameters = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"InferTensor(name={self.name!r}, datatype={self.datatype!r}, shape={self.shape})"


@dataclass(frozen=True)
class RequestedOutput:
    """An entry of the request's `outputs`: which output to return, and how (`binary_data`, …)."""

    name: str
    parameters: Parameters = field(default_factory=dict)

    @property
    def binary(self) -> bool:
        return bool(self.parameters.get("binary_data", False))


@dataclass
class InferRequest:
    inputs: list[InferTensor]
    id: str | None = None
    outputs: list[RequestedOutput] | None = None
    parameters: Parameters = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows in the request: the first dimension of its first input (0 for a scalar or none)."""
        return self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 0

    def __repr__(self) -> str:
        return f"InferRequest(id={self.id!r}, inputs={[t.name for t in self.inputs]})"


@dataclass
class InferResponse:
    model_name: str
    outputs: list[InferTensor]
    model_version: str | None = None
    id: str | None = None
    parameters: Parameters = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"InferResponse(model_name={self.model_name!r}, model_version={self.model_version!r}, "
            f"id={self.id!r}, outputs={[t.name for t in self.outputs]})"
        )


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]
    parameters: Parameters = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": list(self.versions),
            "platform": self.platform,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            **({"parameters": self.parameters} if self.parameters else {}),
        }


@dataclass(frozen=True)
class ServerMetadata:
    name: str
    version: str
    extensions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "extensions": list(self.extensions)}


__all__ = [
    "InferRequest",
    "InferResponse",
    "InferTensor",
    "ModelMetadata",
    "Parameters",
    "RequestedOutput",
    "ServerMetadata",
    "TensorMetadata",
]
