"""claim offers: a carrier's firm compromise settlement offer on a claim

``casekit_claims`` gains ``amount_offered`` and ``offered_at``: the carrier's
latest firm compromise settlement offer (49 CFR 370.9(a)), which the shipper
accepts or rejects (casekit.domain.claims, status ``offered``).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('casekit_claims') as batch:
        batch.add_column(sa.Column('amount_offered', sa.Numeric(14, 2), nullable=True))
        batch.add_column(
            sa.Column('offered_at', casekit.store.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('casekit_claims') as batch:
        batch.drop_column('offered_at')
        batch.drop_column('amount_offered')
