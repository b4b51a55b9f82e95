"""actions: delivery appointments and dispositions

``casekit_actions`` holds a case's structured actions (casekit.domain.actions):
delivery appointments (proposed windows, the accepted one, kept or missed)
and dispositions (the carrier's request, the shipper's decision, the
shipper's internal note). Shipments gain the accepted delivery window and
the time zone it was agreed in.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _fk(column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    table = target.split('.')[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f'fk_casekit_actions_{column}_{table}'),
        ondelete=ondelete,
    )


def upgrade() -> None:
    when = casekit.store.types.UTCDateTime
    op.create_table(
        'casekit_actions',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('audience', sa.String(length=16), nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('carrier_org_id', Id, nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', when(), nullable=False),
        sa.Column('updated_at', when(), nullable=False),
        sa.Column('replaces_id', Id, nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=True),
        sa.Column('windows', sa.Text(), nullable=True),
        sa.Column('accepted_start', when(), nullable=True),
        sa.Column('accepted_end', when(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=True),
        sa.Column('deadline', when(), nullable=True),
        sa.Column('storage_from', when(), nullable=True),
        sa.Column('storage_per_day', sa.Numeric(12, 2), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('choice', sa.String(length=16), nullable=True),
        sa.Column('payer', sa.String(length=16), nullable=True),
        sa.Column('ra_number', sa.String(length=200), nullable=True),
        sa.Column('internal_note', sa.Text(), nullable=True),
        sa.Column('carrier_reference', sa.String(length=200), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_org_id', Id, nullable=True),
        sa.Column('decided_at', when(), nullable=True),
        _fk('case_id', 'casekit_cases.id', 'CASCADE'),
        _fk('org_id', 'casekit_organizations.id'),
        _fk('carrier_org_id', 'casekit_organizations.id'),
        _fk('replaces_id', 'casekit_actions.id', 'SET NULL'),
        _fk('decided_org_id', 'casekit_organizations.id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_actions')),
    )
    op.create_index('ix_casekit_actions_case', 'casekit_actions', ['case_id', 'id'])
    op.create_index('ix_casekit_actions_state_end', 'casekit_actions', ['state', 'accepted_end'])
    op.create_index(
        'ix_casekit_actions_carrier', 'casekit_actions', ['carrier_org_id', 'kind', 'created_at']
    )
    op.add_column('casekit_shipments', sa.Column('delivery_window_start', when(), nullable=True))
    op.add_column('casekit_shipments', sa.Column('delivery_window_end', when(), nullable=True))
    op.add_column(
        'casekit_shipments', sa.Column('delivery_time_zone', sa.String(length=64), nullable=True)
    )
    op.create_index(
        'ix_casekit_shipments_delivery_window', 'casekit_shipments', ['delivery_window_start']
    )


def downgrade() -> None:
    # The index first (MariaDB will not drop a column an index names), then plain
    # ALTER TABLE, not a batch (see 0029).
    op.drop_index('ix_casekit_shipments_delivery_window', table_name='casekit_shipments')
    op.drop_column('casekit_shipments', 'delivery_time_zone')
    op.drop_column('casekit_shipments', 'delivery_window_end')
    op.drop_column('casekit_shipments', 'delivery_window_start')
    op.drop_table('casekit_actions')
