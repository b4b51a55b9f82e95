"""What a task does with its row, without a broker: on every database under test.

:func:`casekit_celery.deliver` is the body of ``casekit.deliver_notification``
and ``casekit.deliver_webhook``; :func:`casekit_celery.drain` of
``casekit.drain``. The mail goes to a real SMTP server on loopback, the
webhook requests to a real HTTP server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from casekit_celery import deliver, drain, sweep_rules
from sqlalchemy import select

from casekit import Actor, CaseKit, Side
from casekit.clock import FrozenClock
from casekit.services.worker import Worker
from casekit.store import tables
from casekit.testing import SmtpSink, World, empty_tables, make_kit

DESK = "dispatch@fast.test"
_o = tables.outbox.c


@pytest.fixture
def make(
    casekit_backend_url: str, tmp_path: Path, casekit_clock: FrozenClock, sink: SmtpSink
) -> Iterator[Callable[..., CaseKit]]:
    """Kits on the database under test that mail ``sink``; the tables emptied after."""
    made: list[CaseKit] = []

    def kit(**settings: Any) -> CaseKit:
        made.append(
            make_kit(
                casekit_backend_url,
                attachment_dir=tmp_path / "attachments",
                clock=casekit_clock,
                create_schema=False,
                smtp_host=sink.host,
                smtp_port=sink.port,
                mail_from="cases@acme.test",
                **settings,
            )
        )
        return made[-1]

    yield kit
    empty_tables(made[0])
    for each in made:
        each.close()


def queue_mail(kit: CaseKit, count: int) -> tuple[World, list[int]]:
    """``count`` notifications to the carrier's desk, one per case; their ids."""
    w = World.build(kit)
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.CARRIER,
        email=DESK,
    )
    for i in range(count):
        kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message=f"case {i}")
    with kit.sessions(write=False) as session:
        return w, list(session.execute(select(_o.id).order_by(_o.id)).scalars())


def statuses(kit: CaseKit) -> dict[int, tuple[str, int]]:
    with kit.sessions(write=False) as session:
        rows = session.execute(select(_o.id, _o.status, _o.attempts)).all()
    return {r.id: (r.status, r.attempts) for r in rows}


def test_a_task_delivers_its_row_and_a_second_one_does_nothing(
    make: Callable[..., CaseKit], sink: SmtpSink
) -> None:
    kit = make()
    _w, ids = queue_mail(kit, 2)
    assert deliver(kit, "mail", ids[0]).status == "sent"
    assert statuses(kit) == {ids[0]: ("sent", 1), ids[1]: ("queued", 0)}  # only its own row
    assert deliver(kit, "mail", ids[0]).status == "done"
    assert sink.count() == 1
    assert deliver(kit, "mail", 10_000).status == "missing"


def test_duplicate_tasks_and_the_built_in_worker_at_once_send_each_row_once(
    make: Callable[..., CaseKit], sink: SmtpSink
) -> None:
    """Three tasks per row and the built-in worker, in four threads, each with its own
    kit (its own connections, as separate processes have)."""
    _w, ids = queue_mail(make(), 6)
    kits = [make() for _ in range(4)]
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def tasks(kit: CaseKit) -> None:
        start.wait()
        for row_id in ids:
            outcomes.append(deliver(kit, "mail", row_id).status)

    def builtin(kit: CaseKit) -> None:
        start.wait()
        Worker(kit, batch_size=2).run(once=True)

    threads = [threading.Thread(target=tasks, args=(k,)) for k in kits[:3]]
    threads.append(threading.Thread(target=builtin, args=(kits[3],)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 3 * len(ids)
    assert set(outcomes) <= {"sent", "done", "held", "not_due"}
    assert len(sink.message_ids()) == len(set(sink.message_ids())) == len(ids)
    assert statuses(kits[0]) == dict.fromkeys(ids, ("sent", 1))


def test_a_failed_attempt_is_due_again_after_the_backoff(
    make: Callable[..., CaseKit], sink: SmtpSink, casekit_clock: FrozenClock
) -> None:
    kit = make(notify_retry_seconds=60)
    _w, [row_id] = queue_mail(kit, 1)
    sink.stop()  # the mail server is away
    outcome = deliver(kit, "mail", row_id)
    assert outcome.status == "retried"
    assert outcome.wait is not None
    assert 30 < outcome.wait <= 61  # 30..60 s, and the margin
    again = deliver(kit, "mail", row_id)
    assert again.status == "not_due"
    assert again.wait == pytest.approx(outcome.wait)
    assert statuses(kit) == {row_id: ("queued", 1)}


def test_a_task_for_a_row_another_worker_holds_waits_for_its_lease(
    make: Callable[..., CaseKit], sink: SmtpSink, casekit_clock: FrozenClock
) -> None:
    kit = make(worker_lease_seconds=20)
    _w, [row_id] = queue_mail(kit, 1)
    [held] = Worker(kit).claim(ids=[row_id])
    outcome = deliver(kit, "mail", row_id)
    assert (outcome.status, outcome.wait) == ("held", 21.0)
    casekit_clock.advance(seconds=21)  # the holder died: its lease lapsed
    assert deliver(kit, "mail", row_id).status == "sent"
    assert Worker(kit).record(held, None) == "sending"  # the late holder records nothing
    assert sink.count() == 1


class Endpoint:
    """An HTTP server on loopback answering every POST with ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append(json.loads(body))
                self.send_response(endpoint.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def test_a_webhook_task_delivers_its_request_once(make: Callable[..., CaseKit]) -> None:
    kit = make(webhook_allow_http_loopback=True, webhook_allow_private_addresses=True)
    endpoint = Endpoint()
    try:
        w = World.build(kit)
        kit.webhooks.subscribe(w.carrier_manager_actor, url=endpoint.url, events=["case_opened"])
        kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Gone")
        q = tables.webhook_outbox.c
        with kit.sessions(write=False) as session:
            [row_id] = session.execute(select(q.id)).scalars()
        assert deliver(kit, "webhook", row_id).status == "sent"
        assert deliver(kit, "webhook", row_id).status == "done"
        assert [r["event"] for r in endpoint.received] == ["case_opened"]
    finally:
        endpoint.server.shutdown()


def test_the_drain_takes_the_rows_no_task_delivered_once_overdue(
    make: Callable[..., CaseKit], sink: SmtpSink, casekit_clock: FrozenClock
) -> None:
    kit = make(worker_batch_size=2)
    _w, ids = queue_mail(kit, 5)
    overdue = timedelta(seconds=30)
    assert drain(kit, overdue=overdue, max_batches=10).claimed == 0  # just queued: the tasks'
    casekit_clock.advance(seconds=30)
    first = drain(kit, overdue=overdue, max_batches=2)
    assert (first.claimed, first.sent) == (4, 4)  # two batches of two, then it stops
    rest = drain(kit, overdue=overdue, max_batches=10)
    assert (rest.claimed, rest.sent) == (1, 1)
    assert statuses(kit) == dict.fromkeys(ids, ("sent", 1))
    assert len(set(sink.message_ids())) == sink.count() == 5


def test_the_sweep_task_counts_what_the_sweep_did(make: Callable[..., CaseKit]) -> None:
    kit = make()
    World.build(kit)
    assert sweep_rules(kit) == {"swept": 0, "opened": 0, "raced": 0, "failed": 0}
