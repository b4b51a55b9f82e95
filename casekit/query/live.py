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

from attrs import frozen
from sqlalchemy import Connection, and_, bindparam, func, or_, select

from casekit.domain.actor import Actor
from casekit.domain.case import Case
from casekit.domain.workflow import Status
from casekit.query.scoped import Scope, entry_visibility
from casekit.store import tables

c = tables.cases.c
e = tables.entries.c
r = tables.read_markers.c
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
    marker (users only), and ``writing`` the names of its colleagues writing
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
    if actor.is_user and actor.user_id is not None:
        case_id = _id(case)
        unread = bool(unread_cases(connection, scope, [case_id]))
        writing = writers(connection, actor, case_id, now)
    return LiveState(
        number=case.number or "",
        signal=f"{int(latest)}.{int(count)}.{status.value}",
        latest_entry_id=int(latest),
        entries=int(count),
        status=status,
        unread=unread,
        writing=writing,
    )


def unread_cases(connection: Connection, scope: Scope, case_ids: Sequence[int]) -> set[int]:
    """Of ``case_ids``, the cases the user may see with an entry the user may read,
    newer than their read marker and not their own. One statement for a page of a list,
    led by the entries of those cases (``ix_casekit_entries_case``).

    Staff users only: another actor has no read markers (an empty set). The tenant
    rule is applied to the joined case rows in a form no index serves, so the
    statement is led by the entries' case ids (written as ``Scope.case_clause``,
    SQLite's planner leads with the organizations' indexes: 30 ms instead of 2 on a
    page of 200,000 cases).
    """
    actor = scope.actor
    if not case_ids or not actor.is_user or actor.user_id is None or actor.org_id is None:
        return set()
    marker = (
        select(r.entry_id)
        .where(r.user_id == actor.user_id, r.case_id == e.case_id)
        .scalar_subquery()
    )
    readable = entry_visibility(False, False, actor.org_id, c.carrier_org_id == actor.org_id)
    ids = list(case_ids)
    stmt = (
        select(e.case_id)
        .join(tables.cases, c.id == e.case_id)
        .where(
            e.case_id.in_(ids),
            # The tenant rule for staff (Scope.case_clause), written so that no index
            # of it leads the plan: the page's few cases are read by id.
            bindparam("org", actor.org_id).in_([c.shipper_org_id, c.carrier_org_id]),
            or_(e.user_id.is_(None), e.user_id != actor.user_id),
            e.id > func.coalesce(marker, 0),
            readable,
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


def marker_of(connection: Connection, user_id: int, case_id: int) -> int | None:
    """The newest entry ``user_id`` read of the case, or None (never opened)."""
    stmt = select(r.entry_id).where(and_(r.user_id == user_id, r.case_id == case_id))
    found = connection.execute(stmt).scalar()
    return None if found is None else int(found)


def _id(case: Case) -> int:
    if case.id is None:
        raise RuntimeError("an unsaved case has no id yet")
    return case.id


__all__ = ["PRESENCE_SECONDS", "PRESENCE_WRITE_SECONDS", "LiveState", "state", "unread_cases"]
