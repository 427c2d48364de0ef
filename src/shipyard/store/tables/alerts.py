"""Alert rules, alert history, and the per-minute request figures the traffic rules read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128))
    """A model or deployment name, or `*` for each of them."""
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The kind's figures: threshold, window_minutes, feature, metric, direction, min_requests, errors."""
    severity: Mapped[str] = mapped_column(String(16))
    cooldown_seconds: Mapped[int | None] = mapped_column(Integer)
    notify: Mapped[list[Any]] = mapped_column(JSON)
    """`log` and/or webhook URLs; empty: the server's default notifiers."""
    enabled: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))


class AlertEventRow(Base):
    """One alert in the history: fired once, then repeated (deduplicated) until its cooldown passed."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_key_fired", "key", "fired_at"), Index("ix_alert_events_fired", "fired_at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    rule: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    """Times it fired again within the cooldown (not notified again)."""
    resolved_at: Mapped[datetime | None] = mapped_column()
    delivery: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, delivered, failed (at least one notifier gave up)."""
    deliveries: Mapped[list[Any]] = mapped_column(JSON)
    """Per notifier: {"notifier", "ok", "attempts", "error"}."""


class TrafficMinuteRow(Base):
    """One worker's request figures for one endpoint and model version over one minute.

    Each worker writes only its own rows (no contention between workers); the alert rules sum them
    over workers and replicas for a window.
    """

    __tablename__ = "traffic_minutes"

    minute: Mapped[datetime] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    server_errors: Mapped[int] = mapped_column(BigInteger)
    latency_sum: Mapped[float] = mapped_column(Float)
    latency_buckets: Mapped[list[Any]] = mapped_column(JSON)
    """Counts per bucket of `monitoring.metrics.catalog.LATENCY_BUCKETS`, the last one past the largest bound."""


__all__ = ["AlertEventRow", "AlertRuleRow", "TrafficMinuteRow"]
