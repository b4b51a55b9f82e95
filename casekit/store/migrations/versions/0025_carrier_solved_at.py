"""when the carrier read the case solved

Cases gain ``carrier_solved_at``: when the carrier's own status
(``carrier_status``) became solved, NULL while it is not. The shipper's
conversation with its customer may reopen a case for the shipper only,
which clears ``solved_at`` while the carrier still reads the case solved;
the carrier's reports, filters and lists read this column instead. Existing
cases whose carrier status is solved get their ``solved_at`` (a case the
shipper already reopened with its customer has none left to give: it keeps
NULL). The carrier's solved index reads the new column.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa

import casekit.store.types


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, never a batch: on SQLite a batch would copy the cases into
# a new table and drop the old one, and the drop would cascade to every entry.


def upgrade() -> None:
    op.add_column(
        'casekit_cases',
        sa.Column('carrier_solved_at', casekit.store.types.UTCDateTime(), nullable=True),
    )
    op.execute(
        "UPDATE casekit_cases SET carrier_solved_at = solved_at WHERE carrier_status = 'solved'"
    )
    op.drop_index('ix_casekit_cases_carrier_solved', table_name='casekit_cases')
    op.create_index(
        'ix_casekit_cases_carrier_solved',
        'casekit_cases',
        ['carrier_org_id', 'carrier_solved_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_casekit_cases_carrier_solved', table_name='casekit_cases')
    op.create_index(
        'ix_casekit_cases_carrier_solved',
        'casekit_cases',
        ['carrier_org_id', 'solved_at'],
        unique=False,
    )
    op.drop_column('casekit_cases', 'carrier_solved_at')
