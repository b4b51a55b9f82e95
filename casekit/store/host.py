"""The host's transaction: casekit's work joins it and waits for its commit.

A host hands :meth:`casekit.CaseKit.bind` its SQLAlchemy ``Session`` (or a
``scoped_session`` such as Flask-SQLAlchemy's ``db.session``) or a
``Connection`` with a transaction in progress. Each unit of work then runs
in a SAVEPOINT of the host's connection; what it leaves for after the
commit (signals) and for a rollback (removing a stored file) is kept here,
beside the host's transaction, and run when the host commits or rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from casekit.errors import ConfigurationError

log = logging.getLogger(__name__)

Callback = Callable[[], object]

#: Where a session or connection keeps casekit's pending work, in its ``info``.
_PENDING = "casekit_pending"


def run_all(callbacks: list[Callback], what: str) -> None:
    """Run each callback; one that fails is logged and the others still run."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("casekit: %s failed", what)


class _Pending:
    """Work released into the host's transaction, waiting for its end."""

    __slots__ = ("after", "undo", "within")

    def __init__(self, within: object, after: list[Callback], undo: list[Callback]) -> None:
        #: The host's (session or nested) transaction the work was released into.
        self.within = within
        self.after = after
        self.undo = undo


class HostTransaction:
    """The host's ``Session``, ``scoped_session`` or ``Connection``, as casekit joins it."""

    def __init__(self, host: Session | scoped_session[Any] | Connection) -> None:
        if not isinstance(host, Session | scoped_session | Connection):
            raise TypeError(
                "bind casekit to a SQLAlchemy Session, scoped_session or Connection, "
                f"not {type(host).__name__}"
            )
        self.host = host

    def connection(self, *, write: bool) -> Connection:
        """The host's connection, in a transaction, its pending changes flushed.

        The host's unflushed objects are flushed first, so that casekit's
        reads see them (and the foreign keys of casekit's rows may name them).
        """
        host = self.host
        if isinstance(host, scoped_session):
            host = host()
        if isinstance(host, Session):
            host.flush()
            try:
                conn = host.connection()
            except UnboundExecutionError as error:
                raise ConfigurationError(
                    "casekit could not take a connection from the host's session: bind "
                    "it to a session with one default engine, or to a Connection"
                ) from error
            _listen_to_session(host)
        else:
            conn = host
            if not conn.in_transaction():
                raise ConfigurationError(
                    "the host's connection has no transaction: begin one "
                    "(engine.begin(), connection.begin()) before casekit joins it"
                )
            _listen_to_connection(conn)
        if conn.dialect.name == "sqlite":
            _begin_sqlite(conn, write=write)
        return conn

    def defer(self, after: list[Callback], undo: list[Callback]) -> None:
        """Keep ``after`` for the host's commit and ``undo`` for its rollback."""
        if not after and not undo:
            return
        host = self.host
        if isinstance(host, scoped_session):
            host = host()
        if isinstance(host, Session):
            within: object = host.get_nested_transaction() or host.get_transaction()
        else:
            within = host.get_nested_transaction() or host.get_transaction()
        host.info.setdefault(_PENDING, []).append(_Pending(within, after, undo))


def _begin_sqlite(conn: Connection, *, write: bool) -> None:
    """Open the SQLite transaction that SQLAlchemy's pysqlite may have left unopened.

    pysqlite (outside casekit's own engines, which BEGIN themselves) opens a
    transaction only before an INSERT, UPDATE or DELETE: a SAVEPOINT
    outside one would start, and its RELEASE commit, a transaction of its
    own. A writer begins IMMEDIATE: it takes the write lock now rather
    than fail to upgrade a reading transaction later.
    """
    driver = conn.connection.driver_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")


# -- a Session --------------------------------------------------------------------


def _listen_to_session(session: Session) -> None:
    if event.contains(session, "after_commit", _session_committed):
        return
    event.listen(session, "after_commit", _session_committed)
    event.listen(session, "after_soft_rollback", _session_rolled_back)
    event.listen(session, "after_transaction_end", _session_transaction_ended)


def _session_committed(session: Session) -> None:
    # Also sent when a SAVEPOINT is released: that is no commit yet.
    if session.get_nested_transaction() is not None:
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        run_all([c for p in pending for c in p.after], "an after-commit callback")


def _session_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Drop the work released into ``previous`` or a transaction inside it."""
    pending: list[_Pending] = session.info.get(_PENDING, [])
    gone = [p for p in pending if _inside(p.within, previous)]
    if gone:
        session.info[_PENDING] = [p for p in pending if p not in gone]
        run_all([c for p in gone for c in p.undo], "an on-rollback callback")


def _session_transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    # A session closed without commit or rollback ends its transaction too.
    if transaction.parent is None:
        pending = session.info.pop(_PENDING, None)
        if pending:
            run_all([c for p in pending for c in p.undo], "an on-rollback callback")


def _inside(transaction: object, outer: SessionTransaction) -> bool:
    current: Any = transaction
    while current is not None:
        if current is outer:
            return True
        current = current.parent
    return False


# -- a Connection -----------------------------------------------------------------


def _listen_to_connection(conn: Connection) -> None:
    if event.contains(conn, "commit", _connection_commits):
        return
    event.listen(conn, "commit", _connection_commits)
    event.listen(conn, "rollback", _connection_rolled_back)
    event.listen(conn, "rollback_savepoint", _connection_savepoint_rolled_back)


def _connection_commits(conn: Connection) -> None:
    """Commit now, then run the after-commit work.

    SQLAlchemy tells a connection's listeners of a commit before it sends
    the COMMIT, and of none after it: casekit sends the COMMIT here, through
    the dialect, and the one SQLAlchemy sends next has nothing left to do.
    A COMMIT that fails raises as SQLAlchemy's own would, and runs nothing.
    """
    pending: list[_Pending] | None = conn.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        conn.dialect.do_commit(conn.connection)
    except Exception as error:
        from sqlalchemy.exc import DBAPIError

        run_all([c for p in pending for c in p.undo], "an on-rollback callback")
        raise DBAPIError.instance(None, None, error, conn.dialect.loaded_dbapi.Error) from error
    run_all([c for p in pending for c in p.after], "an after-commit callback")


def _connection_rolled_back(conn: Connection) -> None:
    pending: list[_Pending] | None = conn.info.pop(_PENDING, None)
    if pending:
        run_all([c for p in pending for c in p.undo], "an on-rollback callback")


def _connection_savepoint_rolled_back(conn: Connection, _name: str, _context: object) -> None:
    """Drop the work released into the host's SAVEPOINT that rolls back."""
    nested = conn.get_nested_transaction()
    pending: list[_Pending] = conn.info.get(_PENDING, [])
    gone = [p for p in pending if nested is not None and p.within is nested]
    if gone:
        conn.info[_PENDING] = [p for p in pending if p not in gone]
        run_all([c for p in gone for c in p.undo], "an on-rollback callback")
