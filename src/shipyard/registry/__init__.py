"""Domain: the model registry (versions, aliases, approvals, lineage)."""

from __future__ import annotations

from .diff import DiffRow, diff_versions
from .factory import open_registry
from .model_version import ModelVersion, RegisteredModelInfo
from .service import PRODUCTION, Registry
from .uri import ModelRef, parse_ref

__all__ = [
    "PRODUCTION",
    "DiffRow",
    "ModelRef",
    "ModelVersion",
    "RegisteredModelInfo",
    "Registry",
    "diff_versions",
    "open_registry",
    "parse_ref",
]
