"""The plugin: one Celery task per outbox row, sent after the change commits.

:class:`CeleryQueue` connects, when a kit is ready, receivers of the
``notification_queued`` and ``webhook_queued`` signals of that kit: casekit
sends them once the change (and the host's transaction, for a bound kit) has
committed, so a task never arrives before its row. Each receiver sends
``casekit.deliver_notification(row_id)`` or ``casekit.deliver_webhook(row_id)``.
A broker that refuses a task costs nothing but time: the row stays
``queued`` in the outbox and ``casekit.drain`` (or the built-in worker)
delivers it later.

:meth:`CeleryQueue.register_tasks` puts casekit's tasks on the Celery app the
workers run, and :meth:`CeleryQueue.beat_schedule` is their periodic part.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from casekit import CaseKit, ConfigurationError, hookimpl, signals
from casekit_celery.settings import CelerySettings

if TYPE_CHECKING:
    from celery import Celery

__all__ = [
    "DELIVER_NOTIFICATION",
    "DELIVER_WEBHOOK",
    "DRAIN",
    "SWEEP_RULES",
    "CeleryQueue",
    "make_app",
]

log = logging.getLogger(__name__)

DELIVER_NOTIFICATION = "casekit.deliver_notification"
DELIVER_WEBHOOK = "casekit.deliver_webhook"
DRAIN = "casekit.drain"
SWEEP_RULES = "casekit.sweep_rules"

#: The queue of the app :func:`make_app` makes, unless ``CASEKIT_CELERY_QUEUE`` names another.
DEFAULT_QUEUE = "casekit"

#: The options of every casekit task: acknowledged once it ran, so a task whose
#: worker died is delivered again (the row's state makes that harmless); no
#: results are kept.
TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}

#: The kits whose signals a queue sends tasks for: the first active queue made
#: ready with a kit takes it, so two of them (the host's own and the one the
#: entry point registers) never send a task twice.
_TAKEN: weakref.WeakKeyDictionary[CaseKit, CeleryQueue] = weakref.WeakKeyDictionary()
_TAKEN_LOCK = threading.Lock()


def make_app(settings: CelerySettings) -> Celery:
    """A Celery app on ``settings.broker_url``, configured for casekit's tasks."""
    from celery import Celery

    if not settings.broker_url:
        raise ConfigurationError(
            "CASEKIT_CELERY_BROKER_URL is not set: name the broker "
            "(redis://... or amqp://...), or give CeleryQueue the host's Celery app"
        )
    app = Celery("casekit", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.queue or DEFAULT_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        # One task at a time per process: a long delivery holds back no other.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        enable_utc=True,
        timezone="UTC",
    )
    return app


