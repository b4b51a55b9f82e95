"""The clocks of cases, recomputed from their timelines (:func:`casekit.domain.sla.replay`).

:func:`recompute` is the one way clocks are written: in the transaction of
every change of a case whose parties have targets
(:meth:`casekit.services.base.Edit.finish`), for all the open cases of an
organization when its targets or calendars change, and by ``casekit sla
recompute``. It reads the cases, their organizations' targets and calendars
and their timelines, replays each side, and brings the ``casekit_clocks``
rows and the cases' due columns (:data:`DUE_COLUMNS`) to the result. A
clock's warnings already sent stay sent unless it starts a new round (a
next-response clock's next message to answer).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from casekit.domain.audience import Audience
from casekit.domain.calendar import BusinessCalendar
from casekit.domain.case import EntryKind, EventKind, Side
from casekit.domain.sla import (
    Clock,
    ClockKind,
    ClockState,
    Happening,
    Point,
    Target,
    TargetFacts,
    conditions_from,
    earliest_due,
    replay,
    target_for,
)
from casekit.domain.workflow import Status, status_for_carrier
from casekit.store import tables
from casekit.store.types import UTCDateTime

DUE_COLUMNS = tables.DUE_COLUMNS

c = tables.cases.c
e = tables.entries.c
k = tables.clocks.c
t = tables.sla_targets.c
cal = tables.calendars.c
s = tables.shipments.c

#: Own calendar's ``partner_org_id``.
OWN = 0

_STATUS_EVENTS = frozenset(
    {EventKind.STATUS_CHANGED.value, EventKind.SOLVED.value, EventKind.REOPENED.value}
)
#: The audiences of the messages each side reads besides its own organization's.
_READS: dict[Side, frozenset[str]] = {
    Side.SHIPPER: frozenset(a.value for a in Audience if a is not Audience.INTERNAL),
    Side.CARRIER: frozenset(a.value for a in Audience if a.reaches_carrier),
}


def target_from_row(row: Mapping[Any, Any]) -> Target:
    return Target(
        org_id=row["org_id"],
        name=row["name"],
        position=row["position"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        conditions=conditions_from(json.loads(row["conditions"] or "{}")),
        first_response_seconds=row["first_response_seconds"],
        next_response_seconds=row["next_response_seconds"],
        resolution_seconds=row["resolution_seconds"],
        pause_when_waiting=bool(row["pause_when_waiting"]),
        warn_before_seconds=row["warn_before_seconds"],
        escalation=json.loads(row["escalation"] or "{}"),
        enabled=bool(row["enabled"]),
        id=row["id"],
    )


def load_targets(conn: Connection, org_ids: Iterable[int]) -> dict[int, list[Target]]:
    """The enabled targets of ``org_ids``, in order, by organization."""
    ids = sorted(set(org_ids))
    found: dict[int, list[Target]] = defaultdict(list)
    if not ids:
        return found
    rows = conn.execute(
        select(tables.sla_targets)
        .where(t.org_id.in_(ids), t.enabled.is_(True))
        .order_by(t.org_id, t.position, t.id)
    ).mappings()
    for row in rows:
        found[row["org_id"]].append(target_from_row(row))
    return found


@frozen
class CalendarRow:
    org_id: int
    partner_org_id: int
    calendar: BusinessCalendar
    share_clocks: bool


def load_calendars(conn: Connection, org_ids: Iterable[int]) -> dict[tuple[int, int], CalendarRow]:
    """The calendars of ``org_ids``, by (organization, partner or :data:`OWN`)."""
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = conn.execute(select(tables.calendars).where(cal.org_id.in_(ids))).mappings()
    return {
        (row["org_id"], row["partner_org_id"]): CalendarRow(
            row["org_id"],
            row["partner_org_id"],
            stored_calendar(row["definition"]),
            bool(row["share_clocks"]),
        )
        for row in rows
    }


@functools.lru_cache(maxsize=512)
def stored_calendar(definition: str) -> BusinessCalendar:
    """The calendar of a stored definition, parsed once per process: a calendar is
    immutable, and keeps the working days it has worked out for the next reading."""
    return BusinessCalendar.from_json(json.loads(definition))


def calendar_for(
    calendars: Mapping[tuple[int, int], CalendarRow], org_id: int, partner_org_id: int | None
) -> BusinessCalendar:
    """The calendar ``org_id`` keeps for its cases with ``partner_org_id``: the one for
    that partner, else its own, else :attr:`BusinessCalendar.ALWAYS`."""
    if partner_org_id is not None and (org_id, partner_org_id) in calendars:
        return calendars[(org_id, partner_org_id)].calendar
    own = calendars.get((org_id, OWN))
    return own.calendar if own is not None else BusinessCalendar.ALWAYS


def _points(entries: Sequence[Mapping[str, Any]], side: Side, org_id: int) -> list[Point]:
    reads = _READS[side]
    points: list[Point] = []
    for entry in entries:
        at = entry["created_at"]
        if entry["kind"] == EntryKind.MESSAGE.value:
            audience = entry["audience"]
            own = entry["org_id"] == org_id
            if own and audience in reads:
                points.append(Point(at, Happening.RESPONSE))
            elif not own and (
                audience in reads or (side is Side.CARRIER and entry["shared_at"] is not None)
            ):
                points.append(Point(at, Happening.INCOMING))
        elif entry["event"] in _STATUS_EVENTS and entry["new_value"]:
            audience = entry["audience"]
            carrier_move = audience == Audience.INTERNAL.value
            if side is Side.SHIPPER and carrier_move:
                continue
            if side is Side.CARRIER and audience == Audience.CUSTOMER.value:
                continue
            status = Status(entry["new_value"])
            if side is Side.CARRIER:
                # A reopening into the shipper's talk with its customer (waiting, reply
                # received) is open to the carrier, as its own status says.
                status = status_for_carrier(status)
            points.append(Point(at, Happening.STATUS, status))
    return points


def _status_at(points: Sequence[Point], at: datetime) -> Status:
    status = Status.NEW
    for point in sorted(points, key=lambda p: p.at):
        if point.at > at:
            break
        if point.status is not None:
            status = point.status
    return status


@frozen
class SideClocks:
    """One side's clocks on one case, with the target and calendar they count toward."""

    org_id: int
    target: Target
    calendar: BusinessCalendar
    clocks: list[Clock]


