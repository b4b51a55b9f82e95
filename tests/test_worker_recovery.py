"""A worker killed mid-batch: its notifications are delivered within the lease, none twice.

Two ``casekit worker`` processes share the outbox on a server database and
mail a real SMTP server on loopback that stalls on one DATA: it never
answers the first worker's third mail. The first worker holds its batch
while it waits, its heartbeat renewing the lease, and the second worker
(running beside it, polling every second) leaves that batch alone for
twice the lease. Then the first worker is killed with SIGKILL, and the
second must deliver what the first left within the lease plus its poll.

"Exactly once" here is: the server accepted each notification once. The
stalled mail was never accepted (the server answered nothing before the
kill), so its one delivery is the second worker's; the mails the first
worker had delivered before it were accepted and recorded before it
moved on (an outcome is recorded before the next delivery), so they are
not sent again. Only a mail accepted by the server whose outcome the
killed worker had not yet recorded may be sent twice; the stall on DATA
leaves no such mail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from casekit import Actor, CaseKit, Side
from casekit.clock import SystemClock
from casekit.settings import Settings
from casekit.store import tables
from casekit.testing import SmtpSink, World

LEASE = 3  # seconds: worker_lease_seconds of both workers
POLL = 1  # seconds: worker_poll_seconds
BATCH = 5
NOTIFICATIONS = 10
STALL_AT = 3  # the first worker's third mail
DESK = "dispatch@fast.test"
#: What a loaded two-core machine may add to the bound: starting a statement,
#: rendering and sending three mails.
SLACK = 5.0

_o = tables.outbox.c


@pytest.fixture
def stalling() -> Iterator[SmtpSink]:
    with SmtpSink(stall_at=STALL_AT) as sink:
        yield sink


def wait_until(what: str, done: Any, timeout: float) -> float:
    """Poll ``done()`` every 50 ms; the time it became true, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return time.time()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from casekit.cli import main; main()", "worker"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def outbox(kit: CaseKit) -> dict[int, Any]:
    with kit.sessions(write=False) as session:
        rows = session.execute(
            select(_o.id, _o.status, _o.claim_token, _o.next_attempt_at, _o.attempts)
        ).all()
    return {r.id: r for r in rows}


def attempts(kit: CaseKit) -> list[Any]:
    a = tables.delivery_attempts.c
    with kit.sessions(write=False) as session:
        return list(session.execute(select(a.outbox_id, a.attempted_at, a.ok).order_by(a.id)))


@pytest.mark.backends("postgresql", "mysql")
def test_a_worker_killed_mid_batch_leaves_its_mail_to_another_within_the_lease_none_twice(
    database_url: str, kit: CaseKit, tmp_path: Path, stalling: SmtpSink
) -> None:
    # The test's own kit runs on the real clock, as the worker processes do.
    here = CaseKit(
        settings=Settings(
            database_url=database_url,
            attachment_dir=tmp_path / "attachments",
            load_entry_points=False,
        ),
        clock=SystemClock(),
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        w = World.build(here)
        here.notifications.set_collaborator_address(
            Actor.host(),
            shipper_org_id=w.shipper.id,
            carrier_org_id=w.carrier.id,
            side=Side.CARRIER,
            email=DESK,
        )
        numbers = {
            here.cases.open(
                w.shipper_actor, type="lost", carrier=w.carrier.id, message=f"case {i}"
            ).number
            for i in range(NOTIFICATIONS)
        }
        ids = sorted(outbox(here))
        assert len(ids) == NOTIFICATIONS
        env = {
            "CASEKIT_DATABASE_URL": database_url,
            "CASEKIT_LOAD_ENTRY_POINTS": "0",
            "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "attachments"),
            "CASEKIT_MAIL_FROM": "cases@acme.test",
            "CASEKIT_SMTP_HOST": "127.0.0.1",
            "CASEKIT_SMTP_PORT": str(stalling.port),
            "CASEKIT_SMTP_TIMEOUT": "120",  # the stall is no timeout: the worker waits
            "CASEKIT_WORKER_LEASE_SECONDS": str(LEASE),
            "CASEKIT_WORKER_POLL_SECONDS": str(POLL),
            "CASEKIT_WORKER_BATCH_SIZE": str(BATCH),
        }

        # The first worker claims the first batch, delivers two, and hangs on the third.
        first = start_worker(env, tmp_path / "first.log")
        processes.append(first)
        assert stalling.stalling.wait(30), "the first worker never reached the stalled mail"
        stalled_at = time.time()
        assert stalling.count() == STALL_AT - 1
        held = ids[STALL_AT - 1 : BATCH]  # the stalled mail and the two after it
        state = outbox(here)
        token = state[held[0]].claim_token
        assert token is not None
        assert {(state[i].status, state[i].claim_token) for i in held} == {("sending", token)}
        assert {state[i].status for i in ids[: STALL_AT - 1]} == {"sent"}

        # The second worker runs beside it: it takes the other batch, not the held one.
        second = start_worker(env, tmp_path / "second.log")
        processes.append(second)
        wait_until("the second worker's batch", lambda: stalling.count() == NOTIFICATIONS - 3, 30)
        # Twice the lease after the stall began, the first worker's claim still holds:
        # its heartbeat renewed it while the one delivery blocked.
        time.sleep(max(0.0, stalled_at + 2 * LEASE + 0.5 - time.time()))
        checked = datetime.now(UTC)
        state = outbox(here)
        for i in held:
            assert (state[i].status, state[i].claim_token, state[i].attempts) == (
                "sending",
                token,
                0,
            )
            assert state[i].next_attempt_at > checked, "the lease was not renewed"
        assert first.poll() is None
        assert stalling.count() == NOTIFICATIONS - 3  # nothing of the held batch went out

        # SIGKILL: no clean-up, no last record.
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.time()
        done_at = wait_until(
            "the killed worker's mail", lambda: stalling.count() == NOTIFICATIONS, LEASE + 30
        )
        assert done_at - killed_at <= LEASE + POLL + SLACK, (
            f"delivered {done_at - killed_at:.1f} s after the kill; the bound is "
            f"{LEASE} s lease + {POLL} s poll"
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp_path / "second.log").read_text()

        # Each notification was accepted once, the stalled one from the second worker.
        accepted = stalling.received
        assert len(accepted) == NOTIFICATIONS
        assert {m["X-Casekit-Case"] for m in accepted} == numbers
        assert len({m["Message-ID"] for m in accepted}) == NOTIFICATIONS
        (stalled,) = stalling.stalled
        again = [m for m in accepted if m["Message-ID"] == stalled["Message-ID"]]
        assert len(again) == 1
        assert again[0]["X-Casekit-Case"] == stalled["X-Casekit-Case"]
        # ... and recorded once: one attempt each, the held ones the second worker's,
        # made after the kill.
        state = outbox(here)
        assert {(r.status, r.attempts, r.claim_token) for r in state.values()} == {
            ("sent", 1, None)
        }
        log = attempts(here)
        assert sorted(a.outbox_id for a in log) == ids
        assert all(a.ok for a in log)
        for a in log:
            if a.outbox_id in held:
                assert a.attempted_at.timestamp() >= killed_at - 0.5
                assert a.attempted_at.timestamp() <= killed_at + LEASE + POLL + SLACK
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        here.close()
