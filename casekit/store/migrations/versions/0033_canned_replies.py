"""canned replies and their uses

``casekit_canned_replies`` holds each organization's ready answers and each
user's own; ``casekit_canned_reply_uses`` one row per use (inserted into a
composer, or applied to a case), which the usage figures count.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_canned_replies',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('user_id', Id, nullable=True),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('audience', sa.String(length=16), nullable=False),
        sa.Column('actions', sa.Text(), nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_canned_replies_org_id_casekit_organizations')),
        sa.ForeignKeyConstraint(['user_id'], ['casekit_users.id'], name=op.f('fk_casekit_canned_replies_user_id_casekit_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_canned_replies')),
    )
    with op.batch_alter_table('casekit_canned_replies', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_canned_replies_org_id_user_id', ['org_id', 'user_id'], unique=False)

    op.create_table(
        'casekit_canned_reply_uses',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('reply_id', Id, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('user_id', Id, nullable=True),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('applied', sa.Boolean(), nullable=False),
        sa.Column('used_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['reply_id'], ['casekit_canned_replies.id'], name=op.f('fk_casekit_canned_reply_uses_reply_id_casekit_canned_replies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_canned_reply_uses_org_id_casekit_organizations')),
        sa.ForeignKeyConstraint(['user_id'], ['casekit_users.id'], name=op.f('fk_casekit_canned_reply_uses_user_id_casekit_users')),
        sa.ForeignKeyConstraint(['case_id'], ['casekit_cases.id'], name=op.f('fk_casekit_canned_reply_uses_case_id_casekit_cases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_canned_reply_uses')),
    )
    with op.batch_alter_table('casekit_canned_reply_uses', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_canned_reply_uses_org_id_used_at', ['org_id', 'used_at'], unique=False)
        batch_op.create_index('ix_casekit_canned_reply_uses_reply_id', ['reply_id'], unique=False)


def downgrade() -> None:
    op.drop_table('casekit_canned_reply_uses')
    op.drop_table('casekit_canned_replies')