def side_clocks(
    case: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    targets: Mapping[int, Sequence[Target]],
    calendars: Mapping[tuple[int, int], CalendarRow],
    now: datetime,
) -> list[SideClocks]:
    """Each side's clocks of one case."""
    found: list[SideClocks] = []
    opener = next(
        (
            entry["org_id"]
            for entry in entries
            if entry["kind"] == EntryKind.EVENT.value and entry["event"] == EventKind.OPENED.value
        ),
        None,
    )
    for side in (Side.SHIPPER, Side.CARRIER):
        org_id = case[f"{side.value}_org_id"]
        if org_id is None or not targets.get(org_id):
            continue
        if side is Side.CARRIER and not case["carrier_collaborating"]:
            continue
        partner = case["carrier_org_id"] if side is Side.SHIPPER else case["shipper_org_id"]
        facts = TargetFacts(
            type=case["type"],
            partner_org_id=partner,
            brand=case["brand"],
            mode=case["mode"],
            source=str(case["source"]),
            segment=case["customer_segment"],
        )
        target = target_for(targets[org_id], facts)
        if target is None:
            continue
        points = _points(entries, side, org_id)
        joined = case["created_at"]
        status = Status.NEW
        if side is Side.CARRIER:
            named = [
                entry["created_at"]
                for entry in entries
                if entry["event"] == EventKind.CARRIER_CHANGED.value
            ]
            if named:
                joined = max(named)
                shipper = _points(entries, Side.SHIPPER, case["shipper_org_id"])
                status = status_for_carrier(_status_at(shipper, joined))
                points = [p for p in points if p.at >= joined]
        calendar = calendar_for(calendars, org_id, partner)
        clocks = replay(
            points,
            side=side,
            joined_at=joined,
            status=status,
            target=target,
            calendar=calendar,
            now=now,
            opened_by_side=opener == org_id and joined == case["created_at"],
        )
        found.append(SideClocks(org_id, target, calendar, clocks))
    return found


