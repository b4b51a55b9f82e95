"""the list columns each user chose

``casekit_column_choices`` keeps the Case Management list's columns a user
chose: one row for the built-in views (``view`` empty) and one per saved
view (``view`` is ``saved:<id>``), so a shared view's columns are each
user's own.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'casekit_column_choices',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('view', sa.String(length=40), nullable=False),
        sa.Column('columns', sa.Text(), nullable=False),
        sa.Column('updated_at', casekit.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['casekit_users.id'],
            name=op.f('fk_casekit_column_choices_user_id_casekit_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_casekit_column_choices')),
        sa.UniqueConstraint('user_id', 'view', name=op.f('uq_casekit_column_choices_user_id_view')),
    )


def downgrade() -> None:
    op.drop_table('casekit_column_choices')
