"""network benchmarks

``casekit_network_opt_outs`` holds the organizations that opted out of
network benchmarks; ``casekit_network_periods`` each computed month and
when the job that wrote it read the cases; ``casekit_network_figures`` the
job's figures, each organization's own and the network's (a suppressed
one without its value), which is all a request reads.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _org_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ['casekit_organizations.id'],
        name=op.f(f'fk_{table}_{column}_casekit_organizations'),
        ondelete='CASCADE',
    )


def upgrade() -> None:
    when = casekit.store.types.UTCDateTime
    op.create_table(
        'casekit_network_opt_outs',
        sa.Column('org_id', Id, autoincrement=False, nullable=False),
        sa.Column('opted_out_at', when(), nullable=False),
        sa.Column('opted_out_by', sa.String(length=64), nullable=False),
        _org_fk('casekit_network_opt_outs', 'org_id'),
        sa.PrimaryKeyConstraint('org_id', name=op.f('pk_casekit_network_opt_outs')),
    )
    op.create_table(
        'casekit_network_periods',
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('as_of', when(), nullable=True),
        sa.Column('computed_at', when(), nullable=True),
        sa.Column('figures', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('period', name=op.f('pk_casekit_network_periods')),
    )
    op.create_table(
        'casekit_network_figures',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('side', sa.String(length=16), nullable=False),
        sa.Column('metric', sa.String(length=32), nullable=False),
        sa.Column('case_type', sa.String(length=64), nullable=False),
        sa.Column('org_id', Id, nullable=True),
        sa.Column('partner_org_id', Id, nullable=True),
        sa.Column('value', sa.Double(), nullable=True),
        sa.Column('cases', sa.Integer(), nullable=True),
        sa.Column('organizations', sa.Integer(), nullable=True),
        sa.Column('suppressed', sa.String(length=32), nullable=True),
        _org_fk('casekit_network_figures', 'org_id'),
        _org_fk('casekit_network_figures', 'partner_org_id'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_network_figures')),
    )
    op.create_index(
        'ix_casekit_network_figures_period',
        'casekit_network_figures',
        ['period', 'side', 'org_id'],
    )
    op.create_index('ix_casekit_network_figures_org', 'casekit_network_figures', ['org_id'])
    op.create_index(
        'ix_casekit_network_figures_partner', 'casekit_network_figures', ['partner_org_id']
    )


def downgrade() -> None:
    # The tables' indexes go with them (MariaDB refuses to drop one a foreign key uses).
    op.drop_table('casekit_network_figures')
    op.drop_table('casekit_network_periods')
    op.drop_table('casekit_network_opt_outs')
