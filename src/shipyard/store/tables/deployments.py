"""Deployments: arms, rollout state, per-arm health and history."""

from __future__ import annotations

__all__: list[str] = []
