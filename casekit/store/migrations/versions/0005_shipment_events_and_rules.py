"""shipment tracking state and events, rules and the cases they hold

Revision ID: 0005
Revises: 0008
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0005'
down_revision = '0008'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipment_status', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('exception', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('status_at', casekit.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('appointment_at', casekit.store.types.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_casekit_shipments_shipper_status', ['shipper_org_id', 'shipment_status'], unique=False)

    op.create_table(
        'casekit_shipment_events',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('shipment_id', Id, nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('exception', sa.String(length=32), nullable=True),
        sa.Column('occurred_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('recorded_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('event_key', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['shipment_id'], ['casekit_shipments.id'], name=op.f('fk_casekit_shipment_events_shipment_id_casekit_shipments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_shipment_events')),
        sa.UniqueConstraint('shipment_id', 'event_key', name=op.f('uq_casekit_shipment_events_shipment_id_event_key')),
    )
    with op.batch_alter_table('casekit_shipment_events', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_shipment_events_shipment_time', ['shipment_id', 'occurred_at'], unique=False)

    op.create_table(
        'casekit_rules',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('definition', sa.Text(), nullable=False),
        sa.Column('assigned', sa.Integer(), nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_rules_org_id_casekit_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_rules')),
        sa.UniqueConstraint('org_id', 'name', name=op.f('uq_casekit_rules_org_id_name')),
    )

    op.create_table(
        'casekit_rule_cases',
        sa.Column('rule_id', Id, nullable=False),
        sa.Column('shipment_id', Id, nullable=False),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('opened_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('status_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['casekit_cases.id'], name=op.f('fk_casekit_rule_cases_case_id_casekit_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['rule_id'], ['casekit_rules.id'], name=op.f('fk_casekit_rule_cases_rule_id_casekit_rules'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['shipment_id'], ['casekit_shipments.id'], name=op.f('fk_casekit_rule_cases_shipment_id_casekit_shipments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('rule_id', 'shipment_id', name=op.f('pk_casekit_rule_cases')),
    )
    with op.batch_alter_table('casekit_rule_cases', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_rule_cases_case', ['case_id'], unique=False)
        batch_op.create_index('ix_casekit_rule_cases_shipment', ['shipment_id'], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop one a foreign key needs).
    op.drop_table('casekit_rule_cases')
    op.drop_table('casekit_rules')
    op.drop_table('casekit_shipment_events')
    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_casekit_shipments_shipper_status')
        batch_op.drop_column('appointment_at')
        batch_op.drop_column('status_at')
        batch_op.drop_column('exception')
        batch_op.drop_column('shipment_status')
