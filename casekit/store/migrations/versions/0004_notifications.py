"""notifications: outbox, deliveries, subscriptions, collaborator addresses, templates

Revision ID: 0004
Revises: 0009
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0004'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('casekit_collaborator_addresses',
    sa.Column('shipper_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('carrier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['carrier_org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_collaborator_addresses_carrier_org_id_casekit_organizations')),
    sa.ForeignKeyConstraint(['shipper_org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_collaborator_addresses_shipper_org_id_casekit_organizations')),
    sa.PrimaryKeyConstraint('shipper_org_id', 'carrier_org_id', 'side', name=op.f('pk_casekit_collaborator_addresses'))
    )
    with op.batch_alter_table('casekit_collaborator_addresses', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_collaborator_addresses_carrier', ['carrier_org_id'], unique=False)

    op.create_table('casekit_mail_templates',
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_mail_templates_org_id_casekit_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'name', name=op.f('pk_casekit_mail_templates'))
    )
    op.create_table('casekit_subscriptions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['casekit_users.id'], name=op.f('fk_casekit_subscriptions_user_id_casekit_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'event', name=op.f('pk_casekit_subscriptions'))
    )
    with op.batch_alter_table('casekit_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_subscriptions_event', ['event', 'enabled'], unique=False)

    op.create_table('casekit_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('recipient_kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.String(length=200), nullable=True),
    sa.Column('new_value', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', casekit.store.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['author_org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_outbox_author_org_id_casekit_organizations')),
    sa.ForeignKeyConstraint(['case_id'], ['casekit_cases.id'], name=op.f('fk_casekit_outbox_case_id_casekit_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['casekit_customers.id'], name=op.f('fk_casekit_outbox_customer_id_casekit_customers')),
    sa.ForeignKeyConstraint(['entry_id'], ['casekit_entries.id'], name=op.f('fk_casekit_outbox_entry_id_casekit_entries')),
    sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_outbox_org_id_casekit_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['casekit_users.id'], name=op.f('fk_casekit_outbox_user_id_casekit_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_outbox'))
    )
    with op.batch_alter_table('casekit_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_outbox_case', ['case_id', 'id'], unique=False)
        batch_op.create_index('ix_casekit_outbox_due', ['status', 'next_attempt_at', 'id'], unique=False)

    op.create_table('casekit_delivery_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attempted_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['casekit_outbox.id'], name=op.f('fk_casekit_delivery_attempts_outbox_id_casekit_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_delivery_attempts'))
    )
    with op.batch_alter_table('casekit_delivery_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_delivery_attempts_outbox', ['outbox_id', 'id'], unique=False)



def downgrade() -> None:
    # Dropping a table drops its indexes; MySQL refuses to drop an index a
    # foreign key needs on its own.
    op.drop_table('casekit_delivery_attempts')
    op.drop_table('casekit_outbox')
    op.drop_table('casekit_subscriptions')
    op.drop_table('casekit_mail_templates')
    op.drop_table('casekit_collaborator_addresses')
