"""Scenario ``sla``: the service-level sweep and the due-soon page at scale.

``python -m benchmarks sla --cases N --database-url URL [--json FILE]``
generates the list benchmarks' data set first when the database does not
hold it (:mod:`benchmarks.generate`, kept), then lays service levels over
it in bulk, not through the services:

- a target for each organization (first response in 4 hours, resolution in
  3 days, warned an hour before);
- N / 5 running clocks (200,000 of 1,000,000 cases), one per case, the
  active cases first: a shipper's resolution clock or, on two cases in
  five that have a carrier, the carrier's first-response clock, written
  with ``COPY`` on PostgreSQL (``executemany`` elsewhere), the cases' due
  columns from them in one ``UPDATE``, and a collaborator address for the
  carrier side of every third pair;
- their times around "now" (the data set's anchor): 1 % in their warning
  hour (a due-soon warning owed), 0.5 % past due (a breach warning owed;
  most already warned when due soon), 3.5 % breached and warned long ago,
  the rest due in one hour to five days (seeded times).

Measured (each run after the marks of the one before are undone):

- ``sweep``: ``kit.service_levels.sweep()`` finding the clocks whose warning
  is owed among the open ones and writing their warnings to the outbox (the
  owner, else the pair's collaborator address, else the side's managers);
  ``seconds`` per run (median and worst of :data:`RUNS`), the warnings and
  notifications written, statements and commits. Checked: it warns exactly
  the clocks laid out to owe one, and a second sweep finds nothing.
- ``sweep.again``: the sweep with nothing owed (the cost of looking).
- ``due_soon.<side>``: the first page (50) of the cases whose clock of the
  largest shipper's (carrier's) side is due soon or breached, soonest due
  first, read on the ``(org, due_at, warn_at)`` index of the case row —
  the query the "Due soon" view stands on, as one hand-written statement;
  p50 and p95 of 20 runs after 10 warm-ups.
- ``due_soon_view.<side>``: the list's built-in Due Soon view itself, its
  first page (``kit.views.list(actor, {"view": "due_soon"})``) for a user
  of that organization, timed the same way, with ``floor`` the statement's
  figure above and ``same_ids`` 1 when both return the same cases in the
  same order.

The service levels laid out are removed at the end (clocks, targets, the
addresses added, the warnings written, the cases' due columns), leaving the
data set as the other scenarios expect it.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    func,
    null,
    or_,
    select,
    text,
    update,
)

from benchmarks.common import Context, Result, StatementCounter, percentile_ms, scenario
from benchmarks.generate import CLOCK_COLUMNS, DEFAULT_CASES, Dataset, Writer, generated_kit
from casekit.domain.actor import Actor, ActorKind
from casekit.kit import CaseKit
from casekit.store import tables

NAME = "sla"
RUNS = 3
PAGE = 50
PAGE_RUNS = 20
PAGE_WARMUP = 10
WARN = timedelta(hours=1)
TARGET = "bench sla"
WARNINGS = ("clock_due_soon", "clock_breached")

k = tables.clocks.c
c = tables.cases.c


def _clear(conn: Connection) -> None:
    """Remove the service levels a run laid out (or an interrupted run left)."""
    conn.execute(delete(tables.outbox).where(tables.outbox.c.event.in_(WARNINGS)))
    conn.execute(delete(tables.clocks))
    conn.execute(delete(tables.sla_targets).where(tables.sla_targets.c.name == TARGET))
    conn.execute(
        delete(tables.collaborator_addresses).where(
            tables.collaborator_addresses.c.updated_by == TARGET
        )
    )
    for side in ("shipper", "carrier"):
        conn.execute(
            update(tables.cases)
            .where(c[f"{side}_due_at"].is_not(None))
            .values({f"{side}_due_at": None, f"{side}_warn_at": None})
        )
    conn.commit()


def _times(rng: random.Random, index: int, now: datetime) -> tuple[dict[str, Any], str]:
    """The times around ``now`` of the ``index``-th clock, and what it owes then
    (due_soon, breached, none): in each 200 clocks, two owe a due-soon warning, one a
    breach warning, seven breached long ago (the first clocks owe one of each)."""
    slot = index % 200
    if slot in (0, 100):  # in its warning hour
        due = now + timedelta(minutes=rng.randint(1, 59))
        return {"due_at": due, "warned_at": None, "breach_warned_at": None}, "due_soon"
    if slot == 1:  # just past due; most were warned when due soon
        due = now - timedelta(minutes=rng.randint(0, 600))
        warned = due - WARN if rng.random() < 0.7 else None
        return {"due_at": due, "warned_at": warned, "breach_warned_at": None}, "breached"
    if 2 <= slot < 9:  # breached and warned long ago
        due = now - timedelta(hours=rng.randint(11, 400))
        return {"due_at": due, "warned_at": due - WARN, "breach_warned_at": due}, "none"
    due = now + timedelta(minutes=rng.randint(61, 5 * 24 * 60))
    return {"due_at": due, "warned_at": None, "breach_warned_at": None}, "none"


def keep(conn: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The data set's own clocks and due columns (a generator's), to put back after a run."""
    clocks = [dict(row) for row in conn.execute(select(tables.clocks)).mappings()]
    due = [
        {"case_id": row["id"], **{f"v_{n}": row[n] for n in tables.DUE_COLUMNS}}
        for row in conn.execute(
            select(c.id, *(c[n] for n in tables.DUE_COLUMNS)).where(
                or_(*(c[n].is_not(None) for n in tables.DUE_COLUMNS))
            )
        ).mappings()
    ]
    return clocks, due


