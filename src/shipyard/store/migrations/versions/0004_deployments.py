"""deployments, arms, rollout state and history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in with its feature


def downgrade() -> None:
    pass
