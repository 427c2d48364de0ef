"""Storage layer: the metadata database (SQLAlchemy 2 + Alembic) and the audit trail."""

from __future__ import annotations

from .audit import AuditEvent, audit_source, list_events, record_event, record_keyed_events
from .database import Database, create_db_engine, open_database

__all__ = [
    "AuditEvent",
    "Database",
    "audit_source",
    "create_db_engine",
    "list_events",
    "open_database",
    "record_event",
    "record_keyed_events",
]
