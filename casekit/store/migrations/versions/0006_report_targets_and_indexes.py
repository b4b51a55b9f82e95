"""report targets, report indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('casekit_report_targets',
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_type', sa.String(length=64), nullable=False),
    sa.Column('first_response_seconds', sa.Integer(), nullable=True),
    sa.Column('resolution_seconds', sa.Integer(), nullable=True),
    sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_report_targets_org_id_casekit_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'case_type', name=op.f('pk_casekit_report_targets'))
    )
    with op.batch_alter_table('casekit_cases', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_cases_shipper_solved', ['shipper_org_id', 'solved_at'], unique=False)
        batch_op.create_index('ix_casekit_cases_carrier_solved', ['carrier_org_id', 'solved_at'], unique=False)
        batch_op.create_index('ix_casekit_cases_shipper_backlog', ['shipper_org_id', 'status', 'type', 'source', 'shipper_owner_id', 'carrier_org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_casekit_cases_carrier_backlog', ['carrier_org_id', 'status', 'type', 'source', 'carrier_owner_id', 'shipper_org_id', 'created_at'], unique=False)

    with op.batch_alter_table('casekit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_entries_org_created', ['org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_casekit_entries_case_kind', ['case_id', 'kind', 'event', 'org_id', 'audience', 'created_at'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name in ('mysql', 'mariadb'):
        # The foreign key on org_id needs an index led by its column: put back
        # the one MySQL made for it (and dropped when the new index came).
        op.create_index('fk_casekit_entries_org_id_casekit_organizations', 'casekit_entries', ['org_id'])
    with op.batch_alter_table('casekit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_casekit_entries_case_kind')
        batch_op.drop_index('ix_casekit_entries_org_created')

    with op.batch_alter_table('casekit_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_casekit_cases_carrier_backlog')
        batch_op.drop_index('ix_casekit_cases_shipper_backlog')
        batch_op.drop_index('ix_casekit_cases_carrier_solved')
        batch_op.drop_index('ix_casekit_cases_shipper_solved')

    op.drop_table('casekit_report_targets')
