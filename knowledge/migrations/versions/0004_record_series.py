"""records: series statement (series name and volume number)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 07:30:00

``records.series`` and ``records.series_number`` hold a record's series statement (MARC 490/830
``$a`` and ``$v``, the CSV columns ``series`` and ``series_number``), so "tetralogi buru jilid 1"
and "lanjutan laskar pelangi" find the volume asked for. The series name is searchable through
``catalog_index.title_terms`` (maintained in Python by ``knowledge.catalog.reindex``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("records", sa.Column("series", sa.Text(), nullable=True))
    op.add_column("records", sa.Column("series_number", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("series_number")
        batch.drop_column("series")
