"""The notebook-facing functions: `shipyard.register(model, name=...)`, `shipyard.load(uri)`, …

Each call works on the registry that the environment configures (`SHIPYARD_HOME`, `SHIPYARD_DB_URL`,
`SHIPYARD_ARTIFACTS`, `shipyard.toml`). The registry is opened once per configuration and reused.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import Settings, load_settings
from .flavors.base import LoadedModel
from .registry import ModelVersion, Registry, open_registry
from .registry.importer import import_mlflow_model


@functools.lru_cache(maxsize=4)
def _registry_for(settings_json: str) -> Registry:
    # Keyed on the settings' JSON so a changed environment (another SHIPYARD_HOME) gets its own registry;
    # the cache only saves reconnecting and re-checking migrations on every call.
    return open_registry(Settings.model_validate_json(settings_json))


def default_registry() -> Registry:
    """The registry of the current configuration."""
    return _registry_for(load_settings().model_dump_json())


def register(
    model: object,
    name: str,
    *,
    data: Any = None,
    target: Any = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    flavor: str | None = None,
    derived_from: str | None = None,
    requires_approval: bool | None = None,
    serving: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Register `model` as the next version of `name`.

    With `data` (the training features) the version gets an input/output signature, a reference
    profile for drift detection and a data fingerprint in its lineage; `target` joins the fingerprint.

        >>> mv = shipyard.register(clf, name="churn", data=X, target=y, metrics={"auc": 0.91})
        >>> mv.version, mv.uri
        (1, 'models:/churn/1')
    """
    return default_registry().register(
        model,
        name,
        data=data,
        target=target,
        params=params,
        metrics=metrics,
        tags=tags,
        description=description,
        flavor=flavor,
        derived_from=derived_from,
        requires_approval=requires_approval,
        serving=serving,
    )


def load(uri: str) -> LoadedModel:
    """Load a registered model by URI (`models:/churn/3`, `models:/churn@production`, `churn`); call `.predict`."""
    return default_registry().load(uri)


def get_version(name: str, version: int) -> ModelVersion:
    """One version of a model. Raises `ModelNotFound` / `VersionNotFound` naming the closest ones."""
    return default_registry().get_version(name, version)


def search_versions(
    name: str | None = None,
    *,
    filter: str | None = None,
    tags: Mapping[str, str] | None = None,
    order_by: str | None = None,
    include_archived: bool = False,
    limit: int | None = None,
) -> list[ModelVersion]:
    """Versions matching e.g. `filter="metrics.accuracy > 0.9"`, optionally ordered (`"metrics.accuracy desc"`)."""
    return default_registry().search_versions(
        name, filter=filter, tags=tags, order_by=order_by, include_archived=include_archived, limit=limit
    )


def set_alias(name: str, alias: str, version: int) -> ModelVersion:
    """Point `alias` (e.g. "production") of model `name` at `version`, atomically; writes an audit event."""
    return default_registry().set_alias(name, alias, version)


def delete_alias(name: str, alias: str) -> None:
    """Remove an alias; writes an audit event."""
    default_registry().delete_alias(name, alias)


def approve(name: str, version: int, comment: str | None = None) -> None:
    """Approve a version for production; the approver must differ from the user who registered it."""
    default_registry().approve(name, version, comment=comment)


def archive(name: str, version: int) -> ModelVersion:
    """Archive a version: it loses its aliases and can no longer be aliased or served."""
    return default_registry().archive(name, version)


def import_mlflow(path: str | Path, name: str, *, tags: Mapping[str, Any] | None = None) -> ModelVersion:
    """Register an MLflow model directory (its MLmodel file, flavors and signature) as a new version."""
    return import_mlflow_model(default_registry(), Path(path), name, tags=tags)


__all__ = [
    "approve",
    "archive",
    "default_registry",
    "delete_alias",
    "get_version",
    "import_mlflow",
    "load",
    "register",
    "search_versions",
    "set_alias",
]
