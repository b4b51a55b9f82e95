"""Scenario ``pages``: the staff pages through the whole request path, at scale.

``python -m benchmarks pages --cases N --database-url URL [--json FILE]``
generates the data set first when the database does not hold it (see
:mod:`benchmarks.generate`; 200,000 cases by default), mounts casekit-flask's
blueprints on a Flask app and times, through Flask's test client (routing,
the identity loader, the services, the scoped queries, Jinja rendering and
the response), for a user of the largest shipper and a user of the largest
carrier:

- ``pages.list``: the Case Management page (All Active: the first page of
  50 rows, the views' badge counts, the filter form), as a user loads it
  again and again: the counts come from casekit-flask's counts cache
  (``CASEKIT_COUNTS_TTL``, 30 s);
- ``pages.list.counting``: the same page counting every view on each load
  (``CASEKIT_COUNTS_TTL = 0``), as the first load of a user, or after a change;
- ``pages.list.new_cases``: the New Cases page (cached counts);
- ``pages.list.filtered``: All Active narrowed to one case type (cached
  badge counts; the result count is counted);
- ``pages.known_values``: the brands, customer segments and regions the
  list's filters offer, read uncached (``kit.views.known_values``): what a
  first load adds, kept ``CASEKIT_KNOWN_VALUES_TTL`` per organization after;
- ``pages.case``: the case page of cases on that first page, in turn (the
  case, its facts, its timeline, the colleagues, its live state and read
  marker);
- ``pages.live``: one update check of an open case page
  (``GET /cases/<number>/live``: the signal of what the user reads, unread or
  not, the colleagues writing), the same cases in turn;
- ``pages.dashboard``: the dashboard, every report section for the last 30
  days in New York time, with its charts and a drill-down link per number.

Each is run ``RUNS`` times after a warm-up; the figures are the median and
the 95th percentile. The *floor* beside each is the core calls the page
makes, without Flask or the template (``kit.views.list``, plus
``kit.views.counts`` for ``pages.list.counting``, and ``kit.live.unread`` of
the page's rows; ``kit.cases.get``, ``facts``, ``timeline``,
``kit.directory.users`` and ``kit.live.open``; ``kit.live.state`` for the
update check; ``kit.reports.dashboard`` for the dashboard): what
rendering and the request path add is the difference. Needs casekit-flask
installed (``pip install -e flask_ext``).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import Context, Result, percentile_ms, scenario
from benchmarks.generate import generated_kit
from benchmarks.views import sides
from casekit.domain.actor import Actor
from casekit.kit import CaseKit

NAME = "pages"
RUNS = 40
WARMUP = 5
DEFAULT_CASES = 200_000
DASHBOARD_ZONE = "America/New_York"


def default_url(cases: int) -> str:
    return f"sqlite:////tmp/casekit-bench-pages-{cases}.sqlite3"


def _time(function: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def _app(kit: CaseKit, who: dict[str, Actor], *, counts_ttl: float = 30) -> Any:
    from flask import Flask

    from casekit_flask import CaseKitFlask

    app = Flask("casekit_bench_pages")
    app.config.update(SECRET_KEY="bench", WTF_CSRF_ENABLED=False, CASEKIT_COUNTS_TTL=counts_ttl)
    CaseKitFlask(app, kit=kit, identity_loader=lambda: who["actor"])
    return app


@scenario(
    NAME,
    help="the Case Management page and the case page through Flask, at scale",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    who: dict[str, Actor] = {}
    with generated_kit(ctx, default_url) as (kit, dataset, results):
        client = _app(kit, who).test_client()
        counting = _app(kit, who, counts_ttl=0).test_client()
        for side in sides(dataset):
            who["actor"] = side.actor
            ctx.log(f"{NAME}: {side.label} user {side.actor.user_id} of org {side.org_id}")
            results += _measure_side(kit, client, counting, side.actor, side.label, ctx)
    return results


class _Pages:
    """The requests and core calls measured for one actor."""

    def __init__(self, kit: CaseKit, client: Any, actor: Actor) -> None:
        self.kit = kit
        self.client = client
        self.actor = actor
        self.turn = 0
        self.floor_turn = 0
        numbers = re.findall(rb'href="/cases/(CV\d+)"', self.page("/cases/"))
        if not numbers:
            raise RuntimeError("the first page lists no case")
        self.numbers = [n.decode() for n in numbers[:20]]

    def page(self, path: str) -> bytes:
        response = self.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        data: bytes = response.data
        return data

    def case_page(self) -> bytes:
        self.turn += 1
        return self.page(f"/cases/{self.numbers[self.turn % len(self.numbers)]}")

    def case_floor(self) -> None:
        self.floor_turn += 1
        number = self.numbers[self.floor_turn % len(self.numbers)]
        kit, actor = self.kit, self.actor
        kit.cases.get(actor, number)
        kit.cases.facts(actor, number)
        kit.live.open(actor, number)
        kit.cases.timeline(actor, number)
        kit.directory.users(actor)

    def live_check(self) -> bytes:
        self.turn += 1
        return self.page(f"/cases/{self.numbers[self.turn % len(self.numbers)]}/live")

    def live_floor(self) -> None:
        self.floor_turn += 1
        number = self.numbers[self.floor_turn % len(self.numbers)]
        self.kit.live.state(self.actor, number)

    def dashboard_floor(self) -> None:
        today = self.kit.clock.now().astimezone(ZoneInfo(DASHBOARD_ZONE)).date()
        start = today - timedelta(days=29)
        query = {"from": start.isoformat(), "to": today.isoformat(), "timezone": DASHBOARD_ZONE}
        self.kit.reports.dashboard(self.actor, query)

    def list_floor(self, view: str, *, counts: bool = False, filtered: bool = False) -> None:
        query: dict[str, Any] = {"view": view}
        if filtered:
            query["filters"] = [{"field": "type", "op": "in", "value": ["lost"]}]
            self.kit.views.count(self.actor, query)  # the page's result count
        page = self.kit.views.list(self.actor, query)
        self.kit.live.unread(self.actor, [row.id for row in page.rows])
        if counts:
            self.kit.views.counts(self.actor)

    def known_values(self) -> None:
        for field in ("brand", "customer_segment", "region"):
            self.kit.views.known_values(self.actor, field)


def _measure_side(
    kit: CaseKit, client: Any, counting: Any, actor: Actor, label: str, ctx: Context
) -> list[Result]:
    pages = _Pages(kit, client, actor)
    counted = _Pages(kit, counting, actor)
    measures: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        ("pages.list", lambda: pages.page("/cases/"), lambda: pages.list_floor("all_active")),
        (
            "pages.list.counting",
            lambda: counted.page("/cases/"),
            lambda: pages.list_floor("all_active", counts=True),
        ),
        (
            "pages.list.new_cases",
            lambda: pages.page("/cases/?view=new_cases"),
            lambda: pages.list_floor("new_cases"),
        ),
        (
            "pages.list.filtered",
            lambda: pages.page("/cases/?view=all_active&type=lost"),
            lambda: pages.list_floor("all_active", filtered=True),
        ),
        # What a first load (or one after a case was opened) reads besides the
        # page: the list's known brands, segments and regions, uncached.
        ("pages.known_values", pages.known_values, pages.known_values),
        ("pages.case", pages.case_page, pages.case_floor),
        ("pages.live", pages.live_check, pages.live_floor),
        (
            "pages.dashboard",
            lambda: pages.page(f"/cases/dashboard?timezone={DASHBOARD_ZONE}"),
            pages.dashboard_floor,
        ),
    ]
    results: list[Result] = []
    for name, ours, floor in measures:
        _time(ours, WARMUP)
        _time(floor, WARMUP)
        mine = _time(ours, RUNS)
        base = _time(floor, RUNS)
        full = f"{name}.{label}"
        p50 = (statistics.median(mine) * 1000, statistics.median(base) * 1000)
        p95 = (percentile_ms(mine, 0.95), percentile_ms(base, 0.95))
        results.append(Result(full, "p50_ms", round(p50[0], 3), round(p50[1], 3)))
        results.append(Result(full, "p95_ms", round(p95[0], 3), round(p95[1], 3)))
        ctx.log(
            f"{full}: p50 {p50[0]:.1f} ms, p95 {p95[0]:.1f} ms "
            f"(core calls alone: p95 {p95[1]:.1f} ms)"
        )
    return results
