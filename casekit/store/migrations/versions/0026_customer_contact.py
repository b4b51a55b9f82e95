"""the customer's phone, its share with the carrier, and who the carrier read solved it

Customers gain ``phone`` (NULL: none given). Cases gain ``contact_shared_at``,
when the shipper shared its customer's contact details with the carrier
(NULL: not shared), and ``carrier_solved_by``, who solved the case as the
carrier reads it, kept like ``carrier_solved_at`` (migration 0025) when the
shipper reopens with its customer. Existing cases the carrier reads solved
get their ``solved_by``.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, never a batch: on SQLite a batch would copy the cases into
# a new table and drop the old one, and the drop would cascade to every entry.


def upgrade() -> None:
    op.add_column('casekit_customers', sa.Column('phone', sa.String(length=32), nullable=True))
    op.add_column(
        'casekit_cases',
        sa.Column('contact_shared_at', casekit.store.types.UTCDateTime(), nullable=True),
    )
    op.add_column('casekit_cases', sa.Column('carrier_solved_by', sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE casekit_cases SET carrier_solved_by = solved_by "
        "WHERE carrier_status = 'solved' AND carrier_solved_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column('casekit_cases', 'carrier_solved_by')
    op.drop_column('casekit_cases', 'contact_shared_at')
    op.drop_column('casekit_customers', 'phone')
