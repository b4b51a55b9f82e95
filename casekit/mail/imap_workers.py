"""The worker processes of ``casekit inbound poll --workers N``.

Reading a message and filing it on its case is casekit's own work, in
Python, about 7 ms of one core for a 10 KB reply; one process cannot take
more than one core's worth. :class:`Workers` hands the messages the poller
fetched to N processes, forked from the poller with its kit, each with its
own database connections. Each message is stored in its own transaction
with its UID (:func:`take_message`), so what a worker took is recorded
whatever happens to it afterwards; the poller moves or flags only the
messages its workers answered for.

A worker that dies (killed, out of memory) breaks the pool: every message
not answered for stays in the folder, unflagged, and the next pass takes
it, or only moves it when it was recorded just before the worker died. The
pool is started again for that pass.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from casekit.services.inbound_intake import InboundResult, Outcome
from casekit.store import tables

if TYPE_CHECKING:
    from casekit.kit import CaseKit

__all__ = ["Workers", "default_workers", "take_message"]

log = logging.getLogger(__name__)

#: How often a worker looks whether its poller is still there.
ORPHAN_CHECK_SECONDS = 0.5
#: The kit of a worker process (set when it starts).
_kit: CaseKit | None = None


def default_workers() -> int:
    """The processes ``casekit inbound poll`` takes mail with by default: one per CPU it may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def can_fork(kit: CaseKit) -> bool:
    """Whether worker processes can share ``kit``'s database: forked, not in memory."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    url = kit.engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


def take_message(kit: CaseKit, mailbox: str, uidvalidity: int, uid: int, raw: bytes) -> bool:
    """Store one message of ``mailbox`` with its UID; whether it is casekit's now
    (and may be moved or flagged).

    The UID is recorded in ``casekit_imap_uids`` in the transaction that
    stores the message, so both commit or neither does.
    """

    def record(conn: Connection, inbound_id: int | None) -> None:
        conn.execute(
            insert(tables.imap_uids),
            {
                "mailbox": mailbox,
                "uidvalidity": uidvalidity,
                "uid": uid,
                "inbound_id": inbound_id,
                "taken_at": kit.clock.now(),
            },
        )

    result = kit.inbound.receive(raw, on_stored=record)
    if result.outcome is Outcome.REJECTED and _temporary(result):
        log.warning("IMAP %s: UID %s not taken, tried again later: %s", mailbox, uid, result.reason)
        return False
    if result.outcome in (Outcome.DUPLICATE, Outcome.REJECTED):
        # Stored before (another poller, a UIDVALIDITY change) or refused for
        # good (too large): recorded on its own, and moved or flagged.
        if result.outcome is Outcome.REJECTED:
            log.warning("IMAP %s: UID %s refused: %s", mailbox, uid, result.reason)
        try:
            with kit.engine.begin() as conn:
                record(conn, result.inbound_id)
        except IntegrityError:
            pass  # recorded by another poller
    return True


def _temporary(result: InboundResult) -> bool:
    """Whether ``receive`` could not take the message now (and may later)."""
    return bool(result.reason and result.reason.startswith("could not be processed"))


def _start(kit: CaseKit, poller: int) -> None:
    """A worker process starts: the poller's kit, with connections of its own."""
    global _kit
    # A poller killed outright cannot stop its workers: they end themselves.
    threading.Thread(target=_end_without, args=(poller,), daemon=True).start()
    # A stop (SIGTERM to the service's processes, Ctrl-C to the terminal's)
    # is the poller's to handle: a worker finishes the message in hand.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The poller's pooled connections are the poller's: forget them, unclosed.
    kit.engine.dispose(close=False)
    _kit = kit


def _end_without(poller: int) -> None:
    """End this worker when its poller is gone (its parent is another process then)."""
    while os.getppid() == poller:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


def _ready() -> int:
    return os.getpid()


def _take(mailbox: str, uidvalidity: int, uid: int, raw: bytes) -> bool:
    assert _kit is not None, "not a worker process"
    return take_message(_kit, mailbox, uidvalidity, uid, raw)


class Workers:
    """``count`` processes taking messages into ``kit``, started again when one dies."""

    def __init__(self, kit: CaseKit, count: int) -> None:
        if count < 2:
            raise ValueError("Workers are two or more processes; one is the poller itself")
        self.kit = kit
        self.count = count
        #: Times the processes were started (the first time included).
        self.starts = 0
        self._pool: ProcessPoolExecutor | None = None
        self._pids: list[int] = []

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return list(self._pids)

    def start(self) -> None:
        """Fork the workers now (if they are not running), and wait until each is up."""
        if self._pool is not None:
            return
        # Closed here, not shared: a forked copy of a pooled connection would
        # speak on the poller's socket.
        self.kit.engine.dispose()
        pool = ProcessPoolExecutor(
            self.count,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start,
            initargs=(self.kit, os.getpid()),
        )
        self._pool = pool
        self.starts += 1
        for future in [pool.submit(_ready) for _ in range(self.count)]:
            future.result(timeout=60)
        self._pids = sorted(pool._processes)
        log.info("IMAP: %d worker processes started", self.count)

    def take(
        self,
        mailbox: str,
        uidvalidity: int,
        messages: Sequence[tuple[int, bytes]],
        stop: threading.Event,
    ) -> tuple[list[int], int]:
        """Take ``messages`` (uid, raw) in the workers: (the UIDs taken, how many were not).

        A stop lets the messages in hand finish and leaves the rest. A
        worker that dies leaves every message not answered for untaken.
        """
        self.start()
        assert self._pool is not None
        submitted = [
            (uid, self._pool.submit(_take, mailbox, uidvalidity, uid, raw)) for uid, raw in messages
        ]
        taken: list[int] = []
        failed = 0
        broken = stopping = False
        for uid, future in submitted:  # each waited for once: the pass stays linear
            while True:
                if stop.is_set() and not stopping:
                    stopping = True
                    for _, waiting in submitted:
                        waiting.cancel()  # those not in a worker's hands yet
                try:
                    if future.result(timeout=0.5):
                        taken.append(uid)
                    else:
                        failed += 1
                except TimeoutError:
                    continue
                except CancelledError:
                    pass
                except BrokenProcessPool:
                    broken = True
                    failed += 1
                break
        if broken:
            log.warning(
                "IMAP %s: a worker process died; %d messages left in the folder, taken "
                "on the next pass",
                mailbox,
                failed,
            )
            # The dead one may have died holding the lock of the queue the
            # others answer on: they would wait for it forever, and the pool
            # for them. Each message is one transaction, so ending them loses
            # nothing; what they had not answered for is taken again.
            for pid in self._pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.close()
        return sorted(taken), failed

    def close(self) -> None:
        """Stop the workers (after the messages in hand)."""
        pool, self._pool = self._pool, None
        self._pids = []
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
