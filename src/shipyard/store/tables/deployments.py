"""Deployments: arms, rollout state, per-arm health samples and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class DeploymentRow(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str] = mapped_column(String(128))
    """The registered model whose versions the arms serve."""
    stable_version: Mapped[int] = mapped_column(Integer)
    """The arm canaries are compared with, and the one requests fall back to while another arm loads."""
    sticky_source: Mapped[str | None] = mapped_column(String(16))
    sticky_key: Mapped[str | None] = mapped_column(String(128))
    segments: Mapped[list[Any]] = mapped_column(JSON)
    """[[start, end, version], ...]: which arm owns each slice of the routing space (`deployments.routing`)."""
    description: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped by every change: the canary controller applies a decision only to the revision it judged."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class DeploymentArmRow(Base):
    __tablename__ = "deployment_arms"

    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`primary` (answers callers) or `shadow` (answers copies in the background)."""
    weight: Mapped[float] = mapped_column(Float)
    """Percent: of the traffic (primary arms), or of the requests mirrored (shadow arms)."""


class DeploymentRolloutRow(Base):
    """The deployment's current (or last) canary rollout; its steps are in `deployment_events`."""

    __tablename__ = "deployment_rollouts"

    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    canary_version: Mapped[int] = mapped_column(Integer)
    stable_version: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[Any]] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(Integer)
    interval_seconds: Mapped[float] = mapped_column(Float)
    max_error_rate: Mapped[float | None] = mapped_column(Float)
    max_p99_ratio: Mapped[float | None] = mapped_column(Float)
    max_quality_drop: Mapped[float | None] = mapped_column(Float)
    min_requests: Mapped[int] = mapped_column(Integer)
    min_p99_delta_ms: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    """running, paused, promoted or rolled_back."""
    started_at: Mapped[datetime] = mapped_column()
    step_started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)


class DeploymentEventRow(Base):
    """What happened to a deployment, newest last. Keyed by name, so history outlives a deleted deployment."""

    __tablename__ = "deployment_events"
    __table_args__ = (Index("ix_deployment_events_deployment_id", "deployment", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeploymentSampleRow(Base):
    """One worker's figures for one arm over one flush window; the controller and `status` sum them."""

    __tablename__ = "deployment_samples"
    __table_args__ = (Index("ix_deployment_samples_deployment_end", "deployment", "window_end"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(String(128))
    arm: Mapped[str] = mapped_column(String(80))
    """`v4` for a primary arm, `shadow:v5` for a shadow arm."""
    version: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(255))
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    latency_sum: Mapped[float] = mapped_column(Float)
    latency_buckets: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Sparse histogram: bucket index (as text) → count, buckets of `deployments.figures.LatencySketch`."""
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Shadow arms: agreement and differences with the primary's answers, and copies dropped."""


__all__ = ["DeploymentArmRow", "DeploymentEventRow", "DeploymentRolloutRow", "DeploymentRow", "DeploymentSampleRow"]
