"""What casekit's tasks do, without Celery: deliver one outbox row, drain, sweep.

Each task carries an outbox row's id, never its content: the row decides.
:func:`deliver` claims THAT row the way the built-in worker claims a batch
(:meth:`Worker.claim <casekit.services.worker.Worker.claim>` with ``ids``:
``SKIP LOCKED`` where the database has it, a claim token, a lease renewed by
a heartbeat) and records the outcome with the worker's compare-and-set. So a
task sent twice, a task redelivered after its worker died, a drain and the
built-in worker running at the same time never deliver a row twice: one of
them holds the claim, the others find the row sent, failed, or held.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import select

from casekit.services.outbox import FAILED, SENDING, SENT
from casekit.services.webhooks import deliver_webhooks
from casekit.services.worker import BatchResult, Worker
from casekit.store import tables

if TYPE_CHECKING:
    from datetime import timedelta

    from casekit import CaseKit

__all__ = ["CHANNELS", "Outcome", "deliver", "drain", "sweep_rules"]

log = logging.getLogger(__name__)

#: The outbox of each channel: notifications (``mail``) and webhook requests.
CHANNELS: dict[str, Any] = {"mail": tables.outbox, "webhook": tables.webhook_outbox}

#: Added to a wait, so that a task sent again finds its row due.
MARGIN_SECONDS = 1.0


@frozen
class Outcome:
    """What a task for one row did.

    ``status``: ``sent``, ``failed`` (its last attempt), ``retried`` (an
    attempt failed, it is due again later), ``done`` (sent or failed
    before: nothing to do), ``held`` (another worker's claim holds it),
    ``not_due`` (queued for later, or being claimed by another worker at
    this instant), ``abandoned`` (this task's claim on it was lost), or
    ``missing`` (no such row: its subscription was deleted, say).
    ``wait``: seconds until the row may be tried again, when it is not done.
    """

    status: str
    wait: float | None = None


def _state(kit: CaseKit, table: Any, row_id: int) -> Any:
    c = table.c
    with kit.sessions(write=False) as session:
        return session.execute(select(c.status, c.next_attempt_at).where(c.id == row_id)).first()


def deliver(kit: CaseKit, channel: str, row_id: int) -> Outcome:
    """Claim outbox row ``row_id`` of ``channel`` (``mail`` or ``webhook``), deliver
    and record it, as the built-in worker does; or say why not and for how long."""
    table = CHANNELS[channel]
    worker = Worker(kit, batch_size=1)
    rows = worker.claim(table, ids=[row_id])
    counts: tuple[int, ...] = ()
    if rows:
        mail = channel == "mail"
        counts = worker.deliver_mail(rows) if mail else deliver_webhooks(worker, rows)
        result = BatchResult(*counts)
        if result.sent:
            return Outcome(SENT)
        if result.failed:
            return Outcome(FAILED)
    state = _state(kit, table, row_id)
    if state is None:
        return Outcome("missing")
    if state.status in (SENT, FAILED):
        # Recorded by someone else (a claim that took the row from this one) or before.
        return Outcome("done")
    wait = max(0.0, (state.next_attempt_at - kit.clock.now()).total_seconds()) + MARGIN_SECONDS
    if rows:
        return Outcome("retried" if BatchResult(*counts).retried else "abandoned", wait)
    return Outcome("held" if state.status == SENDING else "not_due", wait)


def drain(
    kit: CaseKit, *, overdue: timedelta, max_batches: int, batch_size: int | None = None
) -> BatchResult:
    """Deliver the rows of both outboxes due for at least ``overdue``, batch by batch
    as the built-in worker does, until none is left or ``max_batches`` were done."""
    worker = Worker(kit, batch_size=batch_size)
    totals = [0, 0, 0, 0, 0]
    for _ in range(max_batches):
        mails = worker.deliver_mail(worker.claim(tables.outbox, overdue=overdue))
        hooks = deliver_webhooks(worker, worker.claim(tables.webhook_outbox, overdue=overdue))
        totals = [t + m + h for t, m, h in zip(totals, mails, hooks, strict=True)]
        if not (mails[0] or hooks[0]):
            break
    result = BatchResult(*totals)
    if result.claimed:
        log.info(
            "casekit: the drain took %d outbox row(s) no task had delivered: %d sent, "
            "%d retried, %d failed, %d left to another worker",
            result.claimed,
            result.sent,
            result.retried,
            result.failed,
            result.abandoned,
        )
    return result


def sweep_rules(kit: CaseKit) -> dict[str, int]:
    """Sweep the time rules (``kit.rules.sweep``); the counts of what it did."""
    outcome = kit.rules.sweep()
    return {
        "swept": outcome.swept,
        "opened": len(outcome.opened),
        "raced": len(outcome.raced),
        "failed": len(outcome.failed),
    }
