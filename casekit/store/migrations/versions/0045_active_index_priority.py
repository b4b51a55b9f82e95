"""the active-backlog indexes carry the priority

The dashboard counts each side's active cases by brand, by priority and by
the age of the other side's latest message from that side's active index
alone (casekit.query.reports, ``backlog_by_brand``). The priority (0034)
was not in the index, so the count read the row of every active case: at
1,000,000 cases, the largest shipper's 26,000 active cases on 35,000 table
pages, for each dashboard. The upgrade builds both indexes again with the
priority. On a big store, refresh the planner's statistics afterwards
(PostgreSQL: VACUUM ANALYZE; MySQL: ANALYZE TABLE).

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-08
"""

from alembic import op


revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None

BEFORE = {
    'ix_casekit_cases_shipper_active': [
        'shipper_org_id', 'status', 'brand', 'shipper_other_side_message_at'
    ],
    'ix_casekit_cases_carrier_active': [
        'carrier_org_id', 'carrier_status', 'brand', 'carrier_other_side_message_at'
    ],
}
AFTER = {name: [*columns[:3], 'priority', columns[3]] for name, columns in BEFORE.items()}


def _build(indexes: dict[str, list[str]]) -> None:
    for name, columns in indexes.items():
        op.drop_index(name, table_name='casekit_cases')
        op.create_index(name, 'casekit_cases', columns)


def upgrade() -> None:
    _build(AFTER)


def downgrade() -> None:
    _build(BEFORE)
