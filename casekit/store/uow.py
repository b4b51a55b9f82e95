"""The unit of work: one transaction per use case, signals after commit.

A kit bound to the host's transaction (:meth:`casekit.CaseKit.bind`) runs
each unit of work in a SAVEPOINT of the host's connection
(:class:`HostSessions`): its ``commit()`` releases the savepoint, a failure
rolls back to it, and the after-commit callbacks wait for the host's own
commit (:mod:`casekit.store.host`).

A page reads through many services (the list, the columns, the tags, the
colleagues...): inside :meth:`SessionFactory.sharing_reads` their reading
units of work share one session and transaction (:class:`SharedReads`), so
the page takes one connection and checks its user once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from casekit.errors import Conflict
from casekit.store import acting
from casekit.store.database import WRITE_OPTION
from casekit.store.host import HostTransaction, run_all
from casekit.store.replica import ReadReplica

log = logging.getLogger(__name__)


class CaseKitSession(Session):
    """casekit's sessions: each checks the user its service call acts for
    before its first statement (:mod:`casekit.store.acting`)."""


event.listen(CaseKitSession, "after_begin", acting.check_on_begin)


class SessionFactory:
    """Reading and writing sessions for one engine, for the acting user.

    With a :class:`~casekit.store.replica.ReadReplica`, a reading session
    asked for with ``replica=True`` goes to the replica when it may serve
    the acting actor (:meth:`ReadReplica.serves`), else to the primary.
    """

    #: The host's transaction the sessions join (:class:`HostSessions`), or None.
    host: HostTransaction | None = None
    #: The read replica, or None.
    replica: ReadReplica | None = None

    def __init__(self, engine: Engine, replica: ReadReplica | None = None) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, class_=CaseKitSession, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}),
            class_=CaseKitSession,
            expire_on_commit=False,
        )
        if replica is not None:
            self.replica = replica
            self._replica = sessionmaker(
                replica.engine, class_=CaseKitSession, expire_on_commit=False
            )

    def __call__(self, *, write: bool, replica: bool = False) -> Session:
        if write:
            return acting.watch(self._write())
        if replica and self.replica is not None and self.replica.serves(acting.current()):
            session = acting.watch(self._replica())
            try:
                # Connect now: a replica gone since its last check is left for the primary.
                session.connection()
            except OperationalError as error:
                session.close()
                log.warning(
                    "casekit: the read replica failed (%s); this read and the next "
                    "go to the primary",
                    type(error.orig).__name__,
                )
                self.replica.went_away()
            except BaseException:
                session.close()
                raise
            else:
                return session
        return acting.watch(self._read())

    @contextmanager
    def sharing_reads(self) -> Iterator[None]:
        """Run the block's reading units of work in shared sessions (:class:`SharedReads`).

        A host's transaction (:class:`HostSessions`) is not shared: its units of
        work stay savepoints of their own.
        """
        if self.host is not None or _SHARED.get() is not None:
            yield
            return
        shared = SharedReads(self)
        token = _SHARED.set(shared)
        try:
            yield
        finally:
            _SHARED.reset(token)
            shared.close()


class SharedReads:
    """The reading units of work of one block (a page), in one session.

    A reading unit of work borrows the block's session (one for the primary,
    one for the read replica when the acting actor's reads may go there) and
    gives it back detached from what it loaded, as ``close()`` would leave
    it. The session's transaction stays open for the next read: one pooled
    connection serves the block, and each acting user is checked once in it
    (:func:`casekit.store.acting.watch_shared`). A unit of work that writes
    closes the idle shared sessions first: the reads after it begin a
    transaction that sees it (SQLite keeps a transaction's snapshot), and on
    an engine with one connection (SQLite in memory) the write does not
    begin inside a read's transaction. A read that fails, or commits, gives
    its session up: the next read opens a new one. A read nested in another
    one's unit of work opens its own session, as outside the block. The
    settings a read changed for the transaction (:func:`set_local`) are set
    back before the next read.
    """

    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory
        self._idle: dict[bool, Session] = {}
        self._busy: dict[bool, Session] = {}

    def borrow(self, replica: bool) -> Session | None:
        """The shared session for a read (``replica``: one the replica may serve),
        or None when it is in use."""
        standby = self.factory.replica
        key = replica and standby is not None and standby.serves(acting.current())
        if key in self._busy:
            return None
        session = self._idle.pop(key, None)
        if session is None:
            session = self.factory(write=False, replica=key)
        else:
            try:
                acting.watch_shared(session)
            except BaseException:
                self._idle[key] = session
                raise
        self._busy[key] = session
        return session

    def give_back(self, session: Session, *, keep: bool) -> None:
        """Take ``session`` back: kept for the next read, or closed (``keep=False``)."""
        key = next(k for k, s in self._busy.items() if s is session)
        del self._busy[key]
        if keep:
            changed = session.info.pop(_LOCAL_SETTINGS, ())
            for name in changed:
                session.connection().exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")
            session.expunge_all()
            self._idle[key] = session
        else:
            session.close()

    def before_write(self) -> None:
        """A write begins: close the idle sessions (see the class)."""
        idle, self._idle = self._idle, {}
        for session in idle.values():
            session.close()

    def close(self) -> None:
        self.before_write()


#: The shared reads of the running block (:meth:`SessionFactory.sharing_reads`).
_SHARED: ContextVar[SharedReads | None] = ContextVar("casekit_shared_reads", default=None)
#: ``session.info`` key: the settings the transaction changed (:func:`set_local`).
_LOCAL_SETTINGS = "casekit_local_settings"


def set_local(session: Session, name: str, value: str) -> None:
    """``SET LOCAL <name> = <value>`` (PostgreSQL) for the rest of ``session``'s
    transaction, or, in a shared session (:class:`SharedReads`), until the unit
    of work gives the session back."""
    session.connection().exec_driver_sql(f"SET LOCAL {name} = {value}")
    session.info.setdefault(_LOCAL_SETTINGS, []).append(name)


class HostSessions(SessionFactory):
    """Sessions on the host's transaction: each in a SAVEPOINT of its connection.

    A session's ``commit()`` releases its savepoint and ``close()`` without
    one rolls back to it, so casekit never commits, nor rolls back, the
    host's own work, and a casekit call that fails leaves the host's
    transaction as it found it.
    """

    def __init__(
        self, engine: Engine, host: HostTransaction, replica: ReadReplica | None = None
    ) -> None:
        self.engine = engine
        self.host = self._host = host
        #: Told of casekit's writes once the host commits them; never read from.
        self.replica = replica

    def __call__(self, *, write: bool, replica: bool = False) -> Session:
        # The host's transaction is the one to read in: it holds casekit's writes.
        session = CaseKitSession(
            bind=self._host.connection(write=write),
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        return acting.watch(session)


class UnitOfWork:
    """A use case's transaction.

    ``with uow: ...; uow.commit()`` — leaving the block without ``commit()``
    rolls back. Callbacks registered with :meth:`after_commit` run once the
    transaction is durable (this is how signals are sent) and never break
    the operation: a failing callback is logged.
    """

    def __init__(
        self, sessions: SessionFactory, *, write: bool = True, replica: bool = False
    ) -> None:
        self._sessions = sessions
        self.write = write
        #: A read that may be served by the read replica (a list, a count, a report).
        self.replica = replica
        self._after: list[Callable[[], object]] = []
        self._undo: list[Callable[[], object]] = []
        self._session: Session | None = None
        self._connection: Connection | None = None
        #: The shared reads this unit of work borrowed its session from, or None.
        self._shared: SharedReads | None = None
        self._keep = True

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._session

    def connection(self) -> Connection:
        """The transaction's connection, for Core statements (the session's).

        Asked of the session once per transaction: the write path runs a
        few dozen statements, and the session's own lookup is not free.
        """
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def __enter__(self) -> UnitOfWork:
        shared = _SHARED.get()
        if shared is not None and shared.factory is self._sessions:
            if self.write:
                shared.before_write()
            else:
                self._session = shared.borrow(self.replica)
                if self._session is not None:
                    self._shared, self._keep = shared, True
                    return self
        self._session = self._sessions(write=self.write, replica=self.replica)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        shared, self._shared = self._shared, None
        try:
            if shared is not None:
                shared.give_back(session, keep=self._keep and exc_type is None)
            else:
                # close() rolls back whatever was not committed, and, unlike
                # rollback(), leaves the returned objects' loaded state intact.
                session.close()
        finally:
            self._session = None
            self._connection = None
            self._after.clear()
            undo, self._undo = self._undo, []
            run_all(undo, "an on-rollback callback")

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as error:
            raise Conflict("the case was changed by someone else; reload it") from error

    def commit(self) -> None:
        self._connection = None
        self._keep = False  # a shared session's transaction ends here: not shared again
        try:
            self.session.commit()
        except StaleDataError as error:
            raise Conflict("the case was changed by someone else; reload it") from error
        callbacks, self._after = self._after, []
        undo, self._undo = self._undo, []
        replica = self._sessions.replica
        if self.write and replica is not None:
            # First after the commit (the host's, when bound): the actor's next
            # reads wait for the replica to reach it (read-your-writes).
            callbacks.insert(0, functools.partial(replica.wrote, acting.current()))
        host = self._sessions.host
        if host is not None:
            # Released into the host's transaction: durable when it commits.
            host.defer(callbacks, undo)
            return
        run_all(callbacks, "an after-commit callback")

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._after.append(callback)

    def on_rollback(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` if this unit of work ends without committing.

        For effects outside the database, such as a stored file, that a
        rollback would otherwise leave behind.
        """
        self._undo.append(callback)
