"""PyTorch models as TorchScript (`torch.jit.save`) or `torch.export` programs (`.pt2`).

A plain `nn.Module` is refused: its code lives in Python classes that a saved file cannot
carry safely, while a scripted or exported model carries its own graph. Both archives can hold
pickled data (PyTorch's own warning on `torch.jit.load`), so they load only when pickle is allowed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ..errors import MissingDependency, UnsupportedModel, ValidationFailed
from ._arrays import as_array
from ._files import bad_file, has_suffix
from ._imports import import_optional
from ._pickling import require_pickle_allowed
from .base import LoadedModel, SavedModel, mro_names, package_versions, type_name

SCRIPT_FILE = "model.pt"
EXPORT_FILE = "model.pt2"
SCRIPT_MODULE = "torch.jit._script.ScriptModule"
EXPORTED_PROGRAM = "torch.export.exported_program.ExportedProgram"
NN_MODULE = "torch.nn.modules.module.Module"
NOT_SCRIPTED_HINT = (
    "A plain torch.nn.Module cannot be saved as it is: script it with `torch.jit.script(model)` or export it "
    "with `torch.export.export(model, (example_input,))` and register the result."
)


def _torch() -> Any:
    return import_optional("torch", feature="torch flavor", extra="torch")


def is_plain_module(obj: object) -> bool:
    """True for an `nn.Module` that is neither scripted nor exported (checked by name, torch not imported)."""
    names = mro_names(obj)
    return NN_MODULE in names and SCRIPT_MODULE not in names


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _script_input_dtypes(module: Any) -> list[str]:
    # TorchScript has no input types we can read; a half or double model says so through its weights.
    for param in module.parameters():
        if param.dtype.is_floating_point:
            return [_dtype_name(param.dtype)]
    return ["float32"]


def _export_input_dtypes(program: Any) -> list[str]:
    user_inputs = set(program.graph_signature.user_inputs)
    return [
        _dtype_name(node.meta["val"].dtype)
        for node in program.graph.nodes
        if node.op == "placeholder" and node.name in user_inputs and hasattr(node.meta.get("val"), "dtype")
    ]


class TorchModel:
    """A scripted or exported module on `device`; numpy in, numpy out, under `torch.inference_mode()`."""

    flavor = "torch"

    def __init__(self, raw: Any, device: str, input_dtypes: list[str]) -> None:
        self.raw = raw
        self.device = device
        self.input_dtypes = input_dtypes or ["float32"]

    def _tensor(self, value: Any, position: int) -> Any:
        torch = _torch()
        dtype = getattr(torch, self.input_dtypes[min(position, len(self.input_dtypes) - 1)])
        array = as_array(value)
        if not array.flags.writeable:
            array = array.copy()  # pandas' copy-on-write arrays are read-only, which torch warns about
        return torch.as_tensor(array, dtype=dtype, device=self.device)

    def predict(self, data: Any) -> Any:
        """Run the model. A tuple is several positional inputs; anything else is the single input."""
        values = data if isinstance(data, tuple) else (data,)
        tensors = [self._tensor(value, i) for i, value in enumerate(values)]
        with _torch().inference_mode():
            output = self.raw(*tensors)
        if isinstance(output, (tuple, list)):
            output = output[0]
        return output.detach().cpu().numpy()

    def __repr__(self) -> str:
        return f"TorchModel(raw={type_name(self.raw)}, device={self.device!r}, input_dtypes={self.input_dtypes})"


def _load_script(file: Path, device: str) -> Any:
    module = _torch().jit.load(str(file), map_location=device)
    return module.eval()


def _read_export(file: Path, device: str) -> Any:
    program = _torch().export.load(str(file))
    if device != "cpu":
        passes = import_optional("torch.export.passes", feature="torch flavor", extra="torch", package="torch")
        program = passes.move_to_device_pass(program, device)
    return program


def _load_export(file: Path, device: str) -> Any:
    """The exported program as a callable module (`ExportedProgram` itself is not callable)."""
    return _read_export(file, device).module()


def _archive_kind(path: Path) -> str | None:
    """Which archive: "torchscript", "export" or None (e.g. a `torch.save` state dict) from the zip's member names."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(name.endswith("/archive_format") for name in names):
        return "export"
    if any("/code/__torch__" in name for name in names) and any(n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    return None


class TorchFlavor:
    """`torch.jit.ScriptModule` (scripted or traced) and `torch.export.ExportedProgram`."""

    name = "torch"

    def can_save(self, obj: object) -> bool:
        names = mro_names(obj)
        return SCRIPT_MODULE in names or EXPORTED_PROGRAM in names

    def save(self, obj: object, path: Path) -> SavedModel:
        if not self.can_save(obj):
            raise UnsupportedModel(type_name(obj), [self.name], NOT_SCRIPTED_HINT if is_plain_module(obj) else None)
        torch = _torch()
        # A local version label ("2.13.0+cpu") names a build, not something pip can install.
        requirements = {name: v.split("+")[0] for name, v in package_versions("torch", "numpy").items()}
        if EXPORTED_PROGRAM in mro_names(obj):
            torch.export.save(obj, str(path / EXPORT_FILE))
            details: dict[str, Any] = {"file": EXPORT_FILE, "input_dtypes": _export_input_dtypes(obj)}
            return SavedModel(self.name, "torch-export", True, requirements, details)
        torch.jit.save(obj, str(path / SCRIPT_FILE))
        details = {"file": SCRIPT_FILE, "input_dtypes": _script_input_dtypes(obj)}
        return SavedModel(self.name, "torchscript", True, requirements, details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        require_pickle_allowed(f"This {saved.format} model", allow_pickle)
        device = "cuda" if _torch().cuda.is_available() else "cpu"
        dtypes = saved.details.get("input_dtypes")
        dtype_names = [str(d) for d in dtypes] if isinstance(dtypes, list) else []
        readers = {"torch-export": (_load_export, EXPORT_FILE), "torchscript": (_load_script, SCRIPT_FILE)}
        if saved.format not in readers:
            problem = f"unknown torch format {saved.format!r}; expected torchscript or torch-export"
            raise ValidationFailed([("format", problem)])
        reader, default_file = readers[saved.format]
        return TorchModel(reader(path / str(saved.details.get("file", default_file)), device), device, dtype_names)

    def can_read_file(self, path: Path) -> bool:
        return has_suffix(path, ".pt", ".pth", ".pt2")

    def read_file(self, path: Path) -> object:
        """Read a TorchScript archive (`torch.jit.save`) or an exported program (`torch.export.save`).

        Both may unpickle data; allowed here because this is the authenticated registration path.
        Files written by `torch.save` (state dicts, pickled modules) are refused with a hint.
        """
        kind = _archive_kind(path) if self.can_read_file(path) else None
        if kind is None:
            raise bad_file(path, "not a TorchScript or torch.export archive. " + NOT_SCRIPTED_HINT)
        try:
            return _read_export(path, "cpu") if kind == "export" else _load_script(path, "cpu")
        except MissingDependency:
            raise
        except Exception as exc:  # damaged archives raise RuntimeError and others
            raise bad_file(path, f"cannot be read as a {kind} model ({type(exc).__name__}: {exc})") from exc


__all__ = ["NOT_SCRIPTED_HINT", "TorchFlavor", "TorchModel", "is_plain_module"]
