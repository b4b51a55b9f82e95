"""Targets: the viewer's side's clocks on the cases opened in the range.

Each of the viewer's organization's clocks (:mod:`casekit.store.clocks`, one
per case and kind) on the cases the report counts that were opened in its
range: how many, how many breached, and the working time they counted, for
all the cases and by case type, other party and owner; and the breached
ones themselves. Only the viewer's organization's clocks: a carrier's report
never counts the shipper's, shown to it or not. See docs/reports.rst.
"""

from __future__ import annotations

import bisect
import heapq
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, and_, bindparam, case, cast, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from casekit.domain.sla import ClockKind, ClockState, WorkingTime
from casekit.query.clock_filters import breached
from casekit.query.filters import Filter, needs_shipment
from casekit.query.listing import BuiltinView, ListQuery
from casekit.query.report_models import BreachRow, ClockRow, Rest
from casekit.query.reports import BREACH_LIST, Dimension, Reporter, c, key_of, one, rounded
from casekit.store import tables
from casekit.store.clocks import OWN, calendar_for, load_calendars

k = tables.clocks.c
s = tables.shipments.c

#: The kinds in the order rows list them.
KIND_ORDER = {kind.value: i for i, kind in enumerate(ClockKind)}


#: One clock: (case id, case type, other party, owner, kind, working time, breached).
Clock = tuple[int, str, int | None, int | None, str, float, bool]
#: A group's clocks of one kind: how many, how many breached, median and mean working time.
Summary = tuple[int, int, float, float]
#: The groups: (0: all the cases, 1: by type, 2: by other party, 3: by owner), the
#: group's value (None for all the cases) and the kind.
GroupKey = tuple[int, Any, str]


