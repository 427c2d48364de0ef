"""Build a `Registry` from `Settings`: the storage wiring, in one place."""

from __future__ import annotations

from ..artifacts import open_artifact_store
from ..config import Settings, load_settings
from ..store import open_database
from .service import Registry


def open_registry(settings: Settings | None = None) -> Registry:
    """A registry on the configured database and artifact store (migrations applied)."""
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return Registry(
        open_database(settings.resolved_db_url), open_artifact_store(settings), settings.registry, settings.actor
    )


__all__ = ["open_registry"]
