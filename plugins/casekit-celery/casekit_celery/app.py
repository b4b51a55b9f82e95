"""The ready-made Celery app: ``celery -A casekit_celery.app worker --beat``.

Everything comes from the environment: the broker from
``CASEKIT_CELERY_BROKER_URL`` (and the other ``CASEKIT_CELERY_*``
variables), the kit the tasks work with from the ``CASEKIT_*`` settings
(``CASEKIT_DATABASE_URL``, ``CASEKIT_SMTP_HOST``, ...) and the plugins
installed, as for ``casekit worker``. The kit is made in each worker
process at its first task. Beat's schedule is
:meth:`~casekit_celery.CeleryQueue.beat_schedule`.
"""

from __future__ import annotations

from casekit import CaseKit
from casekit_celery.queue import CeleryQueue

__all__ = ["app", "queue"]

#: The queue whose app this is; the kits made here send their tasks with it.
queue = CeleryQueue()
app = queue.app
queue.register_tasks(lambda: CaseKit(plugins=[queue]))
app.conf.beat_schedule = queue.beat_schedule()
