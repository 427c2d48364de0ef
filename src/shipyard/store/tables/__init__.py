"""The metadata schema, as SQLAlchemy 2 declarative tables, one module per feature.

Alembic migrations create it; importing this package registers every table on `Base.metadata`
(a test compares that with the migrated database).
"""

from __future__ import annotations

from . import alerts, batch, deployments, drift, feedback, retraining
from .base import Base, utcnow
from .leases import LeaseRow
from .registry import AliasRow, ApiKeyRow, ApprovalRow, AuditEventRow, ModelVersionRow, RegisteredModel

__all__ = [
    "AliasRow",
    "ApiKeyRow",
    "ApprovalRow",
    "AuditEventRow",
    "Base",
    "LeaseRow",
    "ModelVersionRow",
    "RegisteredModel",
    "alerts",
    "batch",
    "deployments",
    "drift",
    "feedback",
    "retraining",
    "utcnow",
]
