"""the customer's read markers

``casekit_customer_read_markers`` holds, per customer and case, the newest
entry meant for the customer that the customer read (the portal's case page
marks it); the portal's list marks the cases with such an entry newer than
that. Staff users keep theirs in ``casekit_read_markers``.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_customer_read_markers',
        sa.Column('customer_id', ID, nullable=False),
        sa.Column('case_id', ID, nullable=False),
        sa.Column('entry_id', ID, nullable=False),
        sa.Column('read_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_customer_read_markers_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['customer_id'],
            ['casekit_customers.id'],
            name=op.f('fk_casekit_customer_read_markers_customer_id_casekit_customers'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'customer_id', 'case_id', name=op.f('pk_casekit_customer_read_markers')
        ),
    )


def downgrade() -> None:
    op.drop_table('casekit_customer_read_markers')
