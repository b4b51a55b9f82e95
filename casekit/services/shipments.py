"""The order and shipment store: facts from feeds, tracking events from carriers.

casekit keeps every order and shipment a shipper's feeds send, not only
those linked to cases: ``casekit_shipments`` and ``casekit_orders`` are the
snapshots cases join for their views, so refreshing a shipment here
refreshes what every case on it is filtered and shown by. Tracking events
move the shipment's normalised status, and the shipper's rules look at each
move (see :mod:`casekit.services.rules`).

Everything here works in batches of plain SQL statements: feeds send tens
of thousands of rows and carriers thousands of events a minute.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define, field, frozen
from sqlalchemy import Connection, Table, bindparam, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from casekit.domain.actor import Actor
from casekit.domain.directory import Organization, OrgRole
from casekit.domain.shipment import (
    SHIPMENT_SNAPSHOT_FIELDS,
    ExceptionKind,
    OrderFacts,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
    snapshot_changes,
)
from casekit.domain.tracking import (
    Problems,
    check_event,
    check_order_facts,
    check_shipment_facts,
    event_key,
)
from casekit.errors import NotFound, PermissionDenied
from casekit.services.base import Service
from casekit.store import clocks, report_columns, tables

if TYPE_CHECKING:
    from casekit.services.rules import RuleOutcome

T = TypeVar("T")

CHUNK = 1000
s = tables.shipments.c
o = tables.orders.c
ev = tables.shipment_events.c

ORDER_FIELDS = ("customer_email", "customer_name", "brand", "placed_at")


@frozen
class Rejected:
    """One input the store refused: its position (from 0), what names it, and why."""

    index: int
    key: str | None
    errors: dict[str, list[str]]

    @property
    def reason(self) -> str:
        return "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in sorted(self.errors.items()))


@define
class UpsertReport:
    """What an upsert of facts did: rows created, updated, unchanged and rejected."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


@define
class EventReport:
    """What recording tracking events did, and the cases the rules opened or solved."""

    recorded: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(factory=list)
    opened: list[str] = field(factory=list)
    solved: list[str] = field(factory=list)
    #: (rule id, shipment reference, reason) of rule cases that could not open.
    failed: list[tuple[int, str, str]] = field(factory=list)


@frozen
class TrackingEntry:
    """A recorded tracking event of a shipment, as :meth:`ShipmentService.events` lists it."""

    status: ShipmentStatus
    exception: ExceptionKind | None
    occurred_at: datetime
    recorded_at: datetime
    description: str
    location: str
    source: str


def _limits(table: Table) -> dict[str, int]:
    limits: dict[str, int] = {}
    for col in table.columns:
        length = getattr(col.type, "length", None)
        if isinstance(length, int):
            limits[col.name] = length
    return limits


