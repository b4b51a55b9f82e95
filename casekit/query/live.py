"""Live updates, read in one actor's scope: what changed on a case, what is unread, who writes.

The *signal* of a case is what an open page compares to know that something
changed: the newest entry the actor may read, how many it may read, and the
status it sees. It is computed from the same audience rule as the timeline
(:func:`casekit.query.scoped.entry_visibility`), so it never moves for what
the actor may not read: a carrier's signal stays still while the shipper
writes an internal note or talks with its customer, and a customer's while
staff talk among themselves. A bare case version would be a side channel.

*Presence* (who is writing on a case) is shown only among staff of the same
organization: colleagues see each other; another organization's staff and
customers are never shown, nor shown to anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from attrs import frozen
from sqlalchemy import ColumnElement, Connection, Table, and_, exists, func, or_, select

from casekit.domain.actor import Actor
from casekit.domain.case import Case, EntryKind
from casekit.domain.workflow import Status
from casekit.query.scoped import Scope, entry_visibility
from casekit.store import tables

c = tables.cases.c
e = tables.entries.c
p = tables.presence.c

#: A writer is shown for this long after their page last said they write.
PRESENCE_SECONDS = 20
#: A writer's row is written again at most this often (a page says it more often).
PRESENCE_WRITE_SECONDS = 5


@frozen(kw_only=True)
class LiveState:
    """What an open case page compares to the state it was drawn with.

    ``signal`` changes whenever something the actor reads on the case
    changes: an entry it may read is added (or shared with it), or the status
    it sees moves. ``latest_entry_id`` is the newest entry it may read (0:
    none), ``unread`` whether one of those, not its own, is newer than its read
    marker (staff users and customers keep one), and ``writing`` the names of its colleagues writing
    on the case now (never its own).
    """

    number: str
    signal: str
    latest_entry_id: int
    entries: int
    status: Status
    unread: bool = False
    writing: tuple[str, ...] = ()


def state(scope: Scope, case: Case, now: datetime) -> LiveState:
    """The live state of ``case`` (visible to the scope's actor) for that actor."""
    actor = scope.actor
    connection = scope.session.connection()
    latest, count = connection.execute(
        select(func.coalesce(func.max(e.id), 0), func.count()).where(
            e.case_id == case.id, scope.entry_clause(case)
        )
    ).one()
    carrier = actor.org_id is not None and actor.org_id == case.carrier_org_id
    status = (case.carrier_status or case.status) if carrier else case.status
    unread = False
    writing: tuple[str, ...] = ()
    if reader(actor) is not None:
        unread = bool(unread_cases(connection, scope, [_id(case)]))
    if actor.is_user and actor.user_id is not None:
        writing = writers(connection, actor, _id(case), now)
    return LiveState(
        number=case.number or "",
        signal=f"{int(latest)}.{int(count)}.{status.value}",
        latest_entry_id=int(latest),
        entries=int(count),
        status=status,
        unread=unread,
        writing=writing,
    )


@frozen
class Reader:
    """Who keeps read markers, and where: a staff user (``casekit_read_markers``) or a
    customer (``casekit_customer_read_markers``), with the column of its id there and
    in the entries (its own entries are never unread to it).

    A customer's unread are messages only: the portal shows the customer the
    messages and the case's status, not the events of the timeline (a status
    change shows in the list itself).
    """

    markers: Table
    column: str
    id: int
    messages_only: bool = False

    def marker(self, case_id: Any) -> Any:
        """Its marker of the case ``case_id`` (a value or an expression), as a subquery."""
        m = self.markers.c
        return (
            select(m.entry_id)
            .where(m[self.column] == self.id, m.case_id == case_id)
            .scalar_subquery()
        )

    def to_read(self) -> ColumnElement[bool]:
        """The entries that count as unread when newer than its marker: not its own
        (and, for a customer, messages)."""
        author = e[self.column]
        others = or_(author.is_(None), author != self.id)
        return and_(others, e.kind == EntryKind.MESSAGE.value) if self.messages_only else others


def reader(actor: Actor) -> Reader | None:
    """The actor's read markers: a staff user's or a customer's; None for another actor."""
    if actor.is_user and actor.user_id is not None and actor.org_id is not None:
        return Reader(tables.read_markers, "user_id", actor.user_id)
    if actor.is_customer and actor.customer_id is not None:
        return Reader(
            tables.customer_read_markers, "customer_id", actor.customer_id, messages_only=True
        )
    return None


def unread_cases(connection: Connection, scope: Scope, case_ids: Sequence[int]) -> set[int]:
    """Of ``case_ids``, the cases the actor may see with an entry the actor may read,
    newer than their read marker and not their own (a customer: a message). One
    statement for a page of a list.

    Staff users and customers keep read markers; another actor has none (an empty
    set). The tenant rule (:meth:`Scope.case_clause`) and the audience rule are
    asked of each entry's own case row by its id (a correlated ``EXISTS``), so
    the statement is led by the entries of the page's cases
    (``ix_casekit_entries_case``): joined, SQLite's planner would lead with the
    organizations' indexes (30 ms instead of 2 on a page of 200,000 cases).
    """
    actor = scope.actor
    who = reader(actor)
    if not case_ids or who is None:
        return set()
    readable = entry_visibility(
        actor.is_customer, False, actor.org_id, c.carrier_org_id == actor.org_id
    )
    stmt = (
        select(e.case_id)
        .where(
            e.case_id.in_(list(case_ids)),
            who.to_read(),
            e.id > func.coalesce(who.marker(e.case_id), 0),
            exists().where(c.id == e.case_id, scope.case_clause(), readable),
        )
        .distinct()
    )
    return set(connection.execute(stmt).scalars())


def newest_readable(scope: Scope, case: Case) -> int:
    """The newest entry of ``case`` the scope's actor may read (0: none)."""
    stmt = select(func.coalesce(func.max(e.id), 0)).where(
        e.case_id == case.id, scope.entry_clause(case)
    )
    return int(scope.session.connection().execute(stmt).scalar_one())


def writers(connection: Connection, actor: Actor, case_id: int, now: datetime) -> tuple[str, ...]:
    """The names of the actor's colleagues writing on the case now, never the actor's own."""
    u = tables.users.c
    stmt = (
        select(u.name)
        .join(tables.presence, p.user_id == u.id)
        .where(
            p.case_id == case_id,
            p.org_id == actor.org_id,
            p.user_id != actor.user_id,
            p.seen_at > now - timedelta(seconds=PRESENCE_SECONDS),
        )
        .order_by(u.name)
    )
    return tuple(connection.execute(stmt).scalars())


def marker_of(connection: Connection, who: Reader, case_id: int) -> int | None:
    """The newest entry ``who`` read of the case, or None (never opened)."""
    found = connection.execute(select(who.marker(case_id))).scalar()
    return None if found is None else int(found)


def _id(case: Case) -> int:
    if case.id is None:
        raise RuntimeError("an unsaved case has no id yet")
    return case.id


__all__ = [
    "PRESENCE_SECONDS",
    "PRESENCE_WRITE_SECONDS",
    "LiveState",
    "Reader",
    "reader",
    "state",
    "unread_cases",
]
