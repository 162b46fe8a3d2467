"""catalog search at scale (PostgreSQL): stored tsvector, GIN trigram indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:00:00

At 100,000 records the expression index of 0002 made every ranked query recompute
``to_tsvector`` for each matching row, and the GiST trigram indexes made bulk imports slow.
``catalog_index.document`` is now a stored generated ``tsvector`` with a GIN index, and the
trigram indexes are GIN (``%`` / ``<%`` with a similarity threshold instead of KNN ordering).
The index names stay the same. SQLite (FTS5) is unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_DOCUMENT = (
    "to_tsvector('simple', title || ' ' || subtitle || ' ' || authors || ' ' || subjects"
    " || ' ' || title_terms || ' ' || isbn)"
)


def _has_trgm() -> bool:
    return bool(
        op.get_bind().execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_catalog_index_fts")
    op.execute(f"ALTER TABLE catalog_index ADD COLUMN document tsvector GENERATED ALWAYS AS ({_DOCUMENT}) STORED")
    op.execute("CREATE INDEX ix_catalog_index_fts ON catalog_index USING gin (document)")
    if _has_trgm():
        for column in ("title", "authors"):
            op.execute(f"DROP INDEX IF EXISTS ix_catalog_index_{column}_trgm")
            op.execute(
                f"CREATE INDEX ix_catalog_index_{column}_trgm ON catalog_index USING gin ({column} gin_trgm_ops)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_catalog_index_fts")
    op.execute("ALTER TABLE catalog_index DROP COLUMN IF EXISTS document")
    op.execute(f"CREATE INDEX ix_catalog_index_fts ON catalog_index USING gin ({_DOCUMENT})")
    if _has_trgm():
        for column in ("title", "authors"):
            op.execute(f"DROP INDEX IF EXISTS ix_catalog_index_{column}_trgm")
            op.execute(
                f"CREATE INDEX ix_catalog_index_{column}_trgm ON catalog_index USING gist ({column} gist_trgm_ops)"
            )