class Clocks:
    """The statements of the viewer's organization's clocks on the cases opened in
    the range, read from the range's start on (no clock starts before its side
    joined the case: the index by organization and start serves them)."""

    def __init__(self, r: Reporter) -> None:
        self.r = r
        source = tables.cases.join(
            tables.clocks,
            and_(k.case_id == c.id, k.org_id == r.org_id, k.started_at >= r.at(r.start)),
        )
        if needs_shipment(r.query.filters):
            source = source.outerjoin(tables.shipments, s.id == c.shipment_id)
        self.source = source
        self.where = r.where(r.opened_in_range())
        #: As the list's filter reads it (:func:`~casekit.query.clock_filters.breached`).
        self.missed = breached(r.at(r.now))
        #: A running clock's last count (None for any other).
        self.counted = case((k.state == ClockState.RUNNING.value, k.updated_at))
        self.since: dict[tuple[int | None, datetime], float] = {}
        #: The breached clocks: (the case's opening, its id, the kind's order, the kind).
        self.missed_at: list[tuple[datetime, int, int, str]] = []
        self.clocks: list[Clock] = []

    def grouped(self) -> dict[GroupKey, Summary]:
        """Each group's :data:`Summary`: all the cases, and each case type, other
        party and owner, by kind. On PostgreSQL the database sums and ranks the
        groups (:meth:`grouped_in_postgresql`); elsewhere every clock is read and
        grouped here (:meth:`grouped_in_python`)."""
        if self.r.session.get_bind().dialect.name == "postgresql":
            return self.grouped_in_postgresql()
        return self.grouped_in_python()

    def grouped_in_python(self) -> dict[GroupKey, Summary]:
        """Every clock read (:meth:`all`) and grouped in one pass."""
        values: dict[GroupKey, list[float]] = defaultdict(list)
        missed: dict[GroupKey, int] = defaultdict(int)
        for _, type_, party, owner, kind, seconds, hit in self.all():
            keys = ((0, None, kind), (1, type_, kind), (2, party, kind), (3, owner, kind))
            for key in keys:
                values[key].append(seconds)
            if hit:
                for key in keys:
                    missed[key] += 1
        return {
            key: (
                len(found),
                missed.get(key, 0),
                # As percentile_cont(0.5): the middle value, or the mean of the two.
                statistics.median(found),
                sum(found) / len(found),
            )
            for key, found in values.items()
        }

    def grouped_in_postgresql(self) -> dict[GroupKey, Summary]:
        """As :meth:`grouped_in_python`, in one statement: each clock's working time
        counted to the report's moment in SQL (:meth:`working_time`), the groups
        summed and ranked by the database (``GROUPING SETS``, ``percentile_cont``);
        a row per group comes back, not a row per clock. The oldest breached clocks
        (for :meth:`breaches`) are read by a second, short statement."""
        inner = (
            select(
                k.kind.label("kind"),
                c.type.label("type"),
                self.r.party.label("party"),
                self.r.own_owner.label("owner"),
                self.working_time().label("seconds"),
                self.missed.label("missed"),
            )
            .select_from(self.source)
            .where(*self.where)
            .subquery()
        )
        kind, seconds = inner.c.kind, inner.c.seconds
        dims = (inner.c.type, inner.c.party, inner.c.owner)
        stmt = select(
            kind,
            *dims,
            *(func.grouping(dim) for dim in dims),
            func.count(),
            func.count().filter(inner.c.missed),
            func.percentile_cont(0.5).within_group(seconds),
            func.avg(seconds),
        ).group_by(
            func.grouping_sets(tuple_(kind), *(tuple_(dim, kind) for dim in dims)),
        )
        found: dict[GroupKey, Summary] = {}
        for row in self.r.session.execute(stmt):
            at = next((i + 1 for i in range(3) if row[4 + i] == 0), 0)
            found[(at, row[at] if at else None, row[0])] = (
                int(row[7]),
                int(row[8]),
                float(row[9]),
                float(row[10]),
            )
        chosen = self.r.session.execute(
            select(c.created_at, c.id, k.kind)
            .select_from(self.source)
            .where(*self.where, self.missed)
            .order_by(c.created_at, c.id, _kind_order())
            .limit(BREACH_LIST)
        )
        self.missed_at = [
            (opened, case_id, KIND_ORDER.get(kind_, len(KIND_ORDER)), kind_)
            for opened, case_id, kind_ in chosen
        ]
        return found

    def working_time(self) -> Any:
        """Each clock's working time in seconds, a running one's counted on from its
        last count to the report's moment in the calendar the viewer's organization
        keeps for its cases with the clock's other party (as :func:`working_until`).

        The calendars' open intervals from the range's start to the report's
        moment are bound as arrays (calendar, opening, closing, working time after
        it): a running clock's count goes on from the first interval that closes
        after its last count. No clock of the report starts before the range.
        """
        r = self.r
        calendars = load_calendars(r.session.connection(), [r.org_id])
        pairs = {partner: row.calendar for (_, partner), row in calendars.items() if partner != OWN}
        spans: list[tuple[int, datetime, datetime, float]] = []
        for number, calendar in enumerate(
            [calendar_for(calendars, r.org_id, None), *pairs.values()]
        ):
            listed = list(calendar.open_intervals(min(r.start, r.now), r.now))
            total = 0.0
            for opens, closes in reversed(listed):
                spans.append((number, opens, closes, total))
                total += (closes - opens).total_seconds()
        columns = list(zip(*spans, strict=True)) if spans else [(), (), (), ()]
        table = (
            func.unnest(
                bindparam("calendar", list(columns[0]), type_=ARRAY(Float)),
                bindparam("opens", list(columns[1]), type_=ARRAY(DateTime(timezone=True))),
                bindparam("closes", list(columns[2]), type_=ARRAY(DateTime(timezone=True))),
                bindparam("after", list(columns[3]), type_=ARRAY(Float)),
            )
            .table_valued("calendar", "opens", "closes", "after")
            .render_derived()
        )
        which: Any = literal(0.0)
        if pairs:
            which = case(
                {partner: float(i + 1) for i, partner in enumerate(pairs)},
                value=r.party,
                else_=0.0,
            )
        counted = k.updated_at
        since = (
            select(
                func.extract("epoch", table.c.closes - func.greatest(table.c.opens, counted))
                + table.c.after
            )
            .where(table.c.calendar == which, table.c.closes > counted)
            .order_by(table.c.closes)
            .limit(1)
            .scalar_subquery()
        )
        running = and_(k.state == ClockState.RUNNING.value, counted < r.at(r.now))
        return cast(k.elapsed_seconds, Float) + case(
            (running, func.coalesce(cast(since, Float), 0.0)), else_=0.0
        )

    def all(self) -> list[Clock]:
        """Every clock, its working time brought to the report's moment; the breached
        ones' cases (their opening and id, the kind) are kept for :meth:`breaches`."""
        stmt = select(
            c.id,
            c.type,
            self.r.party,
            self.r.own_owner,
            k.kind,
            k.elapsed_seconds,
            self.counted,
            case((self.missed, c.created_at)),
        )
        rows = self.r.session.execute(stmt.select_from(self.source).where(*self.where)).all()
        self.since = _working_since(self.r, {(row[2], row[6]) for row in rows if row[6]})
        since = self.since
        self.missed_at = [
            (row[7], row[0], KIND_ORDER.get(row[4], len(KIND_ORDER)), row[4])
            for row in rows
            if row[7] is not None
        ]
        self.clocks = [
            (
                case_id,
                type_,
                party,
                owner,
                kind,
                elapsed + since.get((party, counted), 0.0) if counted else float(elapsed),
                missed_at is not None,
            )
            for case_id, type_, party, owner, kind, elapsed, counted, missed_at in rows
        ]
        return self.clocks

    def cases_of(self, at: int, dim: Dimension, values: Collection[Any]) -> int:
        """How many cases have a clock under one of ``values`` of ``dim`` (at place
        ``at`` of a :data:`Clock`): from the clocks read, or counted by the database."""
        if self.clocks:
            return len({clock[0] for clock in self.clocks if clock[at] in values})
        known = [value for value in values if value is not None]
        picked = dim.column.in_(known)
        if None in values:
            picked = picked | dim.column.is_(None)
        stmt = select(func.count(func.distinct(c.id))).select_from(self.source)
        return int(self.r.session.execute(stmt.where(*self.where, picked)).scalar_one())

    def breaches(self) -> list[BreachRow]:
        """The clocks that breached, oldest case first, up to
        :data:`~casekit.query.reports.BREACH_LIST` (after :meth:`grouped`, which
        chose them): their cases and clocks read by key."""
        chosen = heapq.nsmallest(BREACH_LIST, self.missed_at)
        if not chosen:
            return []
        stmt = (
            select(
                c.id,
                c.number,
                c.type,
                c.created_at,
                self.r.party,
                k.kind,
                k.state,
                k.target_seconds,
                k.elapsed_seconds,
                self.counted,
                func.coalesce(k.breached_at, k.due_at),
            )
            .select_from(tables.cases.join(tables.clocks, k.case_id == c.id))
            .where(
                k.org_id == self.r.org_id,
                c.id.in_(sorted({case_id for _, case_id, _, _ in chosen})),
            )
        )
        found = {(row[0], row[5]): row for row in self.r.session.execute(stmt)}
        since = self.since
        running = {(row[4], row[9]) for row in found.values() if row[9]} - since.keys()
        if running:  # not counted yet: the database summed the groups
            since = {**since, **_working_since(self.r, running)}
        rows = []
        for _, case_id, _, kind in chosen:
            (
                _,
                number,
                type_,
                created_at,
                party,
                _,
                state,
                target,
                elapsed,
                counted,
                breached_at,
            ) = found[(case_id, kind)]
            rows.append(
                BreachRow(
                    number=number,
                    type=type_,
                    created_at=created_at,
                    kind=kind,
                    target_seconds=target,
                    elapsed_seconds=round(
                        elapsed + since.get((party, counted), 0.0) if counted else float(elapsed),
                        3,
                    ),
                    breached_at=breached_at,
                    state=state,
                    query=ListQuery(view=BuiltinView.ALL_CASES, search=number),
                )
            )
        return rows


