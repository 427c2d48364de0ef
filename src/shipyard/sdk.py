"""The notebook-facing functions: `shipyard.register(model, name=...)`, `shipyard.load(uri)`, …

Each call works on the registry that the environment configures (`SHIPYARD_HOME`, `SHIPYARD_DB_URL`,
`SHIPYARD_ARTIFACTS`, `shipyard.toml`). The registry is opened once per configuration and reused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, load_settings
from .flavors.base import LoadedModel
from .registry import ModelVersion, Registry, open_registry
from .registry.importer import import_mlflow_model

if TYPE_CHECKING:
    from .batch import BatchJob, BatchProgress
    from .deployments import Deployment, DeploymentEvent, DeploymentService
    from .monitoring.alerts import AlertManager
    from .retrain import RetrainRun, RetrainService, StoredPolicy


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


def _monitoring() -> Any:
    from .monitoring.feedback_service import MonitoringService

    return MonitoringService.from_settings(load_settings(), default_registry().db)


def feedback(items: Any, *, model: str | None = None) -> dict[str, int]:
    """Store ground-truth labels for logged predictions: a list of `{"request_id", "label", "row"?, "model"?}`
    (or a DataFrame with those columns). A label for a row already labelled replaces it.

        >>> shipyard.feedback([{"request_id": response_id, "label": 1}], model="churn")
        {'stored': 1, 'replaced': 0}
    """
    if hasattr(items, "to_dict"):
        items = items.to_dict("records")
    return dict(_monitoring().submit_feedback(items, actor=load_settings().actor, model=model).to_dict())


def quality(
    model: str,
    since: str = "1d",
    until: str | None = None,
    *,
    window: str | None = None,
    version: int | None = None,
    task: str | None = None,
) -> list[dict[str, Any]]:
    """Quality of the labelled predictions of `model` per version (and `window`): accuracy, precision,
    recall, f1, roc_auc, log_loss (classification) or mae, rmse, r2 (regression)."""
    windows = _monitoring().quality(model, since, until, window=window, version=version, task=task)
    return [w.to_dict() for w in windows]


def prediction_log(model: str, since: str = "1h", until: str | None = None, *, version: int | None = None) -> Any:
    """The logged predictions of `model` in the window, as a pyarrow Table (`.to_pandas()` for a DataFrame)."""
    return _monitoring().logs(model, since, until, version=version)


def batch_predict(
    uri: str,
    input: str | Path,
    output: str | Path,
    *,
    engine: str = "local",
    batch_rows: int | None = None,
    id_column: str | None = None,
    outputs: Sequence[str] | None = None,
    rejects: str | Path | None = None,
    resume: bool = False,
    ray_address: str | None = None,
    ray_cpus: int | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
) -> BatchJob:
    """Score a Parquet or CSV file (a folder of them, or `s3://…`) with a registered model, streaming.

    Writes a folder of Parquet part files to `output` (the `id_column`, then one column per
    prediction); rows that do not fit the model's signature go to `rejects` (default
    `output/_rejects`) with the reason. `resume=True` continues the latest unfinished job for the
    same input and output. `engine="ray"` runs on Ray Data (`pip install 'shipyard[ray]'`). See docs/batch.md.

        >>> job = shipyard.batch_predict("churn@production", "customers.parquet", "scores/", id_column="id")
        >>> job.rows_out, job.rows_rejected
        (99998, 2)
    """
    from .batch import BatchSpec, run_batch  # pyarrow readers and engines only when scoring

    spec = BatchSpec(
        model_uri=uri,
        input=str(input),
        output=str(output),
        engine=engine,  # type: ignore[arg-type]  # BatchSpec.validated names the engines on a bad one
        batch_rows=batch_rows,
        id_column=id_column,
        outputs=tuple(outputs) if outputs else None,
        rejects=str(rejects) if rejects is not None else None,
        resume=resume,
        ray_address=ray_address,
        ray_cpus=ray_cpus,
    )
    return run_batch(default_registry(), load_settings(), spec, progress=progress)


# -- deployments: thin wrappers over DeploymentService (the same calls as `shipyard deploy …`) ----------


def deployment_service() -> DeploymentService:
    """The `DeploymentService` of the configured registry: every deployment call (pause, resume, history…)."""
    from .deployments import DeploymentService

    settings = load_settings()
    return DeploymentService(default_registry(), status_window_seconds=settings.deployments.status_window_seconds)


def deploy(name: str, model: str, *, sticky: str | None = None) -> Deployment:
    """Create deployment `name` (the endpoint `/v2/models/<name>/infer`) serving `model` (`churn@production`,
    `churn/3`) at 100 %; `sticky="header:x-user-id"` pins each user to one arm in later A/B splits."""
    from .deployments import parse_sticky

    return deployment_service().create(name, model, sticky=parse_sticky(sticky))


def canary(
    name: str,
    version: int,
    *,
    steps: Sequence[float] = (5, 25, 50, 100),
    interval: str | float = "10m",
    max_error_rate: float | None = 0.01,
    max_p99_ratio: float | None = 1.5,
    max_quality_drop: float | None = None,
    min_requests: int = 20,
) -> Deployment:
    """Start a canary of `version` on `name`: advanced a step every `interval` while healthy, rolled back
    automatically (with an alert and an audit event) when a guard breaks. `None` turns a guard off.

        >>> shipyard.canary("churn", 4, steps=(5, 25, 50, 100), interval="10m", max_error_rate=0.01)
    """
    from .deployments import RolloutPolicy, parse_interval

    seconds = parse_interval(interval) if isinstance(interval, str) else interval
    policy = RolloutPolicy(tuple(steps), seconds, max_error_rate, max_p99_ratio, max_quality_drop, min_requests)
    return deployment_service().canary(name, version, policy=policy)


def shadow(name: str, version: int, *, percent: float = 100.0) -> Deployment:
    """Mirror `percent` % of `name`'s requests to `version` in the background (answers logged and compared,
    never returned to callers)."""
    return deployment_service().shadow(name, version, percent=percent)


def ab_test(name: str, split: Mapping[int, float], *, sticky: str | None | Any = ...) -> Deployment:
    """Split `name`'s traffic, e.g. `{3: 50, 4: 50}`; `sticky="header:x-user-id"` keeps each user on one arm
    (`None` routes at random; left out, the current setting stays)."""
    from .deployments import parse_sticky
    from .deployments.transitions import KEEP

    chosen = KEEP if sticky is ... else parse_sticky(sticky)
    return deployment_service().ab(name, split, sticky=chosen)


def promote(name: str, version: int | None = None) -> Deployment:
    """Make the canary (or `version`) the one version `name` serves, at 100 %, now."""
    return deployment_service().promote(name, version)


def rollback(name: str, *, reason: str | None = None) -> Deployment:
    """Send `name` back to its stable version at 100 % (the canary, or the other A/B arms, get 0 %)."""
    return deployment_service().rollback(name, reason=reason)


def deployment_status(name: str) -> dict[str, Any]:
    """Arms, weights, req/s, error rate, p50/p99 per arm, the rollout's step and the shadow comparison."""
    return dict(deployment_service().status(name).to_dict())


