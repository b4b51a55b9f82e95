"""A worker's hold on its claim: the lease, its heartbeat, compare-and-set, jittered backoff.

Claims, renewals and records run on the backend under test; a second
:class:`~casekit.services.worker.Worker` on the same database plays the
other worker that takes a lapsed row. The end-to-end proof with a worker
process killed mid-batch is ``tests/test_worker_recovery.py``.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, exc, func, select, update

from casekit import Actor, CaseKit, Side, hookimpl
from casekit import signals as casekit_signals
from casekit.services.lease import Hold, shares_database
from casekit.services.outbox import QUEUED, SENDING, SENT
from casekit.services.worker import Worker, backoff, next_state
from casekit.settings import Settings
from casekit.store import tables
from casekit.store.database import create_casekit_engine
from casekit.testing import SignalRecorder, SmtpSink, World

DESK = "dispatch@fast.test"
_o = tables.outbox.c


@pytest.fixture
def mkit(mailing_kit: Any) -> CaseKit:
    return mailing_kit(notify_retry_seconds=60, notify_max_attempts=4)


def queue(kit: CaseKit, count: int) -> list[int]:
    """``count`` notifications to the carrier's desk, one per case opened; their ids."""
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
        return list(session.execute(select(_o.id).order_by(_o.id)).scalars())


def rows_of(kit: CaseKit) -> dict[int, tuple[str, Any, str | None, int]]:
    """Each notification's (status, next_attempt_at, claim_token, attempts), by id."""
    with kit.sessions(write=False) as session:
        found = session.execute(
            select(_o.id, _o.status, _o.next_attempt_at, _o.claim_token, _o.attempts)
        ).all()
    return {r.id: (r.status, r.next_attempt_at, r.claim_token, r.attempts) for r in found}


def batch(worker: Worker) -> Any:
    """One batch of ``worker``, its mail connection closed after it as ``run`` does."""
    try:
        return worker.run_batch()
    finally:
        worker.kit.plugin_manager.get_plugin("casekit.smtp").close()


def hold_of(worker: Worker, rows: list[dict[str, Any]], **kwargs: Any) -> Hold:
    """A hold on ``rows`` without its thread: the test renews by hand."""
    kit = worker.kit
    return Hold(
        kit.engine,
        kit.clock,
        tables.outbox,
        rows[0]["claim_token"],
        [r["id"] for r in rows],
        lease=worker.lease(),
        **kwargs,
    )


# -- jittered backoff ------------------------------------------------------------------------


def test_the_wait_is_drawn_between_half_and_all_of_the_doubling_ceiling() -> None:
    settings = Settings(notify_retry_seconds=60, notify_retry_max_seconds=900)
    ceilings = {1: 60, 2: 120, 3: 240, 4: 480, 5: 900, 6: 900, 12: 900}
    rng = random.Random(2026)
    for attempts, ceiling in ceilings.items():
        waits = [backoff(settings, attempts, rng).total_seconds() for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in waits), (attempts, min(waits), max(waits))
        # Spread over the range, not bunched at one end: rows that failed together part.
        assert min(waits) < ceiling * 0.6
        assert max(waits) > ceiling * 0.9
        assert len(set(waits)) == len(waits)
    # Without a source of randomness: the ceiling itself.
    assert [backoff(settings, n).total_seconds() for n in ceilings] == list(ceilings.values())


def test_the_same_seed_draws_the_same_waits(clock: Any) -> None:
    settings = Settings(notify_retry_seconds=60, notify_max_attempts=8)
    now = clock.now()

    def waits(seed: int) -> list[Any]:
        rng = random.Random(seed)
        return [
            next_state(settings, now, n, "451 busy", rng=rng)[1]["next_attempt_at"]
            for n in range(1, 6)
        ]

    assert waits(7) == waits(7)
    assert waits(7) != waits(8)
    expected = random.Random(7)
    assert waits(7)[0] == now + timedelta(seconds=expected.uniform(30, 60))


def test_the_worker_draws_its_retry_wait_from_the_random_it_is_given(
    mkit: CaseKit, sink: SmtpSink
) -> None:
    (notification,) = queue(mkit, 1)
    sink.stop()  # the mail server is away: the attempt fails
    now = mkit.clock.now()
    worker = Worker(mkit, rng=random.Random(42))
    assert batch(worker).retried == 1
    status, due, token, attempts = rows_of(mkit)[notification]
    assert (status, token, attempts) == (QUEUED, None, 1)
    assert due == now + timedelta(seconds=random.Random(42).uniform(30, 60))


# -- the heartbeat ---------------------------------------------------------------------------


def test_a_claim_gives_its_rows_one_token_and_the_lease(mkit: CaseKit) -> None:
    ids = queue(mkit, 3)
    worker = Worker(mkit, batch_size=2)
    first, second = worker.claim(), worker.claim()
    assert [r["id"] for r in first + second] == ids
    tokens = {r["claim_token"] for r in first}
    assert len(tokens) == 1
    assert second[0]["claim_token"] not in tokens
    held = mkit.clock.now() + timedelta(seconds=60)
    assert rows_of(mkit) == {r["id"]: (SENDING, held, r["claim_token"], 0) for r in first + second}


