"""Pickles that carry their own code, and the gate that keeps pickles out of untrusted paths.

A class defined in a notebook or a project module is pickled *by reference* by default: the
artifact would name `mymodels.Churn` and fail to load anywhere that module is missing. We ask
cloudpickle to pickle such modules *by value*, so the class code travels inside the artifact.
Library modules (stdlib, site-packages) stay by reference: they come back through requirements.
"""

from __future__ import annotations

import inspect
import pickle
import site
import sys
import sysconfig
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import PickleRefused

PICKLE_FILE = "model.pkl"
CODE_DIR = "code"


@cache
def _library_roots() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    roots = {Path(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(Path(p) for p in site.getsitepackages())
    roots.add(Path(site.getusersitepackages()))
    return tuple(root.resolve() for root in roots)


def _is_user_module(module: ModuleType) -> bool:
    # __main__ is already pickled by value by cloudpickle; shipyard itself is a requirement, not user code.
    if module.__name__ in ("__main__", "builtins") or module.__name__.split(".")[0] == "shipyard":
        return False
    file = getattr(module, "__file__", None)
    if not file:
        return False
    resolved = Path(file).resolve()
    return not any(resolved.is_relative_to(root) for root in _library_roots())


def user_modules(obj: object) -> list[ModuleType]:
    """The non-library modules that define the classes of `obj` (its type and its bases)."""
    found: dict[str, ModuleType] = {}
    for cls in type(obj).__mro__:
        module = sys.modules.get(cls.__module__)
        if module is not None and _is_user_module(module):
            found.setdefault(module.__name__, module)
    return list(found.values())


def dump_with_code(obj: object, path: Path) -> list[str]:
    """Cloudpickle `obj` into `path`, user modules by value. Returns the names of those modules."""
    import cloudpickle

    modules = user_modules(obj)
    already = set(cloudpickle.list_registry_pickle_by_value())
    added = [m for m in modules if m.__name__ not in already]
    # The by-value registry is process-global: register only for this dump and undo it after.
    for module in added:
        cloudpickle.register_pickle_by_value(module)
    try:
        with path.open("wb") as file:
            cloudpickle.dump(obj, file)
    finally:
        for module in added:
            cloudpickle.unregister_pickle_by_value(module)
    return [m.__name__ for m in modules]


def write_sources(module_names: list[str], folder: Path) -> list[str]:
    """Copy the source text of the named modules into `folder/code/` for people reading the artifact."""
    written: list[str] = []
    for name in module_names:
        module = sys.modules.get(name)
        try:
            source = inspect.getsource(module) if module is not None else None
        except (OSError, TypeError):  # compiled or interactive modules have no source to copy
            source = None
        if source is None:
            continue
        target = folder / CODE_DIR / f"{name}.py"
        target.parent.mkdir(exist_ok=True)
        target.write_text(source, encoding="utf-8")
        written.append(f"{CODE_DIR}/{target.name}")
    return written


def require_pickle_allowed(what: str, allow_pickle: bool) -> None:
    """Raise `PickleRefused` unless the caller vouches for where the artifact came from."""
    if not allow_pickle:
        raise PickleRefused(what)


def load_pickle(path: Path, *, what: str, allow_pickle: bool) -> Any:
    """Unpickle `path` (cloudpickle output reads with plain pickle) once the gate allows it."""
    require_pickle_allowed(what, allow_pickle)
    with path.open("rb") as file:
        # Gated above: only registry artifacts (hash verified) or files given to the authenticated CLI.
        return pickle.load(file)