def stop_shadow(name: str, version: int) -> Deployment:
    """Stop mirroring `name`'s requests to `version` (`shipyard deploy shadow NAME -v V --stop`)."""
    return deployment_service().stop_shadow(name, version)


def pause(name: str) -> Deployment:
    """Freeze `name`'s canary at its step; its guards still roll it back on a breach."""
    return deployment_service().pause(name)


def resume(name: str) -> Deployment:
    """Let `name`'s paused canary advance again (its step starts over)."""
    return deployment_service().resume(name)


def list_deployments() -> list[Deployment]:
    """Every deployment: model, arms and weights, mode, sticky key, rollout."""
    return deployment_service().list()


def deployment_history(name: str, *, limit: int = 50) -> list[DeploymentEvent]:
    """Every change of `name`, newest first: who, when, the arms after it and the figures behind automatic steps
    (also after the deployment was deleted)."""
    return deployment_service().history(name, limit=limit)


def retrain_service() -> RetrainService:
    """The retraining service of the current configuration (policies, runs, trigger checks).

    Its alerts (a failed run's `retrain.failed`) go where the CLI's and the server's go: the alert history
    and the configured webhooks, delivered by a background thread of this process (`retrain_model` waits
    for it before it returns).
    """
    return _retrain_service()[0]


