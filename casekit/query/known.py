"""Known values: the brands, customer segments and regions of the cases an actor may see.

The list's free-valued choice fields (brand, customer segment, region) are
offered as choices from the values that occur on the actor's own cases, read
through the same tenant rule as the list (:meth:`Lister.tenant_clause`), so a
carrier never learns the brands of another carrier's cases.

The case row keeps its snapshot's brand, segment and region (report columns,
:mod:`casekit.store.report_columns`), and each side has an index per field
led by its organization. A staff member's values are read by skipping
through that index from one value to the next (a recursive query that asks
for the smallest value above the last one found): a probe per distinct
value, however many cases the organization has. PostgreSQL and SQLite have
no such "loose index scan" of their own; a ``DISTINCT`` would read an index
entry per case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select

from casekit.errors import InvalidInput
from casekit.query.listing import Lister
from casekit.store import tables

c = tables.cases.c

#: The fields whose choices are known values, and the case column each reads.
KNOWN_FIELDS: dict[str, Any] = {
    "brand": c.brand,
    "customer_segment": c.customer_segment,
    "region": c.region,
}
#: At most this many values are offered per field.
MAX_KNOWN = 200


def known_values(lister: Lister, field: str, *, limit: int = MAX_KNOWN) -> tuple[str, ...]:
    """The distinct non-empty values of ``field`` on the cases ``lister``'s actor may see."""
    column = KNOWN_FIELDS.get(field)
    if column is None:
        raise InvalidInput({"field": [f"one of {', '.join(KNOWN_FIELDS)}"]})
    side = lister.side_column()
    if side is None:
        # A customer, the host: their scope is no one organization's side.
        stmt: Any = (
            select(column)
            .where(lister.tenant_clause(), column > "")
            .distinct()
            .order_by(column)
            .limit(limit)
        )
    else:
        stmt = _skip_scan(column, side == lister.actor.org_id, limit)
    return tuple(str(value) for value in lister.connection.scalars(stmt))


def _skip_scan(column: Any, tenant: Any, limit: int) -> Any:
    """The first ``limit`` distinct non-empty values of ``column`` on the cases of
    ``tenant``, in order, one index probe each."""

    def after(floor: Any) -> Any:
        return select(func.min(column)).where(tenant, column > floor).scalar_subquery()

    one: Any = literal_column("1")
    walk = select(after("").label("value"), one.label("n")).cte("known_walk", recursive=True)
    walk = walk.union_all(
        select(after(walk.c.value), walk.c.n + one).where(
            walk.c.value.is_not(None), walk.c.n < limit
        )
    )
    return select(walk.c.value).where(walk.c.value.is_not(None)).order_by(walk.c.value)
