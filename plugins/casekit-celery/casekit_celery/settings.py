"""casekit-celery's settings: ``CASEKIT_CELERY_*`` environment variables, or given in code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs
from attrs import frozen

from casekit import ConfigurationError

__all__ = ["PREFIX", "CelerySettings"]

PREFIX = "CASEKIT_CELERY_"


def _not_negative(_instance: Any, attribute: Any, value: float) -> None:
    if value < 0:
        raise ConfigurationError(f"{PREFIX}{attribute.name.upper()}: at least 0, not {value}")


def _positive(_instance: Any, attribute: Any, value: float) -> None:
    if value <= 0:
        raise ConfigurationError(f"{PREFIX}{attribute.name.upper()}: more than 0, not {value}")


@frozen(kw_only=True)
class CelerySettings:
    """How casekit works on Celery.

    :param broker_url: the broker of the app casekit-celery makes
        (``redis://127.0.0.1:6379/0``, ``amqp://guest:guest@127.0.0.1:5672//``).
        Unset, and with no Celery app given to
        :class:`~casekit_celery.CeleryQueue`, the plugin does nothing: the
        built-in worker (``casekit worker``) delivers.
    :param queue: the queue of casekit's tasks; empty: the app's routing
        (``task_routes``, else its default queue). The app casekit-celery
        makes uses ``casekit`` by default.
    :param drain_seconds: how often beat sends ``casekit.drain``.
    :param drain_overdue_seconds: ``casekit.drain`` takes the rows due for at
        least this long: those no task delivered (sent while the broker was
        away, lost with a broker that restarted, or waiting longer than
        ``max_countdown_seconds``). The rows just queued are their tasks'.
    :param drain_batches: at most this many batches (``worker_batch_size``
        rows each) per ``casekit.drain``.
    :param sweep_seconds: how often beat sends ``casekit.sweep_rules``; 0
        schedules no sweep.
    :param max_countdown_seconds: a task that finds its row not yet due (a
        retry's backoff, or another worker's claim) sends itself again for
        that time when it is at most this long; a longer wait is left to
        ``casekit.drain``.
    :param publish_pause_seconds: after the broker refused a task, send none
        for this long (a web request does not wait on an absent broker once
        per notification); the rows queued meanwhile are left to
        ``casekit.drain``.
    :param confirm_seconds: on RabbitMQ, how long sending a task waits for
        the broker to confirm that it holds it (publisher confirms). A task
        is counted sent only once confirmed: one written into a connection
        the network had dropped is sent again on a new one, and one not
        confirmed in time counts as refused (its row is the drain's).
        Redis answers every push, so there sending waits for that answer.
    """

    broker_url: str = ""
    queue: str = ""
    drain_seconds: float = attrs.field(default=60.0, validator=_positive)
    drain_overdue_seconds: float = attrs.field(default=30.0, validator=_not_negative)
    drain_batches: int = attrs.field(default=20, validator=_positive)
    sweep_seconds: float = attrs.field(default=300.0, validator=_not_negative)
    max_countdown_seconds: float = attrs.field(default=600.0, validator=_not_negative)
    publish_pause_seconds: float = attrs.field(default=5.0, validator=_not_negative)
    confirm_seconds: float = attrs.field(default=5.0, validator=_positive)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CelerySettings:
        """The settings from ``CASEKIT_CELERY_*`` variables; a bad value is a
        :class:`~casekit.ConfigurationError` naming its variable."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            key = PREFIX + field.name.upper()
            raw = source.get(key)
            if raw is None:
                continue
            if field.type in ("str", str):
                values[field.name] = raw.strip()
                continue
            kind = int if field.type in ("int", int) else float
            try:
                values[field.name] = kind(raw)
            except ValueError:
                raise ConfigurationError(
                    f"{key}: not a {'whole ' if kind is int else ''}number: {raw!r}"
                ) from None
        return cls(**values)
