"""Who acts: a deactivated user no longer reads or changes anything.

Every public method of a service names its actor (:mod:`casekit.services.base`
runs it :func:`acting` that actor), and every session opened meanwhile
(:class:`casekit.store.uow.SessionFactory`) checks the acting user once, in
its own transaction, before its first statement: PermissionDenied if they
were deactivated. One place, whatever the service, and as fresh as the
transaction (no process keeps a stale answer).

A statement every call of a path makes anyway may carry the check instead
of a read of its own (the case a change locks, the organizations a new case
names): it :func:`takes <take_check>` the session's pending check, adds
:func:`not_deactivated` to its WHERE clause, and when it finds nothing asks
:func:`refuse_deactivated` whether the actor was the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import Context, ContextVar, Token, copy_context

from sqlalchemy import ColumnElement, Connection, bindparam, exists, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.errors import PermissionDenied
from casekit.store import tables

#: The actor the running service call acts for (None: no call).
_ACTING: ContextVar[Actor | None] = ContextVar("casekit_acting", default=None)
#: ``session.info`` key: the user whose check the session still owes.
_PENDING = "casekit_acting_user"
#: ``session.info`` key: the users the session's transaction found may act.
_CHECKED = "casekit_checked_users"
#: The bound parameter of :func:`not_deactivated`: the user's id, or None.
ACTING_USER = "casekit_acting_user"


def act_for(actor: Actor | None) -> Token[Actor | None]:
    """From now on act for ``actor``: the sessions opened check that they may act.
    Hand the token back to :func:`done` when the call ends."""
    return _ACTING.set(actor)


def current() -> Actor | None:
    """The actor the running service call acts for, or None outside one."""
    return _ACTING.get()


def done(token: Token[Actor | None]) -> None:
    """Act again for whoever acted before :func:`act_for` gave ``token``."""
    _ACTING.reset(token)


@contextmanager
def acting(actor: Actor | None) -> Iterator[None]:
    """Run the block for ``actor`` (:func:`act_for`)."""
    token = act_for(actor)
    try:
        yield
    finally:
        done(token)


def context_for(actor: Actor | None) -> Context:
    """A copy of the current context that acts for ``actor``: to run a
    generator's steps in (:meth:`Context.run`), whoever iterates it."""
    context = copy_context()
    context.run(_ACTING.set, actor)
    return context


def watch(session: Session) -> Session:
    """Make ``session`` check the acting user (if any) before its first statement."""
    actor = _ACTING.get()
    user_id = actor.user_id if actor is not None else None
    if user_id is not None:
        session.info[_PENDING] = user_id
    return session


def take_check(session: Session) -> int | None:
    """Take over ``session``'s pending check: the user id the caller's statement
    now refuses with :func:`not_deactivated`, or None (nothing left to check).

    The caller must run that statement before any other in the session and,
    when it finds nothing, call :func:`refuse_deactivated`.
    """
    user_id: int | None = session.info.pop(_PENDING, None)
    checked(session, user_id)
    return user_id


def checked(session: Session, user_id: int | None) -> None:
    """Remember that ``session``'s transaction found user ``user_id`` may act: a
    shared session (:func:`watch_shared`) does not check them again."""
    if user_id is not None:
        session.info.setdefault(_CHECKED, set()).add(user_id)


def watch_shared(session: Session) -> None:
    """Make a session that served other reads of its transaction check the acting
    user (if any), unless that transaction checked them already: at once when
    it has begun, else before its first statement."""
    actor = _ACTING.get()
    user_id = actor.user_id if actor is not None else None
    if user_id is None or user_id in session.info.get(_CHECKED, ()):
        return
    if session.in_transaction():
        refuse_deactivated(session.connection(), user_id)
        checked(session, user_id)
    else:
        session.info[_PENDING] = user_id


def not_deactivated() -> ColumnElement[bool]:
    """True unless the user bound as :data:`ACTING_USER` was deactivated
    (a NULL id, or a user casekit does not know, is not refused)."""
    u = tables.users.c
    return ~exists().where(u.id == bindparam(ACTING_USER), u.active.is_(False))


def refuse_deactivated(connection: Connection, user_id: int | None) -> None:
    """PermissionDenied if user ``user_id`` was deactivated: a user who left
    no longer reads or changes anything."""
    if user_id is None:
        return
    u = tables.users.c
    refuse_inactive(user_id, connection.scalar(select(u.active).where(u.id == user_id)))


def refuse_inactive(user_id: int | None, active: bool | None) -> None:
    """PermissionDenied if user ``user_id``, whose ``active`` flag is known, was
    deactivated (``active`` None: no such user, not refused)."""
    if active is not None and not active:
        raise PermissionDenied(
            f"user {user_id} is deactivated and can no longer act; "
            "the organization's admins or the host may reactivate them"
        )


def check_on_begin(session: Session, _transaction: object, connection: Connection) -> None:
    """The session's first statement is about to run: check the pending user."""
    session.info.pop(_CHECKED, None)  # a new transaction: nobody checked in it yet
    user_id = session.info.pop(_PENDING, None)
    refuse_deactivated(connection, user_id)
    checked(session, user_id)


__all__ = [
    "ACTING_USER",
    "act_for",
    "acting",
    "checked",
    "context_for",
    "current",
    "done",
    "not_deactivated",
    "refuse_deactivated",
    "refuse_inactive",
    "take_check",
    "watch",
    "watch_shared",
]