def put_back(conn: Connection, kept: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """Put back what :func:`keep` kept, once a run's own are cleared."""
    clocks, due = kept
    for start in range(0, len(clocks), 5_000):
        conn.execute(tables.clocks.insert(), clocks[start : start + 5_000])
    if due:
        conn.execute(
            update(tables.cases)
            .where(c.id == bindparam("case_id"))
            .values({n: bindparam(f"v_{n}") for n in tables.DUE_COLUMNS}),
            due,
        )
    conn.commit()


def lay_out(engine: Engine, cases: int, now: datetime, log: Any) -> dict[str, int]:
    """Targets, ``cases // 5`` running clocks and the due columns, in bulk; returns
    how many clocks owe each warning at ``now``."""
    rng = random.Random(20261210)
    wanted = max(1, cases // 5)
    with engine.connect() as conn:
        _clear(conn)
        started = time.perf_counter()
        o = tables.organizations.c
        orgs = list(conn.execute(select(o.id)).scalars())
        conn.execute(
            tables.sla_targets.insert(),
            [
                {
                    "org_id": org_id,
                    "name": TARGET,
                    "position": 0,
                    "enabled": True,
                    "conditions": "{}",
                    "first_response_seconds": 4 * 3600,
                    "next_response_seconds": None,
                    "resolution_seconds": 3 * 24 * 3600,
                    "pause_when_waiting": False,
                    "warn_before_seconds": 3600,
                    "escalation": "{}",
                    "updated_at": now,
                    "updated_by": TARGET,
                }
                for org_id in orgs
            ],
        )
        t = tables.sla_targets.c
        target_of = dict(
            conn.execute(select(t.org_id, t.id).where(t.name == TARGET)).tuples().all()
        )
        # The active cases first, the newest first; then solved ones to make up the number.
        picked = conn.execute(
            select(c.id, c.shipper_org_id, c.carrier_org_id)
            .order_by((c.status == "solved"), c.id.desc())
            .limit(wanted)
        ).all()
        rows: list[tuple[Any, ...]] = []
        owed = {"due_soon": 0, "breached": 0, "none": 0}
        pairs: set[tuple[int, int]] = set()
        for index, (case_id, shipper, carrier) in enumerate(picked):
            carrier_side = carrier is not None and rng.random() < 0.4
            side, org_id = ("carrier", carrier) if carrier_side else ("shipper", shipper)
            kind = "first_response" if carrier_side else "resolution"
            seconds = 4 * 3600 if carrier_side else 3 * 24 * 3600
            times, owes = _times(rng, index, now)
            owed[owes] += 1
            due = times["due_at"]
            warn = due - WARN
            started_at = due - timedelta(seconds=seconds)
            breached = due if due <= now else None
            if times["breach_warned_at"] is not None:
                next_alert = None
            elif times["warned_at"] is None and warn < due:
                next_alert = warn
            else:
                next_alert = due
            if carrier_side and carrier % 3 == 0:
                pairs.add((shipper, carrier))
            rows.append(
                (
                    case_id,
                    org_id,
                    side,
                    kind,
                    target_of[org_id],
                    seconds,
                    3600,
                    "UTC",
                    "running",
                    started_at,
                    None,
                    int(min(seconds, max(0.0, (now - started_at).total_seconds()))),
                    due,
                    warn,
                    breached,
                    times["warned_at"],
                    times["breach_warned_at"],
                    next_alert,
                    now,
                )
            )
        Writer(conn).write(tables.clocks.name, CLOCK_COLUMNS, rows)
        if pairs:
            conn.execute(
                tables.collaborator_addresses.insert(),
                [
                    {
                        "shipper_org_id": shipper,
                        "carrier_org_id": carrier,
                        "side": "carrier",
                        "email": f"desk-{shipper}@carrier{carrier}.test",
                        "updated_at": now,
                        "updated_by": TARGET,
                    }
                    for shipper, carrier in sorted(pairs)
                ],
            )
        # Each case's due columns: its one clock's times, on its side (UPDATE ... FROM).
        for side in ("shipper", "carrier"):
            conn.execute(
                update(tables.cases)
                .where(c.id == k.case_id, k.side == side)
                .values({f"{side}_due_at": k.due_at, f"{side}_warn_at": k.warn_at})
            )
        conn.commit()
        log(
            f"{NAME}: {len(rows)} clocks laid out in {time.perf_counter() - started:.1f} s "
            f"({owed['due_soon']} due soon, {owed['breached']} breached owed)"
        )
    _analyze(engine)
    return owed


def _analyze(engine: Engine) -> None:
    names = (tables.clocks.name, tables.cases.name, tables.sla_targets.name)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in names:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"VACUUM ANALYZE {name}"))
            elif engine.dialect.name == "sqlite":
                conn.exec_driver_sql(f"ANALYZE {name}")
            else:
                conn.execute(text(f"ANALYZE TABLE {name}"))


