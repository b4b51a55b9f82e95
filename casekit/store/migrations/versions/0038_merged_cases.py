"""merged cases

Cases gain ``merged_into_id``, the case a duplicate was merged into, and
``merged_at``, when (both NULL: not merged). No foreign key, so that a plain
ALTER TABLE adds and drops them on every database.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('casekit_cases', sa.Column('merged_into_id', Id, nullable=True))
    op.add_column(
        'casekit_cases',
        sa.Column('merged_at', casekit.store.types.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    # Plain ALTER TABLE, not a batch (see 0029): SQLite drops a column no index names.
    op.drop_column('casekit_cases', 'merged_at')
    op.drop_column('casekit_cases', 'merged_into_id')
