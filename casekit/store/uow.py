"""The unit of work: one transaction per use case, signals after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from casekit.errors import Conflict
from casekit.store.database import WRITE_OPTION

log = logging.getLogger(__name__)


class SessionFactory:
    """Reading and writing sessions for one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    def __call__(self, *, write: bool) -> Session:
        return self._write() if write else self._read()


class UnitOfWork:
    """A use case's transaction.

    ``with uow: ...; uow.commit()`` — leaving the block without ``commit()``
    rolls back. Callbacks registered with :meth:`after_commit` run once the
    transaction is durable (this is how signals are sent) and never break
    the operation: a failing callback is logged.
    """

    def __init__(self, sessions: SessionFactory, *, write: bool = True) -> None:
        self._sessions = sessions
        self.write = write
        self._after: list[Callable[[], object]] = []
        self._undo: list[Callable[[], object]] = []
        self._session: Session | None = None
        self._connection: Connection | None = None

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
        self._session = self._sessions(write=self.write)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            # close() rolls back whatever was not committed, and, unlike
            # rollback(), leaves the returned objects' loaded state intact.
            session.close()
        finally:
            self._session = None
            self._connection = None
            self._after.clear()
            undo, self._undo = self._undo, []
            _run_all(undo, "an on-rollback callback")

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as error:
            raise Conflict("the case was changed by someone else; reload it") from error

    def commit(self) -> None:
        self._connection = None
        try:
            self.session.commit()
        except StaleDataError as error:
            raise Conflict("the case was changed by someone else; reload it") from error
        self._undo.clear()
        callbacks, self._after = self._after, []
        _run_all(callbacks, "an after-commit callback")

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._after.append(callback)

    def on_rollback(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` if this unit of work ends without committing.

        For effects outside the database, such as a stored file, that a
        rollback would otherwise leave behind.
        """
        self._undo.append(callback)


def _run_all(callbacks: list[Callable[[], object]], what: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("casekit: %s failed", what)
