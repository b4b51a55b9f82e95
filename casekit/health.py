"""Is this casekit fit to serve? The checks a load balancer or an orchestrator asks for.

:func:`check_health` (``kit.health()``) answers with three checks, each a
cheap query: the **database** answers, its **schema** is at this casekit's
newest migration (or newer: a newer casekit of a rolling deploy migrated
it), and the **outbox** has no notification or webhook request that has
waited for a worker longer than ``health_max_outbox_lag_seconds``.
casekit-flask serves it at ``/casekit/health``; ``casekit health`` prints it
and exits 1 when a check fails.

:func:`outbox_stats` reads the outbox's depth and age by channel, for the
health check and for :mod:`casekit.metrics`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alembic.migration import MigrationContext
from attrs import frozen
from sqlalchemy import Connection, case, func, literal, select, union_all
from sqlalchemy.exc import SQLAlchemyError

from casekit.services.outbox import QUEUED, SENDING
from casekit.store import migrate, tables

if TYPE_CHECKING:
    from casekit.kit import CaseKit

log = logging.getLogger(__name__)

__all__ = [
    "CHANNELS",
    "Health",
    "HealthCheck",
    "OutboxStats",
    "check_health",
    "outbox_due_since",
    "outbox_stats",
]

#: The outboxes a worker drains, by channel: notifications by mail, webhook requests.
CHANNELS: Mapping[str, Any] = {"mail": tables.outbox, "webhook": tables.webhook_outbox}


@frozen
class HealthCheck:
    """One check: its name, whether it passed, and a line saying what it found."""

    name: str
    ok: bool
    detail: str


@frozen
class Health:
    """The checks of :func:`check_health`; healthy when every one passed."""

    checks: tuple[HealthCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the checks that failed."""
        return tuple(check.name for check in self.checks if not check.ok)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the health endpoint: ``status``, ``failed`` and each check."""
        return {
            "status": "ok" if self.ok else "unhealthy",
            "failed": list(self.failed),
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


@frozen
class OutboxStats:
    """One channel's outbox: the rows waiting or being sent, the oldest's creation, and
    the earliest time a row was due that no worker has delivered yet (None: none due)."""

    depth: int
    oldest_created_at: datetime | None
    oldest_due_at: datetime | None


def outbox_stats(conn: Connection, now: datetime) -> dict[str, OutboxStats]:
    """Each channel's :class:`OutboxStats`, read in one statement.

    Only rows ``queued`` or ``sending`` are read (an index's leading column),
    never the sent history. A ``sending`` row is due again when its worker's
    claim lapsed.
    """
    parts = []
    for channel, table in CHANNELS.items():
        c = table.c
        parts.append(
            select(
                literal(channel).label("channel"),
                func.count().label("depth"),
                func.min(c.created_at).label("oldest_created_at"),
                func.min(case((c.next_attempt_at <= now, c.next_attempt_at))).label(
                    "oldest_due_at"
                ),
            ).where(c.status.in_([QUEUED, SENDING]))
        )
    found = {
        row.channel: OutboxStats(
            depth=int(row.depth),
            oldest_created_at=_utc(row.oldest_created_at),
            oldest_due_at=_utc(row.oldest_due_at),
        )
        for row in conn.execute(union_all(*parts))
    }
    return {channel: found[channel] for channel in CHANNELS}


def outbox_due_since(conn: Connection, now: datetime) -> dict[str, datetime | None]:
    """Each channel's earliest due time of a row not yet delivered (None: none is due).

    One statement of index seeks (``status, next_attempt_at``): cheap however
    long the queue, for the health check that a load balancer asks often.
    """
    parts = [
        select(
            literal(channel).label("channel"), func.min(table.c.next_attempt_at).label("due")
        ).where(table.c.status == status, table.c.next_attempt_at <= now)
        for channel, table in CHANNELS.items()
        for status in (QUEUED, SENDING)
    ]
    found: dict[str, datetime | None] = dict.fromkeys(CHANNELS)
    for row in conn.execute(union_all(*parts)):
        due = _utc(row.due)
        earliest = found[row.channel]
        if due is not None and (earliest is None or due < earliest):
            found[row.channel] = due
    return found


def _utc(value: Any) -> datetime | None:
    """A timestamp read through an aggregate, as aware UTC (the column type gives it so;
    a driver that hands back text or a naive value is read as UTC too)."""
    if value is None:
        return None
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


@functools.cache
def _migrations() -> tuple[str | None, frozenset[str]]:
    """This casekit's newest revision and every revision it knows (read once)."""
    config = migrate.alembic_config(None)  # type: ignore[arg-type]
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def check_health(kit: CaseKit, *, max_outbox_lag_seconds: int | None = None) -> Health:
    """Check the database, the schema and the outbox of ``kit``; never raises.

    :param max_outbox_lag_seconds: the longest a due notification or webhook
        request may wait for a worker; ``health_max_outbox_lag_seconds`` by
        default, 0 leaves the outbox out.
    """
    limit = (
        kit.settings.health_max_outbox_lag_seconds
        if max_outbox_lag_seconds is None
        else max_outbox_lag_seconds
    )
    head, known = _migrations()
    try:
        with kit.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": migrate.VERSION_TABLE}
            )
            current = context.get_current_revision()
            schema = _schema_check(current, head, known)
            outbox: HealthCheck | None = None
            if schema.ok and limit:
                now = kit.clock.now()
                outbox = _outbox_check(outbox_due_since(conn, now), now, limit)
    except SQLAlchemyError as error:
        log.warning("casekit: health check: the database cannot be used: %s", error)
        reason = f"not reachable ({type(error).__name__})"
        return Health(
            (
                HealthCheck("database", False, reason),
                HealthCheck("schema", False, "not checked: no database"),
                HealthCheck("outbox", False, "not checked: no database"),
            )
        )
    if outbox is None:
        outbox = HealthCheck(
            "outbox",
            not limit,
            "not checked (health_max_outbox_lag_seconds is 0)"
            if not limit
            else "not checked: the schema is not current",
        )
    checks = (HealthCheck("database", True, "reachable"), schema, outbox)
    for failed in checks:
        if not failed.ok:
            log.warning("casekit: health check %s failed: %s", failed.name, failed.detail)
    return Health(checks)


def _schema_check(current: str | None, head: str | None, known: frozenset[str]) -> HealthCheck:
    if current == head:
        return HealthCheck("schema", True, f"at {head}")
    if current is None:
        return HealthCheck("schema", False, "no casekit tables: run `casekit db upgrade`")
    if current in known:
        return HealthCheck(
            "schema", False, f"at {current}, behind {head}: run `casekit db upgrade`"
        )
    return HealthCheck("schema", True, f"at {current}, newer than {head}")


def _outbox_check(
    due_since: Mapping[str, datetime | None], now: datetime, limit: int
) -> HealthCheck:
    lags = {
        channel: 0 if due is None else max(0, int((now - due).total_seconds()))
        for channel, due in due_since.items()
    }
    shown = ", ".join(f"{channel} {lag} s" for channel, lag in lags.items())
    late = [channel for channel, lag in lags.items() if lag > limit]
    if late:
        return HealthCheck(
            "outbox",
            False,
            f"due deliveries wait longer than {limit} s ({shown}): is a worker running?",
        )
    return HealthCheck("outbox", True, f"longest wait {shown} (limit {limit} s)")
