"""`RetrainService`: policies, runs and trigger checks. The CLI, the API, the SDK and the server's job call it.

A run, step by step (each step's outcome goes into the run's record and log as it happens):

1. take the lease `retrain:<model>` (another run of the model going on: `RetrainRunInProgress`);
2. gather the data window and split off its most recent rows as the holdout;
3. train the challenger in a child process on the rest, with the champion's params;
4. score champion and challenger on the holdout, and register the challenger with its lineage
   (parent version, trigger, window fingerprint) whatever the outcome;
5. accept it only if it beats the champion by the margin, then roll it out as the policy says.

A run that fails at any step is stored as failed with the reason, and fires a `retrain.failed` alert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ..config import RetrainSettings
from ..deployments import DeploymentService
from ..errors import DeploymentNotFound, RetrainFailed, ShipyardError, ValidationFailed
from ..monitoring.alerting import Alert, AlertSink, LogAlertSink
from ..registry import ModelVersion, Registry
from ..store import Database
from ..store.tables import utcnow
from . import policies, runs
from .evaluation import decide, infer_task, score
from .evidence import latest_drift_of, latest_quality_of
from .policy import RetrainPolicy, check_metric
from .rollout import roll_out
from .runs import FAILED, SUCCEEDED, RetrainRun, RunLease
from .trainer import RunLog, run_trainer
from .triggers import DriftEvidence, Fired, QualityEvidence, first_fired, in_cooldown, manual
from .window import LogWindow, build_window, split_holdout

logger = logging.getLogger(__name__)

TRIGGER_ACTOR = "shipyard-retrain"
"""Who automatic runs (and the versions they register) are recorded as."""

DriftSource = Callable[[Database, str, int], DriftEvidence | None]
"""(db, model, version) → the latest stored drift result of that version, if any."""
QualitySource = Callable[[Database, str, int], QualityEvidence | None]
"""(db, model, version) → the latest stored live quality of that version, if any."""


class RetrainService:
    """Retraining of registered models by their policies.

    service = RetrainService(registry, settings.retrain, alerts=sink, deployments=deployments)
    service.set_policy("churn", yaml.safe_load(open("policy.yaml")), actor="alice")
    run = service.run("churn", actor="alice")       # a manual run, start to finish
    run.decision, run.reason                          # "accepted", "better by 0.0312: …"
    """

    def __init__(
        self,
        registry: Registry,
        settings: RetrainSettings | None = None,
        *,
        alerts: AlertSink | None = None,
        deployments: DeploymentService | None = None,
        log_window: LogWindow | None = None,
        drift: DriftSource | None = latest_drift_of,
        quality: QualitySource | None = latest_quality_of,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings or RetrainSettings()
        self.alerts: AlertSink = alerts or LogAlertSink()
        self.deployments = deployments
        self.log_window = log_window
        self.drift = drift
        self.quality = quality
        self.storage_options = dict(storage_options or {})

    def __repr__(self) -> str:
        return f"RetrainService(registry={self.registry!r})"

    # -- policies -----------------------------------------------------------------------------------

    def set_policy(self, model: str, document: object, *, actor: str | None = None) -> policies.StoredPolicy:
        """Validate and store `model`'s policy (a mapping as read from YAML/JSON); audited."""
        return policies.set_policy(self.registry, model, document, actor=actor or self.registry.actor)

    def get_policy(self, model: str) -> policies.StoredPolicy:
        return policies.get_policy(self.registry, model)

    def delete_policy(self, model: str, *, actor: str | None = None) -> None:
        policies.delete_policy(self.registry, model, actor=actor or self.registry.actor)

    def list_policies(self) -> list[policies.StoredPolicy]:
        return policies.list_policies(self.registry)

    # -- runs ---------------------------------------------------------------------------------------

    def list_runs(self, model: str | None = None, *, limit: int = 50, status: str | None = None) -> list[RetrainRun]:
        return runs.list_runs(self.registry.db, model, limit=limit, status=status)

    def get_run(self, run_id: str) -> RetrainRun:
        return runs.get_run(self.registry.db, run_id)

    def run(
        self,
        model: str,
        *,
        trigger: Fired | None = None,
        actor: str | None = None,
        on_log: Callable[[str], None] | None = None,
    ) -> RetrainRun:
        """Retrain `model` now and wait for the outcome (stored, and returned).

        Raises `RetrainPolicyNotFound` or `RetrainRunInProgress` before anything starts; a failure
        during the run does not raise: the run is returned (and stored) as failed, and an alert fires.
        """
        started, policy, lease, log = self._start(model, trigger, actor, on_log)
        return self._execute(started, policy, lease, log)

    def start(self, model: str, *, trigger: Fired | None = None, actor: str | None = None) -> RetrainRun:
        """Start a run in a background thread and return it while it is `running` (poll `get_run`)."""
        started, policy, lease, log = self._start(model, trigger, actor, None)
        thread = threading.Thread(
            target=self._execute, args=(started, policy, lease, log), name=f"retrain:{started.id}", daemon=True
        )
        thread.start()
        return started

    def _start(
        self, model: str, trigger: Fired | None, actor: str | None, on_log: Callable[[str], None] | None
    ) -> tuple[RetrainRun, RetrainPolicy, RunLease, RunLog]:
        actor = actor or self.registry.actor
        policy = self.get_policy(model).policy
        champion = self.registry.resolve(model)
        fired = trigger or manual(actor)
        run_id = runs.new_run_id()
        lease = RunLease(self.registry.db, model, run_id, self.settings.lease_seconds)
        lease.take()
        try:
            started = runs.create_run(self.registry.db, run_id, model, fired.to_dict(), actor, champion.version)
        except BaseException:
            lease.release()
            raise
        log = RunLog(self.settings.max_log_bytes, on_log)
        self._note(log, f"run {run_id} of {model}: {fired.reason}; champion v{champion.version}")
        return started, policy, lease, log

    def _execute(self, run: RetrainRun, policy: RetrainPolicy, lease: RunLease, log: RunLog) -> RetrainRun:
        progress: dict[str, Any] = {}
        try:
            self._steps(run, policy, log, progress)
            self._note(log, f"done: {progress.get('decision')} — {progress.get('reason')}")
            return self._save(run.id, log, status=SUCCEEDED, finished_at=utcnow(), **progress)
        except Exception as exc:
            return self._fail(run, log, progress, exc)
        finally:
            lease.release()

    def _fail(self, run: RetrainRun, log: RunLog, progress: dict[str, Any], exc: Exception) -> RetrainRun:
        reason = str(exc) if isinstance(exc, ShipyardError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ShipyardError):
            logger.exception("retraining run %s of %s failed unexpectedly", run.id, run.model)
        self._note(log, f"failed: {reason}")
        stored = self._save(run.id, log, status=FAILED, finished_at=utcnow(), error=reason, **progress)
        alert = Alert(
            rule="retrain.failed",
            subject=run.model,
            message=f"retraining run {run.id} of {run.model} failed: {reason}",
            severity="warning",
            details={"run": run.id, "trigger": run.trigger_kind, "parent_version": run.parent_version},
        )
        try:
            self.alerts.fire(alert)
        except Exception:  # a sink must not raise; if one does, the run is stored all the same
            logger.exception("the alert for failed retraining run %s could not be fired", run.id)
        return stored

    def _save(self, run_id: str, log: RunLog, **values: Any) -> RetrainRun:
        return runs.update_run(self.registry.db, run_id, logs=log.text(), **values)

    @staticmethod
    def _note(log: RunLog, message: str) -> None:
        log.write(f"[{datetime.now(UTC):%Y-%m-%d %H:%M:%S}] {message}")

    def _steps(self, run: RetrainRun, policy: RetrainPolicy, log: RunLog, progress: dict[str, Any]) -> None:
        assert run.parent_version is not None  # `_start` resolved the champion
        champion = self.registry.get_version(run.model, run.parent_version)
        window = build_window(
            policy.data,
            model=run.model,
            signature=champion.signature,
            now=utcnow(),
            log_window=self.log_window,
            storage_options=self.storage_options,
        )
        train, holdout = split_holdout(window, policy.evaluation.holdout)
        progress["window"] = {**window.describe(), "train_rows": len(train), "holdout_rows": len(holdout)}
        self._note(log, f"window: {window.rows} rows, {len(train)} to train on, the newest {len(holdout)} held out")
        self._save(run.id, log, **progress)
        champion_model = self.registry.load(champion)
        task = policy.evaluation.task or infer_task(champion_model, window.frame[window.label])
        metric = policy.evaluation.metric or ("accuracy" if task == "classification" else "rmse")
        try:
            check_metric(metric, task)
        except ValueError as exc:
            raise RetrainFailed("evaluation", f"evaluation.metric: {exc}") from exc
        columns = [*window.features, window.label]
        context = {
            "model": run.model,
            "run": run.id,
            "parent_version": champion.version,
            "trigger": run.trigger,
            "label": window.label,
            "features": list(window.features),
            "task": task,
        }
        self._note(log, f"training ({policy.trainer.entry_point or policy.trainer.command})")
        trained = run_trainer(
            policy.trainer, train[columns], champion.params, context, log, work_dir=self.settings.work_dir
        )
        progress["metrics"] = {"trainer": trained.metrics, "metric": metric, "task": task}
        X, y = holdout[list(window.features)], holdout[window.label]
        challenger_figures = score(trained.model, "the challenger", X, y, task, metric)
        champion_figures = score(champion_model, f"the champion v{champion.version}", X, y, task, metric)
        progress["metrics"].update(champion=champion_figures, challenger=challenger_figures)
        challenger = self._register(run, trained.model, train, window.features, window.label, champion, progress)
        progress["challenger_version"] = challenger.version
        self._note(log, f"registered the challenger as v{challenger.version}")
        decision = decide(
            metric,
            champion_figures[metric],
            challenger_figures[metric],
            policy.evaluation.margin,
            names=(f"v{champion.version}", f"v{challenger.version}"),
        )
        progress.update(decision="accepted" if decision.accepted else "rejected", reason=decision.reason)
        self._save(run.id, log, **progress)
        if decision.accepted:
            progress["rollout"] = roll_out(
                policy.rollout,
                registry=self.registry,
                deployments=self.deployments,
                model=run.model,
                version=challenger.version,
                actor=run.started_by,
            )
            progress["reason"] = f"{decision.reason}; {_rollout_text(progress['rollout'])}"

    def _register(
        self,
        run: RetrainRun,
        model: object,
        train: pd.DataFrame,
        features: tuple[str, ...],
        label: str,
        champion: ModelVersion,
        progress: Mapping[str, Any],
    ) -> ModelVersion:
        figures = progress["metrics"]
        metrics = {
            **figures["trainer"],
            **{f"holdout_{k}": v for k, v in figures["challenger"].items() if k != "count"},
        }
        try:
            return self.registry.register(
                model,
                run.model,
                data=train[list(features)],
                target=train[label],
                params=champion.params,
                metrics=metrics,
                tags={
                    "retrain.run": run.id,
                    "retrain.trigger": run.trigger_kind,
                    "retrain.window": progress["window"]["fingerprint"],
                },
                description=f"Retrained by run {run.id} ({run.trigger.get('reason', run.trigger_kind)}).",
                derived_from=champion.uri,
                actor=run.started_by,
            )
        except (ValidationFailed, TypeError) as exc:
            raise RetrainFailed("registration", f"the trained model cannot be registered: {exc}") from exc

    # -- triggers -----------------------------------------------------------------------------------

    def due(self, stored: policies.StoredPolicy, now: datetime | None = None) -> Fired | None:
        """The trigger of `stored` that fires now, if any (None in the cooldown after the last run)."""
        now = now or utcnow()
        policy, model = stored.policy, stored.model
        if not policy.enabled or not policy.triggers:
            return None
        last = runs.last_run(self.registry.db, model)
        last_started = last.started_at if last else None
        if in_cooldown(policy, last_started, now) or self._rolling_out(policy, model):
            return None
        version = self.registry.resolve(model).version
        last_scheduled = runs.last_run(self.registry.db, model, kind="schedule")
        scheduled_base = max(stored.updated_at, last_scheduled.started_at) if last_scheduled else stored.updated_at
        db = self.registry.db
        watches = {t.kind for t in policy.triggers}
        return first_fired(
            policy.triggers,
            drift=self.drift(db, model, version) if self.drift and watches & {"drift", "feature_drift"} else None,
            quality=self.quality(db, model, version) if self.quality and "quality" in watches else None,
            last_started=last_started,
            last_scheduled=scheduled_base,
            now=now,
        )

    def _rolling_out(self, policy: RetrainPolicy, model: str) -> bool:
        """A canary (or shadow) is being judged where this policy rolls out: no new challenger meanwhile."""
        if policy.rollout.mode not in ("canary", "shadow"):
            return False
        service = self.deployments or DeploymentService(self.registry)
        try:
            deployment = service.get(policy.rollout.deployment or model)
        except DeploymentNotFound:
            return False
        canary = deployment.rollout is not None and deployment.rollout.active
        return canary or (policy.rollout.mode == "shadow" and bool(deployment.shadows))

    def check_triggers(self, now: datetime | None = None) -> list[RetrainRun]:
        """Check every enabled policy's triggers and run those that fire, one after the other (the server's job)."""
        started: list[RetrainRun] = []
        for stored in policies.list_policies(self.registry, enabled_only=True):
            try:
                fired = self.due(stored, now)
                if fired is not None:
                    logger.info("retraining %s: %s", stored.model, fired.reason)
                    started.append(self.run(stored.model, trigger=fired, actor=TRIGGER_ACTOR))
            except ShipyardError as exc:  # e.g. a run already going on, an archived model: next check
                logger.info("retraining %s not started: %s", stored.model, exc)
            except Exception:
                logger.exception("checking the retraining triggers of %s failed", stored.model)
        return started


def _rollout_text(rollout: Mapping[str, Any]) -> str:
    mode = rollout.get("mode")
    if mode == "staging":
        return f"alias {rollout['alias']} now points at v{rollout['version']}"
    if mode == "shadow":
        return f"v{rollout['version']} shadows {rollout['deployment']!r}"
    if mode == "canary":
        steps = "/".join(f"{s:g}" for s in rollout["steps"])
        return f"canary of v{rollout['version']} on {rollout['deployment']!r} started ({steps} %)"
    return "registered only (rollout: none)"


__all__ = ["TRIGGER_ACTOR", "DriftSource", "QualitySource", "RetrainService"]
