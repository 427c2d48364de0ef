"""Alert rules and alert history."""

from __future__ import annotations

__all__: list[str] = []