def test_a_claim_for_given_rows_takes_those_due_and_nobody_elses(mkit: CaseKit, clock: Any) -> None:
    """What a task queue's task for one row does: it takes that row while it is due
    and free, and nothing else."""
    ids = queue(mkit, 4)
    worker = Worker(mkit)
    [taken] = worker.claim(ids=[ids[1]])
    assert taken["id"] == ids[1]
    # Held by that claim, the row is no one else's until its lease lapses...
    assert Worker(mkit).claim(ids=[ids[1]]) == []
    assert worker.record(taken, "SMTPServerDisconnected: away") == QUEUED
    # ... and once retried, not before its next attempt is due.
    assert Worker(mkit).claim(ids=[ids[1]]) == []
    assert [r["id"] for r in Worker(mkit).claim(ids=[ids[1], ids[3]])] == [ids[3]]
    held = Worker(mkit).claim(ids=[ids[0]])
    clock.advance(seconds=61)  # the retry is due, and the lease on ids[0] lapsed
    again = Worker(mkit).claim(ids=ids[:2])
    assert sorted(r["id"] for r in again) == ids[:2]
    assert again[0]["claim_token"] != held[0]["claim_token"]
    assert rows_of(mkit)[ids[2]][0] == QUEUED  # never named: left alone


def test_an_overdue_claim_leaves_the_rows_just_queued(mkit: CaseKit, clock: Any) -> None:
    ids = queue(mkit, 2)
    assert Worker(mkit).claim(overdue=timedelta(seconds=30)) == []
    clock.advance(seconds=30)
    assert [r["id"] for r in Worker(mkit).claim(overdue=timedelta(seconds=30))] == ids


def test_a_renewal_extends_the_rows_still_held_and_not_those_recorded(
    mkit: CaseKit, clock: Any
) -> None:
    ids = queue(mkit, 3)
    worker = Worker(mkit)
    rows = worker.claim()
    hold = hold_of(worker, rows)
    token = rows[0]["claim_token"]
    clock.advance(seconds=50)  # most of the lease has gone by
    assert worker.record(rows[0], None) == SENT
    hold.release(rows[0]["id"])
    assert hold.renew() == 2
    renewed = clock.now() + timedelta(seconds=60)
    after = rows_of(mkit)
    assert after[ids[0]][0] == SENT
    assert after[ids[0]][2] is None  # the claim ended with the outcome
    assert after[ids[1]] == after[ids[2]] == (SENDING, renewed, token, 0)
    # Renewed, the rows are not due to another worker when the first lease would have lapsed.
    clock.advance(seconds=30)
    assert Worker(mkit).claim() == []
    assert hold.keeps(ids[1])
    assert hold.keeps(ids[2])
    assert not hold.keeps(ids[0])  # recorded: nothing left to deliver


def test_a_renewal_never_extends_a_row_another_worker_took(mkit: CaseKit, clock: Any) -> None:
    ids = queue(mkit, 2)
    first = Worker(mkit)
    rows = first.claim()
    hold = hold_of(first, rows)
    clock.advance(seconds=61)  # the first worker's lease lapsed (it was paused, say)
    other = Worker(mkit, batch_size=1)
    (taken,) = other.claim()
    assert taken["id"] == ids[0]
    assert taken["claim_token"] != rows[0]["claim_token"]
    before = rows_of(mkit)
    clock.advance(seconds=5)
    assert hold.renew() == 1  # only the row no one took
    after = rows_of(mkit)
    assert after[ids[0]] == before[ids[0]]  # the other worker's claim, as it set it
    assert after[ids[1]] == (
        SENDING,
        clock.now() + timedelta(seconds=60),
        rows[1]["claim_token"],
        0,
    )
    assert not hold.keeps(ids[0])
    assert hold.keeps(ids[1])


def test_a_record_by_a_worker_whose_claim_was_taken_leaves_the_new_claim_alone(
    mkit: CaseKit, clock: Any, sink: SmtpSink
) -> None:
    (notification,) = queue(mkit, 1)
    first = Worker(mkit)
    (row,) = first.claim()
    clock.advance(seconds=61)
    other = Worker(mkit)
    (taken,) = other.claim()
    held = rows_of(mkit)[notification]
    with SignalRecorder(casekit_signals.NOTIFICATION_SIGNALS) as recorded:
        # The first worker comes back and records what it did, success or failure.
        assert first.record(dict(row), None) == SENDING
        assert first.record(dict(row), "421 closing") == SENDING
    assert rows_of(mkit)[notification] == held  # still the other worker's claim
    assert recorded.of(casekit_signals.notification_sent) == []
    with mkit.sessions(write=False) as session:
        log = session.execute(
            select(tables.delivery_attempts.c.ok).order_by(tables.delivery_attempts.c.id)
        ).scalars()
        assert list(log) == [True, False]  # what happened is kept in the delivery log
    assert other.record(taken, None) == SENT
    assert rows_of(mkit)[notification][0] == SENT
    assert rows_of(mkit)[notification][3] == 1  # one attempt counted: the holder's


