"""Importing MLflow model folders (a directory with an `MLmodel` YAML file).

The folder is copied into the artifact as it is. Loading prefers the `sklearn` flavor, which we
read ourselves (skops, or pickle when allowed); any other model with a `python_function` flavor
is loaded by MLflow itself, which must then be installed. Neither path runs an MLflow server.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UnsupportedModel, ValidationFailed
from ..types import JSON, JSONObject
from ._files import bad_file
from ._imports import import_optional
from ._pickling import load_pickle, require_pickle_allowed
from .base import LoadedModel, SavedModel, type_name
from .sklearn import load_skops, wrap_estimator

MLMODEL = "MLmodel"
MODEL_DIR = "mlflow_model"
LOADERS = ("sklearn", "python_function")
# MLflow column types → numpy dtypes, for the registry's signature.
_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")


@dataclass(frozen=True)
class MlflowModelDir:
    """An MLflow model folder as read from its `MLmodel` file; what `MlflowFlavor.save` accepts."""

    path: Path
    flavors: dict[str, JSONObject]
    signature: JSONObject | None = None
    """`inputs`, `outputs` and `params` as lists (MLflow stores them as JSON strings), or None."""
    run_id: str | None = None
    model_uuid: str | None = None
    mlflow_version: str | None = None
    metadata: JSONObject = field(default_factory=dict)

    @property
    def loader(self) -> str | None:
        """How Shipyard will load it, "sklearn" or "python_function"; None if it cannot."""
        return next((name for name in LOADERS if name in self.flavors), None)

    def __repr__(self) -> str:
        return f"MlflowModelDir(path={str(self.path)!r}, flavors={sorted(self.flavors)}, run_id={self.run_id!r})"


def _parse_signature(raw: Any, path: Path) -> JSONObject | None:
    if not isinstance(raw, dict):
        return None
    parsed: JSONObject = {}
    for key in ("inputs", "outputs", "params"):
        value = raw.get(key)
        try:
            parsed[key] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            raise bad_file(path, f"MLmodel signature.{key} is not valid JSON ({exc})") from exc
    return parsed


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def read_mlflow_model(path: Path) -> MlflowModelDir:
    """Read the `MLmodel` file of an MLflow model folder (or the `MLmodel` file itself)."""
    import yaml

    folder = path.parent if path.name == MLMODEL and path.is_file() else path
    if not (folder / MLMODEL).is_file():
        raise bad_file(path, "not an MLflow model folder (it has no MLmodel file)")
    try:
        doc = yaml.safe_load((folder / MLMODEL).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise bad_file(path, f"its MLmodel file is not valid YAML ({exc})") from exc
    flavors = doc.get("flavors") if isinstance(doc, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise bad_file(path, "its MLmodel file lists no flavors")
    known = ("flavors", "signature", "run_id", "model_uuid", "mlflow_version")
    return MlflowModelDir(
        path=folder,
        flavors={str(k): v if isinstance(v, dict) else {} for k, v in flavors.items()},
        signature=_parse_signature(doc.get("signature"), path),
        run_id=_optional_str(doc.get("run_id")),
        model_uuid=_optional_str(doc.get("model_uuid")),
        mlflow_version=_optional_str(doc.get("mlflow_version")),
        metadata={k: json.loads(json.dumps(v, default=str)) for k, v in doc.items() if k not in known},
    )


def _column(spec: Any) -> JSONObject:
    if not isinstance(spec, dict):
        return {"name": None, "type": "unknown", "dtype": "object", "required": True}
    kind = str(spec.get("type", "unknown"))
    column: JSONObject = {"name": spec.get("name"), "type": kind, "required": bool(spec.get("required", True))}
    if kind == "tensor":
        tensor = spec.get("tensor-spec") or {}
        column.update(dtype=tensor.get("dtype"), shape=tensor.get("shape"))
    else:
        # array, object and map columns are nested values: plain Python objects to numpy.
        column["dtype"] = _DTYPES.get(kind, "object")
    return column


def mlflow_signature_columns(model_dir: MlflowModelDir | Path) -> list[JSONObject]:
    """The input columns of the model's MLflow signature: name, MLflow type, numpy dtype, required.

    Tensor inputs give `type: "tensor"` with the tensor's `dtype` and `shape`. Empty when the
    model has no signature.
    """
    model = model_dir if isinstance(model_dir, MlflowModelDir) else read_mlflow_model(model_dir)
    inputs = (model.signature or {}).get("inputs")
    return [_column(spec) for spec in inputs] if isinstance(inputs, list) else []


def _parse_requirement(line: str) -> tuple[str, str] | None:
    line = line.split("#", 1)[0].strip()
    match = _REQUIREMENT.match(line) if line and not line.startswith("-") else None
    if match is None:
        return None
    spec = match.group(3).strip()
    return match.group(1), spec[2:].strip() if spec.startswith("==") else spec


def _requirement_lines(folder: Path) -> list[str]:
    import yaml

    lines: list[str] = []
    conda = folder / "conda.yaml"
    if conda.is_file():
        deps = (yaml.safe_load(conda.read_text(encoding="utf-8")) or {}).get("dependencies") or []
        lines += [str(p) for dep in deps if isinstance(dep, dict) for p in dep.get("pip") or []]
    # requirements.txt comes last so its pins win over conda.yaml's.
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        lines += requirements.read_text(encoding="utf-8").splitlines()
    return lines


def mlflow_requirements(model: MlflowModelDir) -> dict[str, str]:
    """Package → version (or specifier) from requirements.txt / conda.yaml, plus the sklearn flavor's version."""
    found = dict(filter(None, map(_parse_requirement, _requirement_lines(model.path))))
    sklearn_version = model.flavors.get("sklearn", {}).get("sklearn_version")
    if sklearn_version:
        found["scikit-learn"] = str(sklearn_version)
    return found


