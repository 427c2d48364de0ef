"""Batch scoring jobs: one row per job, its figures kept up to date while it runs (see `shipyard.batch`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class BatchJobRow(Base):
    __tablename__ = "batch_jobs"
    # `--resume` looks up the latest job writing to an output; `batch list` reads newest first.
    __table_args__ = (Index("ix_batch_jobs_output_uri", "output_uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_uri: Mapped[str] = mapped_column(String(255))
    """The reference as given (`churn@production`); `model_name`/`model_version` is what it resolved to."""
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[int] = mapped_column(Integer)
    input_uri: Mapped[str] = mapped_column(String(1024))
    output_uri: Mapped[str] = mapped_column(String(1024))
    rejects_uri: Mapped[str] = mapped_column(String(1024))
    input_fingerprint: Mapped[str] = mapped_column(String(80))
    input_files: Mapped[int] = mapped_column(Integer)
    input_bytes: Mapped[int] = mapped_column(BigInteger)
    engine: Mapped[str] = mapped_column(String(16))
    batch_rows: Mapped[int] = mapped_column(Integer)
    id_column: Mapped[str | None] = mapped_column(String(255))
    outputs: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    rows_in: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_out: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    parts: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    holder: Mapped[str] = mapped_column(String(255))
    """The process running it ("host:pid:random"): `--resume` takes over only from one that is gone."""
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    """Renewed every few seconds while it runs; a running job whose heartbeat stopped was interrupted."""
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    """Time spent running, summed over attempts (a resumed job adds its new run)."""
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))


__all__ = ["BatchJobRow"]
