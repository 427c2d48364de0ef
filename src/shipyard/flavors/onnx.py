"""ONNX models (`onnx.ModelProto`), run with onnxruntime.

The first output is the prediction. Converted classifiers (skl2onnx) have a second output with
the class probabilities, which becomes `predict_proba`; with `zipmap=False` it is a plain array,
with the default zipmap it is a list of {class: probability} maps, which we turn into an array.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependency, UnsupportedModel, ValidationFailed
from ._arrays import as_array
from ._files import bad_file, has_suffix
from ._imports import import_optional
from .base import LoadedModel, SavedModel, package_versions, type_name

MODEL_FILE = "model.onnx"
_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


def _onnx() -> Any:
    return import_optional("onnx", feature="ONNX flavor", extra="onnx")


def _onnxruntime() -> Any:
    return import_optional("onnxruntime", feature="ONNX flavor", extra="onnx")


def providers(available: list[str]) -> list[str]:
    """CUDA first when this onnxruntime build has it, CPU always as the fallback."""
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available] or available


def _cast(value: Any, spec: Any) -> np.ndarray[Any, Any]:
    array = as_array(value)
    dtype = _DTYPES.get(spec.type)
    return array if dtype is None or array.dtype == dtype else array.astype(dtype)


def _as_output_array(value: Any) -> Any:
    # zipmap outputs are one {label: probability} dict per row.
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return np.array([[row[key] for key in sorted(row)] for row in value])
    return value


class OnnxModel:
    """An onnxruntime session: `predict` returns the model's first output."""

    flavor = "onnx"

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.inputs = list(raw.get_inputs())

    def _feeds(self, data: Any) -> dict[str, np.ndarray[Any, Any]]:
        names = [spec.name for spec in self.inputs]
        if isinstance(data, Mapping):
            missing = [name for name in names if name not in data]
            if missing:
                raise ValidationFailed([(name, "missing model input") for name in missing])
            return {spec.name: _cast(data[spec.name], spec) for spec in self.inputs}
        if len(self.inputs) == 1:
            return {names[0]: _cast(data, self.inputs[0])}
        columns = getattr(data, "columns", None)
        if columns is not None and set(names) <= set(columns):
            # skl2onnx gives one input per DataFrame column; each is a (rows, 1) tensor.
            return {spec.name: _cast(as_array(data[spec.name]).reshape(-1, 1), spec) for spec in self.inputs}
        raise ValidationFailed([("inputs", f"the model has inputs {names}; pass a dict (or DataFrame) with them")])

    def run(self, data: Any) -> list[Any]:
        return list(self.raw.run(None, self._feeds(data)))

    def predict(self, data: Any) -> Any:
        return _as_output_array(self.run(data)[0])

    def __repr__(self) -> str:
        outputs = [o.name for o in self.raw.get_outputs()]
        return f"{type(self).__name__}(inputs={[i.name for i in self.inputs]}, outputs={outputs})"


class OnnxClassifierModel(OnnxModel):
    """A model with a second output: labels first, probabilities second (skl2onnx's layout)."""

    def predict_proba(self, data: Any) -> Any:
        return _as_output_array(self.run(data)[1])


def _check(model: Any, field: str, what: str) -> None:
    onnx = _onnx()
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ValidationFailed([(field, f"{what} is not a valid ONNX model: {exc}")]) from exc


class OnnxFlavor:
    """`onnx.ModelProto` (e.g. from skl2onnx, `torch.onnx.export`, tf2onnx)."""

    name = "onnx"

    def can_save(self, obj: object) -> bool:
        cls = type(obj)
        return cls.__name__ == "ModelProto" and cls.__module__.startswith("onnx")

    def save(self, obj: object, path: Path) -> SavedModel:
        if not self.can_save(obj):
            raise UnsupportedModel(type_name(obj), [self.name])
        _check(obj, "model", "the object")
        _onnx().save_model(obj, str(path / MODEL_FILE))
        model: Any = obj
        details: dict[str, Any] = {
            "file": MODEL_FILE,
            "inputs": [i.name for i in model.graph.input],
            "outputs": [o.name for o in model.graph.output],
            "opsets": {op.domain or "ai.onnx": op.version for op in model.opset_import},
        }
        return SavedModel(self.name, "onnx", False, package_versions("onnx", "onnxruntime", "numpy"), details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        ort = _onnxruntime()
        file = path / str(saved.details.get("file", MODEL_FILE))
        session = ort.InferenceSession(str(file), providers=providers(ort.get_available_providers()))
        return OnnxClassifierModel(session) if len(session.get_outputs()) > 1 else OnnxModel(session)

    def can_read_file(self, path: Path) -> bool:
        return has_suffix(path, ".onnx")

    def read_file(self, path: Path) -> object:
        """Read a `.onnx` file into a `ModelProto`, checked by the ONNX checker."""
        if not self.can_read_file(path):
            raise bad_file(path, "expected an .onnx file")
        try:
            model = _onnx().load(str(path))
        except MissingDependency:
            raise
        except Exception as exc:  # protobuf DecodeError and friends for damaged files
            raise bad_file(path, f"cannot be read as an ONNX model ({type(exc).__name__}: {exc})") from exc
        _check(model, "path", str(path))
        return model


__all__ = ["OnnxClassifierModel", "OnnxFlavor", "OnnxModel", "providers"]
