"""webhooks: subscriptions, their outbox and delivery attempts

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_webhooks',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('org_id', ID, nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.String(length=500), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=500), nullable=True),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_webhooks_org_id_casekit_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_webhooks')),
    )
    with op.batch_alter_table('casekit_webhooks', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_webhooks_org_id', ['org_id'], unique=False)

    op.create_table(
        'casekit_webhook_outbox',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('webhook_id', ID, nullable=False),
        sa.Column('case_id', ID, nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('sent_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['casekit_cases.id'], name=op.f('fk_casekit_webhook_outbox_case_id_casekit_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['webhook_id'], ['casekit_webhooks.id'], name=op.f('fk_casekit_webhook_outbox_webhook_id_casekit_webhooks'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_webhook_outbox')),
    )
    with op.batch_alter_table('casekit_webhook_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_webhook_outbox_due', ['status', 'next_attempt_at', 'id'], unique=False)
        batch_op.create_index('ix_casekit_webhook_outbox_webhook', ['webhook_id', 'id'], unique=False)

    op.create_table(
        'casekit_webhook_attempts',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('delivery_id', ID, nullable=False),
        sa.Column('attempted_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['casekit_webhook_outbox.id'], name=op.f('fk_casekit_webhook_attempts_delivery_id_casekit_webhook_outbox'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_webhook_attempts')),
    )
    with op.batch_alter_table('casekit_webhook_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_webhook_attempts_delivery', ['delivery_id', 'id'], unique=False)


def downgrade() -> None:
    # Indexes go with their tables (MySQL keeps one for a foreign key until then).
    op.drop_table('casekit_webhook_attempts')
    op.drop_table('casekit_webhook_outbox')
    op.drop_table('casekit_webhooks')
