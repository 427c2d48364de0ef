"""Ground-truth feedback, per-model prediction-log settings and the latest quality figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class FeedbackRow(Base):
    """One label for one row of one logged request. A second label for the same row replaces the
    first (`revisions` counts them); the join with the prediction log happens when quality is asked for."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_model_received", "model", "received_at"),)

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    # JSON keeps the label's type (a class name, a number, a bool) as the caller sent it.
    label: Mapped[Any] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    revisions: Mapped[int] = mapped_column(Integer, default=1)
    sent_by: Mapped[str] = mapped_column(String(255))


class LogSettingsRow(Base):
    """Per model: input fields dropped or hashed before the prediction log sees them."""

    __tablename__ = "prediction_log_settings"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    drop_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hash_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class QualityRow(Base):
    """The latest quality figures of one model version, as the quality job last computed them."""

    __tablename__ = "quality_latest"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    labelled: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[float] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["FeedbackRow", "LogSettingsRow", "QualityRow"]
