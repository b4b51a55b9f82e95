"""report columns on the case row: brand, first responses, other side's latest message, reopened

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

The dashboard read these facts from the timeline (and the shipment) of every
case it counted; the case row now keeps them (casekit.store.report_columns).
The upgrade fills them for the cases already stored, BATCH cases at a time
by id range, then builds the indexes. On a big store, refresh the planner's
statistics afterwards (PostgreSQL: VACUUM ANALYZE; MySQL: ANALYZE TABLE).
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
import casekit.store.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

#: Cases filled per UPDATE.
BATCH = 20_000

COLUMNS = (
    ('brand', sa.String(length=200)),
    ('shipper_first_response_at', casekit.store.types.UTCDateTime()),
    ('carrier_first_response_at', casekit.store.types.UTCDateTime()),
    ('shipper_other_side_message_at', casekit.store.types.UTCDateTime()),
    ('carrier_other_side_message_at', casekit.store.types.UTCDateTime()),
    ('reopened_at', casekit.store.types.UTCDateTime()),
)
INDEXES = (
    ('ix_casekit_cases_shipper_opened', ['shipper_org_id', 'created_at', 'type', 'status', 'source', 'carrier_org_id', 'shipper_owner_id', 'shipper_first_response_at', 'reopened_at']),
    ('ix_casekit_cases_carrier_opened', ['carrier_org_id', 'created_at', 'type', 'status', 'source', 'shipper_org_id', 'carrier_owner_id', 'carrier_first_response_at', 'reopened_at']),
    ('ix_casekit_cases_shipper_active', ['shipper_org_id', 'status', 'brand', 'shipper_other_side_message_at']),
    ('ix_casekit_cases_carrier_active', ['carrier_org_id', 'status', 'brand', 'carrier_other_side_message_at']),
)
#: The organization's messages of a range, for the load per user.
ENTRIES_INDEX = 'ix_casekit_entries_org_messages'

# The tables as this revision knows them (not the application's metadata,
# which may have moved on by the time this runs).
cases = sa.table(
    'casekit_cases',
    sa.column('id', sa.Integer()),
    sa.column('created_at', casekit.store.types.UTCDateTime()),
    sa.column('shipper_org_id', sa.Integer()),
    sa.column('carrier_org_id', sa.Integer()),
    sa.column('shipment_id', sa.Integer()),
    *(sa.column(name, type_) for name, type_ in COLUMNS),
)
entries = sa.table(
    'casekit_entries',
    sa.column('case_id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('event', sa.String()),
    sa.column('audience', sa.String()),
    sa.column('org_id', sa.Integer()),
    sa.column('created_at', casekit.store.types.UTCDateTime()),
)
shipments = sa.table(
    'casekit_shipments', sa.column('id', sa.Integer()), sa.column('brand', sa.String())
)


def _computed() -> dict[str, Any]:
    """Each report column over its case row: the rules of store.report_columns."""
    c, e, s = cases.c, entries.c, shipments.c

    def first_response(org: Any) -> Any:
        return (
            sa.select(sa.func.min(e.created_at))
            .where(
                e.case_id == c.id,
                e.kind == 'message',
                # "+ 0": not the organization's index (SQLite would read all
                # the organization's entries for every case).
                e.org_id + sa.literal_column('0') == org,
                e.audience != 'internal',
                e.created_at > c.created_at,
            )
            .correlate(cases)
            .scalar_subquery()
        )

    def other_side(org: Any) -> Any:
        return (
            sa.select(sa.func.max(e.created_at))
            .where(
                e.case_id == c.id,
                e.kind == 'message',
                e.audience != 'internal',
                sa.or_(e.org_id.is_(None), org.is_(None), e.org_id != org),
            )
            .correlate(cases)
            .scalar_subquery()
        )

    return {
        'brand': sa.select(s.brand).where(s.id == c.shipment_id).correlate(cases).scalar_subquery(),
        'shipper_first_response_at': first_response(c.shipper_org_id),
        'carrier_first_response_at': first_response(c.carrier_org_id),
        'shipper_other_side_message_at': other_side(c.shipper_org_id),
        'carrier_other_side_message_at': other_side(c.carrier_org_id),
        'reopened_at': sa.select(sa.func.max(e.created_at))
        .where(e.case_id == c.id, e.kind == 'event', e.event == 'reopened')
        .correlate(cases)
        .scalar_subquery(),
    }


def backfill(bind: sa.Connection, batch: int = BATCH) -> None:
    """Fill the report columns of every stored case, ``batch`` ids at a time."""
    low, high = bind.execute(sa.select(sa.func.min(cases.c.id), sa.func.max(cases.c.id))).one()
    if low is None:
        return
    stmt = (
        sa.update(cases)
        .where(cases.c.id >= sa.bindparam('lo'), cases.c.id < sa.bindparam('hi'))
        .values(_computed())
    )
    for start in range(low, high + 1, batch):
        bind.execute(stmt, {'lo': start, 'hi': start + batch})


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('casekit_cases', sa.Column(name, type_, nullable=True))
    backfill(op.get_bind())
    with op.batch_alter_table('casekit_cases', schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table('casekit_entries', schema=None) as batch_op:
        batch_op.create_index(ENTRIES_INDEX, ['org_id', 'kind', 'created_at', 'user_id', 'case_id'], unique=False)


def downgrade() -> None:
    # Plain ALTER TABLE, not a batch: on SQLite a batch would copy the cases
    # into a new table and drop the old one, and the drop would cascade to
    # every timeline entry. SQLite (3.35+) drops a column no index names.
    op.drop_index(ENTRIES_INDEX, table_name='casekit_entries')
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name='casekit_cases')
    for name, _type in reversed(COLUMNS):
        op.drop_column('casekit_cases', name)
