"""API keys

Revision ID: 0009
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0009'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'casekit_api_keys',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('last_used_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', casekit.store.types.UTCDateTime(), nullable=True),
        sa.Column('revoked_by', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['org_id'], ['casekit_organizations.id'], name=op.f('fk_casekit_api_keys_org_id_casekit_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_api_keys')),
        sa.UniqueConstraint('public_id', name=op.f('uq_casekit_api_keys_public_id')),
    )
    with op.batch_alter_table('casekit_api_keys', schema=None) as batch_op:
        batch_op.create_index('ix_casekit_api_keys_org_id', ['org_id'], unique=False)


def downgrade() -> None:
    # The index goes with the table (MySQL keeps it for the foreign key until then).
    op.drop_table('casekit_api_keys')
