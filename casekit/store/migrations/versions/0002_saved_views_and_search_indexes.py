"""saved views and search indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('casekit_saved_views',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_saved_views_org_id_casekit_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['casekit_users.id'], name=op.f('fk_casekit_saved_views_user_id_casekit_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_saved_views')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_casekit_saved_views_user_id_name'))
    )
    with op.batch_alter_table('casekit_saved_views', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_saved_views_org_shared', ['org_id', 'shared'], unique=False)

    with op.batch_alter_table('casekit_orders', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_orders_number', ['number'], unique=False)

    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_shipments_bol', ['bol_number'], unique=False)
        batch_op.create_index('ix_casekit_shipments_order_number', ['order_number'], unique=False)
        batch_op.create_index('ix_casekit_shipments_po', ['po_number'], unique=False)
        batch_op.create_index('ix_casekit_shipments_ra', ['ra_number'], unique=False)
        batch_op.create_index('ix_casekit_shipments_reference_number', ['reference_number'], unique=False)
        batch_op.create_index('ix_casekit_shipments_tracking', ['tracking_number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('casekit_shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_casekit_shipments_tracking')
        batch_op.drop_index('ix_casekit_shipments_reference_number')
        batch_op.drop_index('ix_casekit_shipments_ra')
        batch_op.drop_index('ix_casekit_shipments_po')
        batch_op.drop_index('ix_casekit_shipments_order_number')
        batch_op.drop_index('ix_casekit_shipments_bol')

    with op.batch_alter_table('casekit_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_casekit_orders_number')

    # Dropping the table drops its indexes (MySQL refuses to drop an index a
    # foreign key still needs).
    op.drop_table('casekit_saved_views')