class CeleryQueue:
    """Hands casekit's outbox deliveries and rule sweeps to Celery.

    ::

        queue = CeleryQueue(celery_app)             # the host's app (or none: the
        kit = CaseKit(plugins=[queue])              # CASEKIT_CELERY_BROKER_URL one)
        queue.register_tasks(kit)                   # where the workers import it
        celery_app.conf.beat_schedule.update(queue.beat_schedule())

    ``app`` is the host's Celery app; without one, the queue makes its own
    from ``settings.broker_url`` (:func:`make_app`), and with neither it is
    inactive: it sends nothing, and the built-in worker delivers.
    ``settings`` default to the ``CASEKIT_CELERY_*`` environment variables,
    read when first needed.
    """

    def __init__(
        self,
        app: Celery | None = None,
        *,
        settings: CelerySettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._settings = settings
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._connection: Any = None
        self._kit: CaseKit | None = None
        self._kit_source: CaseKit | Callable[[], CaseKit] | None = None
        #: Tasks sent, and tasks the broker refused or the pause held back.
        self.sent = 0
        self.unsent = 0

    # -- configuration --------------------------------------------------------------------
    @property
    def settings(self) -> CelerySettings:
        if self._settings is None:
            self._settings = CelerySettings.from_env()
        return self._settings

    @property
    def active(self) -> bool:
        """Whether this queue sends tasks: it has an app, or a broker to make one for."""
        return self._app is not None or bool(self.settings.broker_url)

    @property
    def app(self) -> Celery:
        """The Celery app tasks are sent with and registered on."""
        if self._app is None:
            self._app = make_app(self.settings)
        return self._app

    # -- the hook -------------------------------------------------------------------------
    @hookimpl
    def casekit_kit_ready(self, kit: CaseKit) -> None:
        if not self.active:
            return
        with _TAKEN_LOCK:
            if kit in _TAKEN:
                return
            _TAKEN[kit] = self
        signals.notification_queued.connect(self._notification_queued, sender=kit, weak=False)
        signals.webhook_queued.connect(self._webhook_queued, sender=kit, weak=False)

    def _notification_queued(self, sender: Any, *, notification: Any, **extra: Any) -> None:
        if notification.id is not None:
            self.send(DELIVER_NOTIFICATION, notification.id)

    def _webhook_queued(self, sender: Any, *, delivery: Any, **extra: Any) -> None:
        self.send(DELIVER_WEBHOOK, delivery.id)

    # -- sending --------------------------------------------------------------------------
    def send(self, name: str, row_id: int, *, countdown: float | None = None) -> bool:
        """Send task ``name`` for outbox row ``row_id``; whether the broker took it
        (on RabbitMQ: confirmed it).

        Tasks go out on a connection of the queue's own that tries the
        broker once (and once more on a new connection when a kept one
        fails): a broker that refuses it (or is away) pauses sending for
        ``publish_pause_seconds``, so that the rest of a change's rows do not
        wait on it one by one; the rows stay queued for ``casekit.drain``.
        """
        with self._lock:
            if self._monotonic() < self._paused_until:
                self.unsent += 1
                return False
            error: Exception | None = None
            for _ in range(2):
                kept = self._connection is not None
                try:
                    self.app.send_task(
                        name,
                        args=(row_id,),
                        countdown=countdown,
                        queue=self.settings.queue or None,
                        connection=self._connected(),
                        retry=False,
                        ignore_result=True,
                        confirm_timeout=self.settings.confirm_seconds,
                    )
                except Exception as failed:
                    error = failed
                    self._disconnect()
                    if kept:
                        continue  # the broker may have restarted: once more, anew
                    break
                self.sent += 1
                return True
            self._paused_until = self._monotonic() + self.settings.publish_pause_seconds
            self.unsent += 1
        log.warning(
            "casekit: the broker did not take %s for outbox row %s (%s: %s); it stays "
            "queued for casekit.drain, and no task is sent for %.0f s",
            name,
            row_id,
            type(error).__name__,
            error,
            self.settings.publish_pause_seconds,
        )
        return False

    def _connected(self) -> Any:
        if self._connection is None:
            # One try per connection: the pause, not a retry loop, waits for the
            # broker. On AMQP a publish is confirmed by the broker before it
            # counts as sent: a write into a connection the network dropped
            # succeeds locally, and without the confirm the task would be lost.
            self._connection = self.app.connection_for_write(
                transport_options={"max_retries": 0, "confirm_publish": True}
            )
        return self._connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                log.debug("casekit: closing the broker connection failed", exc_info=True)

    def close(self) -> None:
        """Close the connection tasks are sent on (the next task opens another)."""
        with self._lock:
            self._disconnect()

    # -- the workers' side ----------------------------------------------------------------
    def register_tasks(self, kit: CaseKit | Callable[[], CaseKit]) -> None:
        """Register ``casekit.deliver_notification``, ``casekit.deliver_webhook``,
        ``casekit.drain`` and ``casekit.sweep_rules`` on :attr:`app`.

        ``kit`` is the kit the tasks work with, or a function that makes it
        (called once per worker process, at its first task). A kit made
        before a prefork pool forks has its connection pool dropped in each
        child, which opens its own.
        """
        from celery.signals import worker_process_init

        self._kit_source = kit
        worker_process_init.connect(self._forked, weak=False)
        queue = self

        def deliver_notification(task: Any, row_id: int) -> str:
            return queue._deliver(task, "mail", row_id)

        def deliver_webhook(task: Any, row_id: int) -> str:
            return queue._deliver(task, "webhook", row_id)

        def drain() -> dict[str, int]:
            from casekit_celery.delivery import drain as drain_outbox

            s = queue.settings
            result = drain_outbox(
                queue.kit(),
                overdue=timedelta(seconds=s.drain_overdue_seconds),
                max_batches=s.drain_batches,
            )
            return {"claimed": result.claimed, "sent": result.sent, "retried": result.retried}

        def sweep_rules() -> dict[str, int]:
            from casekit_celery.delivery import sweep_rules as sweep

            return sweep(queue.kit())

        task = self.app.task
        task(name=DELIVER_NOTIFICATION, bind=True, **TASK_OPTIONS)(deliver_notification)
        task(name=DELIVER_WEBHOOK, bind=True, **TASK_OPTIONS)(deliver_webhook)
        task(name=DRAIN, **TASK_OPTIONS)(drain)
        task(name=SWEEP_RULES, **TASK_OPTIONS)(sweep_rules)

    def kit(self) -> CaseKit:
        """The kit the tasks work with in this process (see :meth:`register_tasks`)."""
        with self._lock:
            if self._kit is None:
                source = self._kit_source
                if source is None:
                    raise ConfigurationError(
                        "casekit's tasks have no kit: call CeleryQueue.register_tasks(kit) "
                        "where the Celery workers import the app"
                    )
                self._kit = source if isinstance(source, CaseKit) else source()
            return self._kit

    def _forked(self, **_: Any) -> None:
        # The parent's connections are the parent's: this child opens its own.
        self._connection = None
        if isinstance(self._kit_source, CaseKit):
            self._kit_source.engine.dispose(close=False)

    def _deliver(self, task: Any, channel: str, row_id: int) -> str:
        from casekit_celery.delivery import deliver

        outcome = deliver(self.kit(), channel, row_id)
        if outcome.wait is None:
            return outcome.status
        if outcome.wait > self.settings.max_countdown_seconds:
            log.info(
                "casekit: %s %s is due in %.0f s: left to casekit.drain",
                channel,
                row_id,
                outcome.wait,
            )
            return outcome.status
        self.send(task.name, row_id, countdown=outcome.wait)
        return f"{outcome.status}, again in {outcome.wait:.0f} s"

    def beat_schedule(self) -> dict[str, dict[str, Any]]:
        """The periodic tasks, for ``app.conf.beat_schedule``: ``casekit.drain``
        every ``drain_seconds``, ``casekit.sweep_rules`` every ``sweep_seconds``
        (none when 0). Each expires after its period: while no worker runs, beat
        does not pile them up."""
        s = self.settings
        options: dict[str, Any] = {"queue": s.queue} if s.queue else {}
        schedule = {
            "casekit-drain": {
                "task": DRAIN,
                "schedule": s.drain_seconds,
                "options": {**options, "expires": s.drain_seconds},
            }
        }
        if s.sweep_seconds:
            schedule["casekit-sweep-rules"] = {
                "task": SWEEP_RULES,
                "schedule": s.sweep_seconds,
                "options": {**options, "expires": s.sweep_seconds},
            }
        return schedule
