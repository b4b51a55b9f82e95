"""the snapshot's segment and region on the case row; the known values' indexes

The list's known values (the brands, customer segments and regions a filter
offers, casekit.query.known) were read with a DISTINCT over every case of
the viewer's organization, joined to its shipment for the segment and the
region. The case row now keeps the segment and region of its snapshot
beside the brand (report columns, casekit.store.report_columns), and each
side has an index per field led by its organization, which the known
values skip through one value at a time.

The upgrade fills the two columns for the cases already stored, BATCH cases
at a time by id range, then builds the indexes. On a big store, refresh the
planner's statistics afterwards (PostgreSQL: VACUUM ANALYZE; MySQL: ANALYZE
TABLE).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

#: Cases filled per UPDATE.
BATCH = 20_000
COLUMNS = (('customer_segment', sa.String(length=64)), ('region', sa.String(length=64)))
INDEXES = tuple(
    (f'ix_casekit_cases_{side}_{name}', [f'{side}_org_id', column])
    for side in ('shipper', 'carrier')
    for name, column in (('brand', 'brand'), ('segment', 'customer_segment'), ('region', 'region'))
)

# The tables as this revision knows them.
cases = sa.table(
    'casekit_cases',
    sa.column('id', sa.Integer()),
    sa.column('shipment_id', sa.Integer()),
    *(sa.column(name, type_) for name, type_ in COLUMNS),
)
shipments = sa.table(
    'casekit_shipments',
    sa.column('id', sa.Integer()),
    *(sa.column(name, type_) for name, type_ in COLUMNS),
)


def backfill(bind: sa.Connection, batch: int = BATCH) -> None:
    """Copy the segment and region of each stored case's snapshot, ``batch`` ids at a time."""
    c, s = cases.c, shipments.c
    low, high = bind.execute(sa.select(sa.func.min(c.id), sa.func.max(c.id))).one()
    if low is None:
        return
    stmt = (
        sa.update(cases)
        .where(c.id >= sa.bindparam('lo'), c.id < sa.bindparam('hi'), c.shipment_id.is_not(None))
        .values(
            {
                name: sa.select(s[name]).where(s.id == c.shipment_id).scalar_subquery()
                for name, _type in COLUMNS
            }
        )
    )
    for start in range(low, high + 1, batch):
        bind.execute(stmt, {'lo': start, 'hi': start + batch})


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('casekit_cases', sa.Column(name, type_, nullable=True))
    backfill(op.get_bind())
    for name, columns in INDEXES:
        # Partial where the database has them: the cases with a value only.
        has_value = sa.text(f'{columns[1]} IS NOT NULL')
        op.create_index(
            name,
            'casekit_cases',
            columns,
            unique=False,
            postgresql_where=has_value,
            sqlite_where=has_value,
        )


def downgrade() -> None:
    # Plain ALTER TABLE, not a batch (see 0011): SQLite drops a column no index names.
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name='casekit_cases')
    for name, _type in reversed(COLUMNS):
        op.drop_column('casekit_cases', name)
