"""Sending the tasks: one per outbox row, after the commit, to a real Redis.

The tasks are read back from the test's own ``redis-server``, as kombu left
them in the queue's list; nothing consumes them here (the Celery workers'
tests are in ``test_workers.py``).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from casekit_celery import (
    DELIVER_NOTIFICATION,
    DELIVER_WEBHOOK,
    DRAIN,
    SWEEP_RULES,
    CeleryQueue,
    CelerySettings,
    drain,
)
from celery_helpers import RedisServer, TcpProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from casekit import Actor, CaseKit, ConfigurationError, Side, signals
from casekit.clock import FrozenClock
from casekit.store import tables
from casekit.testing import World, make_kit

DESK = "dispatch@fast.test"


def tasks_in(redis_server: RedisServer, queue: str) -> list[tuple[str, list[Any]]]:
    """The (task name, positional arguments) of the messages waiting in ``queue``, oldest first."""
    import redis

    client = redis.Redis(port=redis_server.port)
    try:
        raw = client.lrange(queue, 0, -1)
    finally:
        client.close()
    found = []
    for item in reversed(raw):  # kombu pushes on the left
        message = json.loads(item)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        found.append((message["headers"]["task"], args))
    return found


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Clock:
    return Clock()


@pytest.fixture
def queue(redis_server: RedisServer, queue_name: str, ticks: Clock) -> Iterator[CeleryQueue]:
    made = CeleryQueue(
        settings=CelerySettings(
            broker_url=redis_server.url, queue=queue_name, publish_pause_seconds=30
        ),
        monotonic=ticks,
    )
    yield made
    made.close()


@pytest.fixture
def kit(tmp_path: Path, queue: CeleryQueue, casekit_clock: FrozenClock) -> Iterator[CaseKit]:
    made = make_kit(
        f"sqlite:///{tmp_path / 'casekit.sqlite3'}",
        attachment_dir=tmp_path / "attachments",
        clock=casekit_clock,
        plugins=[queue],
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
    )
    yield made
    made.close()


def world(kit: CaseKit) -> World:
    w = World.build(kit)
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.CARRIER,
        email=DESK,
    )
    return w


def ids_of(kit: CaseKit, table: Any) -> list[int]:
    with kit.sessions(write=False) as session:
        return list(session.execute(select(table.c.id).order_by(table.c.id)).scalars())


def test_each_row_a_change_writes_is_one_task_with_its_id(
    kit: CaseKit, queue: CeleryQueue, redis_server: RedisServer, queue_name: str
) -> None:
    w = world(kit)
    kit.webhooks.subscribe(
        w.carrier_manager_actor, url="http://127.0.0.1:9/hook", events=["case_opened"]
    )
    kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Gone")
    mails, hooks = ids_of(kit, tables.outbox), ids_of(kit, tables.webhook_outbox)
    assert mails
    assert hooks
    sent = tasks_in(redis_server, queue_name)
    assert sorted(sent) == sorted(
        [(DELIVER_NOTIFICATION, [i]) for i in mails] + [(DELIVER_WEBHOOK, [i]) for i in hooks]
    )
    assert queue.sent == len(sent)


def test_a_host_transaction_sends_its_tasks_when_it_commits_and_none_when_it_rolls_back(
    kit: CaseKit, redis_server: RedisServer, queue_name: str
) -> None:
    w = world(kit)
    with Session(kit.engine) as session:
        kit.bind(session).cases.open(
            w.shipper_actor, type="lost", carrier=w.carrier.id, message="Rolled back"
        )
        assert tasks_in(redis_server, queue_name) == []
        session.rollback()
    assert tasks_in(redis_server, queue_name) == []
    assert ids_of(kit, tables.outbox) == []
    with Session(kit.engine) as session:
        kit.bind(session).cases.open(
            w.shipper_actor, type="lost", carrier=w.carrier.id, message="Committed"
        )
        assert tasks_in(redis_server, queue_name) == []  # not before the host's commit
        session.commit()
    assert tasks_in(redis_server, queue_name) == [
        (DELIVER_NOTIFICATION, [i]) for i in ids_of(kit, tables.outbox)
    ]


def test_with_the_broker_away_the_change_commits_and_its_rows_wait_for_the_drain(
    kit: CaseKit,
    queue: CeleryQueue,
    redis_server: RedisServer,
    queue_name: str,
    ticks: Clock,
    casekit_clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = world(kit)
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="casekit_celery"):
        first = kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="1")
        kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="2")
    assert first.number  # the changes committed
    assert len(ids_of(kit, tables.outbox)) == 2
    # One refusal, then the pause: the second row is not even tried.
    assert (queue.sent, queue.unsent) == (0, 2)
    [warning] = [r for r in caplog.records if r.name.startswith("casekit_celery")]
    assert "stays queued for casekit.drain" in warning.getMessage()
    redis_server.start()  # back, empty
    kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="3")
    assert queue.unsent == 3  # still paused
    ticks.now += 30
    kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="4")
    ids = ids_of(kit, tables.outbox)
    assert tasks_in(redis_server, queue_name) == [(DELIVER_NOTIFICATION, [ids[-1]])]
    # Nothing was lost: the rows no task was sent for are the drain's.
    with kit.sessions(write=False) as session:
        o = tables.outbox.c
        waiting = set(session.execute(select(o.id).where(o.status == "queued")).scalars())
    assert waiting == set(ids)
    casekit_clock.advance(seconds=60)
    assert drain(kit, overdue=timedelta(seconds=30), max_batches=5).claimed == 4


def test_a_restarted_broker_takes_the_next_task_without_a_pause(
    kit: CaseKit, queue: CeleryQueue, redis_server: RedisServer, queue_name: str
) -> None:
    w = world(kit)
    kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="1")
    redis_server.stop()
    redis_server.start()  # back, without the first task
    kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="2")
    assert (queue.sent, queue.unsent) == (2, 0)
    assert tasks_in(redis_server, queue_name) == [
        (DELIVER_NOTIFICATION, [ids_of(kit, tables.outbox)[-1]])
    ]


@pytest.mark.parametrize("latency", [0.0, 0.05], ids=["loopback", "slow-network"])
def test_a_kept_connection_the_network_dropped_is_replaced_at_once(
    rabbitmq_url: str, queue_name: str, latency: float
) -> None:
    """RabbitMQ through a proxy that cuts the connection the queue keeps: the next
    task goes out on a new one, with no pause. On a slow network the first task
    is still on its way when the cut comes: it counts as sent only once the
    broker confirmed it, and the second, written into the dropped connection,
    is sent again on a new one."""
    from kombu import Connection

    rabbit = Connection(rabbitmq_url)
    proxy = TcpProxy((rabbit.hostname, rabbit.port or 5672), latency=latency)
    url = rabbitmq_url.replace(f":{rabbit.port or 5672}", f":{proxy.port}", 1)
    queue = CeleryQueue(settings=CelerySettings(broker_url=url, queue=queue_name))
    try:
        assert queue.send(DELIVER_NOTIFICATION, 1)
        proxy.cut()
        assert queue.send(DELIVER_NOTIFICATION, 2)
        assert (queue.sent, queue.unsent) == (2, 0)
        with Connection(rabbitmq_url) as conn:
            channel = conn.default_channel

            def waiting() -> int:
                return int(channel.queue_declare(queue_name, passive=True).message_count)

            # Confirmed, so in the queue: the broker counts both at once.
            assert waiting() == 2
    finally:
        queue.close()
        proxy.close()


def test_two_queues_on_one_kit_send_each_task_once(
    tmp_path: Path, queue: CeleryQueue, redis_server: RedisServer, queue_name: str
) -> None:
    other = CeleryQueue(settings=CelerySettings(broker_url=redis_server.url, queue=queue_name))
    made = make_kit(
        f"sqlite:///{tmp_path / 'two.sqlite3'}",
        attachment_dir=tmp_path / "attachments",
        plugins=[other, queue],
    )
    try:
        w = world(made)
        made.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Once")
        assert len(tasks_in(redis_server, queue_name)) == 1
        # The one given last is asked first: it took the kit.
        assert (queue.sent, other.sent) == (1, 0)
    finally:
        made.close()
        other.close()


def test_a_queue_without_a_broker_or_an_app_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEKIT_CELERY_BROKER_URL", raising=False)
    idle = CeleryQueue()
    assert not idle.active
    made = make_kit(
        f"sqlite:///{tmp_path / 'idle.sqlite3'}",
        attachment_dir=tmp_path / "attachments",
        plugins=[idle],
    )
    try:
        receivers = list(signals.notification_queued.receivers_for(made))
        assert idle._notification_queued not in receivers
        with pytest.raises(ConfigurationError, match="CASEKIT_CELERY_BROKER_URL"):
            idle.app  # noqa: B018
    finally:
        made.close()


def test_the_settings_come_from_the_environment_and_a_bad_one_is_named() -> None:
    settings = CelerySettings.from_env(
        {
            "CASEKIT_CELERY_BROKER_URL": " amqp://guest:guest@127.0.0.1:5672// ",
            "CASEKIT_CELERY_QUEUE": "cases",
            "CASEKIT_CELERY_DRAIN_SECONDS": "15",
            "CASEKIT_CELERY_DRAIN_BATCHES": "3",
            "CASEKIT_CELERY_SWEEP_SECONDS": "0",
        }
    )
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672//"
    assert (settings.queue, settings.drain_seconds, settings.drain_batches) == ("cases", 15, 3)
    with pytest.raises(ConfigurationError, match="CASEKIT_CELERY_DRAIN_BATCHES: not a whole"):
        CelerySettings.from_env({"CASEKIT_CELERY_DRAIN_BATCHES": "2.5"})
    with pytest.raises(ConfigurationError, match="CASEKIT_CELERY_DRAIN_SECONDS: more than 0"):
        CelerySettings.from_env({"CASEKIT_CELERY_DRAIN_SECONDS": "0"})
    with pytest.raises(ConfigurationError, match="CASEKIT_CELERY_SWEEP_SECONDS: at least 0"):
        CelerySettings.from_env({"CASEKIT_CELERY_SWEEP_SECONDS": "-1"})


def test_beat_sends_the_drain_and_the_sweep_each_expiring_after_its_period() -> None:
    queue = CeleryQueue(
        settings=CelerySettings(broker_url="redis://127.0.0.1:1/0", queue="cases", drain_seconds=20)
    )
    schedule = queue.beat_schedule()
    assert schedule == {
        "casekit-drain": {
            "task": DRAIN,
            "schedule": 20,
            "options": {"queue": "cases", "expires": 20},
        },
        "casekit-sweep-rules": {
            "task": SWEEP_RULES,
            "schedule": 300,
            "options": {"queue": "cases", "expires": 300},
        },
    }
    no_sweep = CeleryQueue(settings=CelerySettings(broker_url="redis://x/0", sweep_seconds=0))
    assert list(no_sweep.beat_schedule()) == ["casekit-drain"]
    queue.register_tasks(lambda: None)  # type: ignore[arg-type,return-value]
    assert {DELIVER_NOTIFICATION, DELIVER_WEBHOOK, DRAIN, SWEEP_RULES} <= set(queue.app.tasks)
    task = queue.app.tasks[DELIVER_NOTIFICATION]
    assert (task.acks_late, task.reject_on_worker_lost, task.ignore_result) == (True, True, True)
