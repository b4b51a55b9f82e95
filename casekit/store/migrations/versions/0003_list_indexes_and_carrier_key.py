"""list indexes per side, carrier search key

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new indexes before the old ones go: on MySQL the foreign keys on
    # shipper_org_id and carrier_org_id need an index led by their column.
    with op.batch_alter_table('casekit_cases', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_cases_carrier_list', ['carrier_org_id', 'created_at', 'id', 'status', 'carrier_owner_id', 'latest_message_org_id', 'latest_message_at', 'shipment_id'], unique=False)
        batch_op.create_index('ix_casekit_cases_shipper_list', ['shipper_org_id', 'created_at', 'id', 'status', 'shipper_owner_id', 'latest_message_org_id', 'latest_message_at', 'shipment_id'], unique=False)
        batch_op.drop_index('ix_casekit_cases_carrier_created')
        batch_op.drop_index('ix_casekit_cases_shipper_created')

    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier_key', sa.String(length=200), nullable=True))

    # The existing snapshots' key; casekit keeps it from now on.
    op.execute('UPDATE casekit_shipments SET carrier_key = lower(carrier_name) WHERE carrier_name IS NOT NULL')

    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_shipments_carrier_key', ['carrier_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_casekit_shipments_carrier_key')
        batch_op.drop_column('carrier_key')

    with op.batch_alter_table('casekit_cases', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_cases_shipper_created', ['shipper_org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_casekit_cases_carrier_created', ['carrier_org_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_casekit_cases_shipper_list')
        batch_op.drop_index('ix_casekit_cases_carrier_list')