_SHIPMENT_LIMITS = _limits(tables.shipments) | {"shipper": 200, "carrier": 200}
_ORDER_LIMITS = _limits(tables.orders) | {"shipper": 200}
_EVENT_LIMITS = _limits(tables.shipment_events) | {
    "reference": 200,
    "tracking_number": 200,
    "key": 150,
}


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class ShipmentService(Service):
    """The order and shipment store. Reach it as ``kit.shipments``."""

    # -- who may write ---------------------------------------------------------
    def _writer_org(self, actor: Actor) -> int | None:
        """The organization ``actor`` writes facts for (None: the host, any)."""
        if actor.is_customer:
            raise PermissionDenied("customers do not send order or shipment facts")
        if actor.is_unrestricted:
            return None
        if not (actor.is_system or actor.is_manager):
            raise PermissionDenied("feeds are loaded by a system actor or a manager")
        return actor.org_id

    def _shippers(
        self, conn: Connection, actor_org: int | None, names: set[str]
    ) -> tuple[dict[str, Organization], Organization | None]:
        """The shippers named by external id, and the actor's own organization."""
        from sqlalchemy.orm import Session

        with Session(bind=conn) as session:
            own = session.get(Organization, actor_org) if actor_org is not None else None
            found: dict[str, Organization] = {}
            if names:
                stmt = select(Organization).where(
                    tables.organizations.c.external_id.in_(sorted(names))
                )
                found = {org.external_id or "": org for org in session.scalars(stmt)}
            session.expunge_all()
        return found, own

    def _resolve_shipper(
        self,
        problems: Problems,
        named: str | None,
        own: Organization | None,
        shippers: Mapping[str, Organization],
    ) -> int | None:
        if own is not None:
            if own.role is not OrgRole.SHIPPER:
                problems.setdefault("shipper", []).append("only a shipper sends these facts")
                return None
            if named is not None and named != own.external_id:
                problems.setdefault("shipper", []).append(
                    f"{named!r} is not your organization; send your own facts"
                )
                return None
            return own.id
        if named is None:
            problems.setdefault("shipper", []).append("name the shipper (its external id)")
            return None
        org = shippers.get(named)
        if org is None or org.role is not OrgRole.SHIPPER:
            problems.setdefault("shipper", []).append(f"{named!r} is not a known shipper")
            return None
        return org.id

    # -- shipments -------------------------------------------------------------------
    def upsert_shipments(
        self, actor: Actor, facts: Iterable[ShipmentFacts], *, chunk_size: int = CHUNK
    ) -> UpsertReport:
        """Create or refresh shipments from ``facts``; returns what happened to each.

        A shipment is keyed by its shipper and ``reference``; fields the facts
        leave empty keep their value, so upserting the same facts again
        changes nothing. A bad fact is rejected with its reasons and the
        others are stored. The host names each shipment's ``shipper``; a
        shipper's system actor (or manager) sends its own.
        """
        actor_org = self._writer_org(actor)
        report = UpsertReport()
        position = 0
        for chunk in _chunks(facts, chunk_size):
            self._upsert_shipment_chunk(actor_org, chunk, position, report)
            position += len(chunk)
        return report

    def _upsert_shipment_chunk(
        self,
        actor_org: int | None,
        chunk: Sequence[ShipmentFacts],
        start: int,
        report: UpsertReport,
    ) -> None:
        now = self._now()
        with self._uow() as uow:
            conn = uow.session.connection()
            names = {f.shipper for f in chunk if isinstance(f, ShipmentFacts) and f.shipper}
            names |= {f.carrier for f in chunk if isinstance(f, ShipmentFacts) and f.carrier}
            orgs, own = self._shippers(conn, actor_org, names)
            good: list[tuple[int, int, ShipmentFacts, int | None]] = []
            for i, item in enumerate(chunk, start):
                if not isinstance(item, ShipmentFacts):
                    report.rejected.append(Rejected(i, None, {"facts": ["ShipmentFacts expected"]}))
                    continue
                problems = check_shipment_facts(item, _SHIPMENT_LIMITS)
                shipper_id = self._resolve_shipper(problems, item.shipper, own, orgs)
                carrier_id = None
                if item.carrier is not None:
                    carrier = orgs.get(item.carrier)
                    if carrier is None or carrier.role is not OrgRole.CARRIER:
                        problems.setdefault("carrier", []).append(
                            f"{item.carrier!r} is not a known carrier"
                        )
                    else:
                        carrier_id = carrier.id
                if problems or shipper_id is None:
                    report.rejected.append(Rejected(i, item.reference, problems))
                    continue
                good.append((i, shipper_id, item, carrier_id))
            existing: dict[tuple[int, str], dict[str, Any]] = {}
            for shipper_id, group in itertools.groupby(
                sorted(good, key=lambda g: g[1]), key=lambda g: g[1]
            ):
                refs = sorted({g[2].reference.strip() for g in group})
                stmt = select(tables.shipments).where(
                    s.shipper_org_id == shipper_id, s.reference.in_(refs)
                )
                for row in conn.execute(stmt).mappings():
                    existing[(shipper_id, row["reference"])] = dict(row)
            inserts: dict[tuple[int, str], dict[str, Any]] = {}
            updates: dict[int, dict[str, Any]] = {}
            moved: set[int] = set()  # snapshots whose brand, segment or region moves
            retarget: set[int] = set()  # snapshots whose facts a target may test move
            for _i, shipper_id, item, carrier_id in good:
                key = (shipper_id, item.reference.strip())
                current = inserts.get(key) or existing.get(key)
                fresh = current is None
                if current is None:
                    current = dict.fromkeys(SHIPMENT_SNAPSHOT_FIELDS)
                    current.update(
                        shipper_org_id=shipper_id,
                        reference=key[1],
                        carrier_org_id=None,
                        carrier_key=None,
                    )
                changes = snapshot_changes(current, item)
                if carrier_id is not None and current.get("carrier_org_id") != carrier_id:
                    changes["carrier_org_id"] = carrier_id
                if "carrier_name" in changes:
                    name = changes["carrier_name"]
                    changes["carrier_key"] = name.lower() if name else None
                if fresh:
                    current.update(changes, updated_at=now)
                    inserts[key] = current
                    report.created += 1
                elif not changes:
                    report.unchanged += 1
                else:
                    current.update(changes, updated_at=now)
                    if key not in inserts:  # else merged into the row this chunk creates
                        updates[current["id"]] = current
                        if changes.keys() & set(report_columns.SNAPSHOT_COLUMNS):
                            moved.add(current["id"])
                        if changes.keys() & clocks.SHIPMENT_FACTS:
                            retarget.add(current["id"])
                    report.updated += 1
            if inserts:
                _insert_grouped(conn, tables.shipments, inserts.values())
            if updates:
                conn.execute(_update_shipments(), [_update_params(r) for r in updates.values()])
                report_columns.refresh_snapshot_of_shipments(conn, moved)
                clocks.recompute_for_shipments(conn, retarget, now)
            uow.commit()

    # -- orders -------------------------------------------------------------------------
    def upsert_orders(
        self, actor: Actor, facts: Iterable[OrderFacts], *, chunk_size: int = CHUNK
    ) -> UpsertReport:
        """Create or refresh orders from ``facts``, keyed by shipper and ``number``."""
        actor_org = self._writer_org(actor)
        report = UpsertReport()
        position = 0
        for chunk in _chunks(facts, chunk_size):
            self._upsert_order_chunk(actor_org, chunk, position, report)
            position += len(chunk)
        return report

    def _upsert_order_chunk(
        self, actor_org: int | None, chunk: Sequence[OrderFacts], start: int, report: UpsertReport
    ) -> None:
        now = self._now()
        with self._uow() as uow:
            conn = uow.session.connection()
            names = {f.shipper for f in chunk if isinstance(f, OrderFacts) and f.shipper}
            orgs, own = self._shippers(conn, actor_org, names)
            good: list[tuple[int, OrderFacts]] = []
            for i, item in enumerate(chunk, start):
                if not isinstance(item, OrderFacts):
                    report.rejected.append(Rejected(i, None, {"facts": ["OrderFacts expected"]}))
                    continue
                problems = check_order_facts(item, _ORDER_LIMITS)
                shipper_id = self._resolve_shipper(problems, item.shipper, own, orgs)
                if problems or shipper_id is None:
                    report.rejected.append(Rejected(i, item.number, problems))
                    continue
                good.append((shipper_id, item))
            existing: dict[tuple[int, str], dict[str, Any]] = {}
            for shipper_id, group in itertools.groupby(
                sorted(good, key=lambda g: g[0]), key=lambda g: g[0]
            ):
                numbers = sorted({g[1].number.strip() for g in group})
                stmt = select(tables.orders).where(
                    o.shipper_org_id == shipper_id, o.number.in_(numbers)
                )
                for row in conn.execute(stmt).mappings():
                    existing[(shipper_id, row["number"])] = dict(row)
            inserts: dict[tuple[int, str], dict[str, Any]] = {}
            updates: dict[int, dict[str, Any]] = {}
            for shipper_id, item in good:
                key = (shipper_id, item.number.strip())
                current = inserts.get(key) or existing.get(key)
                changes = {
                    name: getattr(item, name)
                    for name in ORDER_FIELDS
                    if getattr(item, name) is not None
                    and (current is None or current.get(name) != getattr(item, name))
                }
                if current is None:
                    new: dict[str, Any] = dict.fromkeys(ORDER_FIELDS)
                    new.update(changes, shipper_org_id=shipper_id, number=key[1], updated_at=now)
                    inserts[key] = new
                    report.created += 1
                elif not changes:
                    report.unchanged += 1
                else:
                    current.update(changes, updated_at=now)
                    if key not in inserts:
                        updates[current["id"]] = current
                    report.updated += 1
            if inserts:
                _insert_grouped(conn, tables.orders, inserts.values())
            if updates:
                change = (
                    update(tables.orders)
                    .where(o.id == bindparam("_id"))
                    .values(
                        {name: bindparam(f"v_{name}") for name in (*ORDER_FIELDS, "updated_at")}
                    )
                )
                conn.execute(
                    change,
                    [
                        {"_id": r["id"]} | {f"v_{n}": r[n] for n in (*ORDER_FIELDS, "updated_at")}
                        for r in updates.values()
                    ],
                )
            uow.commit()

    # -- tracking events ----------------------------------------------------------------
    def record_events(
        self,
        actor: Actor,
        events: Iterable[ShipmentEvent],
        *,
        chunk_size: int = CHUNK,
        evaluate_rules: bool = True,
    ) -> EventReport:
        """Record tracking events and move each shipment's normalised status.

        Each event names a shipment the actor's organization ships or carries
        (the host: any), by reference or tracking number. An event already
        recorded (same source key, or same content) is counted as a duplicate
        and changes nothing; an event older than the shipment's latest one is
        kept in its history without moving its status. A bad event is
        rejected with its reason and the others are kept. Then the shippers'
        enabled rules look at every shipment that moved: they may open cases
        or solve the cases they opened (``evaluate_rules=False`` leaves that
        to a later :meth:`~casekit.services.rules.RuleService.sweep`).
        """
        if actor.is_customer:
            raise PermissionDenied("customers do not send tracking events")
        if not (actor.is_system or actor.is_manager):
            raise PermissionDenied("tracking events come from a system actor or a manager")
        report = EventReport()
        position = 0
        for chunk in _chunks(events, chunk_size):
            try:
                moved = self._record_chunk(actor, chunk, position, report)
            except IntegrityError:
                # The same event arrived concurrently through another worker:
                # read what it recorded and record the rest.
                moved = self._record_chunk(actor, chunk, position, report)
            position += len(chunk)
            if evaluate_rules and moved:
                outcome: RuleOutcome = self.kit.rules.on_shipments_moved(moved)
                report.opened.extend(outcome.opened)
                report.solved.extend(outcome.solved)
                report.failed.extend(outcome.failed)
        return report

    def _record_chunk(
        self, actor: Actor, chunk: Sequence[ShipmentEvent], start: int, report: EventReport
    ) -> list[dict[str, Any]]:
        now = self._now()
        recorded = duplicates = 0
        rejected: list[Rejected] = []
        with self._uow() as uow:
            conn = uow.session.connection()
            checked: list[tuple[int, ShipmentEvent]] = []
            for i, event in enumerate(chunk, start):
                if not isinstance(event, ShipmentEvent):
                    rejected.append(Rejected(i, None, {"event": ["ShipmentEvent expected"]}))
                    continue
                problems = check_event(event, _EVENT_LIMITS)
                if problems:
                    rejected.append(Rejected(i, event.reference or event.tracking_number, problems))
                    continue
                checked.append((i, event))
            refs = {e.reference.strip() for _, e in checked if e.reference}
            tns = {e.tracking_number.strip() for _, e in checked if e.tracking_number}
            found = self._shipments_for(conn, actor, refs, tns)
            by_ref: dict[str, list[dict[str, Any]]] = {}
            by_tn: dict[str, list[dict[str, Any]]] = {}
            for row in found.values():
                by_ref.setdefault(row["reference"], []).append(row)
                if row["tracking_number"]:
                    by_tn.setdefault(row["tracking_number"], []).append(row)
            resolved: list[tuple[int, ShipmentEvent, dict[str, Any], str]] = []
            for i, event in checked:
                name = (event.reference or event.tracking_number or "").strip()
                matches = (by_ref if event.reference else by_tn).get(name, [])
                if not matches:
                    what = "reference" if event.reference else "tracking_number"
                    rejected.append(Rejected(i, name, {what: [f"no shipment {name!r} is yours"]}))
                    continue
                if len(matches) > 1:
                    what = "reference" if event.reference else "tracking_number"
                    rejected.append(
                        Rejected(i, name, {what: [f"{name!r} names several shipments"]})
                    )
                    continue
                resolved.append((i, event, matches[0], event_key(event)))
            seen: set[tuple[int, str]] = set()
            if resolved:
                # Pairs, not two IN lists: those would probe every id with every key.
                pairs = sorted({(r[2]["id"], r[3]) for r in resolved})
                stmt = select(ev.shipment_id, ev.event_key).where(
                    tuple_(ev.shipment_id, ev.event_key).in_(pairs)
                )
                seen = {(row[0], row[1]) for row in conn.execute(stmt)}
            rows: list[dict[str, Any]] = []
            moved: dict[int, dict[str, Any]] = {}
            for _i, event, shipment, key in resolved:
                if (shipment["id"], key) in seen:
                    duplicates += 1
                    continue
                seen.add((shipment["id"], key))
                status = ShipmentStatus(event.status)
                exception = ExceptionKind(event.exception) if event.exception else None
                rows.append(
                    {
                        "shipment_id": shipment["id"],
                        "status": status.value,
                        "exception": exception.value if exception else None,
                        "occurred_at": event.occurred_at,
                        "recorded_at": now,
                        "description": event.description,
                        "location": event.location,
                        "source": event.source,
                        "event_key": key,
                    }
                )
                recorded += 1
                latest = shipment["status_at"]
                if latest is not None and event.occurred_at < latest:
                    continue  # history only: a newer event already set the status
                shipment.update(
                    shipment_status=status.value,
                    exception=exception.value if exception else None,
                    status_at=event.occurred_at,
                    updated_at=now,
                )
                if event.appointment_at is not None:
                    shipment["appointment_at"] = event.appointment_at
                if event.estimated_date is not None:
                    shipment["estimated_date"] = event.estimated_date
                moved[shipment["id"]] = shipment
            if rows:
                conn.execute(insert(tables.shipment_events), rows)
            if moved:
                conn.execute(
                    _move_shipments(),
                    [
                        {"_id": row["id"]} | {f"v_{n}": row[n] for n in (*_MOVED, "updated_at")}
                        for row in moved.values()
                    ],
                )
            uow.commit()
        report.recorded += recorded
        report.duplicates += duplicates
        report.rejected.extend(rejected)
        return list(moved.values())

    def _shipments_for(
        self, conn: Connection, actor: Actor, refs: set[str], tns: set[str]
    ) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for column, values in ((s.reference, refs), (s.tracking_number, tns)):
            for part in _chunks(sorted(values), CHUNK):
                stmt = select(tables.shipments).where(column.in_(part))
                if not actor.is_unrestricted:
                    stmt = stmt.where(
                        or_(s.shipper_org_id == actor.org_id, s.carrier_org_id == actor.org_id)
                    )
                for row in conn.execute(stmt).mappings():
                    found[row["id"]] = dict(row)
        return found

    # -- reading ---------------------------------------------------------------------------
    def shipment(self, actor: Actor, identifier: str) -> ShipmentFacts:
        """A shipment the actor's organization ships or carries, as facts.

        ``identifier`` is its reference or else its tracking number, BOL,
        PO or reference number. NotFound when there is none, or several.
        """
        if actor.is_customer:
            raise NotFound("shipment", identifier)
        key = identifier.strip()
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            for column in (
                s.reference,
                s.tracking_number,
                s.bol_number,
                s.po_number,
                s.reference_number,
            ):
                stmt = select(tables.shipments).where(column == key).limit(2)
                if not actor.is_unrestricted:
                    stmt = stmt.where(
                        or_(s.shipper_org_id == actor.org_id, s.carrier_org_id == actor.org_id)
                    )
                rows = conn.execute(stmt).mappings().all()
                if len(rows) == 1:
                    return _facts_of(conn, rows[0])
                if rows:
                    break
        raise NotFound("shipment", identifier)

    def order(self, actor: Actor, number: str) -> OrderFacts:
        """An order of the actor's shipper (the host: any single match), as facts."""
        if actor.is_customer:
            raise NotFound("order", number)
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            stmt = select(tables.orders).where(o.number == number.strip()).limit(2)
            if not actor.is_unrestricted:
                stmt = stmt.where(o.shipper_org_id == actor.org_id)
            rows = conn.execute(stmt).mappings().all()
            if len(rows) != 1:
                raise NotFound("order", number)
            row = rows[0]
            shipper = conn.execute(
                select(tables.organizations.c.external_id).where(
                    tables.organizations.c.id == row["shipper_org_id"]
                )
            ).scalar_one()
            return OrderFacts(
                number=row["number"],
                shipper=shipper,
                **{name: row[name] for name in ORDER_FIELDS},
            )

    def events(self, actor: Actor, identifier: str) -> list[TrackingEntry]:
        """The shipment's recorded tracking events, oldest first."""
        facts = self.shipment(actor, identifier)
        with self._uow(write=False) as uow:
            conn = uow.session.connection()
            stmt = (
                select(tables.shipment_events)
                .join(tables.shipments, s.id == ev.shipment_id)
                .join(tables.organizations, tables.organizations.c.id == s.shipper_org_id)
                .where(
                    s.reference == facts.reference,
                    tables.organizations.c.external_id == facts.shipper,
                )
                .order_by(ev.occurred_at, ev.id)
            )
            return [
                TrackingEntry(
                    status=ShipmentStatus(row["status"]),
                    exception=ExceptionKind(row["exception"]) if row["exception"] else None,
                    occurred_at=row["occurred_at"],
                    recorded_at=row["recorded_at"],
                    description=row["description"],
                    location=row["location"],
                    source=row["source"],
                )
                for row in conn.execute(stmt).mappings()
            ]


