"""rule tiers: 1 act now, 2 watch

``casekit_rules`` gains ``tier``, the tier its definition names, so that a
shipper's rules list Tier 1 first. A rule stored before this revision names
no tier: it is a Tier 2 rule (watch), the column's default, and its
definition reads the same. The rules already installed are not changed
otherwise.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'casekit_rules', sa.Column('tier', sa.SmallInteger(), nullable=False, server_default='2')
    )


def downgrade() -> None:
    # Plain ALTER TABLE, not a batch: on SQLite a batch would copy the rules into
    # a new table and drop the old one, and the drop would cascade to the cases
    # each rule holds. SQLite (3.35+) drops a column no index names.
    op.drop_column('casekit_rules', 'tier')
