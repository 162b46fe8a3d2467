"""delivery receipts of sent message parts (WhatsApp statuses)

Revision ID: b0004
Revises: b0002
Create Date: 2026-12-01 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0004"
down_revision = "b0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("platform_id", sa.String(length=255), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("channel", "platform_id", name="uq_receipts_channel_platform_id"),
    )
    op.create_index("ix_receipts_outbox_id", "receipts", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_receipts_outbox_id", table_name="receipts")
    op.drop_table("receipts")
