"""`open_prediction_log(settings, db)`: the configured `PredictionLog` of one server worker."""

from __future__ import annotations

from typing import Any

from ...config import Settings
from ...store import Database
from .rules import load_rules, load_salt
from .segments import SegmentStore
from .writer import PredictionLog


def log_storage_options(settings: Settings) -> dict[str, Any]:
    """fsspec options for the prediction log's URL (the `s3` settings when it is on S3)."""
    from ...artifacts import s3_storage_options

    url = settings.resolved_log_url
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    return s3_storage_options(settings.s3) if scheme in ("s3", "s3a") else {}


def open_prediction_log(
    settings: Settings, db: Database, *, storage_options: dict[str, object] | None = None
) -> PredictionLog | None:
    """The log of this worker (not started: `await log.run()` in the lifespan), or None when
    `monitoring.log_mode` is `off`. WAL files live under `<home>/predlog`, segments at `resolved_log_url`."""
    monitoring = settings.monitoring
    if monitoring.log_mode == "off":
        return None
    salt = load_salt(monitoring.hash_salt.get_secret_value() if monitoring.hash_salt else None, settings.home)
    return PredictionLog(
        monitoring,
        SegmentStore(
            settings.resolved_log_url, log_storage_options(settings) if storage_options is None else storage_options
        ),
        (settings.home / "predlog").resolve(),
        rules=lambda: load_rules(db),
        salt=salt,
    )


__all__ = ["log_storage_options", "open_prediction_log"]
