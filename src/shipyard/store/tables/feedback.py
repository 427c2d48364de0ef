"""Ground-truth feedback and per-model prediction-log settings."""

from __future__ import annotations

__all__: list[str] = []
