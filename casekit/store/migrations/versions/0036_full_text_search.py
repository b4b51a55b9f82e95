"""full-text search of messages, subjects, attachment names and customers

The database's own full-text indexes (casekit.store.fulltext): on
PostgreSQL a GIN index of ``to_tsvector`` in the configured language (of
messages only, on the entries), on MariaDB a ``FULLTEXT`` index, on SQLite
an FTS5 table that keeps no copy of the text, kept by triggers. Each is
built from the rows already stored.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-11
"""

from alembic import context, op

from casekit.store import fulltext


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    language = context.config.attributes.get('search_language', fulltext.DEFAULT_LANGUAGE)
    fulltext.create(op.get_bind(), language)


def downgrade() -> None:
    fulltext.drop(op.get_bind())
