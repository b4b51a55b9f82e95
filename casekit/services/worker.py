"""The worker: it drains the outbox.

:class:`Worker` claims due rows (``FOR UPDATE SKIP LOCKED`` where the
database has it, so several workers never take the same row), renders and
delivers each through the ``casekit_deliver_notification`` hook outside any
transaction, and records every attempt. A failed attempt is retried after a
doubling wait; after ``notify_max_attempts`` the notification is marked
failed and an internal event on the case says so.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import func, insert, select, update

from casekit import signals
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Entry, EntryKind, EventKind
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
    """What one batch did."""

    claimed: int
    sent: int
    retried: int
    failed: int


def backoff(settings: Any, attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts: doubling from ``notify_retry_seconds``."""
    seconds = settings.notify_retry_seconds * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.notify_retry_max_seconds))


def next_state(
    settings: Any, now: datetime, attempts: int, error: str | None, *, final: bool = False
) -> tuple[str, dict[str, Any]]:
    """An outbox row's status and column values after its ``attempts``-th attempt.

    Sent when there was no error; failed after the last attempt (or a
    ``final`` error); otherwise queued again after the backoff.
    """
    if error is None:
        return SENT, {"sent_at": now, "last_error": None}
    if final or attempts >= settings.notify_max_attempts:
        return FAILED, {"last_error": error[:MAX_ERROR]}
    return QUEUED, {
        "last_error": error[:MAX_ERROR],
        "next_attempt_at": now + backoff(settings, attempts),
    }


class Worker:
    """Drains the outbox of one kit. ``casekit worker`` runs one; run several on
    PostgreSQL or MariaDB (10.6 or newer) to deliver in parallel."""

    def __init__(self, kit: CaseKit, *, batch_size: int | None = None) -> None:
        self.kit = kit
        self.batch_size = batch_size or kit.settings.worker_batch_size
        self.stopping = threading.Event()

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
        """How long a claim holds before another worker may take the row again."""
        s = self.kit.settings
        return timedelta(seconds=max(300, 2 * self.batch_size * s.smtp_timeout))

    def claim(self, table: Any = tables.outbox) -> list[dict[str, Any]]:
        """Take up to ``batch_size`` due notifications; committed, so no lock is held.

        ``table`` is the outbox to claim from: the notifications' by default,
        or the webhooks' (``casekit.services.webhooks``).

        Due are queued rows whose time has come, then rows whose worker's
        claim lapsed. Each is read in the order of the ``(status,
        next_attempt_at, id)`` index, so a locking read locks only the rows
        it takes and another worker skips exactly those.
        """
        now = self.kit.clock.now()
        rows: list[dict[str, Any]] = []
        o = table.c
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
                    .where(o.status == status, o.next_attempt_at <= now)
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
                    .values(status=SENDING, next_attempt_at=now + self.lease())
                )
            session.commit()
        return rows

    def run_batch(self) -> BatchResult:
        """Claim, deliver and record one batch of notifications, then one of webhooks."""
        from casekit.services.webhooks import deliver_webhooks

        mails = self._mail_batch()
        hooks = deliver_webhooks(self)
        return BatchResult(*(a + b for a, b in zip(mails, hooks, strict=True)))

    def _mail_batch(self) -> tuple[int, int, int, int]:
        from casekit.services.delivery import prepare

        rows = self.claim()
        sent = retried = failed = 0
        if not rows:
            return 0, 0, 0, 0
        for row, outgoing, error in prepare(self.kit, rows):
            if outgoing is not None and error is None:
                try:
                    self.kit.hooks.deliver_notification(notification=outgoing)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
            outcome = self.record(row, error)
            sent += outcome == SENT
            retried += outcome == QUEUED
            failed += outcome == FAILED
        return len(rows), sent, retried, failed

    def record(self, row: dict[str, Any], error: str | None) -> str:
        """Write one attempt's outcome; returns the notification's new status."""
        kit = self.kit
        now = kit.clock.now()
        attempts = row["attempts"] + 1
        status, values = next_state(kit.settings, now, attempts, error)
        if error is not None:
            log_failure(log, "notification", row["id"], attempts, status, error)
        with kit.sessions(write=True) as session:
            conn = session.connection()
            conn.execute(
                update(tables.outbox)
                .where(_o.id == row["id"])
                .values(status=status, attempts=attempts, **values)
            )
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
