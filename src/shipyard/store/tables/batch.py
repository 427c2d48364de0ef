"""Batch scoring jobs."""

from __future__ import annotations

__all__: list[str] = []
