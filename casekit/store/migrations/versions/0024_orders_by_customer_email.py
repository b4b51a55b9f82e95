"""the orders by the customer's email, whatever its case

``casekit_orders.customer_email_key`` is the email lower-cased, a column the
database keeps (generated, stored; on SQLite, which adds no stored column to
a table, virtual: its index stores the values all the same), and ``ix_casekit_orders_customer_email`` indexes it after the
shipper: the portal's "your orders" lookup reads its rows by the index on
every database (MariaDB has no index on an expression).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    stored = op.get_bind().dialect.name != 'sqlite'
    op.add_column(
        'casekit_orders',
        sa.Column(
            'customer_email_key',
            sa.String(length=320),
            sa.Computed('lower(customer_email)', persisted=stored),
        ),
    )
    op.create_index(
        'ix_casekit_orders_customer_email',
        'casekit_orders',
        ['shipper_org_id', 'customer_email_key'],
    )


def downgrade() -> None:
    # MariaDB's foreign key on shipper_org_id may use the index: the unique
    # constraint (shipper_org_id, number) serves it as well.
    op.drop_index('ix_casekit_orders_customer_email', table_name='casekit_orders')
    op.drop_column('casekit_orders', 'customer_email_key')
