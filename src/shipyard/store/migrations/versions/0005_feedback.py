"""ground-truth feedback joined to logged predictions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.Column("sent_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("model", "request_id", "row"),
    )
    op.create_index("ix_feedback_model_received", "feedback", ["model", "received_at"])
    op.create_table(
        "prediction_log_settings",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("drop_fields", sa.JSON(), nullable=False),
        sa.Column("hash_fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("model"),
    )
    op.create_table(
        "quality_latest",
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labelled", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model", "version"),
    )


def downgrade() -> None:
    op.drop_table("quality_latest")
    op.drop_table("prediction_log_settings")
    op.drop_index("ix_feedback_model_received", table_name="feedback")
    op.drop_table("feedback")
