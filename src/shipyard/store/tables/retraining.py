"""Retraining policies (one per model) and runs (one row per attempt, never overlapping for a model)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class RetrainPolicyRow(Base):
    __tablename__ = "retrain_policies"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The validated policy document (`retrain.policy.RetrainPolicy`), as JSON."""
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class RetrainRunRow(Base):
    __tablename__ = "retrain_runs"
    __table_args__ = (Index("ix_retrain_runs_model_started", "model", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    """running, succeeded or failed."""
    trigger_kind: Mapped[str] = mapped_column(String(32))
    """manual, drift, feature_drift, quality or schedule: what started the run."""
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The trigger and the evidence it fired on (drift share, quality figure, cron time, caller)."""
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[str] = mapped_column(String(255))
    finished_at: Mapped[datetime | None] = mapped_column()
    parent_version: Mapped[int | None] = mapped_column(Integer)
    challenger_version: Mapped[int | None] = mapped_column(Integer)
    window: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The data window: sources, rows used for training and for the holdout, fingerprint."""
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """`champion` and `challenger` on the holdout, `trainer` as the trainer reported."""
    decision: Mapped[str | None] = mapped_column(String(16))
    """accepted or rejected (None until the evaluation ran)."""
    reason: Mapped[str | None] = mapped_column(Text)
    rollout: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    logs: Mapped[str] = mapped_column(Text, default="")


__all__ = ["RetrainPolicyRow", "RetrainRunRow"]
