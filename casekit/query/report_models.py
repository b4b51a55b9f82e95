"""What a report returns: typed rows in named tables, each number with its drill-down.

Every row that counts cases carries ``query``: the Case Management list
query (:class:`~casekit.query.listing.ListQuery`) that lists exactly those
cases for the same viewer, so a dashboard links each bar or number to the
list with the same filter. :func:`to_json` turns any of these objects into
plain JSON-ready data (queries in their JSON form, see
:mod:`casekit.schemas.views`); :meth:`Table.csv` writes a table as CSV.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import attrs
from attrs import frozen

from casekit import csvsafe
from casekit.query.filters import Filter
from casekit.query.listing import ListQuery
from casekit.query.timing import Granularity


@frozen(kw_only=True)
class ReportQuery:
    """What a report covers: local dates ``start`` to ``end`` (both included), in
    ``timezone`` (an IANA name), counted by ``granularity``, for the cases
    that pass ``filters`` (list filters on brand, carrier, shipper, type,
    source and owner)."""

    start: date
    end: date
    timezone: str = "UTC"
    granularity: Granularity = Granularity.DAY
    filters: tuple[Filter, ...] = ()


@frozen(kw_only=True)
class CountRow:
    """Cases counted under ``key`` (a day, a status, an organization id ...)."""

    key: str | int | None
    label: str
    count: int
    query: ListQuery


@frozen(kw_only=True)
class DurationRow:
    """How long something took for the ``cases`` under ``key``.

    ``measured`` of them have a duration (they were answered, or solved);
    median and 90th percentile are in seconds, None without any.
    """

    key: str | int | None
    label: str
    cases: int
    measured: int
    median_seconds: float | None
    p90_seconds: float | None
    query: ListQuery


@frozen(kw_only=True)
class ReopenRow:
    """Of the cases opened in the range: solved at least once, and reopened at least once."""

    key: str | int | None
    label: str
    solved: int
    reopened: int
    rate: float | None
    solved_query: ListQuery
    reopened_query: ListQuery


@frozen(kw_only=True)
class LoadRow:
    """One user's load: active cases they own, messages posted and cases solved in the range."""

    user_id: int | None
    name: str
    active_owned: int
    messages_posted: int
    solved: int
    active_query: ListQuery
    solved_query: ListQuery | None


@frozen(kw_only=True)
class ClockRow:
    """The viewer's side's clocks of one kind on the cases under ``key``.

    ``clocks`` counts them (one a case), ``breached`` those that went past
    their target (by the report's moment, for those still running);
    ``breach_rate`` is ``breached / clocks`` (None without clocks). Median
    and mean are of the working time each clock counted, in seconds: until
    it stopped, until it paused, or until the report's moment. ``query``
    lists the cases with such a clock, ``breached_query`` those whose clock
    breached.
    """

    key: str | int | None
    label: str
    kind: str  # "first_response", "next_response" or "resolution"
    clocks: int
    breached: int
    breach_rate: float | None
    median_seconds: float | None
    mean_seconds: float | None
    query: ListQuery
    breached_query: ListQuery


@frozen(kw_only=True)
class BreachRow:
    """A case whose clock missed its target: which clock, by how much."""

    number: str
    type: str
    created_at: datetime
    kind: str  # "first_response", "next_response" or "resolution"
    target_seconds: int
    elapsed_seconds: float  # working time, until it stopped or until the report's moment
    breached_at: datetime  # when it went past its target
    state: str  # "running", "paused" or "stopped"
    query: ListQuery


@frozen(kw_only=True)
class Rest:
    """The rows a report kept to its top rows left out: how many, and the cases they count."""

    rows: int
    cases: int


@frozen(kw_only=True)
class Table:
    """A named table of rows of one kind.

    ``rest`` is set when the report was asked for its top rows only (see
    :meth:`casekit.services.reports.ReportService.dashboard`'s ``top``) and
    left rows out of this table; a complete table has none, and then its
    JSON has no ``rest`` key.
    """

    name: str
    title: str
    rows: tuple[Any, ...]
    rest: Rest | None = attrs.field(default=None, metadata={"omit_none": True})

    @property
    def row_count(self) -> int:
        """The table's rows, those left out included."""
        return len(self.rows) + (self.rest.rows if self.rest else 0)

    def csv(self) -> str:
        """The rows as CSV: a header of the row's fields, drill-down queries left out."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        names = self.columns()
        writer.writerow(names)
        for row in self.rows:
            writer.writerow([_csv_cell(getattr(row, name)) for name in names])
        return buffer.getvalue()

    def columns(self) -> list[str]:
        if not self.rows:
            return []
        return [
            f.name
            for f in attrs.fields(type(self.rows[0]))
            if not (f.name == "query" or f.name.endswith("_query"))
        ]


@frozen(kw_only=True)
class Section:
    """A part of the dashboard: its tables, and totals with their drill-downs."""

    name: str
    tables: tuple[Table, ...]
    totals: tuple[CountRow, ...] = ()

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


@frozen(kw_only=True)
class Report:
    """A report for one viewer: what it covers and its sections."""

    query: ReportQuery
    generated_at: datetime
    range_start: datetime  # UTC instant of the first local midnight
    range_end: datetime  # UTC instant after the last day
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)

    def tables(self) -> Iterator[Table]:
        for section in self.sections:
            yield from section.tables

    def table(self, name: str) -> Table:
        """A table by name, whichever section holds it (names are unique)."""
        for table in self.tables():
            if table.name == name:
                return table
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = to_json(self)
        return out


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: dicts, lists, strings, numbers, None."""
    from casekit.schemas.views import dump_query

    if isinstance(value, ListQuery):
        return dump_query(value)
    if isinstance(value, ReportQuery):
        return _dump_report_query(value)
    if attrs.has(type(value)):
        return {
            f.name: to_json(getattr(value, f.name))
            for f in attrs.fields(type(value))
            if not (f.metadata.get("omit_none") and getattr(value, f.name) is None)
        }
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def _dump_report_query(query: ReportQuery) -> dict[str, Any]:
    from casekit.schemas.views import dump_query

    filters = dump_query(ListQuery(filters=query.filters))["filters"]
    out: dict[str, Any] = {
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "timezone": query.timezone,
        "granularity": query.granularity.value,
        "filters": {f["field"]: f["value"] for f in filters},
    }
    return out


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(csvsafe.cell(value))


__all__ = [
    "BreachRow",
    "ClockRow",
    "CountRow",
    "DurationRow",
    "LoadRow",
    "ReopenRow",
    "Report",
    "ReportQuery",
    "Rest",
    "Section",
    "Table",
    "to_json",
]
