"""identifiers and unique names compared byte for byte on MySQL and MariaDB

Their default collation compares text case-insensitively, so a unique index
saw "ACME" and "acme" as one value where PostgreSQL and SQLite see two: a
check made in Python passed and the insert then failed. Nothing changes on
PostgreSQL and SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BINARY = 'utf8mb4_bin'

#: (table, column, length, nullable)
COLUMNS = [
    ('casekit_organizations', 'external_id', 200, True),
    ('casekit_users', 'external_id', 200, True),
    ('casekit_customers', 'external_id', 200, True),
    ('casekit_shipments', 'reference', 200, False),
    ('casekit_orders', 'number', 200, False),
    ('casekit_cases', 'number', 32, True),
    ('casekit_saved_views', 'name', 100, False),
    ('casekit_api_keys', 'public_id', 32, False),
    ('casekit_shipment_events', 'event_key', 200, False),
    ('casekit_rules', 'name', 100, False),
]


def _mysql() -> bool:
    return op.get_bind().dialect.name in ('mysql', 'mariadb')


def upgrade() -> None:
    if not _mysql():
        return
    for table, column, length, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            existing_type=sa.String(length),
            type_=sa.String(length, collation=BINARY),
            existing_nullable=nullable,
        )


def downgrade() -> None:
    if not _mysql():
        return
    for table, column, length, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            existing_type=sa.String(length, collation=BINARY),
            type_=sa.String(length),
            existing_nullable=nullable,
        )