def _inside(folder: Path, relative: JSON) -> Path:
    # MLmodel is user data: a "../" in pickled_model must not reach outside the model folder.
    target = (folder / str(relative)).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ValidationFailed([("flavors.sklearn.pickled_model", f"{relative!r} points outside the model folder")])
    return target


def _load_sklearn(model: MlflowModelDir, allow_pickle: bool) -> Any:
    conf = model.flavors["sklearn"]
    file = _inside(model.path, conf.get("pickled_model", "model.pkl"))
    fmt = str(conf.get("serialization_format", "cloudpickle"))
    if fmt == "skops":
        # Trust every type in the file: the registry verified the artifact's hash, and it was
        # registered through the authenticated path (the same reasoning as the sklearn flavor).
        return load_skops(file, None)
    if fmt in ("pickle", "cloudpickle"):
        return load_pickle(file, what="This MLflow sklearn model", allow_pickle=allow_pickle)
    raise ValidationFailed([("flavors.sklearn.serialization_format", f"unknown format {fmt!r}")])


class MlflowPyfuncModel:
    """A model loaded by `mlflow.pyfunc.load_model`."""

    flavor = "mlflow"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def predict(self, data: Any) -> Any:
        return self.raw.predict(data)

    def __repr__(self) -> str:
        return f"MlflowPyfuncModel(raw={type_name(self.raw)})"


def _uses_pickle(model: MlflowModelDir) -> bool:
    if model.loader == "sklearn":
        return model.flavors["sklearn"].get("serialization_format", "cloudpickle") != "skops"
    return True  # python_function loaders import code and usually unpickle


class MlflowFlavor:
    """MLflow model folders, read with `read_mlflow_model` (or `read_file`) and saved as a copy."""

    name = "mlflow"

    def can_save(self, obj: object) -> bool:
        return isinstance(obj, MlflowModelDir)

    def save(self, obj: object, path: Path) -> SavedModel:
        if not isinstance(obj, MlflowModelDir):
            raise UnsupportedModel(type_name(obj), [self.name])
        if obj.loader is None:
            raise UnsupportedModel(f"MLflow model with flavors {sorted(obj.flavors)}", list(LOADERS))
        shutil.copytree(obj.path, path / MODEL_DIR)
        details: dict[str, Any] = {
            "dir": MODEL_DIR,
            "loader": obj.loader,
            "mlflow_flavors": sorted(obj.flavors),
            "serialization_format": obj.flavors.get("sklearn", {}).get("serialization_format"),
            "signature": obj.signature,
            "run_id": obj.run_id,
            "model_uuid": obj.model_uuid,
            "mlflow_version": obj.mlflow_version,
        }
        return SavedModel(self.name, "mlflow", _uses_pickle(obj), mlflow_requirements(obj), details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        model = read_mlflow_model(path / str(saved.details.get("dir", MODEL_DIR)))
        if model.loader == "sklearn":
            return wrap_estimator(_load_sklearn(model, allow_pickle), self.name)
        if model.loader is None:
            raise UnsupportedModel(f"MLflow model with flavors {sorted(model.flavors)}", list(LOADERS))
        require_pickle_allowed("This MLflow python_function model", allow_pickle)
        pyfunc = import_optional(
            "mlflow.pyfunc", feature="MLflow python_function import", extra="mlflow", package="mlflow"
        )
        return MlflowPyfuncModel(pyfunc.load_model(str(model.path)))

    def can_read_file(self, path: Path) -> bool:
        return (path.is_dir() and (path / MLMODEL).is_file()) or (path.is_file() and path.name == MLMODEL)

    def read_file(self, path: Path) -> object:
        return read_mlflow_model(path)


__all__ = [
    "MlflowFlavor",
    "MlflowModelDir",
    "MlflowPyfuncModel",
    "mlflow_requirements",
    "mlflow_signature_columns",
    "read_mlflow_model",
]
