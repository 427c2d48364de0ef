"""Type aliases shared across layers."""

from __future__ import annotations

from typing import NewType, TypeAlias

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
JSONObject: TypeAlias = dict[str, JSON]
ModelRef: TypeAlias = str
"""A model URI: "models:/churn/3", "models:/churn@production", or "churn" (production, else latest)."""
Digest = NewType("Digest", str)
"""A content address: "sha256:" followed by 64 hex digits."""

__all__ = ["JSON", "JSONObject", "Digest", "ModelRef"]
