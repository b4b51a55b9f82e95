"""The web app the ``load`` scenario serves under gunicorn: casekit-flask as a host mounts it.

``gunicorn 'benchmarks._load_app:create_app()'`` with the environment the
scenario sets: ``CASEKIT_DATABASE_URL`` (the generated set),
``CASEKIT_ATTACHMENT_DIR``, ``CASEKIT_LOAD_STATS`` (a folder) and the rate
limits' settings (``CASEKIT_API_RATE_LIMIT`` and its window, the storage URI
and key prefix). A request
names its user in ``X-Load-User`` (``user_id:org_id``; the host's own login
in a real app) and its kind in ``X-Load-Kind``; the REST API takes its keys
as usual.

Each worker process counts, per kind, the requests it served, the time
from the request's arrival to its response and, of that, the time spent in
the database driver (every statement's execution and fetch, timed around
the cursor): what casekit and Flask add is the difference. It writes them
to ``CASEKIT_LOAD_STATS/<pid>.json`` when it exits.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from sqlalchemy import event

from casekit.domain.actor import Actor, ActorKind
from casekit.kit import CaseKit
from casekit.settings import Settings

_local = threading.local()


def _actor() -> Actor | None:
    raw = request.headers.get("X-Load-User", "")
    user, _, org = raw.partition(":")
    if not (user.isdigit() and org.isdigit()):
        return None
    return Actor(ActorKind.USER, user_id=int(user), org_id=int(org))


def create_app() -> Flask:
    from casekit_flask import CaseKitFlask

    kit = CaseKit(settings=Settings.from_env())
    stats_dir = Path(os.environ["CASEKIT_LOAD_STATS"])
    #: kind -> [requests, request seconds, database seconds]
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])

    @event.listens_for(kit.engine, "before_cursor_execute")
    def _started(*_args: Any) -> None:
        _local.statement = time.perf_counter()

    @event.listens_for(kit.engine, "after_cursor_execute")
    def _ended(*_args: Any) -> None:
        started = getattr(_local, "statement", None)
        if started is not None:
            _local.db = getattr(_local, "db", 0.0) + time.perf_counter() - started
            _local.statement = None

    app = Flask("casekit_load")
    app.config.update(
        SECRET_KEY="casekit-load-benchmark",
        # The load generator posts forms without the token a browser would carry.
        WTF_CSRF_ENABLED=False,
    )
    # The rate limits the scenario sets, and where their counts are kept.
    for name in ("CASEKIT_API_RATE_LIMIT", "CASEKIT_API_RATE_WINDOW"):
        if name in os.environ:
            app.config[name] = int(os.environ[name])
    for name in ("CASEKIT_RATE_LIMIT_STORAGE_URI", "CASEKIT_RATE_LIMIT_KEY_PREFIX"):
        if name in os.environ:
            app.config[name] = os.environ[name]

    @app.before_request
    def _begin() -> None:
        g.load_started = time.perf_counter()
        _local.db = 0.0

    @app.teardown_request
    def _end(_error: BaseException | None) -> None:
        started = g.get("load_started")
        if started is None:
            return
        row = totals[request.headers.get("X-Load-Kind", "other")]
        row[0] += 1
        row[1] += time.perf_counter() - started
        row[2] += getattr(_local, "db", 0.0)

    def _write() -> None:
        if totals:
            (stats_dir / f"{os.getpid()}.json").write_text(json.dumps(dict(totals)))

    atexit.register(_write)
    CaseKitFlask(app, kit=kit, identity_loader=_actor)
    return app
