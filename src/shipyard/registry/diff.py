"""Side-by-side comparison of two versions (`shipyard models diff`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model_version import ModelVersion


@dataclass(frozen=True)
class DiffRow:
    section: str
    key: str
    left: Any
    right: Any

    @property
    def changed(self) -> bool:
        return bool(self.left != self.right)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _signature_fields(version: ModelVersion) -> dict[str, Any]:
    signature = version.signature or {}
    fields: dict[str, Any] = {"layout": signature.get("layout")}
    for side in ("inputs", "outputs"):
        for spec in signature.get(side) or []:
            if isinstance(spec, dict):
                shape = spec.get("shape")
                fields[f"{side}.{spec.get('name')}"] = f"{spec.get('dtype')}{list(shape) if shape else ''}"
    return fields


def diff_versions(left: ModelVersion, right: ModelVersion) -> list[DiffRow]:
    """Every param, metric, tag, signature field and lineage fact of both versions, paired by key."""
    sections: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "version": (
            {
                "flavor": left.flavor,
                "format": left.saved.format,
                "status": left.status,
                "digest": left.digest,
                "created_by": left.created_by,
                "created_at": left.created_at.isoformat(),
            },
            {
                "flavor": right.flavor,
                "format": right.saved.format,
                "status": right.status,
                "digest": right.digest,
                "created_by": right.created_by,
                "created_at": right.created_at.isoformat(),
            },
        ),
        "params": (left.params, right.params),
        "metrics": (left.metrics, right.metrics),
        "tags": (left.tags, right.tags),
        "signature": (_signature_fields(left), _signature_fields(right)),
        "lineage": (_flatten(left.lineage), _flatten(right.lineage)),
    }
    rows = []
    for section, (a, b) in sections.items():
        for key in sorted(set(a) | set(b)):
            rows.append(DiffRow(section, key, a.get(key), b.get(key)))
    return rows


__all__ = ["DiffRow", "diff_versions"]
