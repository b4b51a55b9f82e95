"""live updates: read markers and presence

``casekit_read_markers`` holds, per user and case, the newest entry the user
read (the case page marks it); the Case Management list marks the cases with a
readable entry newer than that. ``casekit_presence`` holds who is writing on a
case now, with when they were last seen; rows older than a few seconds are
ignored and deleted as new ones are written.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_read_markers',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('case_id', ID, nullable=False),
        sa.Column('entry_id', ID, nullable=False),
        sa.Column('read_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_read_markers_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['casekit_users.id'],
            name=op.f('fk_casekit_read_markers_user_id_casekit_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', 'case_id', name=op.f('pk_casekit_read_markers')),
    )
    op.create_table(
        'casekit_presence',
        sa.Column('case_id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('org_id', ID, nullable=False),
        sa.Column('seen_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_presence_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['casekit_users.id'],
            name=op.f('fk_casekit_presence_user_id_casekit_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('case_id', 'user_id', name=op.f('pk_casekit_presence')),
    )


def downgrade() -> None:
    op.drop_table('casekit_presence')
    op.drop_table('casekit_read_markers')
