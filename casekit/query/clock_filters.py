"""The list filters on a side's clocks: ``has_clock`` and ``breached``.

Both read ``casekit_clocks`` (one row per case, side organization and kind,
see :mod:`casekit.store.clocks`), the rows of the actor's own organization
only: a shipper's filter never tests the carrier's clocks, nor the
carrier's the shipper's, whether or not the other side shows them. The host
reads every side's; a customer has no clocks.

``has_clock``
    the side has a clock of one of the kinds (it has a target that sets that
    time, and the clock started);
``breached``
    the side has a clock of one of the kinds that went past its target: it
    stopped (or paused) after its due time, or it still runs and its due
    time has come. Whether a running clock has breached depends on the
    moment: the bound parameter :data:`NOW`, which the list gives the
    statement it runs (its own moment, like the report's).

These are not the due filters of running clocks (the case's ``due_at``):
a clock that breached stays breached once it stops, which is what the
reports count and their drill-downs list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)

from casekit.domain.actor import Actor
from casekit.domain.sla import ClockKind, ClockState
from casekit.store import tables
from casekit.store.types import UTCDateTime

c = tables.cases.c
k = tables.clocks.c

#: The filter fields of this module.
CLOCK_FIELDS = ("has_clock", "breached")
#: The kinds of clock a filter names.
KINDS = tuple(kind.value for kind in ClockKind)
#: The bound parameter a ``breached`` condition reads as "now".
NOW = "clock_now"


def now_param(now: datetime | None = None) -> BindParameter[datetime]:
    """The moment a ``breached`` condition reads (:data:`NOW`), with ``now`` as its
    default value: a statement kept for later is run with its own."""
    return bindparam(NOW, now, type_=UTCDateTime())


def breached(now: Any, clock: Any = k) -> ColumnElement[bool]:
    """The clock went past its target by ``now``: it recorded its breach, or it runs
    and its due time has come."""
    return or_(
        clock.breached_at.is_not(None),
        and_(clock.state == ClockState.RUNNING.value, clock.due_at <= now),
    )


def _own(actor: Actor) -> ColumnElement[bool] | None:
    """The clocks ``actor`` may test (None: no condition, the host's)."""
    if actor.org_id is None:
        return None
    return k.org_id == actor.org_id


def clock_condition(
    field: str, op: str, value: Any, actor: Actor, now: Any = None
) -> ColumnElement[bool]:
    """The SQL condition of the filter ``field`` ``op`` ``value`` for ``actor``.

    ``now``: what "now" is for ``breached`` (a bound parameter by default, see
    :func:`now_param`).
    """
    kinds: Sequence[str] | None = None if op == "empty" else list(value)
    positive = op == "in"
    if actor.is_customer:
        return false() if positive else true()
    where: list[ColumnElement[bool]] = [k.case_id == c.id]
    own = _own(actor)
    if own is not None:
        where.append(own)
    if kinds is not None:
        where.append(k.kind.in_(kinds))
    if field == "breached":
        where.append(breached(now_param() if now is None else now))
    found = exists(select(k.id).where(*where).correlate(tables.cases))
    return found if positive else not_(found)


__all__ = ["CLOCK_FIELDS", "KINDS", "NOW", "breached", "clock_condition", "now_param"]
