"""The report columns of a case: facts of its timeline and snapshot kept on its row.

The dashboard would otherwise read them from the entries (and the shipment)
of every case it counts. They are recomputed from the timeline, never
guessed, by the write path (:mod:`casekit.store.rows`, the shipment
services), in the transaction of the change that moves them:

``brand``
    the brand of the case's shipment snapshot (None without one).
``shipper_first_response_at`` / ``carrier_first_response_at``
    the first message from that side's organization after the case was
    opened that is meant for partners or everyone (internal notes are not
    responses; the message that opens a case answers nobody).
``shipper_other_side_message_at`` / ``carrier_other_side_message_at``
    the latest message meant for partners or everyone whose author is not
    of that side's organization (the other party, a customer, the host):
    what that side may read from the others. Internal notes never count.
``reopened_at``
    when the case was last reopened (None: never).

Migration 0011 computes the same values for the cases already stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, literal_column, or_, select, update

from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind
from casekit.store import tables

c = tables.cases.c
e = tables.entries.c
s = tables.shipments.c

#: Every report column, in the order of the table.
REPORT_COLUMNS: tuple[str, ...] = (
    "brand",
    "shipper_first_response_at",
    "carrier_first_response_at",
    "shipper_other_side_message_at",
    "carrier_other_side_message_at",
    "reopened_at",
)
#: What a new message can move.
MESSAGE_COLUMNS: tuple[str, ...] = REPORT_COLUMNS[1:5]
#: What the parties of a case move (who is "that side").
PARTY_COLUMNS: tuple[str, ...] = MESSAGE_COLUMNS


def _first_response(org: Any) -> Any:
    return (
        select(func.min(e.created_at))
        .where(
            e.case_id == c.id,
            e.kind == EntryKind.MESSAGE.value,
            # "+ 0": the organization alone must not pick the index to read
            # (SQLite would read all its entries for every case).
            e.org_id + literal_column("0") == org,
            e.audience != Audience.INTERNAL.value,
            e.created_at > c.created_at,
        )
        .correlate(tables.cases)
        .scalar_subquery()
    )


def _other_side(org: Any) -> Any:
    return (
        select(func.max(e.created_at))
        .where(
            e.case_id == c.id,
            e.kind == EntryKind.MESSAGE.value,
            e.audience != Audience.INTERNAL.value,
            or_(e.org_id.is_(None), org.is_(None), e.org_id != org),
        )
        .correlate(tables.cases)
        .scalar_subquery()
    )


def computed() -> dict[str, Any]:
    """Each report column as a SQL expression over its case row."""
    return {
        "brand": select(s.brand)
        .where(s.id == c.shipment_id)
        .correlate(tables.cases)
        .scalar_subquery(),
        "shipper_first_response_at": _first_response(c.shipper_org_id),
        "carrier_first_response_at": _first_response(c.carrier_org_id),
        "shipper_other_side_message_at": _other_side(c.shipper_org_id),
        "carrier_other_side_message_at": _other_side(c.carrier_org_id),
        "reopened_at": select(func.max(e.created_at))
        .where(
            e.case_id == c.id,
            e.kind == EntryKind.EVENT.value,
            e.event == EventKind.REOPENED.value,
        )
        .correlate(tables.cases)
        .scalar_subquery(),
    }


def refresh(
    conn: Connection, case_ids: Iterable[int], columns: Collection[str] = REPORT_COLUMNS
) -> None:
    """Recompute ``columns`` of the cases ``case_ids`` from their timeline and snapshot."""
    ids = sorted({int(i) for i in case_ids})
    if not ids:
        return
    expressions = computed()
    values = {name: expressions[name] for name in REPORT_COLUMNS if name in columns}
    conn.execute(update(tables.cases).where(c.id.in_(ids)).values(values))


def fill(conn: Connection, batch: int = 20_000) -> None:
    """Recompute every report column of every case, ``batch`` ids at a time (bulk loads)."""
    low, high = conn.execute(select(func.min(c.id), func.max(c.id))).one()
    if low is None:
        return
    stmt = (
        update(tables.cases)
        .where(c.id >= bindparam("lo"), c.id < bindparam("hi"))
        .values(computed())
    )
    for start in range(int(low), int(high) + 1, batch):
        conn.execute(stmt, {"lo": start, "hi": start + batch})


def refresh_brand_of_shipments(conn: Connection, shipment_ids: Iterable[int]) -> None:
    """Copy the brand of the snapshots ``shipment_ids`` onto their cases."""
    ids = sorted({int(i) for i in shipment_ids})
    if not ids:
        return
    brand = computed()["brand"]
    conn.execute(
        update(tables.cases)
        .where(
            c.shipment_id.in_(ids),
            # Only the rows whose brand moves are written.
            or_(
                and_(c.brand.is_(None), brand.is_not(None)),
                and_(c.brand.is_not(None), brand.is_(None)),
                c.brand != brand,
            ),
        )
        .values(brand=brand)
    )


def entry_moves(kind: str | None, event: str | None) -> tuple[str, ...]:
    """The report columns a new entry of ``kind`` (``event``) can move."""
    if kind == EntryKind.MESSAGE.value:
        return MESSAGE_COLUMNS
    if kind == EntryKind.EVENT.value and event == EventKind.REOPENED.value:
        return ("reopened_at",)
    return ()
