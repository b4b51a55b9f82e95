"""Scenario ``notify``: what notifications cost the change that queues them, and
how fast the outbox drains to a local SMTP server.

Set-up (not measured): a shipper with an agent and three colleagues, a
carrier with an agent, and ``--cases`` cases opened by the shipper's agent
in pairs:

two alike cases each time: the carrier's agent owns them and the three
colleagues watch them, so a message by the shipper's agent notifies four
people.

Measured:

1. ``notify.post``: posting one message on the first case of each pair
   (casekit), beside the same post on its twin with notifications switched
   off (the floor: ``queue_notifications`` replaced by a function that
   queues nothing): the difference is what notifications add to the request.
2. ``notify.queue``: the time spent in ``queue_notifications`` — looking up
   the people around the case, choosing the recipients and writing the
   outbox rows — per change and per recipient (``per_recipient_ms``, the
   figure to keep under 1 ms).
3. ``notify.deliver``: the worker draining every queued notification to an
   aiosmtpd server on loopback (``per_s``), beside a floor that sends the
   same number of ready-made messages over one smtplib connection.
"""

from __future__ import annotations

import smtplib
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks.common import (
    Context,
    Recorder,
    Result,
    percentile_ms,
    scenario,
    throwaway_database,
)
from casekit.domain.actor import Actor
from casekit.domain.case import Side
from casekit.domain.directory import OrgRole
from casekit.kit import CaseKit
from casekit.services import base as services_base
from casekit.settings import Settings
from casekit.store import tables
from casekit.testing import SmtpSink

NAME = "notify"
WATCHERS = 3
MESSAGE = "It left our hub this morning; delivery is planned for tomorrow 8-12."


def _kit(url: str, folder: Path, sink: SmtpSink) -> CaseKit:
    kit = CaseKit(
        settings=Settings(
            database_url=url,
            attachment_dir=folder / "attachments",
            load_entry_points=False,
            smtp_host=sink.host,
            smtp_port=sink.port,
            mail_from="cases@acme.test",
            reply_address="reply@inbound.acme.test",
            reply_secrets=("benchmark-secret-0123456789",),
            worker_batch_size=100,
        )
    )
    kit.create_schema()
    return kit


@scenario(NAME, help="notification cost per recipient, and outbox throughput to SMTP")
def run(ctx: Context) -> list[Result]:
    if ctx.workers != 1:
        raise ValueError("the notify scenario runs one worker")
    with (
        throwaway_database(ctx.database_url, keep_sqlite=False) as url,
        tempfile.TemporaryDirectory(prefix="casekit-notify-") as tmp,
        SmtpSink() as sink,
    ):
        kit = _kit(url, Path(tmp), sink)
        try:
            return _measure(ctx, kit, sink)
        finally:
            kit.close()


