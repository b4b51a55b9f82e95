"""search word statistics: how many messages hold each common word, on PostgreSQL

An extended statistics object on the messages' ``to_tsvector`` (the
expression of ``ix_casekit_entries_fts``, in the language it was built in),
gathered by ``ANALYZE``: the planner reads no statistics of a partial
index's expression, and the list asks it whether a search's words are
common (casekit.query.fulltext.FullText.common). PostgreSQL 14 and newer;
nothing on the other databases.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-08
"""

from alembic import context, op

from casekit.store import fulltext


revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    language = fulltext.language(conn) or context.config.attributes.get(
        'search_language', fulltext.DEFAULT_LANGUAGE
    )
    fulltext.create_statistics(conn, language)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        conn.exec_driver_sql(f"DROP STATISTICS IF EXISTS {fulltext.STATISTICS}")
