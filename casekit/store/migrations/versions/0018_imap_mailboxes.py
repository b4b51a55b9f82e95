"""IMAP mailboxes: the UIDs taken, and OAuth 2.0 tokens kept encrypted

``casekit_imap_uids`` records each message ``casekit inbound poll`` took, by
(mailbox, UIDVALIDITY, UID), in the transaction that stores it.
``casekit_oauth_tokens`` keeps access tokens (and rotated refresh tokens)
encrypted with the ``oauth_token_key`` setting.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
IDENT = sa.String(200).with_variant(sa.String(200, collation='utf8mb4_bin'), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table(
        'casekit_imap_uids',
        sa.Column('mailbox', IDENT, nullable=False),
        sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
        sa.Column('uid', sa.BigInteger(), nullable=False),
        sa.Column('inbound_id', ID, nullable=True),
        sa.Column('taken_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['inbound_id'],
            ['casekit_inbound_messages.id'],
            name=op.f('fk_casekit_imap_uids_inbound_id_casekit_inbound_messages'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('mailbox', 'uidvalidity', 'uid', name=op.f('pk_casekit_imap_uids')),
    )
    op.create_table(
        'casekit_oauth_tokens',
        sa.Column('account', sa.String(length=64), nullable=False),
        sa.Column('access_token', sa.Text(), nullable=False),
        sa.Column('refresh_token', sa.Text(), nullable=True),
        sa.Column('expires_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('account', name=op.f('pk_casekit_oauth_tokens')),
    )


def downgrade() -> None:
    op.drop_table('casekit_oauth_tokens')
    op.drop_table('casekit_imap_uids')
