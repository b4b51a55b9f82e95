"""write positions: each actor's last write on the primary, for every process

``casekit_write_positions``: with a read replica and
``replica_read_your_writes = "database"`` (the default), where each actor's
last write ended on the primary (its WAL position as a number), read by
every web process before it lets the replica serve that actor
(casekit.store.replica).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'casekit_write_positions',
        sa.Column('actor_key', sa.String(length=96), nullable=False),
        sa.Column('position', sa.BigInteger(), nullable=False),
        sa.Column('written_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('actor_key', name=op.f('pk_casekit_write_positions')),
    )


def downgrade() -> None:
    op.drop_table('casekit_write_positions')
