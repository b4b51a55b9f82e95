"""The filter language: fields, operators, and their translation into SQL.

A list query is plain data (see :mod:`casekit.schemas.views` for its JSON
form): a built-in view, filters, a sort and an optional search. This module
knows every filterable field, which operators it takes, and how each turns
into a SQL condition — always with bound parameters. Negative operators
("is not", "does not contain", "does not start with", "not in") also match a
case whose shipment lacks that fact: a case without a destination does not
contain "Smith". ``empty`` (choice and date fields, value ``true``) matches
the cases that have no value at all: no brand, no carrier, never solved.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    not_,
    null,
    or_,
    select,
    true,
)

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind, Source
from casekit.domain.directory import OrgRole
from casekit.domain.shipment import Direction, ExceptionKind, Mode, ShipmentStatus
from casekit.domain.tags import Priority
from casekit.domain.workflow import Category, Status
from casekit.query import due
from casekit.query.clock_filters import CLOCK_FIELDS, KINDS, clock_condition
from casekit.query.clock_filters import now_param as clock_now
from casekit.query.custom_fields import CUSTOM_FIELDS, CUSTOM_OPERATORS, custom_field_condition
from casekit.query.scoped import CUSTOMER_AUDIENCES, entry_visibility
from casekit.query.tags import TAG_FIELDS, tag_condition
from casekit.store import tables

c = tables.cases.c
e = tables.entries.c
s = tables.shipments.c


class Kind(enum.StrEnum):
    CHOICE = "choice"  # one or several values: in / not_in
    TEXT = "text"  # is / is_not / contains / not_contains
    PREFIX = "prefix"  # starts_with / not_starts_with
    DATES = "dates"  # between {from, to}
    LATEST = "latest"  # posted_by / not_posted_by: me | my_organization
    CUSTOM = "custom"  # a custom field by name: in / not_in / contains / between / empty


OPERATORS: dict[Kind, tuple[str, ...]] = {
    Kind.CHOICE: ("in", "not_in", "empty"),
    Kind.TEXT: ("is", "is_not", "contains", "not_contains"),
    Kind.PREFIX: ("starts_with", "not_starts_with"),
    Kind.DATES: ("between", "empty"),
    Kind.LATEST: ("posted_by", "not_posted_by"),
    Kind.CUSTOM: CUSTOM_OPERATORS,
}


@frozen
class FieldSpec:
    """A filterable field: its kind, the values it allows, and what it reads."""

    name: str
    kind: Kind
    label: str
    choices: tuple[str, ...] | None = None  # fixed values; None: free values
    ids: bool = False  # values are integer ids
    shipment: bool = False  # reads the shipment snapshot (needs the join)


def _values(enum_class: type[enum.Enum]) -> tuple[str, ...]:
    return tuple(str(member.value) for member in enum_class)


YES_NO = ("yes", "no")
#: The timeline events a filter can ask about (both are meant for everyone).
HISTORY_EVENTS = (EventKind.SOLVED.value, EventKind.REOPENED.value)

FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        # The case row keeps its snapshot's brand (a report column): no join.
        FieldSpec("brand", Kind.CHOICE, "Brand"),
        FieldSpec("carrier", Kind.CHOICE, "Carrier", ids=True),
        FieldSpec("shipper", Kind.CHOICE, "Shipper", ids=True),
        FieldSpec("owner", Kind.CHOICE, "Case owner", ids=True),
        FieldSpec("has_owner", Kind.CHOICE, "Owned on my side", choices=YES_NO),
        FieldSpec("solved_by", Kind.CHOICE, "Solved by", ids=True),
        FieldSpec("has_event", Kind.CHOICE, "Has been", choices=HISTORY_EVENTS),
        # The side's clocks (casekit.query.clock_filters): its own organization's only.
        FieldSpec("has_clock", Kind.CHOICE, "Has a service-level clock", choices=KINDS),
        FieldSpec("breached", Kind.CHOICE, "Missed a service level", choices=KINDS),
        # The actor's organization's own tags (casekit.query.tags), by id.
        FieldSpec("tag", Kind.CHOICE, "Tag", ids=True),
        FieldSpec("priority", Kind.CHOICE, "Priority", choices=_values(Priority)),
        # A custom field the actor reads (casekit.query.custom_fields), by its name.
        FieldSpec("custom_field", Kind.CUSTOM, "Custom field"),
        FieldSpec("source", Kind.CHOICE, "Case source", choices=_values(Source)),
        FieldSpec("status", Kind.CHOICE, "Case status", choices=_values(Status)),
        FieldSpec("category", Kind.CHOICE, "Active or solved", choices=_values(Category)),
        FieldSpec("type", Kind.CHOICE, "Case type"),
        FieldSpec("watcher", Kind.CHOICE, "Case watcher", ids=True),
        FieldSpec("closed_at", Kind.DATES, "Solved date"),
        FieldSpec("created_at", Kind.DATES, "Created date"),
        # The actor's own side's running clock due first (casekit.query.due).
        FieldSpec("due_state", Kind.CHOICE, "Due", choices=due.DUE_STATES),
        FieldSpec("due_at", Kind.DATES, "Due date"),
        FieldSpec("customer_segment", Kind.CHOICE, "Customer segment", shipment=True),
        FieldSpec("destination_name", Kind.TEXT, "Destination name", shipment=True),
        FieldSpec("destination_postal_code", Kind.PREFIX, "Destination postal code", shipment=True),
        FieldSpec("direction", Kind.CHOICE, "Direction", choices=_values(Direction), shipment=True),
        FieldSpec("latest_message", Kind.LATEST, "Latest message"),
        FieldSpec("latest_message_at", Kind.DATES, "Latest message date"),
        FieldSpec("other_side_message_at", Kind.DATES, "Latest message from the other side"),
        FieldSpec("mode", Kind.CHOICE, "Mode", choices=_values(Mode), shipment=True),
        FieldSpec("origin_name", Kind.TEXT, "Origin name", shipment=True),
        FieldSpec("origin_postal_code", Kind.PREFIX, "Origin postal code", shipment=True),
        FieldSpec("po_number", Kind.PREFIX, "Purchase order", shipment=True),
        FieldSpec("reference_number", Kind.PREFIX, "Reference number", shipment=True),
        FieldSpec("region", Kind.CHOICE, "Region", shipment=True),
        FieldSpec(
            "shipment_status",
            Kind.CHOICE,
            "Shipment status",
            choices=_values(ShipmentStatus),
            shipment=True,
        ),
        FieldSpec(
            "exception",
            Kind.CHOICE,
            "Shipment exception",
            choices=_values(ExceptionKind),
            shipment=True,
        ),
        # The delivery appointment both sides accepted (casekit.domain.actions).
        FieldSpec(
            "has_appointment",
            Kind.CHOICE,
            "Has a delivery appointment",
            choices=YES_NO,
            shipment=True,
        ),
        FieldSpec("appointment_date", Kind.DATES, "Delivery appointment date", shipment=True),
    )
}

LATEST_WHO = ("me", "my_organization")


@frozen
class Filter:
    """One condition: ``field`` ``op`` ``value``.

    ``value`` is a tuple for choice fields, a string for text and prefix
    fields, a ``(from, to)`` pair of datetimes (either may be None) for date
    ranges, ``"me"`` or ``"my_organization"`` for the latest message, and
    ``True`` for ``empty``.
    """

    field: str
    op: str
    value: Any


def _choice_column(name: str) -> Any:
    return {
        "brand": c.brand,
        "carrier": c.carrier_org_id,
        "shipper": c.shipper_org_id,
        "source": c.source,
        "status": c.status,
        "type": c.type,
        "priority": c.priority,
        "customer_segment": s.customer_segment,
        "direction": s.direction,
        "mode": s.mode,
        "region": s.region,
        "shipment_status": s.shipment_status,
        "exception": s.exception,
    }[name]


_TEXT_COLUMNS = {
    "destination_name": s.destination_name,
    "origin_name": s.origin_name,
    "destination_postal_code": s.destination_postal_code,
    "origin_postal_code": s.origin_postal_code,
    "po_number": s.po_number,
    "reference_number": s.reference_number,
}

_DATE_COLUMNS = {
    "appointment_date": s.delivery_window_start,
    "created_at": c.created_at,
    "latest_message_at": c.latest_message_at,
}


def _negate(column: Any, positive: ColumnElement[bool]) -> ColumnElement[bool]:
    """Not ``positive`` — and a missing value counts as not matching."""
    return or_(column.is_(None), not_(positive))


def compile_filter(
    f: Filter, actor: Actor, role: OrgRole | None = None, *, now: datetime | None = None
) -> ColumnElement[bool]:
    """The SQL condition for one (already validated) filter, for ``actor`` (whose
    organization's ``role``, when known, spares the conditions that tell it per case).

    ``now`` is the moment a due state is read at: the value of the bound
    parameter :data:`casekit.query.due.NOW`, which a kept statement is run with.
    It is also the moment ``breached`` reads (the bound parameter
    :data:`casekit.query.clock_filters.NOW`).
    """
    spec = FIELDS[f.field]
    if f.field in CLOCK_FIELDS:
        return clock_condition(f.field, f.op, f.value, actor, clock_now(now))
    if f.field in TAG_FIELDS:
        return tag_condition(f.op, () if f.op == "empty" else f.value, actor)
    if f.field in CUSTOM_FIELDS:
        return custom_field_condition(f.op, f.value, actor)
    if f.op == "empty":
        return _empty(f.field, actor, role)
    negative = f.op in ("not_in", "is_not", "not_contains", "not_starts_with", "not_posted_by")
    if f.field == "due_state":
        wanted = set(f.value)
        if negative:
            wanted = set(due.DUE_STATES) - wanted
        return due.state_clause(wanted, actor, role, due.now_param(now))
    if f.field == "has_appointment":
        wanted = {"yes", "no"} - set(f.value) if negative else set(f.value)
        has = s.delivery_window_start.is_not(None)
        if wanted == {"yes", "no"}:
            return true()
        return has if wanted == {"yes"} else (not_(has) if wanted else false())
    if spec.kind is Kind.CHOICE:
        return _choice(f, actor, negative, role)
    if spec.kind in (Kind.TEXT, Kind.PREFIX):
        column = _TEXT_COLUMNS[f.field]
        value = str(f.value)
        if f.op in ("is", "is_not"):
            positive = func.lower(column) == value.lower()
        elif f.op in ("contains", "not_contains"):
            positive = column.icontains(value, autoescape=True)
        else:
            positive = column.istartswith(value, autoescape=True)
        return _negate(column, positive) if negative else positive
    if spec.kind is Kind.DATES:
        column = date_column(f.field, actor, role)
        start, end = f.value
        parts: list[ColumnElement[bool]] = []
        if start is not None:
            parts.append(column >= start)
        if end is not None:
            parts.append(column < end)
        return and_(*parts) if parts else true()
    return _latest(f, actor, negative, role)


def _empty(field: str, actor: Actor, role: OrgRole | None = None) -> ColumnElement[bool]:
    """The cases without a value for ``field`` (as ``actor`` sees them)."""
    if field == "owner":
        if actor.is_customer:
            return true()
        return and_(c.shipper_owner_id.is_(None), c.carrier_owner_id.is_(None))
    if field == "has_owner":
        return false()
    if field == "solved_by":
        return true() if actor.is_customer else solved_by_column(actor, role).is_(None)
    if field == "watcher":
        return ~exists(_watches(actor))
    if field == "has_event":
        return not_(_choice(Filter(field, "in", HISTORY_EVENTS), actor, negative=False))
    if field in ("category", "priority", "has_appointment"):
        return false()  # every case has one
    if field == "due_state":
        return due.state_clause({due.NONE}, actor, role)
    spec = FIELDS[field]
    column = date_column(field, actor, role) if spec.kind is Kind.DATES else _choice_column(field)
    missing: ColumnElement[bool] = column.is_(None)
    return missing


def _watches(actor: Actor, values: Sequence[int] | None = None) -> Select[Any]:
    """The watches of the case that ``actor`` may know of (by ``values`` when given)."""
    w, u = tables.watchers.c, tables.users.c
    watched = select(w.case_id).where(w.case_id == c.id)
    if values is not None:
        watched = watched.where(w.user_id.in_(values))
    if not actor.is_unrestricted:
        # Only the actor's own colleagues' watches are visible to it.
        watched = watched.join(tables.users, u.id == w.user_id).where(u.org_id == actor.org_id)
    return watched


def _own_side_owned(actor: Actor) -> ColumnElement[bool]:
    """The case has an owner on ``actor``'s side (on either side for the host)."""
    if actor.is_customer:
        return false()  # a customer sees no owners
    if actor.org_id is None:
        return or_(c.shipper_owner_id.is_not(None), c.carrier_owner_id.is_not(None))
    return or_(
        and_(c.shipper_org_id == actor.org_id, c.shipper_owner_id.is_not(None)),
        and_(c.carrier_org_id == actor.org_id, c.carrier_owner_id.is_not(None)),
    )


def _choice(
    f: Filter, actor: Actor, negative: bool, role: OrgRole | None = None
) -> ColumnElement[bool]:
    values: Sequence[Any] = f.value
    if f.field == "has_owner":
        wanted = set(values)
        if negative:
            wanted = set(YES_NO) - wanted
        if wanted == set(YES_NO):
            return true()
        if not wanted:
            return false()
        owned = _own_side_owned(actor)
        return owned if wanted == {"yes"} else not_(owned)
    if f.field == "solved_by":
        if actor.is_customer:
            # Who solved a case is staff business: to a customer nobody did.
            return true() if negative else false()
        solvers = [f"user:{v}" for v in values]
        solved_by = solved_by_column(actor, role)
        positive = solved_by.in_(solvers)
        return _negate(solved_by, positive) if negative else positive
    if f.field == "has_event":
        happened = exists(
            select(e.id).where(
                e.case_id == c.id,
                e.kind == EntryKind.EVENT.value,
                e.audience == Audience.EVERYONE.value,
                e.event.in_(list(values)),
            )
        )
        return ~happened if negative else happened
    if f.field == "owner":
        if actor.is_customer:
            # A customer sees no owners; to them no case has one.
            return true() if negative else false()
        if negative:
            return and_(
                _negate(c.shipper_owner_id, c.shipper_owner_id.in_(values)),
                _negate(c.carrier_owner_id, c.carrier_owner_id.in_(values)),
            )
        return or_(c.shipper_owner_id.in_(values), c.carrier_owner_id.in_(values))
    if f.field == "watcher":
        watched = _watches(actor, values)
        return ~exists(watched) if negative else exists(watched)
    if f.field == "category":
        wanted = {Category(v) for v in values}
        if negative:
            wanted = set(Category) - wanted
        if wanted == set(Category):
            return true()
        if not wanted:
            return false()
        solved: ColumnElement[bool] = status_column(actor, role) == Status.SOLVED.value
        return solved if wanted == {Category.SOLVED} else not_(solved)
    column = status_column(actor, role) if f.field == "status" else _choice_column(f.field)
    positive = column.in_(values)
    return _negate(column, positive) if negative else positive


def customer_latest(column: Any) -> ScalarSelect[Any]:
    """``column`` of the latest message meant for everyone on the case.

    A customer's "latest message" is that one: the case row's latest-message
    columns also count partners' messages, which a customer must not see, not
    even through a date, an order or a view.
    """
    return (
        select(column)
        .where(
            e.case_id == c.id,
            e.kind == EntryKind.MESSAGE.value,
            e.audience.in_(CUSTOMER_AUDIENCES),
        )
        .order_by(e.id.desc())
        .limit(1)
        .correlate(tables.cases)
        .scalar_subquery()
    )


def other_side_latest(actor: Actor, role: OrgRole | None = None) -> Any:
    """When the latest message from the other side that ``actor`` may read was posted.

    For staff: the latest message meant for partners or everyone whose
    author is not of the actor's organization (the other party, a customer,
    the host). Internal notes never count, not even the other side's.
    For a customer: the latest staff message meant for them. For the host:
    the latest message that is not internal.
    """
    where: list[ColumnElement[bool]] = [e.case_id == c.id, e.kind == EntryKind.MESSAGE.value]
    if actor.is_customer:
        where += [
            e.audience.in_(CUSTOMER_AUDIENCES),
            e.actor_kind != "customer",
        ]
    else:
        where.append(e.audience != Audience.INTERNAL.value)
        if actor.org_id is not None:
            where.append(or_(e.org_id.is_(None), e.org_id != actor.org_id))
            # The carrier: not the shipper's conversation with its customer.
            where.append(entry_visibility(False, False, actor.org_id, _carries(actor, role)))
    found = select(func.max(e.created_at)).where(*where).correlate(tables.cases).scalar_subquery()
    if actor.is_customer:
        return found
    if actor.org_id is None:
        return c.latest_message_at
    # The case row knows the latest message the actor reads that is not
    # internal: when the other side wrote it, that is the answer, without
    # reading the timeline.
    latest_at, _user, latest_org = latest_columns(actor, role)
    return case(
        (latest_at.is_(None), null()),
        (or_(latest_org.is_(None), latest_org != actor.org_id), latest_at),
        else_=found,
    )


def _carries(actor: Actor, role: OrgRole | None = None) -> bool | ColumnElement[bool]:
    """Whether the case's carrier is ``actor``'s organization: known from its
    ``role`` (an organization is a shipper or a carrier), else a condition on
    the case's row."""
    if role is not None:
        return role is OrgRole.CARRIER
    return c.carrier_org_id == actor.org_id


def _as_read_by(
    actor: Actor, shipper_column: Any, carrier_column: Any, role: OrgRole | None = None
) -> Any:
    """A case column as ``actor`` reads it: ``carrier_column`` on the cases its
    organization carries, ``shipper_column`` on any other (and for a customer
    or the host). With the ``role`` known, the column itself, which an index
    can serve."""
    if actor.is_customer or actor.org_id is None:
        return shipper_column
    carries = _carries(actor, role)
    if isinstance(carries, bool):
        return carrier_column if carries else shipper_column
    return case((carries, carrier_column), else_=shipper_column)


def solved_by_column(actor: Actor, role: OrgRole | None = None) -> Any:
    """Who solved the case as ``actor`` reads it: the carrier keeps its own while
    the shipper reopens the case with its customer."""
    return _as_read_by(actor, c.solved_by, c.carrier_solved_by, role)


def latest_columns(actor: Actor, role: OrgRole | None = None) -> tuple[Any, Any, Any]:
    """When, by which user and organization the latest message ``actor`` reads
    was posted (not internal; for the carrier, not the shipper's conversation
    with its customer)."""
    return (
        _as_read_by(actor, c.latest_message_at, c.carrier_latest_message_at, role),
        _as_read_by(actor, c.latest_message_user_id, c.carrier_latest_message_user_id, role),
        _as_read_by(actor, c.latest_message_org_id, c.carrier_latest_message_org_id, role),
    )


def status_column(actor: Actor, role: OrgRole | None = None) -> Any:
    """The case's status as ``actor``'s side reads it: the carrier its own
    (:mod:`casekit.domain.workflow`)."""
    return _as_read_by(actor, c.status, c.carrier_status, role)


def date_column(field: str, actor: Actor, role: OrgRole | None = None) -> Any:
    """The column a date filter or sort on ``field`` reads, for ``actor``."""
    if field == "latest_message_at" and actor.is_customer:
        return customer_latest(e.created_at)
    if field == "latest_message_at":
        return latest_columns(actor, role)[0]
    if field == "other_side_message_at":
        return other_side_latest(actor, role)
    if field == "updated_at":
        return _as_read_by(actor, c.updated_at, c.carrier_updated_at, role)
    if field == "closed_at":
        return _as_read_by(actor, c.solved_at, c.carrier_solved_at, role)
    if field == "due_at":
        return due.due_columns(actor, role)[0]
    return _DATE_COLUMNS[field]


def _latest(
    f: Filter, actor: Actor, negative: bool, role: OrgRole | None = None
) -> ColumnElement[bool]:
    """The latest message (partners-visible) was, or was not, posted by me / my org."""
    if actor.is_customer:
        if f.value != "me":
            return false()  # a customer belongs to no organization
        kind = customer_latest(e.actor_kind)
        return kind != "customer" if negative else kind == "customer"
    latest_at, latest_user, latest_org = latest_columns(actor, role)
    if f.value == "me":
        column, who = latest_user, actor.user_id
    else:
        column, who = latest_org, actor.org_id
    posted: ColumnElement[bool] = latest_at.is_not(None)
    if who is None:
        return posted if negative else false()
    mine: ColumnElement[bool] = column == who
    return and_(posted, _negate(column, mine)) if negative else mine


def needs_shipment(filters: Sequence[Filter]) -> bool:
    return any(FIELDS[f.field].shipment for f in filters)


@frozen
class Sort:
    field: str = "created_at"
    descending: bool = True


#: The list's order when none is asked for (one immutable instance: every
#: query that keeps the default shares it, a dashboard's thousand drill-downs too).
DEFAULT_SORT = Sort()
#: A search's order: the best match first (casekit.query.listing, "relevance").
#: A query with a search and no sort asked for takes it; without a search, or
#: past the matches a search lists, the view's own order stands in for it.
RELEVANCE = "relevance"
RELEVANCE_SORT = Sort(RELEVANCE)


SORT_FIELDS: dict[str, Callable[[], Any]] = {
    "created_at": lambda: c.created_at,
    "updated_at": lambda: c.updated_at,
    "latest_message_at": lambda: c.latest_message_at,
    "closed_at": lambda: c.solved_at,
    "number": lambda: c.id,
    # Its rank: descending, urgent first.
    "priority": lambda: c.priority,
    # The actor's side's (casekit.query.due.due_columns): a case without a running clock last.
    "due_at": lambda: c.shipper_due_at,
}
NULLABLE_SORTS = frozenset({"latest_message_at", "closed_at", "due_at"})


def parse_when(value: str) -> datetime:
    """An ISO 8601 datetime with a zone (a plain date means its UTC midnight)."""
    from datetime import UTC, date

    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    text = value.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("give a time zone (for example Z or +02:00)")
    return moment.astimezone(UTC)
