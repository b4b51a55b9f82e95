"""Scenario ``reports``: the dashboard's numbers at scale.

``python -m benchmarks reports --cases N --database-url URL [--json FILE]``
generates the data set first when the database does not hold it (see
:mod:`benchmarks.generate`: the largest shipper holds 20% of the cases),
gives the largest shipper service levels for its three most common case
types and the largest carrier one for all its cases, with their clocks
(:func:`service_levels`), then times ``kit.reports`` for a user of the
largest shipper and a user of the largest carrier:

- the whole dashboard for the last 30 days (by day, in New York time), and
  for the last 90 days by week;
- each of its five sections on its own (30 days).

Each is run :data:`RUNS` times after a warm-up; the figures are the median
and the 95th percentile, with the SQL statements one dashboard sends. The
scenario also checks a few numbers against the Case Management list — the
drill-down of the cases opened, of the active backlog, of the first
bucket of the opened series, and of each kind's clocks and breached clocks
must count the same cases (``same_count`` 1).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text

from benchmarks.common import Context, Result, StatementCounter, percentile_ms, scenario
from benchmarks.generate import DEFAULT_CASES, Dataset, generated_kit
from benchmarks.views import sides
from casekit.domain.actor import Actor
from casekit.kit import CaseKit
from casekit.store import tables
from casekit.store.database import create_casekit_engine

NAME = "reports"
RUNS = 10
WARMUP = 2
ZONE = "America/New_York"
TARGET_TYPES = ("where_is_my_order", "general_status_update", "delivery_scheduling")
#: The shipper's times for those types, and the carrier's for all its cases (seconds).
SHIPPER_TIMES = (8 * 3600, 3 * 86400)
CARRIER_TIMES = (4 * 3600, 2 * 86400)
WARN_BEFORE = 3600
BATCH = 10_000


def _time(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any, list[float]]:
    """Wall-clock seconds of each run, the last result, and each run's CPU seconds
    (this process's: on a shared machine the steadier measure of casekit's work)."""
    samples = []
    cpu = []
    result = None
    for _ in range(runs):
        start, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - started_cpu)
    return samples, result, cpu


@scenario(
    NAME,
    help="the reporting dashboard (every section) for the largest shipper and carrier",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    with generated_kit(ctx) as (kit, dataset, results):
        last_day = (dataset.anchor - timedelta(days=1)).date()
        month = {
            "from": (last_day - timedelta(days=29)).isoformat(),
            "to": last_day.isoformat(),
            "timezone": ZONE,
        }
        quarter = {
            "from": (last_day - timedelta(days=89)).isoformat(),
            "to": last_day.isoformat(),
            "timezone": ZONE,
            "granularity": "week",
        }
        written = service_levels(kit.settings.database_url, dataset, ctx.log)
        if written is not None:
            results.append(Result("service_levels.clocks", "count", float(written)))
        counter = StatementCounter().attach(kit.engine)
        counter.active = True
        for side in sides(dataset):
            actor = side.actor
            ctx.log(f"{NAME}: {side.label} user {actor.user_id} of org {side.org_id}")
            measures: list[tuple[str, Callable[[], Any]]] = [
                ("dashboard.30d", lambda a=actor: kit.reports.dashboard(a, month)),
                ("dashboard.90d_weeks", lambda a=actor: kit.reports.dashboard(a, quarter)),
            ]
            for section in ("volume", "speed", "load", "aging", "breaches"):
                method = getattr(kit.reports, section)
                measures.append((f"{section}.30d", lambda m=method, a=actor: m(a, month)))
            for label, fn in measures:
                name = f"{side.label}.{label}"
                _time(fn, WARMUP)
                before = counter.statements
                samples, report, cpu = _time(fn, RUNS)
                statements = (counter.statements - before) / RUNS
                p50 = statistics.median(samples) * 1000
                p95 = percentile_ms(samples, 0.95)
                results.append(Result(name, "p50_ms", round(p50, 3)))
                results.append(Result(name, "p95_ms", round(p95, 3)))
                results.append(Result(name, "cpu_p50_ms", round(statistics.median(cpu) * 1000, 3)))
                results.append(Result(name, "statements", round(statements, 1)))
                ctx.log(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {statements:.0f} statements")
                if label == "dashboard.30d":
                    results += _checks(kit, actor, report, side.label, ctx)
    return results


def _checks(kit: CaseKit, actor: Actor, report: Any, label: str, ctx: Context) -> list[Result]:
    """A few numbers of the dashboard against the list's count of their drill-down."""
    volume = report.section("volume")
    totals = {t.key: t for t in volume.totals}
    first_day = report.table("opened").rows[0]
    checked: list[tuple[str, Any, int]] = [
        ("opened", totals["opened"].query, totals["opened"].count),
        ("active", totals["active"].query, totals["active"].count),
        ("first_day", first_day.query, first_day.count),
    ]
    # The service levels: each kind's clocks and breaches against their lists.
    for row in report.table("targets").rows:
        checked.append((f"{row.kind}.clocks", row.query, row.clocks))
        checked.append((f"{row.kind}.breached", row.breached_query, row.breached))
    out = []
    for key, query, count in checked:
        listed = kit.views.count(actor, query)
        same = listed == count
        if not same:
            ctx.log(f"{label}.{key}: the report counts {count}, the list {listed}")
        out.append(Result(f"{label}.check.{key}", "count", float(count), float(listed)))
        out.append(Result(f"{label}.check.{key}", "same_count", 1.0 if same else 0.0))
    return out


