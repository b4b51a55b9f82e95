"""The worker: it drains the outbox.

:class:`Worker` claims due rows (``FOR UPDATE SKIP LOCKED`` where the
database has it, so several workers never take the same row) under a claim
token and a lease that a heartbeat renews while the batch is delivered
(:mod:`casekit.services.lease`), renders and delivers each through the
``casekit_deliver_notification`` hook outside any transaction, and records
every attempt, on the row only while the claim is still its own. A failed
attempt is retried after a doubling wait with jitter; after
``notify_max_attempts`` the notification is marked failed and an internal
event on the case says so.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import func, insert, select, update

from casekit import signals
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Entry, EntryKind, EventKind
from casekit.services.lease import Hold, shares_database
from casekit.services.outbox import FAILED, MAX_ERROR, QUEUED, SENDING, SENT, delivery_view
from casekit.store import tables
from casekit.store.rows import insert_entry

if TYPE_CHECKING:
    from casekit.kit import CaseKit

log = logging.getLogger(__name__)

#: What looks like an email address in an error's text, with its angle brackets.
_ADDRESS = re.compile(r"<?[^\s<>\"'(),;:\[\]{}]+@[^\s<>\"'(),;:\[\]{}]+>?")


def log_failure(
    logger: logging.Logger, what: str, row_id: int, attempt: int, status: str, error: str
) -> None:
    """Log a failed delivery attempt: at WARNING when it was the last (``status``
    failed), else at INFO; the error with every address in it replaced by
    ``<address>`` (a mail server's refusal names the recipient)."""
    logger.log(
        logging.WARNING if status == FAILED else logging.INFO,
        "casekit: %s %s not delivered (attempt %d, %s): %s",
        what,
        row_id,
        attempt,
        "gave up" if status == FAILED else "will retry",
        _ADDRESS.sub("<address>", error),
    )


_o = tables.outbox.c


@frozen
class BatchResult:
    """What one batch did.

    ``abandoned`` are claimed rows the worker left undelivered, or whose
    outcome it could not record, because its claim on them was lost: another
    worker took them after their lease lapsed, or the lease could not be
    renewed (they lapse, and another worker takes them).
    """

    claimed: int
    sent: int
    retried: int
    failed: int
    abandoned: int = 0


#: A batch's counts, in :class:`BatchResult`'s order.
Counts = tuple[int, int, int, int, int]


class Tally:
    """The outcomes of a batch of ``claimed`` rows, counted as they are recorded."""

    def __init__(self, claimed: int) -> None:
        self.claimed = claimed
        self.sent = self.retried = self.failed = self.abandoned = 0

    def add(self, outcome: str) -> None:
        """Count one row's new status (``SENDING``: the claim was lost before it was recorded)."""
        self.sent += outcome == SENT
        self.retried += outcome == QUEUED
        self.failed += outcome == FAILED
        self.abandoned += outcome == SENDING

    def counts(self, what: str) -> Counts:
        """The counts; a warning first when rows were left to another worker."""
        if self.abandoned:
            log.warning(
                "casekit: %d of %d claimed %s left to another worker: "
                "this worker's claim on them was lost",
                self.abandoned,
                self.claimed,
                what,
            )
        return self.claimed, self.sent, self.retried, self.failed, self.abandoned


def backoff(settings: Any, attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after ``attempts`` failed attempts.

    The ceiling doubles from ``notify_retry_seconds`` up to
    ``notify_retry_max_seconds``; the wait is drawn between half of it and
    all of it (equal jitter), so that the rows that failed together (a mail
    server or an endpoint that was away) are not all tried again at one
    instant. ``rng`` is where the draw comes from (a seeded
    :class:`random.Random` makes it repeatable); None: the ceiling itself.
    """
    ceiling = min(
        settings.notify_retry_seconds * (2 ** max(0, attempts - 1)),
        settings.notify_retry_max_seconds,
    )
    seconds = ceiling if rng is None else rng.uniform(ceiling / 2, ceiling)
    return timedelta(seconds=seconds)


def next_state(
    settings: Any,
    now: datetime,
    attempts: int,
    error: str | None,
    *,
    final: bool = False,
    rng: random.Random | None = None,
) -> tuple[str, dict[str, Any]]:
    """An outbox row's status and column values after its ``attempts``-th attempt.

    Sent when there was no error; failed after the last attempt (or a
    ``final`` error); otherwise queued again after the :func:`backoff` drawn
    from ``rng``. The row's claim ends in each case (``claim_token`` cleared).
    """
    if error is None:
        return SENT, {"sent_at": now, "last_error": None, "claim_token": None}
    if final or attempts >= settings.notify_max_attempts:
        return FAILED, {"last_error": error[:MAX_ERROR], "claim_token": None}
    return QUEUED, {
        "last_error": error[:MAX_ERROR],
        "next_attempt_at": now + backoff(settings, attempts, rng),
        "claim_token": None,
    }


def claimed_by(table: Any, row: dict[str, Any]) -> tuple[Any, ...]:
    """The WHERE clause of a write on ``row`` that holds only while its claim is the
    worker's own: the row is still ``sending`` under the token it was claimed with."""
    c = table.c
    return (c.id == row["id"], c.status == SENDING, c.claim_token == row["claim_token"])


class Worker:
    """Drains the outbox of one kit. ``casekit worker`` runs one; run several on
    PostgreSQL or MariaDB (10.6 or newer) to deliver in parallel.

    With ``sweep_seconds`` (``casekit worker`` passes the ``sla_sweep_seconds``
    setting) the run loop also sweeps the service-level clocks
    (:meth:`casekit.services.service_levels.ServiceLevelService.sweep`) and the
    freight claims' clocks (:meth:`casekit.services.claims.ClaimService.sweep`)
    when it starts and then every ``sweep_seconds``, so the warnings they write
    are delivered by the same loop.
    """

    def __init__(
        self,
        kit: CaseKit,
        *,
        batch_size: int | None = None,
        lease_seconds: int | None = None,
        rng: random.Random | None = None,
        sweep_seconds: int = 0,
    ) -> None:
        self.kit = kit
        self.batch_size = batch_size or kit.settings.worker_batch_size
        self.lease_seconds = lease_seconds or kit.settings.worker_lease_seconds
        self.stopping = threading.Event()
        #: Where the retry waits' jitter comes from; give a seeded ``random.Random``
        #: to make it repeatable.
        self.rng = rng or random.Random()
        self.sweep_seconds = sweep_seconds
        #: When the next sweep is due, in :attr:`timer`'s seconds (None: at once).
        self.next_sweep: float | None = None
        #: The clock of the sweeps' interval (real time, whatever the kit's clock says).
        self.timer: Callable[[], float] = time.monotonic

    def sweep_due(self) -> None:
        """Sweep the service-level clocks and the claims' clocks if the interval has
        passed; a failing sweep is logged and tried again after the interval, the
        other sweep and delivery go on."""
        if self.sweep_seconds <= 0:
            return
        now = self.timer()
        if self.next_sweep is not None and now < self.next_sweep:
            return
        self.next_sweep = now + self.sweep_seconds
        for name, sweep in (
            ("service-level", self.kit.service_levels.sweep),
            ("claims", self.kit.claims.sweep),
        ):
            try:
                sweep()
            except Exception:
                log.exception(
                    "casekit: the %s sweep failed; tried again in %s s", name, self.sweep_seconds
                )

    @staticmethod
    def _locking(dialect: Any) -> bool | None:
        """How a claim locks its rows: ``FOR UPDATE SKIP LOCKED`` where the server has it,
        plain ``FOR UPDATE`` on an older MySQL/MariaDB, nothing on SQLite (whose
        writing transactions already run one at a time). Returns whether to skip
        locked rows, or None for no locking."""
        if dialect.name == "sqlite":
            return None
        if dialect.name == "postgresql":
            return True
        version = tuple((dialect.server_version_info or ())[:2])
        newer = (10, 6) if getattr(dialect, "is_mariadb", False) else (8, 0)
        return version >= newer

    def lease(self) -> timedelta:
        """How long a claim holds, from the claim or its last renewal, before another
        worker may take the row again: ``worker_lease_seconds`` unless the worker
        was given its own."""
        return timedelta(seconds=self.lease_seconds)

    def claim(
        self,
        table: Any = tables.outbox,
        *,
        ids: Collection[int] | None = None,
        overdue: timedelta | None = None,
    ) -> list[dict[str, Any]]:
        """Take up to ``batch_size`` due notifications; committed, so no lock is held.

        ``table`` is the outbox to claim from: the notifications' by default,
        or the webhooks' (``casekit.services.webhooks``). ``ids`` limits the
        claim to those rows (a task queue's task for one row claims it this
        way: a row that is not due, or that another worker holds, is not
        taken). ``overdue`` takes only the rows due for at least that long
        (a sweep that leaves the rows just queued to the tasks sent for them).

        Due are queued rows whose time has come, then rows whose worker's
        claim lapsed. Each is read in the order of the ``(status,
        next_attempt_at, id)`` index, so a locking read locks only the rows
        it takes and another worker skips exactly those. The rows taken are
        marked ``sending`` under a new claim token (each row's
        ``claim_token``) with a lease of :meth:`lease`; :meth:`holding`
        renews it.
        """
        now = self.kit.clock.now()
        due_by = now - overdue if overdue is not None else now
        token = uuid.uuid4().hex
        rows: list[dict[str, Any]] = []
        o = table.c
        only = () if ids is None else (o.id.in_(sorted(set(ids))),)
        with self.kit.sessions(write=True) as session:
            conn = session.connection()
            # The dialect knows the server's version once connected.
            skip_locked = self._locking(conn.dialect)
            for status in (QUEUED, SENDING):
                wanted = self.batch_size - len(rows)
                if wanted <= 0:
                    break
                stmt = (
                    select(table)
                    .where(o.status == status, o.next_attempt_at <= due_by, *only)
                    .order_by(o.next_attempt_at, o.id)
                    .limit(wanted)
                )
                if skip_locked is not None:
                    stmt = stmt.with_for_update(skip_locked=skip_locked)
                rows += [dict(r) for r in conn.execute(stmt).mappings()]
            if rows:
                conn.execute(
                    update(table)
                    .where(o.id.in_([r["id"] for r in rows]))
                    .values(status=SENDING, next_attempt_at=now + self.lease(), claim_token=token)
                )
            session.commit()
        for row in rows:
            row.update(status=SENDING, next_attempt_at=now + self.lease(), claim_token=token)
        return rows

    @contextmanager
    def holding(self, table: Any, rows: list[dict[str, Any]]) -> Iterator[Hold]:
        """The claimed ``rows`` of ``table``, their lease renewed by a heartbeat
        thread until the block ends (:class:`~casekit.services.lease.Hold`)."""
        engine = self.kit.engine
        token = rows[0]["claim_token"] if rows else ""
        with Hold(
            engine,
            self.kit.clock,
            table,
            token,
            [r["id"] for r in rows],
            lease=self.lease(),
            heartbeat=shares_database(engine),
        ) as hold:
            yield hold

    def run_batch(self) -> BatchResult:
        """Claim, deliver and record one batch of notifications, then one of webhooks."""
        from casekit.services.webhooks import deliver_webhooks

        mails = self._mail_batch()
        hooks = deliver_webhooks(self)
        return BatchResult(*(a + b for a, b in zip(mails, hooks, strict=True)))

    def _mail_batch(self) -> Counts:
        return self.deliver_mail(self.claim())

    def deliver_mail(self, rows: list[dict[str, Any]]) -> Counts:
        """Deliver and record notifications this worker claimed (:meth:`claim`);
        returns (claimed, sent, retried, failed, abandoned), as
        :class:`BatchResult` counts them."""
        from casekit.services.delivery import prepare

        tally = Tally(len(rows))
        if not rows:
            return tally.counts("notification(s)")
        with self.holding(tables.outbox, rows) as hold:
            for row, outgoing, error in prepare(self.kit, rows):
                if not hold.keeps(row["id"]):
                    tally.add(SENDING)
                    continue
                if outgoing is not None and error is None:
                    try:
                        self.kit.hooks.deliver_notification(notification=outgoing)
                    except Exception as exc:
                        error = f"{type(exc).__name__}: {exc}"
                tally.add(self.record(row, error))
                hold.release(row["id"])
        return tally.counts("notification(s)")

    def record(self, row: dict[str, Any], error: str | None) -> str:
        """Write one attempt's outcome; returns the notification's new status.

        The row changes only while the claim is still this worker's (it is
        ``sending`` under ``row["claim_token"]``): when its lease lapsed and
        another worker took it, the attempt is kept in the delivery log, the
        row is left to the new claim, and the status returned is
        ``sending``.
        """
        kit = self.kit
        now = kit.clock.now()
        attempts = row["attempts"] + 1
        status, values = next_state(kit.settings, now, attempts, error, rng=self.rng)
        with kit.sessions(write=True) as session:
            conn = session.connection()
            changed = conn.execute(
                update(tables.outbox)
                .where(*claimed_by(tables.outbox, row))
                .values(status=status, attempts=attempts, **values)
            ).rowcount
            if not changed:
                status = SENDING
            conn.execute(
                insert(tables.delivery_attempts),
                {
                    "outbox_id": row["id"],
                    "attempted_at": now,
                    "ok": error is None,
                    "error": None if error is None else error[:MAX_ERROR],
                },
            )
            if status == FAILED:
                _record_failure(conn, row, now)
            session.commit()
        if status == SENDING:
            log_lost(log, "notification", row["id"], error)
            return status
        if error is not None:
            log_failure(log, "notification", row["id"], attempts, status, error)
        row.update(status=status, attempts=attempts, **values)
        attempted(kit, "mail", status)
        signal = {SENT: signals.notification_sent, FAILED: signals.notification_failed}.get(status)
        if signal is not None and signal.receivers:
            extra = {"error": error} if status == FAILED else {}
            case_view = _host_view(kit, row["case_id"])
            signals.send(
                signal,
                kit,
                case=case_view,
                actor=Actor.system_actor(SystemName.EMAIL),
                notification=delivery_view(row, ()),
                **extra,
            )
        return status

    def run(self, *, once: bool = False, max_batches: int | None = None, sleep: Any = None) -> int:
        """Deliver until stopped; ``once`` stops when the outbox has nothing due.

        Returns the number of batches that had work.
        """
        wait = sleep or self.stopping.wait
        batches = 0
        try:
            while not self.stopping.is_set():
                if max_batches is not None and batches >= max_batches:
                    break
                self.sweep_due()
                result = self.run_batch()
                if result.claimed:
                    batches += 1
                    continue
                if once:
                    break
                wait(self.kit.settings.worker_poll_seconds)
        finally:
            smtp = self.kit.plugin_manager.get_plugin("casekit.smtp")
            if smtp is not None:
                smtp.close()
        return batches


def log_lost(logger: logging.Logger, what: str, row_id: int, error: str | None) -> None:
    """Log an outcome that could not be recorded on its row: the claim passed to
    another worker, which delivers it again (a delivery that succeeded here is
    then made twice)."""
    logger.warning(
        "casekit: %s %s was %s after this worker's claim on it lapsed and another "
        "worker took it; the outcome stays in the delivery log only",
        what,
        row_id,
        "delivered" if error is None else "attempted",
    )


#: The ``outcome`` of :data:`casekit.signals.delivery_attempted`, by the row's new status.
OUTCOMES = {SENT: "sent", QUEUED: "retried", FAILED: "failed"}


def attempted(kit: CaseKit, channel: str, status: str, status_code: int | None = None) -> None:
    """Tell the receivers of :data:`~casekit.signals.delivery_attempted` how an attempt ended."""
    signals.send(
        signals.delivery_attempted,
        kit,
        channel=channel,
        outcome=OUTCOMES[status],
        status_code=status_code,
    )


def _record_failure(conn: Any, row: dict[str, Any], now: datetime) -> None:
    """An internal event on the case, for the organization the notification was written
    for: the one whose delivery log shows it (never the carrier's for a customer)."""
    actor = Actor.system_actor(SystemName.EMAIL, org_id=row["org_id"])
    entry = Entry.by(
        actor,
        case_id=row["case_id"],
        kind=EntryKind.EVENT,
        audience=Audience.INTERNAL,
        at=now,
        event=EventKind.NOTIFICATION_FAILED,
        old_value=row["event"],
        new_value=row["email"][:200],
        body=(row.get("last_error") or "")[:MAX_ERROR],
    )
    insert_entry(conn, entry)


def _host_view(kit: CaseKit, case_id: int) -> Any:
    from casekit.query.scoped import Scope
    from casekit.store.rows import load_cases, select_cases

    with kit.sessions(write=False) as session:
        found = load_cases(session.connection(), select_cases(tables.cases.c.id == case_id))
        return Scope(session, Actor.host()).view(found[0]) if found else None


def due_count(kit: CaseKit, statuses: Iterable[str] = (QUEUED, SENDING)) -> int:
    """Notifications in ``statuses`` (waiting or being sent, by default)."""
    with kit.sessions(write=False) as session:
        stmt = select(func.count()).select_from(tables.outbox).where(_o.status.in_(list(statuses)))
        return int(session.execute(stmt).scalar_one())
