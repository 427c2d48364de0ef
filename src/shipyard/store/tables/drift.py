"""Drift results and per-model drift settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class DriftRunRow(Base):
    """One drift evaluation of a model version over a window of its prediction log (or of data given
    on demand); `results` holds every feature's figures as `FeatureDrift.to_dict()` documents."""

    __tablename__ = "drift_runs"
    __table_args__ = (Index("ix_drift_runs_model_version_at", "model", "version", "computed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime | None] = mapped_column()
    window_end: Mapped[datetime | None] = mapped_column()
    rows: Mapped[int] = mapped_column(BigInteger)
    dataset_drift: Mapped[bool] = mapped_column()
    share: Mapped[float] = mapped_column(Float)
    share_threshold: Mapped[float] = mapped_column(Float)
    drifted_features: Mapped[list[Any]] = mapped_column(JSON)
    features: Mapped[int] = mapped_column(Integer)
    prediction_drift: Mapped[bool | None] = mapped_column()
    results: Mapped[list[Any]] = mapped_column(JSON)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    trigger: Mapped[str] = mapped_column(String(16))
    """`schedule` (the server's job), `api`, `cli` or `sdk`."""
    seconds: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_by: Mapped[str] = mapped_column(String(255))


class DriftSettingsRow(Base):
    """How one model's drift is decided (`monitoring.drift.DriftConfig`); absent: the defaults."""

    __tablename__ = "drift_settings"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    numeric_method: Mapped[str | None] = mapped_column(String(32))
    categorical_method: Mapped[str | None] = mapped_column(String(32))
    methods: Mapped[dict[str, Any]] = mapped_column(JSON)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    column_thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    share_threshold: Mapped[float] = mapped_column(Float)
    ignore: Mapped[list[Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


__all__ = ["DriftRunRow", "DriftSettingsRow"]
