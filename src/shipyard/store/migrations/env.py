"""Alembic environment: runs on the connection Shipyard hands over (see `store.migrate`)."""

from __future__ import annotations

from alembic import context

from shipyard.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` on the command line gets here
    raise RuntimeError("Run migrations through shipyard.store.open_database(), which passes a connection.")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
