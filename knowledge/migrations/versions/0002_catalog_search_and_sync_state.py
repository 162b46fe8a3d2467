"""catalog search index and sync state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:00:00

``catalog_index`` holds the normalised, stemmed text of each record (maintained in Python by
``knowledge.catalog.reindex``). SQLite indexes it with an FTS5 external-content table kept in
step by triggers (plus an ``fts5vocab`` table for typo correction); PostgreSQL with a GIN
full-text index and pg_trgm GiST trigram indexes. ``catalog_sync_state`` remembers each source's
watermark and last run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FTS_COLUMNS = "title, subtitle, authors, subjects, title_terms, isbn"


def _sqlite_fts() -> None:
    op.execute(
        f"CREATE VIRTUAL TABLE catalog_fts USING fts5({_FTS_COLUMNS}, "
        "content='catalog_index', content_rowid='record_id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute("CREATE VIRTUAL TABLE catalog_fts_vocab USING fts5vocab(catalog_fts, 'row')")
    new = ", ".join(f"new.{c.strip()}" for c in _FTS_COLUMNS.split(","))
    old = ", ".join(f"old.{c.strip()}" for c in _FTS_COLUMNS.split(","))
    op.execute(
        "CREATE TRIGGER catalog_index_ai AFTER INSERT ON catalog_index BEGIN "
        f"INSERT INTO catalog_fts(rowid, {_FTS_COLUMNS}) VALUES (new.record_id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER catalog_index_ad AFTER DELETE ON catalog_index BEGIN "
        f"INSERT INTO catalog_fts(catalog_fts, rowid, {_FTS_COLUMNS}) "
        f"VALUES ('delete', old.record_id, {old}); END"
    )
    op.execute(
        "CREATE TRIGGER catalog_index_au AFTER UPDATE ON catalog_index BEGIN "
        f"INSERT INTO catalog_fts(catalog_fts, rowid, {_FTS_COLUMNS}) "
        f"VALUES ('delete', old.record_id, {old}); "
        f"INSERT INTO catalog_fts(rowid, {_FTS_COLUMNS}) VALUES (new.record_id, {new}); END"
    )


def _postgres_indexes() -> None:
    bind = op.get_bind()
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    if available:
        # A role without CREATE rights must not abort the whole migration.
        savepoint = bind.begin_nested()
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            savepoint.commit()
        except sa.exc.DBAPIError:
            savepoint.rollback()
    installed = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    op.execute(
        "CREATE INDEX ix_catalog_index_fts ON catalog_index USING gin ("
        "to_tsvector('simple', title || ' ' || subtitle || ' ' || authors || ' ' || subjects"
        " || ' ' || title_terms || ' ' || isbn))"
    )
    if installed:
        # GiST, not GIN: the search orders by trigram distance (KNN, ``<->``) with a LIMIT.
        op.execute("CREATE INDEX ix_catalog_index_title_trgm ON catalog_index USING gist (title gist_trgm_ops)")
        op.execute(
            "CREATE INDEX ix_catalog_index_authors_trgm ON catalog_index USING gist (authors gist_trgm_ops)"
        )


def upgrade() -> None:
    op.create_table(
        "catalog_index",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.Column("title_terms", sa.Text(), nullable=False),
        sa.Column("isbn", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"],
            name=op.f("fk_catalog_index_record_id_records"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_catalog_index")),
    )
    op.create_table(
        "catalog_sync_state",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("watermark", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_catalog_sync_state")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_fts()
    elif dialect == "postgresql":
        _postgres_indexes()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("catalog_index_ai", "catalog_index_ad", "catalog_index_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS catalog_fts_vocab")
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    elif dialect == "postgresql":
        for index in ("ix_catalog_index_fts", "ix_catalog_index_title_trgm", "ix_catalog_index_authors_trgm"):
            op.execute(f"DROP INDEX IF EXISTS {index}")
    op.drop_table("catalog_sync_state")
    op.drop_table("catalog_index")
