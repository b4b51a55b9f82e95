"""Known values: the brands, customer segments and regions of the cases an actor may see.

The list's free-valued choice fields (brand, customer segment, region) are
offered as choices from the values that occur on the actor's own cases, read
through the same tenant rule as the list (:meth:`Lister.tenant_clause`), so a
carrier never learns the brands of another carrier's cases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casekit.errors import InvalidInput
from casekit.query.listing import Lister
from casekit.store import tables

c = tables.cases.c
s = tables.shipments.c

#: The fields whose choices are known values, and the column each reads.
KNOWN_FIELDS: dict[str, Any] = {
    # The case row keeps its snapshot's brand (a report column): no join.
    "brand": c.brand,
    "customer_segment": s.customer_segment,
    "region": s.region,
}
#: At most this many values are offered per field.
MAX_KNOWN = 200


def known_values(lister: Lister, field: str, *, limit: int = MAX_KNOWN) -> tuple[str, ...]:
    """The distinct non-empty values of ``field`` on the cases ``lister``'s actor may see."""
    column = KNOWN_FIELDS.get(field)
    if column is None:
        raise InvalidInput({"field": [f"one of {', '.join(KNOWN_FIELDS)}"]})
    source: Any = tables.cases
    if column.table is tables.shipments:
        source = tables.cases.join(tables.shipments, s.id == c.shipment_id)
    stmt = (
        select(column)
        .select_from(source)
        .where(lister.tenant_clause(), column.is_not(None), column != "")
        .distinct()
        .order_by(column)
        .limit(limit)
    )
    return tuple(str(value) for value in lister.connection.scalars(stmt))