def undo_marks(engine: Engine, now: datetime) -> None:
    """Undo what a sweep at ``now`` marked and wrote, so the next run owes the same."""
    with engine.connect() as conn:
        conn.execute(
            update(tables.clocks)
            .where(or_(k.warned_at == now, k.breach_warned_at == now))
            .values(
                warned_at=case((k.warned_at == now, null()), else_=k.warned_at),
                breach_warned_at=case(
                    (k.breach_warned_at == now, null()), else_=k.breach_warned_at
                ),
            )
        )
        # What it owes first again: its warning unless sent (and before its due time), else
        # its breach.
        conn.execute(
            update(tables.clocks)
            .where(k.breach_warned_at.is_(None), k.state == "running")
            .values(
                next_alert_at=case(
                    (and_(k.warned_at.is_(None), k.warn_at < k.due_at), k.warn_at),
                    else_=k.due_at,
                )
            )
        )
        conn.execute(delete(tables.outbox).where(tables.outbox.c.event.in_(WARNINGS)))
        conn.commit()


def _sweeps(ctx: Context, kit: CaseKit, owed: dict[str, int], now: datetime) -> list[Result]:
    counter = StatementCounter().attach(kit.engine)
    seconds: list[float] = []
    cpu: list[float] = []
    outcome = None
    for run in range(RUNS):
        if run:
            undo_marks(kit.engine, now)
        counter.statements = counter.commits = 0
        counter.active = True
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = kit.service_levels.sweep(now=now)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        counter.active = False
        ctx.log(f"{NAME}: sweep {run + 1}: {outcome.clocks} clocks in {seconds[-1]:.2f} s")
        if (outcome.due_soon, outcome.breached) != (owed["due_soon"], owed["breached"]):
            raise RuntimeError(f"the sweep warned {outcome}, not the clocks laid out: {owed}")
    assert outcome is not None
    statements, commits = counter.statements, counter.commits
    with kit.engine.connect() as conn:
        written = conn.execute(
            select(func.count())
            .select_from(tables.outbox)
            .where(tables.outbox.c.event.in_(WARNINGS))
        ).scalar_one()
    if written != outcome.notifications:
        raise RuntimeError(f"{written} warnings in the outbox, the sweep said {outcome}")
    counter.active = True
    started = time.perf_counter()
    again = kit.service_levels.sweep(now=now)
    again_seconds = time.perf_counter() - started
    counter.active = False
    if again.clocks:
        raise RuntimeError(f"a second sweep warned again: {again}")
    return [
        Result("sweep", "seconds", round(statistics.median(seconds), 3)),
        Result("sweep", "max_seconds", round(max(seconds), 3)),
        Result("sweep", "cpu_seconds", round(statistics.median(cpu), 3)),
        Result("sweep", "clocks_warned", outcome.clocks),
        Result("sweep", "due_soon", outcome.due_soon),
        Result("sweep", "breached", outcome.breached),
        Result("sweep", "notifications", outcome.notifications),
        Result("sweep", "statements", statements),
        Result("sweep", "commits", commits),
        Result("sweep.again", "seconds", round(again_seconds, 4)),
    ]


