"""A worker's hold on the rows it claimed: a lease, renewed by a heartbeat.

:meth:`Worker.claim <casekit.services.worker.Worker.claim>` marks the rows of
a batch ``sending``, gives them a new claim token and a lease of
``worker_lease_seconds`` (their ``next_attempt_at``). While the batch is
being delivered, a :class:`Hold` renews that lease every third of it from a
thread of its own, so one delivery that blocks for longer than the lease (a
slow mail server, up to ``smtp_timeout`` per command) does not let the rows
lapse. Its UPDATE extends only the rows still ``sending`` under this claim's
token: a row whose lease lapsed and that another worker took (the token is
that worker's now) is never renewed, and the hold lets it go.

When a renewal fails (the database is away) or falls behind, the hold no
longer vouches for its rows and the worker delivers none of those left:
they lapse at most ``worker_lease_seconds`` after the last renewal, and
another worker takes them. A worker that dies stops renewing, so its rows
are due again within the same bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, select, update

from casekit.clock import Clock
from casekit.services.outbox import SENDING
from casekit.store.database import WRITE_OPTION

__all__ = ["Hold", "shares_database"]

log = logging.getLogger(__name__)


def shares_database(engine: Engine) -> bool:
    """Whether other threads and processes reach ``engine``'s database: not an
    in-memory SQLite database, which is one connection's own (and which no
    other worker can claim from, so its hold needs no heartbeat)."""
    url = engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class Hold:
    """The rows of one claim, kept by renewing their lease until they are recorded.

    ::

        with Hold(engine, clock, table, token, ids, lease=timedelta(seconds=60)) as hold:
            for row in rows:
                if not hold.keeps(row["id"]):
                    continue          # the claim lapsed: another worker has it
                deliver(row)
                record(row)           # compare-and-set on the token
                hold.release(row["id"])

    ``heartbeat=False`` renews nothing (an in-memory SQLite database, which
    no other worker reaches); :meth:`renew` renews once, in the caller's
    thread. ``monotonic`` is where the hold reads how long ago it last
    renewed (tests give a fake one).
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        table: Any,
        token: str,
        ids: Iterable[int],
        *,
        lease: timedelta,
        heartbeat: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        self._table = table
        self.token = token
        self.lease = lease
        #: The pause between two renewals: a third of the lease.
        self.interval = lease.total_seconds() / 3
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pending = set(ids)  # claimed, not yet recorded
        self._held = set(self._pending)  # of those, the ones the last renewal found ours
        self._renewed_at = monotonic()  # the claim itself set the lease
        self._failed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat = heartbeat
        #: Renewals that reached the database.
        self.renewals = 0

    # -- the worker's side ----------------------------------------------------------------
    def keeps(self, row_id: int) -> bool:
        """Whether the row is still this claim's to deliver.

        Not when another worker took it, when a renewal failed, or when the
        last renewal is two intervals old (the heartbeat is stuck): the lease
        may have lapsed, so the rows left are another worker's to take.
        """
        with self._lock:
            if row_id not in self._held:
                return False
            if not self._heartbeat:
                return True
            if self._failed:
                return False
            return self._monotonic() - self._renewed_at < 2 * self.interval

    def release(self, row_id: int) -> None:
        """The row's outcome is recorded: stop renewing it."""
        with self._lock:
            self._pending.discard(row_id)
            self._held.discard(row_id)

    @property
    def lost(self) -> bool:
        """Whether a renewal failed: the hold vouches for none of its rows any more."""
        with self._lock:
            return self._failed

    # -- renewing -------------------------------------------------------------------------
    def renew(self) -> int:
        """Extend the lease of the rows still pending and still this claim's;
        returns how many were. A row another worker took is dropped from the
        hold. A database error marks the hold lost (and is raised)."""
        with self._lock:
            ids = sorted(self._pending)
        if not ids:
            return 0
        c = self._table.c
        ours = (c.id.in_(ids), c.claim_token == self.token, c.status == SENDING)
        started = self._monotonic()
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    update(self._table)
                    .where(*ours)
                    .values(next_attempt_at=self._clock.now() + self.lease)
                )
                still = set(conn.execute(select(c.id).where(*ours)).scalars())
        except Exception:
            with self._lock:
                self._failed = True
            raise
        with self._lock:
            gone = (set(ids) - still) & self._pending
            self._held -= gone
            self._renewed_at = started
            self.renewals += 1
        if gone:
            log.warning(
                "casekit: %d claimed row(s) of %s were taken by another worker (ids %s)",
                len(gone),
                self._table.name,
                ", ".join(map(str, sorted(gone))),
            )
        return len(still)

    def _beat(self) -> None:
        # A renewal every interval from the last one's start, however long each took.
        due = self._monotonic() + self.interval
        while not self._stop.wait(max(0.0, due - self._monotonic())):
            due = self._monotonic() + self.interval
            try:
                self.renew()
            except Exception:
                log.warning(
                    "casekit: the lease on claimed rows of %s could not be renewed; "
                    "the worker delivers none of the rest of its batch",
                    self._table.name,
                    exc_info=True,
                )
                return

    # -- the heartbeat thread -------------------------------------------------------------
    def __enter__(self) -> Hold:
        if self._heartbeat and self._pending:
            self._thread = threading.Thread(
                target=self._beat, name=f"casekit-lease-{self.token[:8]}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            # A renewal in flight is one short statement; past that the thread is
            # a daemon and ends on its own.
            self._thread.join(timeout=max(self.interval, 1.0))
            self._thread = None
