"""Time for reports: the viewer's days and weeks as UTC instants, and durations in SQL.

A report counts by the viewer's calendar: a day is midnight to midnight in
their time zone, so around a daylight-saving change a day lasts 23 or 25
hours. :func:`calendar_buckets` turns local days (or ISO weeks, Monday
first) into UTC boundaries in Python, with :mod:`zoneinfo`, and
:func:`bucket_of` sorts a timestamp column into them in SQL with a balanced
tree of ``CASE`` comparisons — the same statement on SQLite, PostgreSQL and
MySQL/MariaDB, about log2(buckets) comparisons per row, and exact whatever
the offsets. :func:`seconds_between` is the elapsed time between two
timestamp columns, in seconds, in each database's own arithmetic.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen
from sqlalchemy import ColumnElement, Float, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class Granularity(enum.StrEnum):
    DAY = "day"
    WEEK = "week"


@frozen
class Bucket:
    """One local day or week: its first local date and its UTC bounds ``[start, end)``."""

    label: date
    start: datetime
    end: datetime


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``.

    A day that begins inside a daylight-saving gap (no local midnight)
    begins at the first local instant after it.
    """
    naive = datetime(day.year, day.month, day.day)
    moment = naive.replace(tzinfo=zone).astimezone(UTC)
    # In a gap, zoneinfo maps the missing time forward; round trip to check.
    back = moment.astimezone(zone).replace(tzinfo=None)
    if back < naive:  # pragma: no cover - only zones whose midnight falls in a gap
        moment = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return moment


def calendar_buckets(
    first: date, last: date, zone: ZoneInfo, granularity: Granularity
) -> list[Bucket]:
    """The days (or weeks) from ``first`` to ``last`` inclusive, in ``zone``.

    Weeks are ISO weeks (Monday to Sunday), cut to the range: the first and
    the last may be shorter than seven days. A week is labelled with its
    first day in the range.
    """
    days = (last - first).days + 1
    starts = [first + timedelta(days=n) for n in range(days)]
    if granularity is Granularity.WEEK:
        starts = [d for d in starts if d == first or d.weekday() == 0]
    bounds = [local_midnight(d, zone) for d in starts]
    bounds.append(local_midnight(last + timedelta(days=1), zone))
    return [Bucket(d, bounds[i], bounds[i + 1]) for i, d in enumerate(starts)]


def bucket_of(column: Any, edges: Sequence[datetime]) -> ColumnElement[int]:
    """The index ``i`` with ``edges[i] <= column < edges[i + 1]``, as SQL.

    ``edges`` are increasing; rows outside ``[edges[0], edges[-1])`` must be
    kept out by the caller's WHERE clause (they land in the first or last
    bucket otherwise).
    """
    if len(edges) < 2:
        raise ValueError("at least one bucket")

    def tree(lo: int, hi: int) -> Any:
        # buckets lo..hi-1; the comparison at their middle edge halves them
        if hi - lo == 1:
            return literal_column(str(lo))
        mid = (lo + hi) // 2
        return case((column < edges[mid], tree(lo, mid)), else_=tree(mid, hi))

    return tree(0, len(edges) - 1)  # type: ignore[no-any-return]


class seconds_between(FunctionElement[float]):
    """``end - start`` in seconds (a float), for two timestamp expressions."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    # julianday reads casekit's stored text; its double carries about 10 µs.
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "mysql")
@compiles(seconds_between, "mariadb")
def _seconds_mysql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 1000000.0)"


__all__ = [
    "Bucket",
    "Granularity",
    "bucket_of",
    "calendar_buckets",
    "local_midnight",
    "seconds_between",
]
