"""`DriftService`: drift of a model's logged predictions (or of data handed over) against each
version's reference profile, stored with its window. The API, the CLI, the SDK and the server's
scheduled job all come through here.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ...config import Settings
from ...errors import ModelNotFound, NoDriftData, NoReferenceProfile
from ...registry import ModelVersion, Registry
from ...schema.profile import Profile
from ...types import Digest
from ..predlog import models_in_log
from . import store
from .engine import compare
from .methods import DriftConfig
from .reference import Reference
from .result import DriftReport
from .window import Window, current_columns, read_window

logger = logging.getLogger(__name__)

Listener = Callable[[DriftReport], None]


class DriftService:
    """Drift runs of the models in `registry`, reading the prediction log at `log_url`.

    `threads` columns are compared at once (default: the cores). `listeners` are called with every
    stored report (a failing listener is logged, never fails the run).
    """

    def __init__(
        self,
        registry: Registry,
        log_url: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
        threads: int | None = None,
        listeners: Sequence[Listener] = (),
        cached_references: int = 8,
    ) -> None:
        self.registry = registry
        self.log_url = log_url
        self.storage_options = dict(storage_options or {})
        self.threads = threads
        self.listeners = list(listeners)
        self._references: OrderedDict[str, Reference] = OrderedDict()
        self._cache_size = cached_references
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, registry: Registry, *, listeners: Sequence[Listener] = ()
    ) -> DriftService:
        """The service of the configured prediction log (`monitoring.log_url`) and drift settings."""
        from ..predlog import log_storage_options

        return cls(
            registry,
            settings.resolved_log_url,
            storage_options=log_storage_options(settings),
            threads=settings.drift.threads,
            listeners=listeners,
        )

    def reference(self, version: ModelVersion) -> Reference:
        """The prepared reference profile of `version` (kept for the next windows; raises `NoReferenceProfile`)."""
        digest = version.profile_digest
        if digest is None:
            raise NoReferenceProfile(version.name, version.version)
        with self._lock:
            if digest in self._references:
                self._references.move_to_end(digest)
                return self._references[digest]
        # Verified against its sha256 by the artifact store on the way in.
        prepared = Reference.from_profile(Profile.from_bytes(self.registry.artifacts.get_bytes(Digest(digest))))
        with self._lock:
            self._references[digest] = prepared
            while len(self._references) > self._cache_size:
                self._references.popitem(last=False)
        return prepared

    def evaluate(
        self,
        model: str,
        since: datetime | str | float = "1h",
        until: datetime | str | float | None = None,
        *,
        version: int | None = None,
        trigger: str = "api",
        actor: str = "shipyard",
        min_rows: int = 1,
        store_results: bool = True,
    ) -> list[DriftReport]:
        """Drift of each version of `model` in the window of its prediction log, one report per version
        (only `version`'s when given), stored unless `store_results` is false.

        Raises `ModelNotFound`/`VersionNotFound`, `ValidationFailed` for a bad window, `NoDriftData`
        when the window holds no rows (of `version`), `NoReferenceProfile` when `version` has none.
        """
        self.registry.get_model(model)
        if version is not None:
            self.registry.get_version(model, version)
        window = read_window(
            self.log_url, model, since, until, version=version, storage_options=self.storage_options or None
        )
        versions = window.versions()
        if not versions:
            raise NoDriftData(model, window.describe(), version)
        config = store.get_config(self.registry.db, model)
        reports: list[DriftReport] = []
        without_profile: list[int] = []
        for number in versions:
            report = self._evaluate_version(model, number, window, config)
            if report is None:
                without_profile.append(number)
            elif report.rows >= min_rows:
                reports.append(self._finish(report, trigger, actor, store_results))
        if without_profile and (version is not None or len(without_profile) == len(versions)):
            raise NoReferenceProfile(model, without_profile[0])  # nothing could be measured: say why
        return reports

    def compare_data(
        self,
        model: str,
        data: object,
        *,
        version: int | None = None,
        trigger: str = "sdk",
        actor: str = "shipyard",
        store_results: bool = False,
    ) -> DriftReport:
        """Drift of `data` (DataFrame, pyarrow Table, mapping or Parquet path; inputs and optionally
        `output:<name>` columns) against a version of `model` (default: production, else the latest)."""
        mv = self.registry.get_version(model, version) if version is not None else self.registry.resolve(model)
        report = compare(self.reference(mv), data, store.get_config(self.registry.db, model), threads=self.threads)
        report = replace(report, model=model, version=mv.version, computed_at=datetime.now(UTC))
        return self._finish(report, trigger, actor, store_results)

    def run_scheduled(self, window_seconds: float, *, min_rows: int, retention_days: float | None = None) -> int:
        """The server's job: every model with logged predictions (and drift enabled), over the last
        `window_seconds`. Returns the number of reports stored."""
        end = datetime.now(UTC)
        start = end - timedelta(seconds=window_seconds)
        configs = store.configured_models(self.registry.db)
        known = {info.name for info in self.registry.list_models()}
        stored = 0
        for model in models_in_log(self.log_url, self.storage_options or None):
            if model not in known or not configs.get(model, DriftConfig()).enabled:
                continue
            try:
                stored += len(self.evaluate(model, start, end, trigger="schedule", min_rows=min_rows))
            except (NoDriftData, ModelNotFound):
                continue
            except Exception:  # one model's broken data must not stop the others
                logger.exception("scheduled drift of %s failed", model)
        if retention_days is not None:
            store.delete_runs_before(self.registry.db, end - timedelta(days=retention_days))
        return stored

    def _evaluate_version(self, model: str, number: int, window: Window, config: DriftConfig) -> DriftReport | None:
        mv = self.registry.get_version(model, number)
        if mv.profile_digest is None:
            logger.info("drift of %s version %d skipped: no reference profile", model, number)
            return None
        reference = self.reference(mv)
        columns = current_columns(window.rows_of(number))
        report = compare(reference, columns, config, threads=self.threads)
        notes = [] if reference.has_predictions else [_NO_PREDICTION_REFERENCE]
        return replace(
            report,
            model=model,
            version=number,
            window_start=window.start,
            window_end=window.end,
            computed_at=datetime.now(UTC),
            notes=notes,
        )

    def _finish(self, report: DriftReport, trigger: str, actor: str, store_results: bool) -> DriftReport:
        if store_results:
            report = store.save_report(self.registry.db, report, trigger=trigger, actor=actor)
        else:
            report = replace(report, trigger=trigger)
        for listener in self.listeners:
            try:
                listener(report)
            except Exception:
                logger.exception("drift listener %r failed", listener)
        return report


def scheduled_drift(settings: Settings, registry: Registry) -> Callable[[], int]:
    """The server's drift job (a `serving.background.Job` runs it on one worker of all replicas)."""
    service = DriftService.from_settings(settings, registry)
    drift = settings.drift

    def run() -> int:
        return service.run_scheduled(drift.window_seconds, min_rows=drift.min_rows, retention_days=drift.retention_days)

    return run


_NO_PREDICTION_REFERENCE = (
    "no prediction drift: the version's profile has no outputs (registered before Shipyard profiled "
    "outputs, or with a signature given instead of one inferred from data)"
)


__all__ = ["DriftService", "Listener", "scheduled_drift"]
