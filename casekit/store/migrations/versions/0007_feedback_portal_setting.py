"""organization setting: customer feedback portal

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added empty, set off for every existing organization, then required.
    with op.batch_alter_table('casekit_organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback_portal', sa.Boolean(), nullable=True))
    op.execute(sa.text('UPDATE casekit_organizations SET feedback_portal = :off').bindparams(off=False))
    with op.batch_alter_table('casekit_organizations', schema=None) as batch_op:
        batch_op.alter_column('feedback_portal', existing_type=sa.Boolean(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('casekit_organizations', schema=None) as batch_op:
        batch_op.drop_column('feedback_portal')
