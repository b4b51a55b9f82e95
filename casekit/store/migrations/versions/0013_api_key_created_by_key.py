"""api keys: the key that created a key, so that revoking it revokes its keys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('casekit_api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_key_id', ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_casekit_api_keys_created_by_key_id_casekit_api_keys'),
            'casekit_api_keys',
            ['created_by_key_id'],
            ['id'],
        )
        batch_op.create_index(
            'ix_casekit_api_keys_created_by_key_id', ['created_by_key_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('casekit_api_keys', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_casekit_api_keys_created_by_key_id_casekit_api_keys'),
            type_='foreignkey',
        )
        batch_op.drop_index('ix_casekit_api_keys_created_by_key_id')
        batch_op.drop_column('created_by_key_id')
