"""Alerts: rules on drift, quality and traffic, evaluated in the server; history, cooldown and
deduplication; log and webhook notifiers.

    from shipyard.monitoring.alerts import AlertStore
    store = AlertStore(registry.db)
    store.add_rule({"name": "churn-errors", "kind": "error_rate", "subject": "churn", "threshold": 0.05}, actor="me")
    store.history(rule="churn-errors")
"""

from __future__ import annotations

from .evaluator import DatabaseFigures, RuleEvaluator
from .kinds import KIND_FUNCTIONS, Figures, Finding, evaluate
from .manager import AlertManager
from .notifiers import Delivery, LogNotifier, Notifier, WebhookNotifier, WebhookOptions
from .rules import KINDS, QUALITY_METRICS, Rule, RuleSpec, parse_rule
from .store import AlertEvent, AlertStore

__all__ = [
    "KINDS",
    "KIND_FUNCTIONS",
    "QUALITY_METRICS",
    "AlertEvent",
    "AlertManager",
    "AlertStore",
    "DatabaseFigures",
    "Delivery",
    "Figures",
    "Finding",
    "LogNotifier",
    "Notifier",
    "Rule",
    "RuleEvaluator",
    "RuleSpec",
    "WebhookNotifier",
    "WebhookOptions",
    "evaluate",
    "parse_rule",
]
