"""unsubscribing from a case's mail, and the audience a Cc'd address joined on

``casekit_unsubscriptions`` holds who unsubscribed (a recipient's key) from one
case, or from every case of a shipper. Participants gain ``audience``: the
audience of the message an address was Cc'd on, which caps what it hears; the
existing ones stay NULL and hear what their organization reads, as before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_unsubscriptions',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('recipient', sa.String(length=322), nullable=False),
        sa.Column('case_id', ID, nullable=True),
        sa.Column('org_id', ID, nullable=True),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_unsubscriptions_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_unsubscriptions_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_unsubscriptions')),
    )
    op.create_index(
        'ix_casekit_unsubscriptions_case', 'casekit_unsubscriptions', ['case_id', 'recipient']
    )
    op.create_index(
        'ix_casekit_unsubscriptions_org', 'casekit_unsubscriptions', ['org_id', 'recipient']
    )
    # Plain ALTER TABLE, never a batch (see revision 0014).
    op.add_column(
        'casekit_participants',
        sa.Column('audience', sa.String(length=16), nullable=True),
    )


def downgrade() -> None:
    op.drop_column('casekit_participants', 'audience')
    # Dropping the table drops its indexes (MySQL refuses to drop one a foreign key uses).
    op.drop_table('casekit_unsubscriptions')
