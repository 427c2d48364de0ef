"""audit events: an idempotency key for events replayed from a spill file

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("event_key", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_events_event_key", "audit_events", ["event_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_audit_events_event_key", table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("event_key")