def _biggest(conn: Connection, side: str) -> int:
    column = c[f"{side}_org_id"]
    row = conn.execute(
        select(column, func.count())
        .where(c[f"{side}_due_at"].is_not(None))
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(1)
    ).first()
    if row is None:
        raise RuntimeError(f"no {side} has a clock")
    return int(row[0])


def _timed(call: Callable[[], list[int]]) -> tuple[list[float], list[int]]:
    """:data:`PAGE_RUNS` timings of ``call`` after :data:`PAGE_WARMUP`, and its last answer."""
    samples: list[float] = []
    found: list[int] = []
    for run in range(PAGE_WARMUP + PAGE_RUNS):
        started = time.perf_counter()
        found = call()
        took = time.perf_counter() - started
        if run >= PAGE_WARMUP:
            samples.append(took)
    return samples, found


def _statement_ids(conn: Connection, stmt: Any) -> list[int]:
    return [row[0] for row in conn.execute(stmt)]


def _view_ids(kit: CaseKit, actor: Actor) -> list[int]:
    return [row.id for row in kit.views.list(actor, {"view": "due_soon"}, limit=PAGE).rows]


def _due_soon_pages(ctx: Context, kit: CaseKit, dataset: Dataset, now: datetime) -> list[Result]:
    """The first page of each largest side's cases due soon or breached, soonest first:
    the hand-written statement, then the built-in Due Soon view of a user of that side."""
    results: list[Result] = []
    with kit.engine.connect() as conn:
        orgs = {side: _biggest(conn, side) for side in ("shipper", "carrier")}
    for side, org_id in orgs.items():
        due, warn = c[f"{side}_due_at"], c[f"{side}_warn_at"]
        stmt = (
            select(c.id, c.number, c.subject, due, warn)
            .where(c[f"{side}_org_id"] == org_id, warn <= now)
            .order_by(due, c.id)
            .limit(PAGE)
        )
        with kit.engine.connect() as conn:
            samples, floor_ids = _timed(partial(_statement_ids, conn, stmt))
            conn.rollback()
        name = f"due_soon.{side}"
        ctx.log(f"{NAME}: {name} (organization {org_id}): {len(floor_ids)} rows")
        floor_p50, floor_p95 = percentile_ms(samples, 0.5), percentile_ms(samples, 0.95)
        results += [
            Result(name, "p50_ms", floor_p50),
            Result(name, "p95_ms", floor_p95),
            Result(name, "rows", len(floor_ids)),
        ]
        actor = Actor(ActorKind.USER, user_id=dataset.users[org_id][0], org_id=org_id)
        samples, view_ids = _timed(partial(_view_ids, kit, actor))
        name = f"due_soon_view.{side}"
        same = view_ids == floor_ids
        ctx.log(f"{NAME}: {name} (user {actor.user_id}): {len(view_ids)} rows, same: {same}")
        results += [
            Result(name, "p50_ms", percentile_ms(samples, 0.5), floor_p50),
            Result(name, "p95_ms", percentile_ms(samples, 0.95), floor_p95),
            Result(name, "rows", len(view_ids)),
            Result(name, "same_ids", 1 if same else 0),
        ]
    return results


@scenario(
    NAME,
    help="the service-level sweep over N/5 open clocks; the Due Soon view and its query",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    with generated_kit(ctx) as (kit, dataset, results):
        now = dataset.anchor
        with kit.engine.connect() as conn:
            kept = keep(conn)
        try:
            owed = lay_out(kit.engine, ctx.cases, now, ctx.log)
            results.append(Result("sweep", "open_clocks", float(sum(owed.values()))))
            results += _sweeps(ctx, kit, owed, now)
            results += _due_soon_pages(ctx, kit, dataset, now)
        finally:
            with kit.engine.connect() as conn:
                _clear(conn)
                put_back(conn, kept)
    return results
