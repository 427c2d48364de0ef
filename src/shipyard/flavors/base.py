"""The flavor protocol: how one kind of model is saved, loaded and asked to predict.

A flavor writes a model into an empty folder (`save`) and reads it back (`load`). The registry
packs that folder into one content-addressed artifact, so a flavor never touches storage.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..types import JSON, JSONObject


@dataclass(frozen=True)
class SavedModel:
    """What a flavor says about the files it wrote; stored with the version and handed back to `load`."""

    flavor: str
    format: str
    """The on-disk format, e.g. "skops", "pickle", "xgboost-ubj", "lightgbm-txt", "onnx", "torchscript"."""
    uses_pickle: bool
    """True when loading executes pickle; such artifacts load only from the registry."""
    requirements: dict[str, str] = field(default_factory=dict)
    """Package name → version the model needs at load time."""
    details: JSONObject = field(default_factory=dict)
    """Flavor-specific facts needed by `load` (e.g. skops' trusted types, a class name)."""

    def to_dict(self) -> JSONObject:
        return {
            "flavor": self.flavor,
            "format": self.format,
            "uses_pickle": self.uses_pickle,
            "requirements": dict(self.requirements),
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedModel:
        return cls(
            flavor=data["flavor"],
            format=data["format"],
            uses_pickle=bool(data["uses_pickle"]),
            requirements=dict(data.get("requirements") or {}),
            details=dict(data.get("details") or {}),
        )


@runtime_checkable
class LoadedModel(Protocol):
    """A model ready to predict. `predict_proba` exists only for classifiers that have it."""

    flavor: str

    def predict(self, data: Any) -> Any: ...


class Flavor(Protocol):
    """One kind of model. Implementations live one per module in `shipyard.flavors`."""

    name: str

    def can_save(self, obj: object) -> bool:
        """True if this flavor knows how to save `obj` (checked without importing heavy libraries)."""
        ...

    def save(self, obj: object, path: Path) -> SavedModel:
        """Write `obj` into the empty folder `path`."""
        ...

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        """Read the model written by `save`. Raises `PickleRefused` for pickle formats unless allowed."""
        ...

    def can_read_file(self, path: Path) -> bool:
        """True if `path` (a file or folder a user points the CLI at) is a model this flavor reads."""
        ...

    def read_file(self, path: Path) -> object:
        """Turn such a file into an object `save` accepts (the CLI's `models register PATH`)."""
        ...


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions, skipping those not installed."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def type_name(obj: object) -> str:
    """`module.Class` of an object, used to recognise framework types without importing the framework."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def mro_names(obj: object) -> set[str]:
    """`module.Class` of every class in the object's MRO."""
    return {f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__}


__all__ = ["Flavor", "JSON", "LoadedModel", "SavedModel", "mro_names", "package_versions", "type_name"]
