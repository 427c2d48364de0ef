"""Shipyard: take trained models to production and keep them healthy there.

>>> import shipyard
>>> mv = shipyard.register(model, name="churn", data=X, target=y)
>>> shipyard.set_alias("churn", "production", mv.version)
>>> shipyard.load("models:/churn@production").predict(X[:5])
"""

from __future__ import annotations

from .client import Client
from .errors import (
    AliasNotFound,
    ApprovalRequired,
    ArtifactIntegrityError,
    ConfigError,
    Conflict,
    MissingDependency,
    ModelNotFound,
    NotFound,
    PickleRefused,
    ShipyardError,
    UnsupportedModel,
    ValidationFailed,
    VersionArchived,
    VersionNotFound,
)
from .registry import ModelVersion
from .sdk import (
    ab_test,
    approve,
    archive,
    batch_predict,
    canary,
    delete_alias,
    deploy,
    deployment_history,
    deployment_service,
    deployment_status,
    drift,
    feedback,
    get_version,
    import_mlflow,
    list_deployments,
    load,
    pause,
    prediction_log,
    promote,
    quality,
    register,
    resume,
    retrain_model,
    rollback,
    search_versions,
    set_alias,
    set_retrain_policy,
    shadow,
    stop_shadow,
)

__version__ = "0.1.0"

__all__ = [
    "AliasNotFound",
    "ApprovalRequired",
    "ArtifactIntegrityError",
    "Client",
    "ConfigError",
    "Conflict",
    "MissingDependency",
    "ModelNotFound",
    "ModelVersion",
    "NotFound",
    "PickleRefused",
    "ShipyardError",
    "UnsupportedModel",
    "ValidationFailed",
    "VersionArchived",
    "VersionNotFound",
    "ab_test",
    "approve",
    "archive",
    "batch_predict",
    "canary",
    "delete_alias",
    "deploy",
    "deployment_history",
    "deployment_service",
    "deployment_status",
    "drift",
    "feedback",
    "get_version",
    "import_mlflow",
    "list_deployments",
    "load",
    "pause",
    "prediction_log",
    "promote",
    "quality",
    "register",
    "resume",
    "retrain_model",
    "rollback",
    "search_versions",
    "set_alias",
    "set_retrain_policy",
    "shadow",
    "stop_shadow",
]
