"""Scenario ``network``: the network benchmarks job and the Benchmarks page, at scale.

``python -m benchmarks network --cases N --database-url URL [--json FILE]``
generates the data set first when the database does not hold it (see
:mod:`benchmarks.generate`: 200 shippers and 50 carriers, the N cases spread
over the 24 months before its anchor), switches network benchmarks on and
answers the ``casekit_network_volumes`` hook with 40 shipments per case of
each organization over the set (a case rate near 25 per 1,000), then times:

- ``network.compute``: ``kit.network.compute`` of the 24 months, once
  (``seconds``, and ``us_per_case``: the job's time over the cases it read,
  how it scales);
- ``network.page``: the Benchmarks page through Flask's test client, for a
  user of the largest shipper and of the largest carrier (the floor beside
  it: ``kit.network.benchmarks`` alone), :data:`RUNS` times after a warm-up.

The scenario also counts what it computed: how many network figures were
published and suppressed (``network.published``, ``network.suppressed``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import attrs
from sqlalchemy import func, select

from benchmarks.common import Context, Result, percentile_ms, scenario
from benchmarks.generate import ANCHOR, generated_kit
from benchmarks.views import sides
from casekit import hookimpl
from casekit.domain.actor import Actor
from casekit.domain.network import period_of
from casekit.kit import CaseKit
from casekit.store import tables

NAME = "network"
RUNS = 20
WARMUP = 3
MONTHS = 24
SHIPMENTS_PER_CASE = 40


class Volumes:
    """The host's shipments: :data:`SHIPMENTS_PER_CASE` per case of each organization
    over the whole set, spread evenly over the months."""

    def __init__(self, per_org: dict[int, int]) -> None:
        self.per_org = per_org

    @hookimpl
    def casekit_network_volumes(self, period: str) -> dict[int, int]:
        return {org: max(1, n * SHIPMENTS_PER_CASE // MONTHS) for org, n in self.per_org.items()}


def _cases_per_org(kit: CaseKit) -> dict[int, int]:
    c = tables.cases.c
    found: dict[int, int] = {}
    with kit.engine.connect() as conn:
        for column in (c.shipper_org_id, c.carrier_org_id):
            for org, n in conn.execute(
                select(column, func.count()).where(column.is_not(None)).group_by(column)
            ):
                found[org] = found.get(org, 0) + n
    return found


def _timed(fn: Callable[[], Any], runs: int) -> list[float]:
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def _app(kit: CaseKit, who: dict[str, Actor]) -> Any:
    from flask import Flask

    from casekit_flask import CaseKitFlask

    app = Flask("casekit_bench_network")
    app.config.update(SECRET_KEY="bench", WTF_CSRF_ENABLED=False)
    CaseKitFlask(app, kit=kit, identity_loader=lambda: who["actor"])
    return app


@scenario(
    NAME,
    help="the network benchmarks job over every month, and the Benchmarks page",
    default_cases=200_000,
)
def run(ctx: Context) -> list[Result]:
    who: dict[str, Actor] = {}
    with generated_kit(ctx) as (kit, dataset, results):
        kit.settings = attrs.evolve(kit.settings, network_benchmarks=True)
        kit.plugin_manager.register(Volumes(_cases_per_org(kit)))
        host = Actor.host()
        periods = [period_of(ANCHOR, back) for back in range(1, MONTHS + 1)]
        started = time.perf_counter()
        outcome = kit.network.compute(host, periods)
        seconds = time.perf_counter() - started
        ctx.log(f"{NAME}: {outcome.cases} cases over {len(periods)} months in {seconds:.2f} s")
        results.append(Result("network.compute", "seconds", round(seconds, 2)))
        results.append(
            Result(
                "network.compute", "us_per_case", round(seconds * 1e6 / max(outcome.cases, 1), 2)
            )
        )
        results.append(Result("network.compute.cases", "count", float(outcome.cases)))
        f = tables.network_figures.c
        with kit.engine.connect() as conn:
            network = f.org_id.is_(None)
            published = conn.scalar(select(func.count()).where(network, f.suppressed.is_(None)))
            suppressed = conn.scalar(select(func.count()).where(network, f.suppressed.is_not(None)))
        results.append(Result("network.published", "count", float(published or 0)))
        results.append(Result("network.suppressed", "count", float(suppressed or 0)))
        client = _app(kit, who).test_client()
        latest = periods[0]
        for side in sides(dataset):
            who["actor"] = side.actor

            def page() -> None:
                response = client.get(f"/cases/dashboard/benchmarks?period={latest}")
                if response.status_code != 200:
                    raise RuntimeError(f"the Benchmarks page: {response.status_code}")

            def floor(actor: Actor = side.actor) -> None:
                kit.network.benchmarks(actor, latest)

            samples = _timed(page, RUNS)
            floors = _timed(floor, RUNS)
            name = f"network.page.{side.label}"
            results.append(
                Result(
                    name,
                    "p50_ms",
                    round(percentile_ms(samples, 0.5), 2),
                    round(percentile_ms(floors, 0.5), 2),
                )
            )
            results.append(
                Result(
                    name,
                    "p95_ms",
                    round(percentile_ms(samples, 0.95), 2),
                    round(percentile_ms(floors, 0.95), 2),
                )
            )
            shown = kit.network.benchmarks(side.actor, latest)
            ctx.log(
                f"{NAME}: {side.label} page p50 {statistics.median(samples) * 1000:.1f} ms, "
                f"{sum(c.network is not None for c in shown.comparisons)} network figures shown"
            )
    return results
