"""The alert job: every `alert_interval_seconds`, on one worker of all replicas (a leased `Job`),
evaluate each enabled rule and fire what it finds; resolve what no longer fires.

Figures come from the database — the per-minute request figures every worker publishes, and the
latest drift and quality results — so the worker that holds the job judges the whole deployment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from ...store import Database
from ...store.tables import utcnow
from ..alerting import Alert
from ..metrics.figures import DriftFigures, FigureSource, NoFigures, QualityFigure
from ..metrics.traffic import Traffic, prune_traffic, read_traffic
from .kinds import Finding, evaluate
from .manager import AlertManager
from .rules import TRAFFIC_KINDS, Rule

logger = logging.getLogger(__name__)


class DatabaseFigures:
    """The `kinds.Figures` a rule reads: request figures from `traffic_minutes`, drift and quality from `results`."""

    def __init__(self, db: Database, results: FigureSource | None = None) -> None:
        self.db = db
        self.results = results or NoFigures()

    def traffic(self, subject: str | None, since: datetime) -> Mapping[str, Traffic]:
        return read_traffic(self.db, since, subject)

    def drift(self) -> Sequence[DriftFigures]:
        return self.results.drift()

    def quality(self) -> Sequence[QualityFigure]:
        return self.results.quality()


class RuleEvaluator:
    """One evaluation pass over the rules (`run_once`, the job's function)."""

    def __init__(
        self,
        manager: AlertManager,
        figures: DatabaseFigures,
        *,
        traffic_retention: timedelta = timedelta(hours=24),
        traffic: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.manager = manager
        self.figures = figures
        self.traffic_retention = traffic_retention
        self.traffic = traffic
        """False when no worker publishes request figures (`monitoring.metrics` off): the traffic rules are
        skipped, since no rows would read as no traffic at all."""
        self._clock = clock

    def run_once(self) -> dict[str, list[Finding]]:
        """Evaluate every enabled rule; the findings per rule name (a rule that failed is left out)."""
        now = self._clock()
        results: dict[str, list[Finding]] = {}
        for rule in self.manager.store.list_rules(enabled_only=True):
            if not self.traffic and rule.spec.kind in TRAFFIC_KINDS:
                logger.debug("alert rule %s skipped: monitoring.metrics is off, no request figures", rule.name)
                continue
            try:
                findings = evaluate(rule, self.figures, now)
            except Exception:  # one broken rule or missing figure must not stop the others
                logger.exception("alert rule %s could not be evaluated", rule.name)
                continue
            results[rule.name] = findings
            for finding in findings:
                self.manager.submit(
                    self._alert(rule, finding), notify=rule.spec.notify, cooldown_seconds=rule.spec.cooldown_seconds
                )
            resolved = self.manager.store.resolve(rule.name, {f.subject for f in findings}, now=now)
            for subject in resolved:
                logger.info("alert %s:%s resolved", rule.name, subject)
        prune_traffic(self.figures.db, self.traffic_retention)
        return results

    @staticmethod
    def _alert(rule: Rule, finding: Finding) -> Alert:
        details = {"kind": rule.spec.kind, "value": finding.value, **finding.details}
        return Alert(rule.name, finding.subject, finding.message, rule.spec.severity, details)


__all__ = ["DatabaseFigures", "RuleEvaluator"]
