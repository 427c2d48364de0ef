"""Any other object with a `predict` method, saved with cloudpickle and its code captured.

The classes' own modules (when they are user code, not libraries) are pickled by value, so the
artifact loads where that code is not installed; their source text is also copied under
`code/` so a person can read what the artifact will run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UnsupportedModel, ValidationFailed
from ._files import bad_file
from ._pickling import PICKLE_FILE, dump_with_code, load_pickle, write_sources
from .base import LoadedModel, SavedModel, mro_names, package_versions, type_name
from .torch import NN_MODULE


class PythonModel:
    """A user object; `predict` (and `predict_proba` if it has one) are called as they are."""

    flavor = "python"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def predict(self, data: Any) -> Any:
        return self.raw.predict(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(raw={type_name(self.raw)})"


class PythonClassifierModel(PythonModel):
    """A user object that also has `predict_proba`."""

    def predict_proba(self, data: Any) -> Any:
        return self.raw.predict_proba(data)


def wrap_python(raw: Any) -> LoadedModel:
    # predict_proba appears on the loaded model only when the object has it (the registry checks with getattr).
    if callable(getattr(raw, "predict_proba", None)):
        return PythonClassifierModel(raw)
    return PythonModel(raw)


class PythonFlavor:
    """The fallback: any instance with a callable `predict`. Always pickle-based."""

    name = "python"

    def can_save(self, obj: object) -> bool:
        if isinstance(obj, type):  # a class has `predict` too, but only instances are models
            return False
        # nn.Module must go through TorchScript or torch.export; pickling it would hide the refusal.
        return callable(getattr(obj, "predict", None)) and NN_MODULE not in mro_names(obj)

    def save(self, obj: object, path: Path) -> SavedModel:
        if not self.can_save(obj):
            raise UnsupportedModel(type_name(obj), [self.name])
        modules = dump_with_code(obj, path / PICKLE_FILE)
        details: dict[str, Any] = {
            "file": PICKLE_FILE,
            "class": type_name(obj),
            "code_modules": modules,
            "sources": write_sources(modules, path),
        }
        return SavedModel(self.name, "cloudpickle", True, package_versions("cloudpickle"), details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        file = path / str(saved.details.get("file", PICKLE_FILE))
        raw = load_pickle(file, what=f"This python model ({saved.details.get('class')})", allow_pickle=allow_pickle)
        if not callable(getattr(raw, "predict", None)):
            raise ValidationFailed([("model", f"the unpickled {type_name(raw)} has no predict method")])
        return wrap_python(raw)

    def can_read_file(self, path: Path) -> bool:
        # Pickle files are read by the sklearn flavor's reader; whatever comes out picks its own flavor.
        return False

    def read_file(self, path: Path) -> object:
        raise bad_file(path, "python models are registered from Python (`shipyard.register(model, ...)`), not a file")


__all__ = ["PythonClassifierModel", "PythonFlavor", "PythonModel"]