def _working_since(
    r: Reporter, running: Iterable[tuple[int | None, datetime]]
) -> dict[tuple[int | None, datetime], float]:
    """The working time from each of ``running`` (other party, a running clock's last
    count) to the report's now, in the calendar the viewer's organization keeps for
    its cases with that party (:func:`working_until` for each calendar)."""
    running = [(party, moment) for party, moment in running if moment < r.now]
    if not running:
        return {}
    calendars = load_calendars(r.session.connection(), [r.org_id])
    walks: dict[int, tuple[WorkingTime, set[datetime]]] = {}
    walk_of: dict[int | None, int] = {}
    for party, moment in running:
        ident = walk_of.get(party)
        if ident is None:
            calendar = calendar_for(calendars, r.org_id, party)
            ident = walk_of[party] = id(calendar)
            walks.setdefault(ident, (calendar, set()))
        walks[ident][1].add(moment)
    counted = {
        ident: working_until(calendar, moments, r.now)
        for ident, (calendar, moments) in walks.items()
    }
    return {(party, moment): counted[walk_of[party]][moment] for party, moment in running}


def working_until(
    calendar: WorkingTime, moments: Iterable[datetime], now: datetime
) -> dict[datetime, float]:
    """The working time from each of ``moments`` (those before ``now``) to ``now``.

    A calendar that lists its open intervals (``open_intervals(start, end)``,
    as :class:`~casekit.domain.calendar.BusinessCalendar` does) is asked once
    for the whole span, and each moment finds its place among the intervals by
    bisection. Otherwise the moments are taken latest first, each interval
    between two of them counted once (``working_seconds``) and the counts added
    up: one walk through the calendar either way, however many clocks run.
    """
    ordered = sorted({moment for moment in moments if moment < now})
    if not ordered:
        return {}
    listing = getattr(calendar, "open_intervals", None)
    found: dict[datetime, float] = {}
    if listing is None:
        total, later = 0.0, now
        for moment in reversed(ordered):
            total += calendar.working_seconds(moment, later)
            found[moment] = total
            later = moment
        return found
    spans: list[tuple[datetime, datetime]] = list(listing(ordered[0], now))
    ends = [end for _, end in spans]
    # The working time from the end of each interval to now.
    after = [0.0] * len(spans)
    total = 0.0
    for i in range(len(spans) - 1, -1, -1):
        after[i] = total
        total += (spans[i][1] - spans[i][0]).total_seconds()
    for moment in ordered:
        i = bisect.bisect_right(ends, moment)  # the first interval that ends after it
        if i == len(spans):
            found[moment] = 0.0
        else:
            opens, closes = spans[i]
            found[moment] = (closes - max(opens, moment)).total_seconds() + after[i]
    return found