def _retrain_service() -> tuple[RetrainService, AlertManager]:
    from .monitoring.alerts import AlertManager, AlertStore, WebhookOptions
    from .retrain.factory import open_retrain_service

    settings = load_settings()
    registry = _registry_for(settings.model_dump_json())
    # Built as the CLI (cli/retrain.py) and the server (serving/monitoring.py) build theirs.
    mon = settings.monitoring
    alerts = AlertManager(
        AlertStore(registry.db),
        default_notify=mon.alert_webhooks,
        cooldown_seconds=mon.alert_cooldown_seconds,
        webhook=WebhookOptions(
            mon.alert_webhook_attempts, mon.alert_webhook_backoff_seconds, mon.alert_webhook_timeout_seconds
        ),
    )
    return open_retrain_service(settings, registry, alerts=alerts), alerts


def set_retrain_policy(name: str, policy: Mapping[str, Any] | str | Path) -> StoredPolicy:
    """Set `name`'s retraining policy from a mapping, YAML/JSON text or a file (docs/retraining.md).

    >>> shipyard.set_retrain_policy("churn", {"trainer": {"entry_point": "churn.train:train"},
    ...                                       "data": {"log_period": "7d"}, "triggers": [{"kind": "drift"}]})
    """
    from .retrain import parse_policy_text

    if isinstance(policy, Path):
        policy = parse_policy_text(policy.read_text()).to_dict()
    elif isinstance(policy, str):
        policy = parse_policy_text(policy).to_dict()
    return retrain_service().set_policy(name, policy)


def retrain_model(name: str) -> RetrainRun:
    """Retrain `name` now by its policy and return the stored run (`.status`, `.decision`, `.reason`).

    (Not `shipyard.retrain`: that is the package, `shipyard.retrain.RetrainService`.)

    A run that fails is returned as failed, not raised, and its alert is recorded (and sent to the configured
    webhooks) before this returns; `RetrainRunInProgress` when one is going on.
    """
    service, alerts = _retrain_service()
    try:
        return service.run(name)
    finally:
        alerts.close()  # deliver what a failed run fired before returning, as the CLI does


def drift(
    model: str,
    since: str = "1h",
    until: str | None = None,
    *,
    version: int | None = None,
    data: Any = None,
    store: bool = True,
) -> Any:
    """Drift of `model`'s inputs and predictions against its versions' reference profiles: a list of
    `DriftReport` (one per version logged in the window), or one report for `data` (a DataFrame, pyarrow
    Table or Parquet path) compared with `version` (default: production, else latest).

        >>> [report] = shipyard.drift("churn", since="1h")
        >>> report.dataset_drift, report.drifted_features, report.feature("age").statistics["psi"]
    """
    from .monitoring.drift import DriftService

    settings = load_settings()
    service = DriftService.from_settings(settings, default_registry())
    if data is not None:
        return service.compare_data(model, data, version=version, actor=settings.actor, store_results=False)
    return service.evaluate(
        model, since, until, version=version, trigger="sdk", actor=settings.actor, store_results=store
    )


__all__ = [
    "drift",
    "retrain_model",
    "retrain_service",
    "set_retrain_policy",
    "shadow",
    "rollback",
    "promote",
    "deployment_history",
    "deployment_status",
    "deployment_service",
    "list_deployments",
    "pause",
    "resume",
    "stop_shadow",
    "deploy",
    "canary",
    "ab_test",
    "approve",
    "batch_predict",
    "archive",
    "default_registry",
    "delete_alias",
    "feedback",
    "get_version",
    "import_mlflow",
    "load",
    "prediction_log",
    "quality",
    "register",
    "search_versions",
    "set_alias",
]
