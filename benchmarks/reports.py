"""Scenario ``reports``: the dashboard's numbers at scale.

``python -m benchmarks reports --cases N --database-url URL [--json FILE]``
generates the data set first when the database does not hold it (see
:mod:`benchmarks.generate`: the largest shipper holds 20% of the cases),
gives the largest shipper response and resolution targets for its three
most common case types, then times ``kit.reports`` for a user of the
largest shipper and a user of the largest carrier:

- the whole dashboard for the last 30 days (by day, in New York time), and
  for the last 90 days by week;
- each of its five sections on its own (30 days).

Each is run :data:`RUNS` times after a warm-up; the figures are the median
and the 95th percentile, with the SQL statements one dashboard sends. The
scenario also checks a few numbers against the Case Management list — the
drill-down of the cases opened, of the active backlog and of the first
bucket of the opened series must count the same cases (``same_count`` 1).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Result, StatementCounter, percentile_ms, scenario
from benchmarks.generate import DEFAULT_CASES, default_url, generate
from benchmarks.views import sides
from casekit.clock import FrozenClock
from casekit.domain.actor import Actor
from casekit.kit import CaseKit
from casekit.settings import Settings

NAME = "reports"
RUNS = 10
WARMUP = 2
ZONE = "America/New_York"
TARGET_TYPES = ("where_is_my_order", "general_status_update", "delivery_scheduling")


def _time(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


@scenario(
    NAME,
    help="the reporting dashboard (every section) for the largest shipper and carrier",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    url = ctx.database_url or default_url(ctx.cases)
    dataset, seconds = generate(url, ctx.cases, log=ctx.log)
    results: list[Result] = []
    if seconds is not None:
        results.append(Result("generate", "seconds", round(seconds, 2)))
    with tempfile.TemporaryDirectory(prefix="casekit-bench-") as folder:
        kit = CaseKit(
            settings=Settings(
                database_url=url, attachment_dir=Path(folder), load_entry_points=False
            ),
            clock=FrozenClock(dataset.anchor),
        )
        try:
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
            counter = StatementCounter().attach(kit.engine)
            counter.active = True
            for side in sides(dataset):
                manager = Actor.system_actor("api", org_id=side.org_id)
                if side.label == "shipper":
                    for code in TARGET_TYPES:
                        kit.reports.set_target(
                            manager,
                            code,
                            first_response=timedelta(hours=8),
                            resolution=timedelta(days=3),
                        )
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
                    samples, report = _time(fn, RUNS)
                    statements = (counter.statements - before) / RUNS
                    p50 = statistics.median(samples) * 1000
                    p95 = percentile_ms(samples, 0.95)
                    results.append(Result(name, "p50_ms", round(p50, 3)))
                    results.append(Result(name, "p95_ms", round(p95, 3)))
                    results.append(Result(name, "statements", round(statements, 1)))
                    ctx.log(
                        f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {statements:.0f} statements"
                    )
                    if label == "dashboard.30d":
                        results += _checks(kit, actor, report, side.label, ctx)
        finally:
            kit.engine.dispose()
    return results


def _checks(kit: CaseKit, actor: Actor, report: Any, label: str, ctx: Context) -> list[Result]:
    """A few numbers of the dashboard against the list's count of their drill-down."""
    volume = report.section("volume")
    totals = {t.key: t for t in volume.totals}
    first_day = report.table("opened").rows[0]
    out = []
    for key, row in (
        ("opened", totals["opened"]),
        ("active", totals["active"]),
        ("first_day", first_day),
    ):
        listed = kit.views.count(actor, row.query)
        same = listed == row.count
        if not same:
            ctx.log(f"{label}.{key}: the report counts {row.count}, the list {listed}")
        out.append(Result(f"{label}.check.{key}", "count", float(row.count), float(listed)))
        out.append(Result(f"{label}.check.{key}", "same_count", 1.0 if same else 0.0))
    return out
