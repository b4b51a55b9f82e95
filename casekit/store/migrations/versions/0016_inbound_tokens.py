"""provider webhook tokens, each accepted once

``casekit_inbound_tokens`` holds the token of every signed provider post
(Mailgun's ``token``) until its signature goes stale, so the same signed
post is not taken twice. The table starts empty.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TOKEN = sa.String(length=200).with_variant(
    sa.String(length=200, collation='utf8mb4_bin'), 'mysql', 'mariadb'
)


def upgrade() -> None:
    op.create_table(
        'casekit_inbound_tokens',
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('token', TOKEN, nullable=False),
        sa.Column('expires_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('provider', 'token', name=op.f('pk_casekit_inbound_tokens')),
    )
    op.create_index(
        'ix_casekit_inbound_tokens_expires', 'casekit_inbound_tokens', ['expires_at'], unique=False
    )


def downgrade() -> None:
    op.drop_table('casekit_inbound_tokens')
