"""a claim token on the outbox rows being sent

The notification and webhook outboxes gain ``claim_token``: the token of
the worker's claim that holds a ``sending`` row. The worker renews its
lease on the rows that still carry its token (a heartbeat) and records an
outcome only on a row that still does, so a worker whose claim lapsed and
was taken over neither renews nor overwrites the new claim. Rows claimed
before the upgrade have none; their lease lapses as before and the next
claim gives them one.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

TABLES = ('casekit_outbox', 'casekit_webhook_outbox')

# Plain ALTER TABLE, never a batch: on SQLite a batch would copy the table into
# a new one and drop the old, and the drop would cascade to the delivery log.


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('claim_token', sa.String(length=32), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, 'claim_token')