_CASE_COLUMNS = (
    c.id,
    c.type,
    c.source,
    c.shipper_org_id,
    c.carrier_org_id,
    c.carrier_collaborating,
    c.brand,
    c.customer_segment,
    c.created_at,
    s.mode,
)
_ENTRY_COLUMNS = (
    e.case_id,
    e.kind,
    e.event,
    e.audience,
    e.org_id,
    e.created_at,
    e.shared_at,
    e.new_value,
)


def targets_of(conn: Connection, org_ids: Iterable[int | None]) -> dict[int, list[Target]]:
    """The enabled targets of those of ``org_ids`` that have any (empty: none has;
    their cases have no clocks). One query; :func:`recompute` takes the answer."""
    return load_targets(conn, (i for i in org_ids if i is not None))


#: The facts of a shipment a target's conditions may test (its brand, mode, customer segment).
SHIPMENT_FACTS = frozenset({"brand", "mode", "customer_segment"})


def recompute_for_shipments(conn: Connection, shipment_ids: Iterable[int], now: datetime) -> int:
    """Recompute the clocks of the open cases of ``shipment_ids`` (whose facts moved)
    where a party has targets: the target that applies may be another now."""
    ids = sorted({int(i) for i in shipment_ids})
    if not ids:
        return 0
    with_targets = select(t.org_id).where(t.enabled.is_(True)).distinct().scalar_subquery()
    cases = conn.execute(
        select(c.id).where(
            c.shipment_id.in_(ids),
            or_(c.status != Status.SOLVED.value, c.carrier_status != Status.SOLVED.value),
            or_(c.shipper_org_id.in_(with_targets), c.carrier_org_id.in_(with_targets)),
        )
    ).scalars()
    return recompute(conn, list(cases), now)


