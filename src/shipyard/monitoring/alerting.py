"""The one way any part of Shipyard raises an alert: build an `Alert`, hand it to an `AlertSink`.

Deployments (a canary rolled back), retraining (a failed run) and the monitoring rules all fire
through this interface; the alert manager (persisted history, cooldown, deduplication, webhook
and log notifiers) is one implementation, `LogAlertSink` the fallback when none is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

logger = logging.getLogger("shipyard.alerts")

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class Alert:
    rule: str
    """What fired: a rule's name, or a built-in source such as `deployment.rollback`, `retrain.failed`."""
    subject: str
    """What it is about: a model, deployment or endpoint name."""
    message: str
    """One line a person can act on, with the numbers that triggered it."""
    severity: Severity = "warning"
    details: dict[str, Any] = field(default_factory=dict)
    """The figures behind the alert (JSON-serialisable)."""

    @property
    def key(self) -> str:
        """Alerts with equal keys are duplicates of each other (cooldown and deduplication use it)."""
        return f"{self.rule}:{self.subject}"


class AlertSink(Protocol):
    def fire(self, alert: Alert) -> None:
        """Record and deliver `alert`; must not raise (delivery failures are retried or logged)."""


class LogAlertSink:
    """Writes every alert to the `shipyard.alerts` logger."""

    def fire(self, alert: Alert) -> None:
        level = logging.CRITICAL if alert.severity == "critical" else logging.WARNING
        logger.log(level, "[%s] %s %s: %s %s", alert.severity, alert.rule, alert.subject, alert.message, alert.details)


__all__ = ["Alert", "AlertSink", "LogAlertSink", "Severity"]
