"""Every deployment in one cheap read, for the servers' routing snapshot (refreshed every second)."""

from __future__ import annotations

from ..store import Database
from . import records
from .spec import Deployment


def read_deployments(db: Database) -> dict[str, Deployment]:
    with db.read() as session:
        return {d.name: d for d in records.load_all(session)}


__all__ = ["read_deployments"]
