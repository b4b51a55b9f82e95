"""clock recomputes still to do

``casekit_clock_recomputes`` holds the organizations whose open cases'
clocks are being recomputed after their targets or calendars changed, and
how far the recompute has come: a change recomputes what it can at once and
the worker the rest.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_clock_recomputes',
        sa.Column('org_id', Id, nullable=False),
        sa.Column('after_case_id', Id, nullable=False),
        sa.Column('requested_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_clock_recomputes_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('org_id', name=op.f('pk_casekit_clock_recomputes')),
    )


def downgrade() -> None:
    op.drop_table('casekit_clock_recomputes')
