"""Lazy imports of the frameworks, each turning a missing package into `MissingDependency` with the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import MissingDependency


def import_optional(module: str, *, feature: str, extra: str, package: str | None = None) -> ModuleType:
    """Import `module` or raise `MissingDependency` naming `pip install 'shipyard[extra]'`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(feature=feature, extra=extra, package=package or module) from exc


__all__ = ["import_optional"]
