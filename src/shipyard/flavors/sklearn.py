"""scikit-learn estimators and pipelines, saved with skops (no pickle) and cloudpickle only as a fallback.

skops refuses to load types it was not told to trust. The registry is the trusted party here: it
records the types found at save time and only loads an artifact whose sha256 it has verified, so
`load` passes that recorded list back as `trusted=`.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
from pathlib import Path
from typing import Any

from ..errors import MissingDependency, UnsupportedModel, ValidationFailed
from ._files import bad_file, has_suffix
from ._imports import import_optional
from ._pickling import PICKLE_FILE, dump_with_code, load_pickle, write_sources
from .base import LoadedModel, SavedModel, mro_names, package_versions, type_name

logger = logging.getLogger(__name__)

SKOPS_FILE = "model.skops"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


class SklearnModel:
    """A scikit-learn style estimator ready to predict; DataFrames go through untouched (feature names)."""

    def __init__(self, raw: Any, flavor: str = "sklearn") -> None:
        self.raw = raw
        self.flavor = flavor

    def predict(self, data: Any) -> Any:
        return self.raw.predict(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(flavor={self.flavor!r}, raw={type_name(self.raw)})"


class SklearnClassifierModel(SklearnModel):
    """An estimator that also has `predict_proba`."""

    def predict_proba(self, data: Any) -> Any:
        return self.raw.predict_proba(data)


def wrap_estimator(raw: Any, flavor: str = "sklearn") -> LoadedModel:
    """Wrap anything with the scikit-learn `predict` API; `predict_proba` appears only if `raw` has it."""
    # hasattr, not isinstance: pipelines expose predict_proba only when their last step has it.
    if callable(getattr(raw, "predict_proba", None)):
        return SklearnClassifierModel(raw, flavor)
    return SklearnModel(raw, flavor)


class _HideTorch(importlib.abc.MetaPathFinder):
    """Makes `import torch` fail while installed (see `_skops`)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"{name} is hidden while skops lists estimators", name=name)
        return None


def _skops() -> Any:
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    # Importing skops.io lists every scikit-learn estimator (`all_estimators`), which walks every
    # scikit-learn subpackage, including its vendored array-api-compat shim for torch: with torch
    # installed, that imports all of torch (~190 MB per server worker) to load a LogisticRegression.
    # Hiding torch for that one import makes the walk skip the shim (pkgutil ignores the
    # ImportError); torch models still import torch normally afterwards.
    finder = _HideTorch() if "torch" not in sys.modules else None
    if finder is not None:
        sys.meta_path.insert(0, finder)
    try:
        return import_optional("skops.io", feature="sklearn flavor", extra="sklearn", package="skops")
    finally:
        if finder is not None:
            sys.meta_path.remove(finder)


def _dump_skops(obj: object, file: Path) -> list[str]:
    """Write `obj` with skops and prove it reads back; returns the types skops would not trust by default."""
    skops = _skops()
    skops.dump(obj, file)
    trusted: list[str] = list(skops.get_untrusted_types(file=file))
    # skops writes some objects (lambdas, locks, classes it cannot find again) that it cannot read back.
    skops.load(file, trusted=trusted)
    return trusted


def load_skops(file: Path, trusted: list[str] | None = None) -> Any:
    """Read a skops file, trusting `trusted` or, when None, every type it holds (for authenticated callers)."""
    skops = _skops()
    if trusted is None:
        trusted = list(skops.get_untrusted_types(file=file))
    return skops.load(file, trusted=trusted)


class SklearnFlavor:
    """Anything with `sklearn.base.BaseEstimator` in its MRO: estimators, pipelines, column transformers."""

    name = "sklearn"

    def can_save(self, obj: object) -> bool:
        return "sklearn.base.BaseEstimator" in mro_names(obj)

    def save(self, obj: object, path: Path) -> SavedModel:
        if not self.can_save(obj):
            raise UnsupportedModel(type_name(obj), [self.name])
        details: dict[str, Any] = {"class": type_name(obj)}
        try:
            trusted = _dump_skops(obj, path / SKOPS_FILE)
        except Exception as exc:  # skops raises many types for objects it cannot handle; all mean "fall back"
            logger.info("skops cannot round-trip %s (%s); saving it with cloudpickle", type_name(obj), exc)
            (path / SKOPS_FILE).unlink(missing_ok=True)
            modules = dump_with_code(obj, path / PICKLE_FILE)
            details.update(file=PICKLE_FILE, code_modules=modules, sources=write_sources(modules, path))
            requirements = package_versions("scikit-learn", "cloudpickle", "numpy")
            return SavedModel(self.name, "pickle", True, requirements, details)
        details.update(file=SKOPS_FILE, trusted_types=trusted)
        return SavedModel(self.name, "skops", False, package_versions("scikit-learn", "skops", "numpy"), details)

    def load(self, path: Path, saved: SavedModel, *, allow_pickle: bool = False) -> LoadedModel:
        file = path / str(saved.details.get("file", SKOPS_FILE))
        if saved.format == "pickle":
            return wrap_estimator(load_pickle(file, what="This sklearn model", allow_pickle=allow_pickle))
        if saved.format == "skops":
            trusted = saved.details.get("trusted_types")
            return wrap_estimator(load_skops(file, [str(t) for t in trusted] if isinstance(trusted, list) else []))
        raise ValidationFailed([("format", f"unknown sklearn format {saved.format!r}; expected 'skops' or 'pickle'")])

    def can_read_file(self, path: Path) -> bool:
        return has_suffix(path, ".skops", *PICKLE_SUFFIXES)

    def read_file(self, path: Path) -> object:
        """Read a .skops file, or a .pkl/.pickle/.joblib pickle.

        Unpickling runs code from the file. It is allowed here because `read_file` serves
        `shipyard models register PATH`, the authenticated registration path: the person
        registering vouches for the file, exactly as they would by calling `register(model)` in
        Python. The object read may be of any kind; `flavor_for` then picks its flavor.
        """
        if not self.can_read_file(path):
            raise bad_file(path, "expected a .skops, .pkl, .pickle or .joblib file")
        try:
            if path.suffix.lower() == ".skops":
                return load_skops(path)
            if path.suffix.lower() == ".joblib":
                joblib = import_optional("joblib", feature="sklearn flavor", extra="sklearn")
                return joblib.load(path)
            return load_pickle(path, what=str(path), allow_pickle=True)
        except MissingDependency:
            raise
        except Exception as exc:  # corrupted files fail in many ways (zip, pickle, missing classes)
            raise bad_file(path, f"cannot be read as a {path.suffix} model ({type(exc).__name__}: {exc})") from exc


__all__ = ["SklearnClassifierModel", "SklearnFlavor", "SklearnModel", "load_skops", "wrap_estimator"]