def _measure(ctx: Context, kit: CaseKit, sink: SmtpSink) -> list[Result]:
    host = Actor.host()
    d = kit.directory
    shipper = d.add_organization(host, name="Acme Goods", role=OrgRole.SHIPPER)
    carrier = d.add_organization(host, name="Fast Freight", role=OrgRole.CARRIER)
    assert shipper.id is not None
    assert carrier.id is not None
    sam = Actor.of_user(d.add_user(host, org_id=shipper.id, name="Sam", email="sam@acme.test"))
    cal = Actor.of_user(d.add_user(host, org_id=carrier.id, name="Cal", email="cal@fast.test"))
    colleagues = [
        d.add_user(host, org_id=shipper.id, name=f"Colleague {i}", email=f"c{i}@acme.test")
        for i in range(WATCHERS)
    ]
    kit.notifications.set_collaborator_address(
        host,
        shipper_org_id=shipper.id,
        carrier_org_id=carrier.id,
        side=Side.CARRIER,
        email="dispatch@fast.test",
    )
    total = ctx.cases + ctx.warmup
    ctx.log(f"notify: opening {total} pairs of cases")
    notifying, quiet = [], []
    for i in range(2 * total):
        case = kit.cases.open(sam, type="lost", carrier=carrier.id, message=f"Case {i}")
        kit.cases.take(cal, case.number)
        with kit.sessions(write=True) as session:
            session.execute(
                insert(tables.watchers),
                [
                    {"case_id": case.id, "user_id": u.id, "created_at": kit.clock.now()}
                    for u in colleagues
                ],
            )
            session.commit()
        (notifying if i % 2 == 0 else quiet).append(case.number)
    # Deliver what opening queued, so the drain below measures the messages only.
    kit.notifications.deliver()
    sink.clear()

    # Time queue_notifications where Edit.finish calls it.
    queue_times: list[tuple[float, int]] = []
    original = services_base.queue_notifications

    def timed(edit: Any) -> list[dict[str, Any]]:
        start = time.perf_counter()
        rows = original(edit)
        queue_times.append((time.perf_counter() - start, len(rows)))
        return rows

    def nothing(edit: Any) -> list[dict[str, Any]]:
        return []

    posts: list[float] = []
    quiet_posts: list[float] = []
    rec = Recorder(kit.engine)
    try:
        for i in range(total):
            measuring = i >= ctx.warmup
            if i == ctx.warmup:
                queue_times.clear()
            services_base.queue_notifications = timed  # type: ignore[assignment]
            start = time.perf_counter()
            kit.messages.post(sam, notifying[i], MESSAGE)
            elapsed = time.perf_counter() - start
            services_base.queue_notifications = nothing  # type: ignore[assignment]
            start = time.perf_counter()
            kit.messages.post(sam, quiet[i], MESSAGE)
            quiet_elapsed = time.perf_counter() - start
            if measuring:
                posts.append(elapsed)
                quiet_posts.append(quiet_elapsed)
    finally:
        services_base.queue_notifications = original
    notified = [(t, n) for t, n in queue_times if n]
    recipients = sum(n for _, n in notified)
    # The median change's queueing time, shared out among its recipients.
    per_recipient_ms = percentile_ms([t / n for t, n in notified], 0.5)
    mean_per_recipient_ms = 1000 * sum(t for t, _ in notified) / recipients if recipients else 0.0
    ctx.log(f"notify: {recipients} notifications queued by {len(notified)} changes")

    # Drain: everything the posts queued (warm-up included), timed.
    queued = recipients + ctx.warmup * (WATCHERS + 1)
    with rec.measuring():
        start = time.perf_counter()
        kit.notifications.deliver()
        drain = time.perf_counter() - start
    delivered = len(sink.received)
    if delivered != queued:
        raise RuntimeError(f"only {delivered} of {queued} notifications reached the SMTP server")
    floor_rate = _smtp_floor(sink, delivered)
    return [
        Result("notify.post", "p50_ms", percentile_ms(posts, 0.5), percentile_ms(quiet_posts, 0.5)),
        Result(
            "notify.post", "p95_ms", percentile_ms(posts, 0.95), percentile_ms(quiet_posts, 0.95)
        ),
        Result("notify.queue", "p50_ms", percentile_ms([t for t, _ in notified], 0.5)),
        Result("notify.queue", "p95_ms", percentile_ms([t for t, _ in notified], 0.95)),
        Result("notify.queue", "per_recipient_ms", per_recipient_ms),
        Result("notify.queue", "mean_per_recipient_ms", mean_per_recipient_ms),
        Result("notify.queue", "recipients_per_change", recipients / max(1, len(notified))),
        Result("notify.deliver", "per_s", delivered / drain if drain else 0.0, floor_rate),
        Result("notify.deliver", "statements_per_mail", rec.report.statements / delivered),
    ]


def _smtp_floor(sink: SmtpSink, count: int) -> float:
    """Messages per second that plain smtplib sends to the same server on one connection."""
    sink.clear()
    message = EmailMessage()
    message["From"] = "cases@acme.test"
    message["To"] = "floor@fast.test"
    message["Subject"] = "[CV000001] floor"
    message.set_content(MESSAGE)
    start = time.perf_counter()
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        for _ in range(count):
            smtp.send_message(message)
    elapsed = time.perf_counter() - start
    return count / elapsed if elapsed else 0.0
