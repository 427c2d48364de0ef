"""`open_retrain_service(settings, registry)`: the retraining service of a configuration, wired to monitoring."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from ..artifacts import s3_storage_options
from ..config import Settings
from ..deployments import DeploymentService
from ..monitoring.alerting import AlertSink
from ..monitoring.feedback_join import labelled_window
from ..monitoring.predlog.factory import log_storage_options
from ..registry import Registry
from .service import RetrainService
from .window import LogWindow


def prediction_log_window(settings: Settings, registry: Registry) -> LogWindow:
    """(model, since, until) → predictions logged in the window that have feedback, joined with it."""
    url, options = settings.resolved_log_url, log_storage_options(settings)

    def window(model: str, since: datetime, until: datetime) -> pd.DataFrame:
        return labelled_window(registry.db, url, model, since, until, storage_options=options)

    return window


def open_retrain_service(
    settings: Settings,
    registry: Registry,
    *,
    alerts: AlertSink | None = None,
    deployments: DeploymentService | None = None,
) -> RetrainService:
    """Runs read the prediction log where `settings` puts it, datasets on S3 with the `s3` settings,
    roll out through `deployments` (default: a `DeploymentService` on `registry`) and fire `alerts`."""
    return RetrainService(
        registry,
        settings.retrain,
        alerts=alerts,
        deployments=deployments or DeploymentService(registry),
        log_window=prediction_log_window(settings, registry),
        storage_options=s3_storage_options(settings.s3),
    )


__all__ = ["open_retrain_service", "prediction_log_window"]
