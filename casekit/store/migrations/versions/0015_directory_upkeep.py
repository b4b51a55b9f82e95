"""directory upkeep: deactivated users and the directory's audit trail

Users gain ``deactivated_at``: since when a user who left is deactivated
(``active`` is false). Users deactivated before this revision keep NULL: the
date is not known. ``casekit_directory_changes`` records each change to an
organization, a user or a customer: who changed which field, from what to what.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch: on SQLite a batch would copy the users
    # into a new table and drop the old one.
    op.add_column(
        'casekit_users',
        sa.Column('deactivated_at', casekit.store.types.UTCDateTime(), nullable=True),
    )
    op.create_table(
        'casekit_directory_changes',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('org_id', ID, nullable=False),
        sa.Column('subject', sa.String(length=16), nullable=False),
        sa.Column('subject_id', ID, nullable=False),
        sa.Column('change', sa.String(length=32), nullable=False),
        sa.Column('old_value', sa.String(length=320), nullable=True),
        sa.Column('new_value', sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_directory_changes_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_directory_changes')),
    )
    op.create_index(
        'ix_casekit_directory_changes_org_id',
        'casekit_directory_changes',
        ['org_id', 'id'],
        unique=False,
    )


def downgrade() -> None:
    # The index goes with the table (MySQL keeps it for the foreign key until then).
    op.drop_table('casekit_directory_changes')
    op.drop_column('casekit_users', 'deactivated_at')
