"""When a case is due, as the list reads it: the due column, its filters, its view.

A case row keeps, per side, when that side's running clock due first is due
and when its warning is due (``shipper_due_at`` / ``shipper_warn_at``,
``carrier_due_at`` / ``carrier_warn_at``; :mod:`casekit.store.clocks` keeps
them). A list reads its actor's own side's only: a shipper's staff the
shipper's, a carrier's the carrier's, never the other side's, even when that
side shows its clocks on the case page. The host reads the side due first.
A customer reads none: to a customer no case is due.

How a due time reads depends on the list's moment (``now``), the bound
parameter :data:`NOW`, so that a statement built once serves every call:

================= ==========================================
``on_track``      due now or later, its warning not yet due
``due_soon``      its warning is due, the due time has not passed
``breached``      its due time has passed (an answer at the due time is in time)
``none``          no running clock (none, paused or stopped)
================= ==========================================

These are :class:`casekit.domain.sla.DueState`'s names (the case page's
clocks read the same way).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, cast, false, null, or_, select, true

from casekit.domain.actor import Actor
from casekit.domain.directory import OrgRole
from casekit.domain.sla import ClockState, DueState, due_state
from casekit.store import tables
from casekit.store.types import UTCDateTime

c = tables.cases.c
k = tables.clocks.c

#: The values of the ``due_state`` filter.
NONE = "none"
DUE_STATES: tuple[str, ...] = (
    DueState.ON_TRACK.value,
    DueState.DUE_SOON.value,
    DueState.BREACHED.value,
    NONE,
)
#: The bound parameter holding the list's moment.
NOW = "due_now"


def now_param(now: datetime | None = None) -> Any:
    """The list's moment as the bound parameter :data:`NOW` (``now``: its value
    where the statement runs without parameters of its own)."""
    return bindparam(NOW, now, type_=UTCDateTime())


def due_columns(actor: Actor, role: OrgRole | None = None) -> tuple[Any, Any]:
    """The due time and warning time the list reads for ``actor``: its side's.

    With the ``role`` of the actor's organization known, the side's columns
    themselves (which the side's index serves); otherwise chosen per case.
    The host reads the side due first; a customer reads none (NULL).
    """
    if actor.is_customer:
        # Typed: a list may sort by it, and PostgreSQL sorts by no bare NULL.
        return cast(null(), UTCDateTime()), cast(null(), UTCDateTime())
    shipper = (c.shipper_due_at, c.shipper_warn_at)
    carrier = (c.carrier_due_at, c.carrier_warn_at)
    if actor.org_id is None:
        carrier_first = and_(
            c.carrier_due_at.is_not(None),
            or_(c.shipper_due_at.is_(None), c.carrier_due_at < c.shipper_due_at),
        )
        return (
            case((carrier_first, c.carrier_due_at), else_=c.shipper_due_at),
            case((carrier_first, c.carrier_warn_at), else_=c.shipper_warn_at),
        )
    if role is OrgRole.SHIPPER:
        return shipper
    if role is OrgRole.CARRIER:
        return carrier
    carries = c.carrier_org_id == actor.org_id
    return (
        case((carries, c.carrier_due_at), else_=c.shipper_due_at),
        case((carries, c.carrier_warn_at), else_=c.shipper_warn_at),
    )


def state_clause(
    wanted: Collection[str], actor: Actor, role: OrgRole | None = None, now: Any = None
) -> ColumnElement[bool]:
    """The cases whose due time reads as one of ``wanted`` (:data:`DUE_STATES`) at
    ``now`` (a bound parameter; :func:`now_param` by default)."""
    chosen = set(wanted)
    if chosen >= set(DUE_STATES):
        return true()
    if not chosen:
        return false()
    if actor.is_customer:
        return true() if NONE in chosen else false()
    due_at, warn_at = due_columns(actor, role)
    moment = now if now is not None else now_param()
    parts: list[ColumnElement[bool]] = []
    if NONE in chosen:
        parts.append(due_at.is_(None))
    if DueState.BREACHED.value in chosen:
        parts.append(due_at < moment)
    warned = and_(warn_at.is_not(None), warn_at <= moment)
    if DueState.DUE_SOON.value in chosen:
        parts.append(and_(due_at >= moment, warned))
    if DueState.ON_TRACK.value in chosen:
        parts.append(and_(due_at >= moment, or_(warn_at.is_(None), warn_at > moment)))
    return or_(*parts) if len(parts) > 1 else parts[0]


def due_soon_clause(
    actor: Actor, role: OrgRole | None = None, now: Any = None
) -> ColumnElement[bool]:
    """The "Due soon" view: a running clock whose warning has come (breached ones too)."""
    if actor.is_customer:
        return false()
    _due_at, warn_at = due_columns(actor, role)
    come: ColumnElement[bool] = warn_at <= (now if now is not None else now_param())
    return come


# -- a list row's Due cell -----------------------------------------------------------------


def zone_column(org: Any, *, host: bool) -> Any:
    """The time zone of the calendar the running clock due first of a list row counts
    in: the clock of ``org``'s side (a bound parameter), or the side due first for
    the ``host``. A correlated subquery, asked only of rows with a running clock."""
    if host:
        side_due = due_columns(Actor.host())[0]
    else:
        side_due = case((c.carrier_org_id == org, c.carrier_due_at), else_=c.shipper_due_at)
    where = [k.case_id == c.id, k.state == ClockState.RUNNING.value, k.due_at == side_due]
    if not host:
        where.append(k.org_id == org)
    zone = select(k.time_zone).where(*where).limit(1).correlate(tables.cases)
    return case((side_due.is_(None), null()), else_=zone.scalar_subquery())


def row_due(
    actor: Actor,
    carrier_org_id: int | None,
    shipper: tuple[datetime | None, datetime | None],
    carrier: tuple[datetime | None, datetime | None],
) -> tuple[datetime | None, datetime | None]:
    """The due and warning times of a list row as ``actor`` reads them, from both
    sides' (as :func:`due_columns` reads them in SQL)."""
    if actor.is_customer:
        return None, None
    if actor.org_id is None:  # the host: the side due first
        if carrier[0] is not None and (shipper[0] is None or carrier[0] < shipper[0]):
            return carrier
        return shipper
    return carrier if actor.org_id == carrier_org_id else shipper


def reads(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> DueState | None:
    """How a list row's due time reads at ``now`` (None: no running clock)."""
    if due_at is None:
        return None
    return due_state(due_at, warn_at, now)
