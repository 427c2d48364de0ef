"""Drift results and per-model drift settings."""

from __future__ import annotations

__all__: list[str] = []