def _insert_grouped(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """INSERT the rows, one executemany per set of columns they fill.

    The columns a row leaves empty are left out (they default to NULL):
    a feed's rows mostly fill the same few, so each row carries only those
    through SQLAlchemy's parameter processing.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        filled = {k: v for k, v in row.items() if v is not None and k != "id"}
        groups.setdefault(tuple(sorted(filled)), []).append(filled)
    for group in groups.values():
        conn.execute(insert(table), group)


_MOVED = ("shipment_status", "exception", "status_at", "appointment_at", "estimated_date")
_UPDATED = (*SHIPMENT_SNAPSHOT_FIELDS, "carrier_org_id", "carrier_key", "updated_at")


def _update_shipments() -> Any:
    return (
        update(tables.shipments)
        .where(s.id == bindparam("_id"))
        .values({name: bindparam(f"v_{name}") for name in _UPDATED})
    )


def _update_params(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {"_id": row["id"]} | {f"v_{name}": row.get(name) for name in _UPDATED}


def _move_shipments() -> Any:
    return (
        update(tables.shipments)
        .where(s.id == bindparam("_id"))
        .values(
            {name: bindparam(f"v_{name}") for name in _MOVED}
            | {"updated_at": bindparam("v_updated_at")}
        )
    )


def _facts_of(conn: Connection, row: Mapping[Any, Any]) -> ShipmentFacts:
    org = tables.organizations.c
    ids = [i for i in (row["shipper_org_id"], row["carrier_org_id"]) if i is not None]
    names = dict(conn.execute(select(org.id, org.external_id).where(org.id.in_(ids))).all())
    values: dict[str, Any] = {name: row[name] for name in SHIPMENT_SNAPSHOT_FIELDS}
    for name, enum_class in (("shipment_status", ShipmentStatus), ("exception", ExceptionKind)):
        if values[name] is not None:
            values[name] = enum_class(values[name])
    return ShipmentFacts(
        reference=row["reference"],
        shipper=names.get(row["shipper_org_id"]),
        carrier=names.get(row["carrier_org_id"]) if row["carrier_org_id"] else None,
        **values,
    )


__all__ = [
    "EventReport",
    "Rejected",
    "ShipmentService",
    "TrackingEntry",
    "UpsertReport",
]
