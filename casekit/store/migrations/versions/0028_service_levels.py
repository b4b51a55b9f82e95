"""service levels: calendars, targets and clocks

Organizations gain business calendars (``casekit_calendars``: their own and
one per partner) and targets (``casekit_sla_targets``); cases gain clocks
(``casekit_clocks``) and, per side, the due time of the running clock due
first and the time its warning is due (``shipper_due_at``,
``shipper_warn_at``, ``carrier_due_at``, ``carrier_warn_at``) with an index
per side for the "Due soon" view. Existing cases have no clocks until an
organization sets a target (which recomputes its open cases).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# Plain ALTER TABLE on the cases, never a batch: on SQLite a batch would copy
# the cases into a new table and drop the old one, and the drop would cascade
# to every entry.


def upgrade() -> None:
    op.create_table(
        'casekit_calendars',
        sa.Column('org_id', Id, nullable=False),
        sa.Column('partner_org_id', Id, nullable=False),
        sa.Column('definition', sa.Text(), nullable=False),
        sa.Column('share_clocks', sa.Boolean(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_calendars_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('org_id', 'partner_org_id', name=op.f('pk_casekit_calendars')),
    )
    op.create_table(
        'casekit_sla_targets',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('conditions', sa.Text(), nullable=False),
        sa.Column('first_response_seconds', sa.Integer(), nullable=True),
        sa.Column('next_response_seconds', sa.Integer(), nullable=True),
        sa.Column('resolution_seconds', sa.Integer(), nullable=True),
        sa.Column('pause_when_waiting', sa.Boolean(), nullable=False),
        sa.Column('warn_before_seconds', sa.Integer(), nullable=False),
        sa.Column('escalation', sa.Text(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_sla_targets_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_sla_targets')),
    )
    op.create_index(
        'ix_casekit_sla_targets_org', 'casekit_sla_targets', ['org_id', 'position'], unique=False
    )
    op.create_table(
        'casekit_clocks',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('side', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('target_id', Id, nullable=False),
        sa.Column('target_seconds', sa.Integer(), nullable=False),
        sa.Column('warn_before_seconds', sa.Integer(), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('started_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('stopped_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('elapsed_seconds', sa.Integer(), nullable=False),
        sa.Column('due_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('warn_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('breached_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('warned_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('breach_warned_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('next_alert_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['case_id'],
            ['casekit_cases.id'],
            name=op.f('fk_casekit_clocks_case_id_casekit_cases'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['org_id'],
            ['casekit_organizations.id'],
            name=op.f('fk_casekit_clocks_org_id_casekit_organizations'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_clocks')),
        sa.UniqueConstraint(
            'case_id', 'org_id', 'kind', name=op.f('uq_casekit_clocks_case_id_org_id_kind')
        ),
    )
    op.create_index('ix_casekit_clocks_alert', 'casekit_clocks', ['next_alert_at'], unique=False)
    op.create_index(
        'ix_casekit_clocks_org_started', 'casekit_clocks', ['org_id', 'started_at'], unique=False
    )
    for name in ('shipper_due_at', 'shipper_warn_at', 'carrier_due_at', 'carrier_warn_at'):
        op.add_column(
            'casekit_cases', sa.Column(name, casekit.store.types.UTCDateTime(), nullable=True)
        )
    op.create_index(
        'ix_casekit_cases_shipper_due',
        'casekit_cases',
        ['shipper_org_id', 'shipper_due_at', 'shipper_warn_at'],
        unique=False,
    )
    op.create_index(
        'ix_casekit_cases_carrier_due',
        'casekit_cases',
        ['carrier_org_id', 'carrier_due_at', 'carrier_warn_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_casekit_cases_carrier_due', table_name='casekit_cases')
    op.drop_index('ix_casekit_cases_shipper_due', table_name='casekit_cases')
    for name in ('carrier_warn_at', 'carrier_due_at', 'shipper_warn_at', 'shipper_due_at'):
        op.drop_column('casekit_cases', name)
    # Their indexes go with the tables (MySQL keeps an index a foreign key needs).
    op.drop_table('casekit_clocks')
    op.drop_table('casekit_sla_targets')
    op.drop_table('casekit_calendars')
