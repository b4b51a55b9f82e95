"""Live updates: what changed on a case for one actor, read markers, who is writing.

Every bit of it is in the database (no process memory), so any number of web
processes behind a load balancer answer the same: a page polls
:meth:`LiveService.state` every few seconds and compares the signal. See
:mod:`casekit.query.live` for what the signal is made of and who sees whom.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from attrs import evolve
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from casekit.domain.actor import Actor
from casekit.errors import InvalidInput, PermissionDenied
from casekit.query import live
from casekit.query.live import LiveState
from casekit.query.scoped import Scope
from casekit.services.base import Service
from casekit.store import tables
from casekit.store.uow import UnitOfWork

log = logging.getLogger(__name__)

p = tables.presence.c


class LiveService(Service):
    """Live updates of case pages and lists. Reach it as ``kit.live``."""

    def state(self, actor: Actor, number: str) -> LiveState:
        """The live state of case ``number`` as ``actor`` may know it (NotFound otherwise).

        Three small reads: the case, an aggregate of the entries the actor may
        read, and its read marker (a user or a customer) and its colleagues writing (a user).
        """
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor)
            return live.state(scope, scope.case(number), self._now())

    def open(self, actor: Actor, number: str) -> LiveState:
        """:meth:`state`, then :meth:`mark_read` up to its newest entry, in one transaction:
        what a case page calls as it opens. An entry that comes after stays unread.

        Only reads unless the marker moves (a transaction that writes takes
        SQLite's write lock: a page read again, with nothing new, never does).
        """
        found = self.state(actor, number)
        if found.unread:
            self.mark_read(actor, number, entry_id=found.latest_entry_id)
        return evolve(found, unread=False)

    def unread(self, actor: Actor, case_ids: Sequence[int]) -> builtins.set[int]:
        """Of ``case_ids``, the cases with an entry ``actor`` may read that is newer than
        what they last read of it and not written by them (staff users and customers;
        else empty).

        Only cases the actor may see count: the others are left out.
        """
        if len(case_ids) > 500:
            raise InvalidInput({"case_ids": ["at most 500 at once"]})
        if not case_ids or live.reader(actor) is None:
            return set()
        with self._uow(write=False, replica=True) as uow:
            scope = Scope(uow.session, actor)
            return live.unread_cases(uow.connection(), scope, list(case_ids))

    def mark_read(self, actor: Actor, number: str, *, entry_id: int | None = None) -> int:
        """Record that ``actor`` (a staff user or a customer) read case ``number`` up to
        ``entry_id`` (by default the newest entry they may read); returns the marker.

        A marker never moves back. Another actor keeps no marker: nothing is
        written and 0 is returned.
        """
        if entry_id is not None and (isinstance(entry_id, bool) or entry_id < 0):
            raise InvalidInput({"entry_id": ["a positive entry id"]})
        with self._uow() as uow:
            scope = Scope(uow.session, actor)
            case = scope.case(number)
            who = live.reader(actor)
            if who is None or case.id is None:
                return 0
            upto = live.newest_readable(scope, case) if entry_id is None else entry_id
            held = live.marker_of(uow.connection(), who, case.id)
            if held is not None and held >= upto:
                return held
            _mark(uow, who, case.id, held, upto, self._now())
            return upto

    def writing(self, actor: Actor, number: str, *, active: bool = True) -> None:
        """Say that ``actor`` (a staff user) is writing on case ``number`` now, or,
        with ``active=False``, no longer.

        Their colleagues see it in the ``writing`` of :class:`~casekit.query.live.LiveState` for
        :data:`~casekit.query.live.PRESENCE_SECONDS`; it is written at most once
        per :data:`~casekit.query.live.PRESENCE_WRITE_SECONDS` whatever the page
        sends, and rows gone stale on the case are deleted as a new one comes.
        """
        if not actor.is_user or actor.user_id is None or actor.org_id is None:
            raise PermissionDenied("only staff users are shown as writing on a case")
        with self._uow() as uow:
            case = Scope(uow.session, actor).case(number)
            connection = uow.connection()
            mine = (p.case_id == case.id) & (p.user_id == actor.user_id)
            if not active:
                connection.execute(delete(tables.presence).where(mine))
                uow.commit()
                return
            now = self._now()
            seen = connection.execute(select(p.seen_at).where(mine)).scalar()
            if seen is not None:
                if seen > now - timedelta(seconds=live.PRESENCE_WRITE_SECONDS):
                    return  # written a moment ago: nothing to write
                connection.execute(update(tables.presence).where(mine).values(seen_at=now))
                uow.commit()
                return
            stale = now - timedelta(seconds=live.PRESENCE_SECONDS)
            connection.execute(
                delete(tables.presence).where(p.case_id == case.id, p.seen_at < stale)
            )
            row = {"case_id": case.id, "user_id": actor.user_id, "org_id": actor.org_id}
            try:
                connection.execute(insert(tables.presence), {**row, "seen_at": now})
                uow.commit()
            except IntegrityError:  # the same user's other tab, at the same moment
                log.debug("presence of user %s on case %s written twice", actor.user_id, number)


def _mark(
    uow: UnitOfWork, who: live.Reader, case_id: int, held: int | None, upto: int, now: Any
) -> None:
    """Move the reader's marker of the case from ``held`` (None: none yet) to ``upto``
    and commit; a marker never moves back."""
    connection = uow.connection()
    if held is None:
        row = {who.column: who.id, "case_id": case_id, "entry_id": upto, "read_at": now}
        try:
            connection.execute(insert(who.markers), row)
            uow.commit()
        except IntegrityError:  # the same reader's other tab, at the same moment
            log.debug("read marker of %s %s on case %s written twice", who.column, who.id, case_id)
        return
    m = who.markers.c
    connection.execute(
        update(who.markers)
        .where(m[who.column] == who.id, m.case_id == case_id, m.entry_id < upto)
        .values(entry_id=upto, read_at=now)
    )
    uow.commit()


__all__ = ["LiveService", "LiveState"]
