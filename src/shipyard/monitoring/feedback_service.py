"""`MonitoringService`: the prediction log, feedback and quality behind one object, for the API, the
CLI and the SDK (which stay thin: they parse, call one method here and format the answer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config import MonitoringSettings, Settings
from ..store import Database
from ..store.tables.base import utcnow
from .feedback import FeedbackResult, check_models_exist, parse_feedback, resolve_models, store_feedback
from .feedback_join import QualityWindow, labelled_window, quality_windows
from .feedback_quality import latest_quality, update_latest_quality
from .predlog.factory import log_storage_options
from .predlog.layout import check_model_name
from .predlog.lookup import find_models
from .predlog.reader import read_log
from .predlog.redaction import Redaction
from .predlog.rules import get_redaction, set_redaction
from .quality import Task

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    import pyarrow as pa


@dataclass
class MonitoringService:
    db: Database
    log_location: str
    settings: MonitoringSettings = field(default_factory=MonitoringSettings)
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> MonitoringService:
        return cls(db, settings.resolved_log_url, settings.monitoring, log_storage_options(settings))

    def __repr__(self) -> str:
        return f"MonitoringService(log={self.log_location!r}, db={self.db!r})"

    # prediction log -------------------------------------------------------------------------

    def logs(
        self,
        model: str,
        since: datetime | str | float,
        until: datetime | str | float | None = None,
        *,
        version: int | None = None,
        arm: str | None = None,
        include_shadow: bool = False,
        limit: int | None = None,
    ) -> pa.Table:
        return read_log(
            self.log_location,
            model,
            since,
            until,
            version=version,
            arm=arm,
            include_shadow=include_shadow,
            limit=limit,
            storage_options=self.storage_options,
        )

    def redaction(self, model: str) -> Redaction:
        return get_redaction(self.db, model)

    def set_redaction(self, model: str, *, drop: list[str], hash: list[str], actor: str) -> Redaction:
        return set_redaction(self.db, model, drop=drop, hash=hash, actor=actor)

    # feedback and quality -------------------------------------------------------------------

    def submit_feedback(
        self,
        raw: Any,
        *,
        actor: str,
        model: str | None = None,
        authorize: Callable[[str], None] | None = None,
    ) -> FeedbackResult:
        """Validate, attach each item to its model (given, or found in the recent log), check the caller
        may send feedback for each model (`authorize(model)` raises if not), then store."""
        items = parse_feedback(raw, max_items=self.settings.feedback_max_items, model=model)
        items = resolve_models(items, self._find_models)
        models = {item.model for item in items if item.model is not None}
        if authorize is not None:
            for name in sorted(models):
                authorize(name)
        check_models_exist(self.db, models)
        return store_feedback(self.db, items, actor=actor)

    def _find_models(self, request_ids: Sequence[str]) -> dict[str, str]:
        since = utcnow() - timedelta(hours=self.settings.feedback_lookup_hours)
        return find_models(self.log_location, list(request_ids), since, storage_options=self.storage_options)

    def quality(
        self,
        model: str,
        since: datetime | str | float,
        until: datetime | str | float | None = None,
        *,
        window: str | float | None = None,
        version: int | None = None,
        task: Task | None = None,
    ) -> list[QualityWindow]:
        check_model_name(model)
        return quality_windows(
            self.db,
            self.log_location,
            model,
            since,
            until,
            window,
            version,
            task,
            storage_options=self.storage_options,
        )

    def labelled_window(
        self,
        model: str,
        since: datetime | str | float,
        until: datetime | str | float | None = None,
        version: int | None = None,
    ) -> pd.DataFrame:
        return labelled_window(
            self.db, self.log_location, model, since, until, version, storage_options=self.storage_options
        )

    def latest_quality(self, model: str | None = None) -> list[dict[str, Any]]:
        return latest_quality(self.db, model)

    def update_latest_quality(self) -> list[dict[str, Any]]:
        """The quality job's body: recompute and store every model's latest figures (see feedback_quality)."""
        return update_latest_quality(
            self.db, self.log_location, self.settings.quality_window_seconds, storage_options=self.storage_options
        )


__all__ = ["MonitoringService", "log_storage_options"]
