"""identifiers searched by prefix, whatever their case

Each identifier the search box looks up gets a ``_key`` column, the value
lower-cased, kept by the database (generated, stored; on SQLite, virtual:
its index stores the values all the same) and compared byte for byte
(``C`` on PostgreSQL, ``utf8mb4_bin`` on MariaDB), so that a prefix is one
range of its index (casekit.query.search): the shipment's tracking, BOL,
PO, reference, RA and order numbers and its own reference, the order's
number and the CRM numbers. The shipments' search indexes move from the
values to their keys; the database fills the keys of the rows already
stored.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-11
"""

from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

#: The shipment's identifiers and the names of their search indexes.
SHIPMENT_INDEXES = {
    'tracking_number': 'ix_casekit_shipments_tracking',
    'bol_number': 'ix_casekit_shipments_bol',
    'po_number': 'ix_casekit_shipments_po',
    'reference_number': 'ix_casekit_shipments_reference_number',
    'ra_number': 'ix_casekit_shipments_ra',
    'order_number': 'ix_casekit_shipments_order_number',
}


def _key(source: str) -> sa.Column[str]:
    stored = op.get_bind().dialect.name != 'sqlite'
    kind = (
        sa.String(length=200)
        .with_variant(sa.String(length=200, collation='C'), 'postgresql')
        .with_variant(sa.String(length=200, collation='utf8mb4_bin'), 'mysql', 'mariadb')
    )
    return sa.Column(f'{source}_key', kind, sa.Computed(f'lower({source})', persisted=stored))


def upgrade() -> None:
    for source, index in SHIPMENT_INDEXES.items():
        op.drop_index(index, table_name='casekit_shipments')
        op.add_column('casekit_shipments', _key(source))
        op.create_index(index, 'casekit_shipments', [f'{source}_key'])
    op.add_column('casekit_shipments', _key('reference'))
    op.create_index('ix_casekit_shipments_reference', 'casekit_shipments', ['reference_key'])
    op.add_column('casekit_orders', _key('number'))
    op.create_index('ix_casekit_orders_number_key', 'casekit_orders', ['number_key'])
    # MariaDB's foreign key on org_id may use the index: make the new one first.
    op.add_column('casekit_crm_numbers', _key('number'))
    op.create_index('ix_casekit_crm_numbers_org_key', 'casekit_crm_numbers', ['org_id', 'number_key'])
    op.drop_index('ix_casekit_crm_numbers_org_number', table_name='casekit_crm_numbers')
    op.create_index(
        'ix_casekit_crm_numbers_org_number', 'casekit_crm_numbers', ['org_id', 'number_key']
    )
    op.drop_index('ix_casekit_crm_numbers_org_key', table_name='casekit_crm_numbers')


def downgrade() -> None:
    op.create_index('ix_casekit_crm_numbers_org_key', 'casekit_crm_numbers', ['org_id', 'number'])
    op.drop_index('ix_casekit_crm_numbers_org_number', table_name='casekit_crm_numbers')
    op.create_index('ix_casekit_crm_numbers_org_number', 'casekit_crm_numbers', ['org_id', 'number'])
    op.drop_index('ix_casekit_crm_numbers_org_key', table_name='casekit_crm_numbers')
    op.drop_column('casekit_crm_numbers', 'number_key')
    op.drop_index('ix_casekit_orders_number_key', table_name='casekit_orders')
    op.drop_column('casekit_orders', 'number_key')
    op.drop_index('ix_casekit_shipments_reference', table_name='casekit_shipments')
    op.drop_column('casekit_shipments', 'reference_key')
    for source, index in SHIPMENT_INDEXES.items():
        op.drop_index(index, table_name='casekit_shipments')
        op.drop_column('casekit_shipments', f'{source}_key')
        op.create_index(index, 'casekit_shipments', [source])
