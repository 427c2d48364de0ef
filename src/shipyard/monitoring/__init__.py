"""Monitoring: metrics, the prediction log, feedback and quality, drift, alerts."""

from __future__ import annotations

from .alerting import Alert, AlertSink, LogAlertSink

__all__ = ["Alert", "AlertSink", "LogAlertSink"]
