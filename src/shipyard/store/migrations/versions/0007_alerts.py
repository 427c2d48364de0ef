"""alert rules and alert history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in with its feature


def downgrade() -> None:
    pass
