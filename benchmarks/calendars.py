"""Scenario ``calendars``: business calendars' working-time arithmetic.

``python -m benchmarks calendars [--cases N]`` draws N clocks (default
20,000) over five calendars — New York office hours with the United States'
holidays, Berlin with a lunch break, Bavaria's holidays and two closed days,
Chicago night shifts across midnight with Texas's holidays, Sydney six days
a week with New South Wales's, and :attr:`BusinessCalendar.ALWAYS` — each
started at a random instant of 2026 or 2027 with a target of 15 minutes to 80
working hours, and a span of up to 60 days to count. No database.

Measured, per call, after ``--warmup`` clocks: ``add`` (the due time) and
``working_seconds`` (the span's working time), median and 95th percentile;
and ``sweep``, every clock's working time counted in one loop (what a sweep
over open clocks does), per second. Floors: plain wall-clock arithmetic on
the same instants (``start + timedelta``, ``end - start``), what a clock
without a calendar costs. The scenario checks every clock:
``working_seconds(start, add(start, s)) == s`` (``agree`` 1).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from benchmarks.common import Context, Result, percentile_ms, scenario
from casekit.domain.calendar import BusinessCalendar

NAME = "calendars"
OFFICE = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def calendars() -> list[BusinessCalendar]:
    return [
        BusinessCalendar.from_json(
            {"time_zone": "America/New_York", "hours": OFFICE, "holidays": {"country": "US"}}
        ),
        BusinessCalendar.from_json(
            {
                "time_zone": "Europe/Berlin",
                "hours": {
                    day: [["08:00", "12:00"], ["13:00", "17:00"]]
                    for day in ("mon", "tue", "wed", "thu", "fri")
                },
                "holidays": {"country": "DE", "subdivision": "BY"},
                "closed_days": ["2026-12-24", "2026-12-31", "2027-12-24", "2027-12-31"],
            }
        ),
        BusinessCalendar.from_json(
            {
                "time_zone": "America/Chicago",
                "hours": {day: [["22:00", "06:00"]] for day in ("sun", "mon", "tue", "wed", "thu")},
                "holidays": {"country": "US", "subdivision": "TX"},
            }
        ),
        BusinessCalendar.from_json(
            {
                "time_zone": "Australia/Sydney",
                "hours": {
                    day: [["07:00", "19:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")
                },
                "holidays": {"country": "AU", "subdivision": "NSW"},
            }
        ),
        BusinessCalendar.ALWAYS,
    ]


def clocks(
    count: int, seed: int = 2026
) -> list[tuple[BusinessCalendar, datetime, float, datetime]]:
    """(calendar, start, working seconds to add, end of a span to count) for each clock."""
    rng = random.Random(seed)
    kinds = calendars()
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    drawn = []
    for _ in range(count):
        start = origin + timedelta(seconds=rng.randrange(2 * 365 * 86_400))
        amount = rng.choice((900, 3600, 4 * 3600, 8 * 3600, 40 * 3600, 80 * 3600))
        span = timedelta(seconds=rng.randrange(3600, 60 * 86_400))
        drawn.append((rng.choice(kinds), start, float(amount), start + span))
    return drawn


def _timed(calls: list[Callable[[], object]]) -> list[float]:
    samples = []
    for call in calls:
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def _plain_add(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def _plain_span(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


@scenario(
    NAME,
    help="working time by business calendars: add, working_seconds, a sweep",
    default_cases=20_000,
)
def run(ctx: Context) -> list[Result]:
    drawn = clocks(ctx.warmup + ctx.cases)
    warm, measured = drawn[: ctx.warmup], drawn[ctx.warmup :]
    for calendar, start, amount, end in warm:
        calendar.add(start, amount)
        calendar.working_seconds(start, end)
    results: list[Result] = []
    measures = {
        "add": (
            [partial(c.add, start, amount) for c, start, amount, _ in measured],
            [partial(_plain_add, start, amount) for _, start, amount, _ in measured],
        ),
        "working_seconds": (
            [partial(c.working_seconds, start, end) for c, start, _, end in measured],
            [partial(_plain_span, start, end) for _, start, _, end in measured],
        ),
    }
    for name, (calls, plain) in measures.items():
        samples, floors = _timed(calls), _timed(plain)
        for metric, q in (("p50_ms", 0.5), ("p95_ms", 0.95)):
            value, low = percentile_ms(samples, q), percentile_ms(floors, q)
            results.append(Result(f"{NAME}.{name}", metric, round(value, 4), round(low, 4)))
        ctx.log(f"{NAME}.{name}: p50 {percentile_ms(samples, 0.5) * 1000:.1f} us")
    began = time.perf_counter()
    for calendar, start, _, end in measured:
        calendar.working_seconds(start, end)
    sweep = time.perf_counter() - began
    began = time.perf_counter()
    for _, start, _, end in measured:
        _plain_span(start, end)
    plain_sweep = time.perf_counter() - began
    per_s, floor_per_s = len(measured) / sweep, len(measured) / max(plain_sweep, 1e-9)
    results.append(Result(f"{NAME}.sweep", "per_s", round(per_s), round(floor_per_s)))
    agree = all(
        abs(calendar.working_seconds(start, calendar.add(start, amount)) - amount) < 1e-6
        for calendar, start, amount, _ in measured
    )
    results.append(Result(f"{NAME}.check", "agree", 1.0 if agree else 0.0))
    return results
