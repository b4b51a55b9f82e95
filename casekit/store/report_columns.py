"""The report columns of a case: facts of its timeline and snapshot kept on its row.

The dashboard would otherwise read them from the entries (and the shipment)
of every case it counts. The write path (:mod:`casekit.store.rows`, the
shipment services) keeps them, never guessed, in the transaction of the
change that moves them:

``brand``, ``customer_segment``, ``region``
    the brand, customer segment and region of the case's shipment snapshot
    (None without one); the list's known values
    (:mod:`casekit.query.known`) read them too.
``shipper_first_response_at`` / ``carrier_first_response_at``
    the first message from that side's organization after the case was
    opened that is meant for another party (internal notes are not
    responses; the message that opens a case answers nobody). The
    shipper's messages to its customer (``customer``) are responses.
``shipper_other_side_message_at`` / ``carrier_other_side_message_at``
    the latest message whose author is not of that side's organization
    (the other party, a customer, the host) and that that side reads: for
    the shipper any but an internal note (its customer's messages too);
    for the carrier one for ``partners`` or ``everyone``, or a ``customer``
    entry once the shipper shared it (the shipper's conversation with its
    customer is not the carrier's).
``reopened_at``
    when the case was last reopened (None: never).

Migration 0011 computes the same values for the cases already stored
(0027 the customer segment and region).

A new message or reopening moves its columns by one comparison with the
value already stored, so the write path does not recompute them from the
timeline: :class:`Moves` collects what the entries of one change move, and
:func:`casekit.store.rows.save_case` writes it in the case's own UPDATE
(each column ``CASE WHEN`` the stored value is missing or beaten). The rare
changes that move the inputs themselves (a party, the shipment) go through
:func:`refresh`, which recomputes from the timeline.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import case as sql_case

from casekit.domain.audience import Audience
from casekit.domain.case import Case, Entry, EntryKind, EventKind
from casekit.store import tables
from casekit.store.types import UTCDateTime

c = tables.cases.c
e = tables.entries.c
s = tables.shipments.c

#: Every report column, in the order of the table.
REPORT_COLUMNS: tuple[str, ...] = (
    "brand",
    "customer_segment",
    "region",
    "shipper_first_response_at",
    "carrier_first_response_at",
    "shipper_other_side_message_at",
    "carrier_other_side_message_at",
    "reopened_at",
)
#: What the shipment snapshot moves (copied from it).
SNAPSHOT_COLUMNS: tuple[str, ...] = REPORT_COLUMNS[:3]
#: What a new message can move.
MESSAGE_COLUMNS: tuple[str, ...] = REPORT_COLUMNS[3:7]
#: What the parties of a case move (who is "that side").
PARTY_COLUMNS: tuple[str, ...] = MESSAGE_COLUMNS


#: The audiences of the messages each side counts (its own, or the others').
_COUNTED: dict[str, frozenset[Audience]] = {
    "shipper": frozenset(a for a in Audience if a is not Audience.INTERNAL),
    "carrier": frozenset(a for a in Audience if a.reaches_carrier),
}


def _counted(side: str) -> Any:
    """The messages ``side`` counts: for the carrier, a shared ``customer`` entry too."""
    audiences = e.audience.in_(sorted(a.value for a in _COUNTED[side]))
    return or_(audiences, e.shared_at.is_not(None)) if side == "carrier" else audiences


def _first_response(side: str, org: Any) -> Any:
    return (
        select(func.min(e.created_at))
        .where(
            e.case_id == c.id,
            e.kind == EntryKind.MESSAGE.value,
            # "+ 0": the organization alone must not pick the index to read
            # (SQLite would read all its entries for every case).
            e.org_id + literal_column("0") == org,
            _counted(side),
            e.created_at > c.created_at,
        )
        .correlate(tables.cases)
        .scalar_subquery()
    )


def _other_side(side: str, org: Any) -> Any:
    return (
        select(func.max(e.created_at))
        .where(
            e.case_id == c.id,
            e.kind == EntryKind.MESSAGE.value,
            _counted(side),
            or_(e.org_id.is_(None), org.is_(None), e.org_id != org),
        )
        .correlate(tables.cases)
        .scalar_subquery()
    )


def _snapshot(column: Any) -> Any:
    return select(column).where(s.id == c.shipment_id).correlate(tables.cases).scalar_subquery()


def computed() -> dict[str, Any]:
    """Each report column as a SQL expression over its case row."""
    return {
        **{name: _snapshot(s[name]) for name in SNAPSHOT_COLUMNS},
        "shipper_first_response_at": _first_response("shipper", c.shipper_org_id),
        "carrier_first_response_at": _first_response("carrier", c.carrier_org_id),
        "shipper_other_side_message_at": _other_side("shipper", c.shipper_org_id),
        "carrier_other_side_message_at": _other_side("carrier", c.carrier_org_id),
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


def refresh_snapshot_of_shipments(conn: Connection, shipment_ids: Iterable[int]) -> None:
    """Copy the brand, segment and region of the snapshots ``shipment_ids`` onto their cases."""
    ids = sorted({int(i) for i in shipment_ids})
    if not ids:
        return
    values = {name: _snapshot(s[name]) for name in SNAPSHOT_COLUMNS}
    conn.execute(
        update(tables.cases)
        .where(
            c.shipment_id.in_(ids),
            # Only the rows where one of them moves are written.
            or_(*(c[name].is_distinct_from(value) for name, value in values.items())),
        )
        .values(values)
    )


#: The columns a new entry moves towards its time: the earliest wins (``min``) or the latest.
_EARLIEST: frozenset[str] = frozenset({"shipper_first_response_at", "carrier_first_response_at"})


class Moves:
    """What the entries of one change do to the report columns of its case.

    :meth:`add` takes each new entry (or, with :meth:`message`, a message
    about to be written); :meth:`take` hands the moved columns to the write
    that stores them: the earliest candidate of a first response, the latest
    of the other columns. Those are compared with the stored value in SQL
    (:func:`set_clause`), so the case row need not be read; ``known`` gives
    the stored values when they are known (a case not written yet: all
    None), so a move that changes nothing is not written.
    """

    def __init__(self, case: Case, known: Mapping[str, datetime | None] | None = None) -> None:
        self.case = case
        self._known: dict[str, datetime | None] = dict(known or {})
        self._pending: dict[str, datetime] = {}

    @classmethod
    def for_new_case(cls, case: Case) -> Moves:
        """The moves of ``case`` being opened: nothing stored yet."""
        return cls(case, dict.fromkeys(REPORT_COLUMNS))

    def add(self, entry: Entry) -> None:
        """Take ``entry``, new on the case's timeline."""
        if entry.kind is EntryKind.MESSAGE:
            self.message(entry.org_id, entry.audience, entry.created_at)
        elif entry.kind is EntryKind.EVENT and entry.event is EventKind.REOPENED:
            self._move("reopened_at", entry.created_at)

    def message(self, org_id: int | None, audience: Audience, at: datetime) -> None:
        """Take a message by ``org_id`` (None: a customer or the host) for ``audience``.

        The rules of :func:`computed`, for each side that counts a message
        for ``audience`` (an internal note moves nothing; the carrier does
        not count the shipper's conversation with its customer): a message
        from the side's organization after the opening moment is a response
        of that side; a message not from the side's organization is the
        other side's latest.
        """
        case = self.case
        for side, side_org in (("shipper", case.shipper_org_id), ("carrier", case.carrier_org_id)):
            if audience not in _COUNTED[side]:
                continue
            if org_id is not None and org_id == side_org:
                if at > case.created_at:
                    self._move(f"{side}_first_response_at", at)
            else:
                self._move(f"{side}_other_side_message_at", at)

    def shared(self, entry: Entry) -> None:
        """Take ``entry`` (a ``customer`` message, never the carrier's own),
        shared with the carrier now: the carrier reads it from now on."""
        self._move("carrier_other_side_message_at", entry.created_at)

    def _move(self, column: str, at: datetime) -> None:
        earliest = column in _EARLIEST
        if column in self._known:
            stored = self._known[column]
            if stored is not None and (stored <= at if earliest else stored >= at):
                return
            self._known[column] = at
        pending = self._pending.get(column)
        if pending is None or (at < pending if earliest else at > pending):
            self._pending[column] = at

    def take(self) -> dict[str, datetime]:
        """The moved columns and their candidate values; the moves start over."""
        taken, self._pending = self._pending, {}
        return taken


