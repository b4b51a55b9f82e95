"""Real Celery workers: a worker killed mid-task, a broker restart, exactly once at the mail server.

Each test runs ``celery -A casekit_celery.app worker --pool=solo`` processes
(the ready-made app, configured by the environment as a deployment is) on a
PostgreSQL database, against a real broker, mailing a real SMTP server on
loopback that counts each mail by its Message-ID (stable per outbox row: a
notification sent twice would show twice). The server stalls on one DATA
and never answers it: the worker that sent it is killed while it waits, so
that mail was never accepted, and its one delivery must come from another
worker once the dead one's lease lapses.

- RabbitMQ (the machine's, a queue of the test's own): the killed worker's
  task was not acknowledged (``acks_late``), so RabbitMQ hands it to the
  other worker at once; that task finds the row still held by the dead
  worker's lease and sends itself again for when it lapses. Duplicate tasks
  find their rows sent and do nothing.
- Redis (a private ``redis-server`` the test kills and starts again, keeping
  nothing): the killed worker's task and a queued one are lost with the
  broker, a change made while it is down sends no task at all; the periodic
  ``casekit.drain`` (beat, inside the second worker) delivers all three.
  That worker then lives through a broker restart and delivers what comes
  after it.

(The test does not restart RabbitMQ, the machine's shared service; a broker
restart is shown on the Redis the test owns.)
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casekit_celery import CeleryQueue, CelerySettings
from celery_helpers import RedisServer, wait_until
from sqlalchemy import select

from casekit import Actor, CaseKit, Side
from casekit.clock import SystemClock
from casekit.settings import Settings
from casekit.store import tables
from casekit.testing import SmtpSink, World, empty_tables

LEASE = 3  # seconds: CASEKIT_WORKER_LEASE_SECONDS
DESK = "dispatch@fast.test"
#: What a loaded two-core machine may take to start a worker, or to deliver after a wait.
SLACK = 30

_o = tables.outbox.c


class Workers:
    """The Celery worker processes of one test, each logging to its own file."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *, beat: bool = False) -> subprocess.Popen[bytes]:
        command = [
            sys.executable, "-m", "celery", "-A", "casekit_celery.app", "worker",
            "--pool=solo", "--without-mingle", "--without-gossip", "--without-heartbeat",
            "--loglevel=INFO", f"--hostname={name}@casekit-test",
        ]  # fmt: skip
        if beat:
            command += ["--beat", f"--schedule={self.folder / f'{name}-beat'}"]
        with self.log(name).open("wb") as out:
            # A session of its own: the worker and its children (the embedded beat is
            # a child process) die together, as in a container that is killed.
            process = subprocess.Popen(
                command,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        wait_until(
            f"worker {name} ready",
            lambda: " ready." in self.text(name) or process.poll() is not None,
            SLACK,
        )
        assert process.poll() is None, self.text(name)
        return process

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def text(self, name: str) -> str:
        path = self.log(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def results(self, name: str) -> list[str]:
        """What the worker's tasks returned, in order (Celery logs each)."""
        return re.findall(
            r"casekit\.deliver_\w+\[[^\]]+\] succeeded in [^:]+: '([^']*)'", self.text(name)
        )

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL to the worker and its children: no clean-up, no record, no
        acknowledgement."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    running = Workers(tmp_path, {})
    yield running
    running.stop_all()


def worker_env(
    database_url: str, tmp_path: Path, sink: SmtpSink, broker_url: str, queue: str
) -> dict[str, str]:
    return {
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_LOAD_ENTRY_POINTS": "0",
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "CASEKIT_MAIL_FROM": "cases@acme.test",
        "CASEKIT_SMTP_HOST": sink.host,
        "CASEKIT_SMTP_PORT": str(sink.port),
        "CASEKIT_SMTP_TIMEOUT": "120",  # the stall is no timeout: the worker waits
        "CASEKIT_WORKER_LEASE_SECONDS": str(LEASE),
        "CASEKIT_CELERY_BROKER_URL": broker_url,
        "CASEKIT_CELERY_QUEUE": queue,
        "CASEKIT_CELERY_DRAIN_SECONDS": "1",
        "CASEKIT_CELERY_DRAIN_OVERDUE_SECONDS": "2",
        "CASEKIT_CELERY_SWEEP_SECONDS": "0",
        "CASEKIT_CELERY_PUBLISH_PAUSE_SECONDS": "0",
    }


@pytest.fixture
def host(postgres_url: str, tmp_path: Path) -> Iterator[Any]:
    """Makes the test's kit: the host's web process, on the real clock as the
    workers are, sending its tasks with the queue given."""
    made: list[CaseKit] = []

    def make(queue: CeleryQueue) -> tuple[CaseKit, World]:
        kit = CaseKit(
            settings=Settings(
                database_url=postgres_url,
                attachment_dir=tmp_path / "attachments",
                load_entry_points=False,
            ),
            plugins=[queue],
            clock=SystemClock(),
        )
        made.append(kit)
        w = World.build(kit)
        kit.notifications.set_collaborator_address(
            Actor.host(),
            shipper_org_id=w.shipper.id,
            carrier_org_id=w.carrier.id,
            side=Side.CARRIER,
            email=DESK,
        )
        return kit, w

    yield make
    for kit in made:
        empty_tables(kit)
        kit.close()


def open_cases(kit: CaseKit, w: World, count: int) -> list[int]:
    """``count`` cases, each one notification to the carrier's desk; all the ids so far."""
    for i in range(count):
        kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message=f"case {i}")
    return outbox_ids(kit)


def outbox_ids(kit: CaseKit) -> list[int]:
    with kit.sessions(write=False) as session:
        return list(session.execute(select(_o.id).order_by(_o.id)).scalars())


def rows(kit: CaseKit) -> dict[int, tuple[str, int]]:
    with kit.sessions(write=False) as session:
        found = session.execute(select(_o.id, _o.status, _o.attempts)).all()
    return {r.id: (r.status, r.attempts) for r in found}


def recorded(kit: CaseKit) -> bool:
    """Whether every notification's outcome is recorded (the mail server accepts a
    mail a moment before its worker records it)."""
    return {status for status, _attempts in rows(kit).values()} == {"sent"}


def assert_once_each(kit: CaseKit, sink: SmtpSink, count: int) -> None:
    """Every notification accepted by the mail server once, and recorded once."""
    wait_until("the outcomes recorded", lambda: recorded(kit), SLACK)
    ids = sink.message_ids()
    assert len(ids) == count, ids
    assert len(set(ids)) == count, f"a notification was mailed twice: {sorted(ids)}"
    assert sorted(ids) == sorted({str(m["Message-ID"]) for m in sink.received})
    (stalled,) = sink.stalled
    assert ids.count(str(stalled["Message-ID"])) == 1  # sent by another worker, once
    a = tables.delivery_attempts.c
    with kit.sessions(write=False) as session:
        attempts = list(session.execute(select(a.outbox_id, a.ok)))
    assert sorted(r.outbox_id for r in attempts) == outbox_ids(kit)  # one attempt each
    assert all(r.ok for r in attempts)
    assert set(rows(kit).values()) == {("sent", 1)}


def test_on_rabbitmq_a_killed_workers_task_is_redelivered_and_delivered_once(
    host: Any,
    workers: Workers,
    rabbitmq_url: str,
    queue_name: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    queue = CeleryQueue(settings=CelerySettings(broker_url=rabbitmq_url, queue=queue_name))
    with SmtpSink(stall_at=2) as sink:
        kit, w = host(queue)
        workers.env = worker_env(postgres_url, tmp_path, sink, rabbitmq_url, queue_name)
        first = workers.start("first")
        ids = open_cases(kit, w, 4)
        assert queue.sent == 4
        # The first worker mails one, and hangs on the second: its row is held.
        assert sink.stalling.wait(SLACK), workers.text("first")
        assert sink.count() == 1
        assert rows(kit)[ids[1]] == ("sending", 0)
        # Duplicates: of a row sent already, and twice of a row not sent yet.
        assert queue.send("casekit.deliver_notification", ids[0])
        assert queue.send("casekit.deliver_notification", ids[2])
        assert queue.send("casekit.deliver_notification", ids[2])

        workers.start("second")
        wait_until("the second worker's mail", lambda: sink.count() == 3, SLACK)
        assert rows(kit)[ids[1]] == ("sending", 0)  # still held by the first worker's lease
        workers.kill(first)
        wait_until("the killed worker's mail", lambda: sink.count() == 4, LEASE + SLACK)
        # Every task left, redelivered ones included (a task the first worker ran may
        # come again: its acknowledgement died with it), ran on the second worker
        # before a last one sent after the mail: none of them sent anything more.
        last = queue.app.send_task(
            "casekit.deliver_notification", args=(ids[0],), queue=queue_name
        ).id
        wait_until(
            "the second worker's last task",
            lambda: f"[{last}] succeeded" in workers.text("second"),
            SLACK,
        )
        results = workers.results("second")
        assert results.count("sent") == 3, results
        assert [r for r in results if r.startswith("held, again in")], results
        assert {r for r in results if r != "sent" and not r.startswith("held")} == {"done"}
        assert results.count("done") >= 4, results  # the three duplicates, and the last
        assert workers.results("first") == ["sent"]
        assert_once_each(kit, sink, 4)
        queue.close()


def test_on_redis_a_broker_restart_and_a_killed_worker_lose_no_mail_and_send_none_twice(
    host: Any,
    workers: Workers,
    redis_server: RedisServer,
    queue_name: str,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    queue = CeleryQueue(
        settings=CelerySettings(
            broker_url=redis_server.url, queue=queue_name, publish_pause_seconds=0
        )
    )
    with SmtpSink(stall_at=2) as sink:
        kit, w = host(queue)
        workers.env = worker_env(postgres_url, tmp_path, sink, redis_server.url, queue_name)
        first = workers.start("first", beat=True)
        ids = open_cases(kit, w, 3)
        assert sink.stalling.wait(SLACK), workers.text("first")
        assert sink.count() == 1
        workers.kill(first)

        # The broker goes down with both tasks (the one the dead worker held, the one
        # waiting); a change made meanwhile commits, and no task is sent for it.
        redis_server.stop()
        ids = open_cases(kit, w, 1)
        assert (queue.sent, queue.unsent) == (3, 1)
        redis_server.start()
        assert redis_server.length(queue_name) == 0  # it kept nothing

        # The drain, every second from beat, delivers the three: two once overdue,
        # the held one once the dead worker's lease lapsed too.
        workers.start("second", beat=True)
        wait_until("the drain", lambda: sink.count() == 4, LEASE + SLACK)
        wait_until("the drain's records", lambda: recorded(kit), SLACK)
        assert {rows(kit)[i] for i in ids} == {("sent", 1)}

        # The live worker goes through another restart of the broker and delivers
        # the next change's task (or its drain does: either way, once).
        redis_server.stop()
        redis_server.start()
        ids = open_cases(kit, w, 1)
        wait_until("the mail after the restart", lambda: sink.count() == 5, SLACK)
        assert_once_each(kit, sink, 5)
        assert "casekit.drain" in workers.text("second")
        queue.close()
