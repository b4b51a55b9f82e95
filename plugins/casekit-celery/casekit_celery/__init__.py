"""casekit-celery: casekit's deliveries and rule sweeps as Celery tasks.

With ``CASEKIT_CELERY_BROKER_URL`` set (or a :class:`CeleryQueue` given the
host's Celery app), every notification and webhook request a change writes to
the outbox is handed to Celery after the change commits, one task per row
carrying only the row's id:

- ``casekit.deliver_notification(row_id)`` and ``casekit.deliver_webhook(row_id)``
  claim that row as the built-in worker claims its batches, deliver it and
  record the outcome by compare-and-set; the row's state decides, so a task
  sent twice or redelivered after its worker died never delivers twice;
- ``casekit.drain()`` (periodic, by beat) delivers what no task did: rows
  queued while the broker was away or lost with it;
- ``casekit.sweep_rules()`` (periodic) is ``kit.rules.sweep()``.

Unconfigured, the plugin does nothing and ``casekit worker`` delivers.
"""

from __future__ import annotations

from casekit_celery.delivery import Outcome, deliver, drain, sweep_rules
from casekit_celery.queue import (
    DELIVER_NOTIFICATION,
    DELIVER_WEBHOOK,
    DRAIN,
    SWEEP_RULES,
    CeleryQueue,
    make_app,
)
from casekit_celery.settings import CelerySettings

__version__ = "0.1.0"

__all__ = [
    "DELIVER_NOTIFICATION",
    "DELIVER_WEBHOOK",
    "DRAIN",
    "SWEEP_RULES",
    "CeleryQueue",
    "CelerySettings",
    "Outcome",
    "deliver",
    "drain",
    "make_app",
    "plugin",
    "sweep_rules",
]

#: The instance the ``casekit`` entry point registers: active when
#: ``CASEKIT_CELERY_BROKER_URL`` is set, with the app :func:`make_app` makes.
plugin = CeleryQueue()