def set_clause(columns: Iterable[str]) -> dict[str, Any]:
    """The SET clause of a case UPDATE that moves ``columns`` (bound as ``report_<column>``)."""
    values: dict[str, Any] = {}
    for name in columns:
        stored = c[name]
        at = bindparam(f"report_{name}", type_=UTCDateTime())
        beaten = stored > at if name in _EARLIEST else stored < at
        values[name] = sql_case((or_(stored.is_(None), beaten), at), else_=stored)
    return values


def set_params(moved: Mapping[str, datetime]) -> dict[str, datetime]:
    """The parameters of :func:`set_clause` for ``moved``."""
    return {f"report_{name}": at for name, at in moved.items()}


@functools.cache
def _move_statement(columns: tuple[str, ...]) -> Any:
    return update(tables.cases).where(c.id == bindparam("case_id")).values(set_clause(columns))


def write_moves(conn: Connection, case_id: int, moved: Mapping[str, datetime]) -> None:
    """Write ``moved`` (from :meth:`Moves.take`) to the case on its own."""
    if moved:
        columns = tuple(sorted(moved))
        conn.execute(_move_statement(columns), {"case_id": case_id, **set_params(moved)})


def entry_moves(kind: str | None, event: str | None) -> tuple[str, ...]:
    """The report columns a new entry of ``kind`` (``event``) can move."""
    if kind == EntryKind.MESSAGE.value:
        return MESSAGE_COLUMNS
    if kind == EntryKind.EVENT.value and event == EventKind.REOPENED.value:
        return ("reopened_at",)
    return ()
