"""`shipyard models import-mlflow`: an MLflow model directory becomes a registered version.

The MLmodel file's signature becomes ours, its run id and MLflow version go into the tags, and the
folder itself is stored as the artifact, so MLflow users can move over without re-saving models.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ValidationFailed
from ..flavors import MlflowModelDir, read_mlflow_model
from ..schema import FieldSpec, Signature
from ..types import JSONObject
from .model_version import ModelVersion
from .service import Registry

# MLflow column types → Shipyard dtypes.
_COLUMN_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
    "binary": "bytes",
    "datetime": "datetime",
}


def _tensor_signature(spec: Mapping[str, Any]) -> Signature:
    tensor = spec.get("tensor-spec") or {}
    dtype, shape = str(tensor.get("dtype", "float64")), tuple(int(d) for d in tensor.get("shape") or (-1,))
    if len(shape) == 2 and shape[1] > 0:
        inputs = tuple(FieldSpec(f"x{i}", dtype, allow_nan=True) for i in range(shape[1]))
        return Signature(inputs=inputs, outputs=(), layout="array")
    return Signature(inputs=(FieldSpec("input", dtype, shape=shape, allow_nan=True),), outputs=(), layout="tensor")


def _column_field(spec: Mapping[str, Any], index: int) -> FieldSpec:
    kind = str(spec.get("type"))
    if kind not in _COLUMN_TYPES:
        raise ValidationFailed([(f"signature.inputs[{index}]", f"MLflow type {kind!r} is not supported")])
    name = spec.get("name") or f"x{index}"
    numeric = kind in ("double", "float")
    return FieldSpec(str(name), _COLUMN_TYPES[kind], nullable=not spec.get("required", True), allow_nan=numeric)


def signature_from_mlflow(model_dir: MlflowModelDir) -> JSONObject | None:
    """Our signature for the model's MLflow input signature, or None when it has none."""
    inputs = (model_dir.signature or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return None
    if len(inputs) == 1 and isinstance(inputs[0], dict) and inputs[0].get("type") == "tensor":
        return _tensor_signature(inputs[0]).to_dict()
    fields = tuple(_column_field(spec, i) for i, spec in enumerate(inputs) if isinstance(spec, dict))
    return Signature(inputs=fields, outputs=(), layout="columns").to_dict()


def import_mlflow_model(
    registry: Registry, path: Path, name: str, *, tags: Mapping[str, Any] | None = None, actor: str | None = None
) -> ModelVersion:
    """Register the MLflow model folder at `path` as the next version of `name` (recorded as `actor`)."""
    model_dir = read_mlflow_model(path)
    mlflow_tags = {
        "mlflow.run_id": model_dir.run_id,
        "mlflow.version": model_dir.mlflow_version,
        "mlflow.flavors": ",".join(sorted(model_dir.flavors)),
    }
    merged = {k: v for k, v in mlflow_tags.items() if v} | dict(tags or {})
    return registry.register(
        model_dir,
        name,
        flavor="mlflow",
        signature=signature_from_mlflow(model_dir),
        tags=merged,
        description=f"Imported from MLflow model folder {model_dir.path.name}",
        actor=actor,
    )


__all__ = ["import_mlflow_model", "signature_from_mlflow"]