def service_levels(url: str, dataset: Dataset, log: Callable[[str], None]) -> int | None:
    """Targets and clocks for the largest shipper (its cases of :data:`TARGET_TYPES`)
    and the largest carrier (all the cases it collaborates on), unless the
    organization has them already from this run's earlier; a generator's
    target and clocks of the organization give way to them.

    The clocks are written straight, as the replay would count them with no
    calendar (every hour), from the case row: a first-response clock from the
    opening to the side's first response (or its solving; running if neither),
    a resolution clock to the side's solving; a running clock counted up to the
    case's last update. Returns how many clock rows were written (None: kept).
    """
    engine = create_casekit_engine(url)
    try:
        with engine.begin() as conn:
            written = 0
            kept = 0
            t = tables.sla_targets.c
            for side in sides(dataset):
                if (
                    conn.execute(
                        select(t.id).where(t.org_id == side.org_id, t.name.like("Bench %")).limit(1)
                    ).first()
                    is not None
                ):
                    kept += 1  # this run's earlier
                    continue
                # The generator's target and clocks (resolution only) give way to these.
                conn.execute(delete(tables.clocks).where(tables.clocks.c.org_id == side.org_id))
                conn.execute(delete(tables.sla_targets).where(t.org_id == side.org_id))
                written += _clocks_of(conn, side.label, side.org_id, dataset.anchor)
            total = conn.execute(select(func.count()).select_from(tables.cases)).scalar_one()
            timed = conn.execute(
                select(func.count(func.distinct(tables.clocks.c.case_id)))
            ).scalar_one()
        log(f"{NAME}: {timed} of {total} cases have clocks ({timed / max(total, 1):.0%})")
        if kept == 2:
            return None
        # Planner statistics for the new rows, as autovacuum would gather them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (tables.clocks, tables.sla_targets):
                if conn.dialect.name == "mysql":
                    conn.execute(text(f"ANALYZE TABLE {table.name}"))
                else:
                    conn.execute(text(f"ANALYZE {table.name}"))
        return written
    finally:
        engine.dispose()


def _clocks_of(conn: Connection, label: str, org_id: int, now: datetime) -> int:
    c = tables.cases.c
    shipper = label == "shipper"
    status = c.status if shipper else c.carrier_status
    solved_at = c.solved_at if shipper else c.carrier_solved_at
    updated_at = c.updated_at if shipper else c.carrier_updated_at
    answered_at = c.shipper_first_response_at if shipper else c.carrier_first_response_at
    if shipper:
        groups = [(f"Bench {code}", [code], SHIPPER_TIMES) for code in TARGET_TYPES]
    else:
        groups = [("Bench all", [], CARRIER_TIMES)]
    count = 0
    for position, (name, types, (first, resolve)) in enumerate(groups):
        target_id = conn.execute(
            insert(tables.sla_targets).values(
                org_id=org_id,
                name=name,
                position=position,
                enabled=True,
                conditions=json.dumps({"types": types} if types else {}),
                first_response_seconds=first,
                resolution_seconds=resolve,
                pause_when_waiting=False,
                warn_before_seconds=WARN_BEFORE,
                escalation="{}",
                updated_at=now,
                updated_by="bench",
            )
        ).inserted_primary_key[0]
        side_column = c.shipper_org_id if shipper else c.carrier_org_id
        stmt = select(c.id, c.created_at, status, solved_at, updated_at, answered_at).where(
            side_column == org_id
        )
        if types:
            stmt = stmt.where(c.type.in_(types))
        else:
            stmt = stmt.where(c.carrier_collaborating.is_(True))
        rows: list[dict[str, Any]] = []
        for case_id, created, state, solved, updated, answered in conn.execute(stmt):
            done = solved if state == "solved" else None
            for kind, seconds, stop in (
                ("first_response", first, answered or done),
                ("resolution", resolve, done),
            ):
                rows.append(
                    _clock(
                        case_id,
                        org_id,
                        label,
                        kind,
                        target_id,
                        seconds,
                        created,
                        stop,
                        updated or now,
                    )
                )
            if len(rows) >= BATCH:
                conn.execute(insert(tables.clocks), rows)
                count += len(rows)
                rows = []
        if rows:
            conn.execute(insert(tables.clocks), rows)
            count += len(rows)
    return count


def _clock(
    case_id: int,
    org_id: int,
    side: str,
    kind: str,
    target_id: int,
    seconds: int,
    started: datetime,
    stopped: datetime | None,
    counted_to: datetime,
) -> dict[str, Any]:
    until = stopped or max(counted_to, started)
    elapsed = (until - started).total_seconds()
    due = started + timedelta(seconds=seconds)
    running = stopped is None
    breached = due if elapsed > seconds else None
    return {
        "case_id": case_id,
        "org_id": org_id,
        "side": side,
        "kind": kind,
        "target_id": target_id,
        "target_seconds": seconds,
        "warn_before_seconds": WARN_BEFORE,
        "time_zone": "UTC",
        "state": "running" if running else "stopped",
        "started_at": started,
        "stopped_at": stopped,
        "elapsed_seconds": round(elapsed),
        "due_at": due if running else None,
        "warn_at": due - timedelta(seconds=WARN_BEFORE) if running else None,
        "breached_at": breached,
        "warned_at": None,
        "breach_warned_at": None,
        "next_alert_at": None,
        "updated_at": until,
    }