def clock_tables(
    r: Reporter, dims: Sequence[Dimension]
) -> tuple[list[ClockRow], dict[str, tuple[list[ClockRow], Rest | None]], list[BreachRow]]:
    """The rows of the targets section: all the cases by kind, each of ``dims``'
    groups by kind (most clocks first; with the reporter's ``top``, the largest
    groups and what the rest count), and the breached clocks (oldest case first,
    up to :data:`~casekit.query.reports.BREACH_LIST`).

    ``dims`` are among the case type, the other party and the owner. Two
    statements (:meth:`Clocks.grouped`), then the oldest breached ones' cases
    and clocks, read by key.
    """
    reading = Clocks(r)
    groups: list[dict[Any, dict[str, Summary]]] = [defaultdict(dict) for _ in range(4)]
    for (at, value, kind), summary in reading.grouped().items():
        groups[at][value][kind] = summary
    opened = r.opened_filter()
    overall = _rows(groups[0].get(None, {}), None, "All cases", [opened], r)
    place = {"type": 1, r.party_field: 2, "owner": 3}
    split: dict[str, tuple[list[ClockRow], Rest | None]] = {}
    for dim in dims:
        at = place[dim.name]
        by_key = groups[at]
        if dim.name == "owner":
            r.names("user", by_key)
        elif dim.name == r.party_field:
            r.names("org", by_key)
        ranked = sorted(by_key.items(), key=lambda kv: (-_count(kv[1]), dim.label(kv[0])))
        kept, left = r.keep_top(ranked)
        rows = [
            row
            for key, kinds in kept
            for row in _rows(kinds, key_of(key), dim.label(key), [opened, dim.pick(key)], r)
        ]
        rest = None
        if left:
            cases = reading.cases_of(at, dim, {value for value, _ in left})
            rest = Rest(rows=sum(len(kinds) for _, kinds in left), cases=cases)
        split[dim.name] = (rows, rest)
    return overall, split, reading.breaches()


def _count(kinds: dict[str, Summary]) -> int:
    return sum(summary[0] for summary in kinds.values())


def _rows(
    kinds: dict[str, Summary],
    key: Any,
    label: str,
    base: Sequence[Filter],
    r: Reporter,
) -> list[ClockRow]:
    """One row per kind of a group's clocks (how many, how many breached, the median
    and mean of their working times)."""
    rows = []
    for kind in sorted(kinds, key=lambda kind: KIND_ORDER.get(kind, len(KIND_ORDER))):
        n, breached_, median, mean = kinds[kind]
        rows.append(
            ClockRow(
                key=key,
                label=label,
                kind=kind,
                clocks=n,
                breached=breached_,
                breach_rate=rounded(breached_ / n),
                median_seconds=rounded(median),
                mean_seconds=rounded(mean),
                query=r.drill(*base, one("has_clock", kind)),
                breached_query=r.drill(*base, one("breached", kind)),
            )
        )
    return rows


def _kind_order() -> Any:
    """The kinds in :data:`KIND_ORDER`, as SQL."""
    return case(KIND_ORDER, value=k.kind, else_=len(KIND_ORDER))
