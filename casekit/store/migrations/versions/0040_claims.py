"""claims: freight claims and their clocks

``casekit_claims`` holds the freight claims on cases (casekit.domain.claims):
the claimant, the amount and currency with its line items, the documents
ticked off from the case's attachments, the status with the amounts paid
and reasons, and the shipper's internal valuation. ``casekit_claim_clocks``
holds each claim's filing, acknowledgment and disposition clocks with their
warnings; ``casekit_claim_settings`` each shipper's claim windows by mode and
carrier.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    referred = target.split('.')[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f'fk_{table}_{column}_{referred}'), ondelete=ondelete
    )


def upgrade() -> None:
    when = casekit.store.types.UTCDateTime
    op.create_table(
        'casekit_claims',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('shipper_org_id', Id, nullable=False),
        sa.Column('carrier_org_id', Id, nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('claimant', sa.String(length=200), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sa.Column('lines', sa.Text(), nullable=False),
        sa.Column('documents', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=True),
        sa.Column('windows', sa.Text(), nullable=False),
        sa.Column('delivered_at', when(), nullable=False),
        sa.Column('filed_at', when(), nullable=True),
        sa.Column('acknowledged_at', when(), nullable=True),
        sa.Column('settled_at', when(), nullable=True),
        sa.Column('amount_paid', sa.Numeric(14, 2), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('reference', sa.String(length=200), nullable=True),
        sa.Column('carrier_reference', sa.String(length=200), nullable=True),
        sa.Column('expected_recovery', sa.Numeric(14, 2), nullable=True),
        sa.Column('valuation_note', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', when(), nullable=False),
        sa.Column('updated_at', when(), nullable=False),
        _fk('casekit_claims', 'case_id', 'casekit_cases.id', 'CASCADE'),
        _fk('casekit_claims', 'shipper_org_id', 'casekit_organizations.id'),
        _fk('casekit_claims', 'carrier_org_id', 'casekit_organizations.id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_claims')),
    )
    op.create_index('ix_casekit_claims_case', 'casekit_claims', ['case_id', 'id'])
    op.create_index('ix_casekit_claims_carrier', 'casekit_claims', ['carrier_org_id', 'filed_at'])
    op.create_index('ix_casekit_claims_shipper', 'casekit_claims', ['shipper_org_id', 'filed_at'])
    op.create_table(
        'casekit_claim_clocks',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('claim_id', Id, nullable=False),
        sa.Column('case_id', Id, nullable=False),
        sa.Column('org_id', Id, nullable=False),
        sa.Column('side', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('started_at', when(), nullable=False),
        sa.Column('due_at', when(), nullable=False),
        sa.Column('warn_at', when(), nullable=False),
        sa.Column('stopped_at', when(), nullable=True),
        sa.Column('warned_at', when(), nullable=True),
        sa.Column('breach_warned_at', when(), nullable=True),
        sa.Column('next_alert_at', when(), nullable=True),
        _fk('casekit_claim_clocks', 'claim_id', 'casekit_claims.id', 'CASCADE'),
        _fk('casekit_claim_clocks', 'case_id', 'casekit_cases.id', 'CASCADE'),
        _fk('casekit_claim_clocks', 'org_id', 'casekit_organizations.id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_claim_clocks')),
        sa.UniqueConstraint(
            'claim_id', 'kind', name=op.f('uq_casekit_claim_clocks_claim_id_kind')
        ),
    )
    op.create_index(
        'ix_casekit_claim_clocks_alert', 'casekit_claim_clocks', ['next_alert_at']
    )
    op.create_table(
        'casekit_claim_settings',
        sa.Column('org_id', Id, nullable=False),
        sa.Column('rules', sa.Text(), nullable=False),
        sa.Column('updated_at', when(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        _fk('casekit_claim_settings', 'org_id', 'casekit_organizations.id'),
        sa.PrimaryKeyConstraint('org_id', name=op.f('pk_casekit_claim_settings')),
    )


def downgrade() -> None:
    op.drop_table('casekit_claim_settings')
    op.drop_table('casekit_claim_clocks')
    op.drop_table('casekit_claims')