def test_the_heartbeat_thread_renews_while_a_delivery_blocks(mkit: CaseKit, clock: Any) -> None:
    ids = queue(mkit, 2)
    worker = Worker(mkit)
    rows = worker.claim()
    clock.advance(seconds=40)
    lease = timedelta(seconds=0.3)  # a renewal every 0.1 s
    with Hold(
        mkit.engine, mkit.clock, tables.outbox, rows[0]["claim_token"], ids, lease=lease
    ) as hold:
        deadline = time.monotonic() + 10
        while hold.renewals < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hold.renewals >= 3
        assert hold.keeps(ids[0])
    count = hold.renewals
    assert {v[1] for v in rows_of(mkit).values()} == {clock.now() + lease}
    time.sleep(0.3)
    assert hold.renewals == count  # the thread ended with the block


def test_a_hold_lets_go_when_its_heartbeat_falls_behind(mkit: CaseKit) -> None:
    ids = queue(mkit, 1)
    worker = Worker(mkit)
    rows = worker.claim()
    now = [100.0]
    hold = hold_of(worker, rows, monotonic=lambda: now[0])
    assert hold.interval == 20
    now[0] += 39.9
    assert hold.keeps(ids[0])
    now[0] += 0.2  # two intervals without a renewal: the lease may lapse under us
    assert not hold.keeps(ids[0])
    hold.renew()
    assert hold.keeps(ids[0])
    # Without a heartbeat (an in-memory database no other worker reaches) nothing lapses.
    still = hold_of(worker, rows, monotonic=lambda: now[0], heartbeat=False)
    now[0] += 1000
    assert still.keeps(ids[0])


def test_an_in_memory_database_is_no_one_elses(tmp_path: Any) -> None:
    for url, shared in [
        ("sqlite://", False),
        ("sqlite:///:memory:", False),
        (f"sqlite:///{tmp_path / 'one.sqlite3'}", True),
        ("postgresql://casekit@db.example/casekit", True),
    ]:
        if not url.startswith("sqlite"):
            # Only the URL is read: no driver is needed (the README's run has none).
            from types import SimpleNamespace

            from sqlalchemy.engine import make_url

            assert shares_database(SimpleNamespace(url=make_url(url))) is shared, url  # type: ignore[arg-type]
            continue
        engine = create_casekit_engine(url)
        try:
            assert shares_database(engine) is shared, url
        finally:
            engine.dispose()


class Gate:
    """A delivery plugin in front of SMTP: the first delivery waits until ``opened``."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.calls = 0

    @hookimpl
    def casekit_deliver_notification(self, notification: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            assert self.opened.wait(20), "the heartbeat never failed"
        # None: the SMTP plugin delivers it.


def test_a_worker_whose_lease_cannot_be_renewed_sends_nothing_more(
    mailing_kit: Any, sink: SmtpSink, clock: Any
) -> None:
    gate = Gate()
    kit = mailing_kit(worker_lease_seconds=3, plugins=[gate])
    ids = queue(kit, 3)

    def database_away(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread().name.startswith("casekit-lease-"):
            gate.opened.set()
            raise exc.OperationalError(statement, {}, Exception("the server went away"))

    event.listen(kit.engine, "before_cursor_execute", database_away)
    try:
        result = batch(Worker(kit))
    finally:
        event.remove(kit.engine, "before_cursor_execute", database_away)
    # The delivery in hand when the renewal failed completes; the rest are not sent.
    assert (result.claimed, result.sent, result.abandoned) == (3, 1, 2)
    assert len(sink.received) == 1
    states = rows_of(kit)
    assert states[ids[0]][0] == SENT
    assert [states[i][0] for i in ids[1:]] == [SENDING, SENDING]
    # Their lease lapses, and the next worker sends them.
    assert batch(Worker(kit)).claimed == 0
    clock.advance(seconds=3.5)
    assert batch(Worker(kit)).sent == 2
    assert len(sink.received) == 3
    assert len({m["Message-ID"] for m in sink.received}) == 3
    with kit.sessions(write=False) as session:
        attempts = session.execute(
            select(func.count()).select_from(tables.delivery_attempts)
        ).scalar_one()
    assert attempts == 3


def test_a_lapsed_claim_is_taken_by_the_next_worker_and_the_late_one_skips_it(
    mkit: CaseKit, clock: Any, sink: SmtpSink
) -> None:
    """Rows of a batch another worker took before they were sent are not sent by the first."""
    ids = queue(mkit, 2)
    first = Worker(mkit)
    rows = first.claim()
    hold = hold_of(first, rows)
    clock.advance(seconds=61)
    other = Worker(mkit)
    assert batch(other).sent == 2
    hold.renew()
    assert not any(hold.keeps(i) for i in ids)
    with mkit.sessions(write=True) as session:  # nothing changed them since
        assert (
            session.execute(
                update(tables.outbox)
                .where(_o.claim_token == rows[0]["claim_token"])
                .values(attempts=9)
            ).rowcount
            == 0
        )
        session.rollback()
    assert len(sink.received) == 2