def recompute(
    conn: Connection,
    case_ids: Iterable[int],
    now: datetime,
    *,
    targets: Mapping[int, list[Target]] | None = None,
) -> int:
    """Bring the clocks of ``case_ids`` to what their timelines say at ``now``.

    ``targets`` are those of the cases' parties when the caller read them
    already (:func:`targets_of`). Returns how many clock rows were written
    (inserted, updated or deleted).
    """
    ids = sorted({int(i) for i in case_ids})
    if not ids:
        return 0
    cases = [
        dict(row)
        for row in conn.execute(
            select(*_CASE_COLUMNS)
            .select_from(tables.cases.outerjoin(tables.shipments, s.id == c.shipment_id))
            .where(c.id.in_(ids))
        ).mappings()
    ]
    orgs = {row["shipper_org_id"] for row in cases} | {
        row["carrier_org_id"] for row in cases if row["carrier_org_id"] is not None
    }
    if targets is None:
        targets = load_targets(conn, orgs)
    with_targets = [
        row
        for row in cases
        if targets.get(row["shipper_org_id"]) or targets.get(row["carrier_org_id"] or -1)
    ]
    entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if with_targets:
        calendars = load_calendars(conn, [o for o in orgs if targets.get(o)])
        rows = conn.execute(
            select(*_ENTRY_COLUMNS)
            .where(e.case_id.in_([row["id"] for row in with_targets]))
            .order_by(e.case_id, e.id)
        ).mappings()
        for entry in rows:
            entries[entry["case_id"]].append(dict(entry))
    existing: dict[tuple[int, int, str], dict[str, Any]] = {
        (row["case_id"], row["org_id"], row["kind"]): dict(row)
        for row in conn.execute(select(tables.clocks).where(k.case_id.in_(ids))).mappings()
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    due: dict[int, dict[str, datetime | None]] = {
        row["id"]: dict.fromkeys(DUE_COLUMNS) for row in cases
    }
    for row in with_targets:
        for kept in side_clocks(row, entries[row["id"]], targets, calendars, now):
            org_id, target, clocks = kept.org_id, kept.target, kept.clocks
            side = Side.SHIPPER if org_id == row["shipper_org_id"] else Side.CARRIER
            due_at, warn_at = earliest_due(clocks)
            due[row["id"]][f"{side.value}_due_at"] = due_at
            due[row["id"]][f"{side.value}_warn_at"] = warn_at
            for clock in clocks:
                values = _values(clock, target, now)
                values["time_zone"] = kept.calendar.time_zone
                before = existing.pop((row["id"], org_id, clock.kind.value), None)
                if before is None:
                    values.update(
                        case_id=row["id"], org_id=org_id, warned_at=None, breach_warned_at=None
                    )
                    values["next_alert_at"] = _next_alert(values)
                    inserts.append(values)
                    continue
                if before["started_at"] != values["started_at"]:
                    values.update(warned_at=None, breach_warned_at=None)  # a new round
                else:
                    values.update(
                        warned_at=before["warned_at"], breach_warned_at=before["breach_warned_at"]
                    )
                values["next_alert_at"] = _next_alert(values)
                if any(before[name] != value for name, value in values.items()):
                    values["clock_id"] = before["id"]
                    updates.append(values)
    written = len(inserts) + len(updates) + len(existing)
    if existing:
        conn.execute(delete(tables.clocks).where(k.id.in_([r["id"] for r in existing.values()])))
    if inserts:
        conn.execute(insert(tables.clocks), inserts)
    if updates:
        columns = [name for name in updates[0] if name != "clock_id"]
        conn.execute(
            update(tables.clocks)
            .where(k.id == bindparam("clock_id"))
            .values({name: bindparam(f"v_{name}") for name in columns}),
            [{"clock_id": u["clock_id"], **{f"v_{n}": u[n] for n in columns}} for u in updates],
        )
    changed = [
        {"case_id": case_id, **{f"v_{n}": v for n, v in values.items()}}
        for case_id, values in due.items()
    ]
    conn.execute(
        update(tables.cases)
        .where(
            c.id == bindparam("case_id"),
            or_(
                *(
                    c[n].is_distinct_from(bindparam(f"v_{n}", type_=UTCDateTime()))
                    for n in DUE_COLUMNS
                )
            ),
        )
        .values({n: bindparam(f"v_{n}") for n in DUE_COLUMNS}),
        changed,
    )
    return written


def _values(clock: Clock, target: Target, now: datetime) -> dict[str, Any]:
    return {
        "side": clock.side,
        "kind": clock.kind.value,
        "target_id": target.id,
        "target_seconds": clock.target_seconds,
        "warn_before_seconds": clock.warn_before_seconds,
        "state": clock.state.value,
        "started_at": clock.started_at,
        "stopped_at": clock.stopped_at,
        "elapsed_seconds": round(clock.elapsed_seconds),
        "due_at": clock.due_at,
        "warn_at": clock.warn_at,
        "breached_at": clock.breached_at,
        "updated_at": now,
    }


def _next_alert(values: Mapping[str, Any]) -> datetime | None:
    """The earliest warning the clock still owes: its warning, then its breach."""
    if values["state"] != ClockState.RUNNING.value:
        return None
    warn_at: datetime | None = values["warn_at"]
    due_at: datetime | None = values["due_at"]
    if values["breach_warned_at"] is not None:
        return None  # the breach warned spends the due-soon warning too
    if (
        values["warned_at"] is None
        and warn_at is not None
        and due_at is not None
        and warn_at < due_at
    ):
        return warn_at
    return due_at if values["breach_warned_at"] is None else None


__all__ = [
    "DUE_COLUMNS",
    "ClockKind",
    "calendar_for",
    "load_calendars",
    "load_targets",
    "recompute",
    "stored_calendar",
    "targets_of",
]
