"""Business calendars: when an organization works, and the working time
between two instants.

A :class:`BusinessCalendar` is a time zone, working hours for each weekday
(local wall-clock times; a shift may run past midnight), a country's public
holidays and the organization's own closed days. Service-level clocks count
working time with it: :meth:`~BusinessCalendar.working_seconds` between two
instants, and :meth:`~BusinessCalendar.add` to find when a number of working
seconds will have passed.

The arithmetic is exact to the microsecond. It works a day at a time near the
ends of a span, around changes of the UTC offset and on closed days, and
counts the whole weeks in between from the weekly hours, so a span of months
costs little more than a span of days.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any, ClassVar

from attrs import field, frozen

from casekit.domain import public_holidays
from casekit.domain.calendar_checks import (
    MAX_CLOSED_DAYS,
    MAX_INTERVALS,
    WEEKDAYS,
    Intervals,
    WeekHours,
    check_closed_days,
    check_holidays,
    check_hours,
    check_time_zone,
    every_day,
)
from casekit.domain.timezones import (
    DAY,
    EPOCH_ORDINAL,
    FIRST_YEAR,
    LAST_YEAR,
    MINUTE,
    SECOND,
    offset_changes,
    year_of_instant,
    zone_window,
)
from casekit.errors import InvalidInput

__all__ = ["MAX_CLOSED_DAYS", "MAX_INTERVALS", "WEEKDAYS", "BusinessCalendar", "WeekHours"]

#: :meth:`BusinessCalendar.add` gives up after this many days without working time.
SEARCH_DAYS = 3 * 366

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
# Spans of at least this many local days count their middle days arithmetically.
_LONG_SPAN = 8
_MOST_SECONDS = (LAST_YEAR - FIRST_YEAR) * 366 * 86_400
# Each calendar keeps the shifts of this many local days it was last asked about.
_DAYS_KEPT = 256

Shifts = tuple[tuple[int, int], ...]


def _instant(value: datetime, name: str) -> int:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} is a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} needs a time zone: {value.isoformat()}")
    return (value - _EPOCH) // _ONE_MICROSECOND


def _datetime(instant: int) -> datetime:
    return _EPOCH + timedelta(microseconds=instant)


class _Plan:
    """What the arithmetic reads, computed once per calendar: shifts in
    microseconds from local midnight, each weekday's length and the week's."""

    __slots__ = (
        "always",
        "closed",
        "closed_sorted",
        "country",
        "days",
        "nominal",
        "shifts",
        "subdivision",
        "week",
        "zone",
    )

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.zone = calendar.time_zone
        self.shifts = tuple(
            tuple((s * MINUTE, e * MINUTE) for s, e in calendar.hours.get(day, ()))
            for day in range(7)
        )
        self.nominal = tuple(sum(e - s for s, e in shifts) for shifts in self.shifts)
        self.week = sum(self.nominal)
        self.closed_sorted = tuple(sorted(day.toordinal() for day in calendar.closed_days))
        self.closed = frozenset(self.closed_sorted)
        self.country = calendar.holiday_country
        self.subdivision = calendar.holiday_subdivision
        self.always = calendar.hours == every_day() and not self.closed and self.country is None
        self.days: dict[int, Shifts] = {}


@frozen
class BusinessCalendar:
    """When an organization works: a time zone, working hours per weekday,
    public holidays and its own closed days.

    ``hours`` maps a weekday (0 = Monday ... 6 = Sunday) to intervals
    ``(start, end)`` in minutes from local midnight, start before end. An end
    past 1440 runs into the next day: ``(1320, 1800)`` is 22:00 to 06:00.
    Days without intervals are closed; the default is every day, all day.
    A public holiday of ``holiday_country`` (and ``holiday_subdivision``),
    or one of ``closed_days``, closes the shifts that *start* on that local
    date.

    Wrong values raise :class:`~casekit.errors.InvalidInput` naming each
    field. Instants passed in need a time zone; instants returned are UTC.
    """

    time_zone: str = "UTC"
    hours: Mapping[int, Intervals] = field(factory=every_day)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_days: frozenset[date] = frozenset()
    _plan: _Plan = field(init=False, eq=False, repr=False, hash=False)

    #: Every day, all day, in UTC, without holidays: what applies where no
    #: calendar is set. Its working time is plain elapsed time.
    ALWAYS: ClassVar[BusinessCalendar]

    def __attrs_post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        check_time_zone(errors, "time_zone", self.time_zone)
        hours = check_hours(errors, "hours", self.hours)
        country, subdivision = check_holidays(
            errors,
            ("holiday_country", "holiday_subdivision"),
            self.holiday_country,
            self.holiday_subdivision,
        )
        closed = check_closed_days(errors, "closed_days", self.closed_days)
        if errors:
            raise InvalidInput(errors)
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "holiday_country", country)
        object.__setattr__(self, "holiday_subdivision", subdivision)
        object.__setattr__(self, "closed_days", closed)
        object.__setattr__(self, "_plan", _Plan(self))

    # -- the JSON form ------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The calendar as stored and as the REST API shows it (see
        :meth:`from_json`)."""
        from casekit.domain.calendar_json import calendar_to_json

        return calendar_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, field: str = "calendar") -> BusinessCalendar:
        """A calendar from its JSON form::

            {"time_zone": "America/Chicago",
             "hours": {"mon": [["08:00", "17:00"]], "fri": [["22:00", "06:00"]]},
             "holidays": {"country": "US", "subdivision": "TX"},
             "closed_days": ["2026-12-24"]}

        :raises casekit.errors.InvalidInput: naming each wrong field under
            ``field``: ``calendar.hours.mon[0]``, ``calendar.time_zone``...
        """
        from casekit.domain.calendar_json import calendar_from_json

        return calendar_from_json(data, field)

    # -- working time ---------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` is working time."""
        instant = _instant(at, "at")
        if self._plan.always:
            return True
        today = self._local_day(instant)
        return any(
            start <= instant < end
            for day in range(today - 1, today + 2)
            for start, end in self._shifts(day)
        )

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """The working time from ``start`` to ``end`` (excluded), in seconds;
        0 when ``end`` is not after ``start``."""
        return self._working(_instant(start, "start"), _instant(end, "end")) / SECOND

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant (UTC) at which ``seconds`` of working time after
        ``start`` have passed: the earliest instant with
        ``working_seconds(start, instant) == seconds`` (so an amount that
        runs out at closing time is due at closing time). With 0 seconds,
        ``start`` itself when it is working time, else the next opening.

        :raises casekit.errors.InvalidInput: when no working time is found
            for three years (every day closed).
        """
        instant = _instant(start, "start")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"seconds is a number, not {type(seconds).__name__}")
        if not (math.isfinite(seconds) and 0 <= seconds <= _MOST_SECONDS):
            raise ValueError(f"seconds is from 0 to {_MOST_SECONDS}, not {seconds!r}")
        return _datetime(self._add(instant, round(seconds * SECOND)))

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working time from ``start`` to ``end`` as (start, end) pairs in
        UTC, in order, clipped to the span; intervals that touch are joined."""
        return self._open(_instant(start, "start"), _instant(end, "end"))

    # -- the arithmetic, in microseconds ------------------------------------------------

    def _local_day(self, instant: int) -> int:
        """The ordinal of the local date at ``instant``."""
        window = zone_window(self._plan.zone, year_of_instant(instant))
        return EPOCH_ORDINAL + (instant + window.offset(instant)) // DAY

    def _midnight(self, day: int) -> int:
        """The instant local date ``day`` (an ordinal) begins."""
        window = zone_window(self._plan.zone, date.fromordinal(day).year)
        return window.instant((day - EPOCH_ORDINAL) * DAY)

    def _shifts(self, day: int) -> Shifts:
        """The shifts that start on local date ``day`` (an ordinal), as
        instants; none when the day is closed. The latest days asked for
        are kept."""
        days = self._plan.days
        found = days.get(day)
        if found is None:
            found = self._day_shifts(day)
            if len(days) >= _DAYS_KEPT:
                days.clear()
            days[day] = found
        return found

    def _day_shifts(self, day: int) -> Shifts:
        plan = self._plan
        shifts = plan.shifts[(day - 1) % 7]
        if not shifts or day in plan.closed:
            return ()
        year = date.fromordinal(day).year
        if plan.country is not None and day in public_holidays.holiday_ordinals(
            plan.country, plan.subdivision, year
        ):
            return ()
        midnight = (day - EPOCH_ORDINAL) * DAY
        window = zone_window(plan.zone, year)
        return tuple(
            (window.instant(midnight + s), window.instant(midnight + e)) for s, e in shifts
        )

    def _working(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        if self._plan.always:
            return end - start
        first, last = self._local_day(start), self._local_day(end)
        # A shift that started the day before the local date of ``start``
        # may still run (a shift is shorter than two days), and one that
        # starts the day after the date of ``end`` may have begun: the
        # clocks may go back across midnight.
        days: Iterator[int]
        total = 0
        if last - first >= _LONG_SPAN:
            # The shifts of the days between lie wholly inside the span.
            total += self._whole_days(first + 2, last - 2)
            days = chain(range(first - 1, first + 2), range(last - 1, last + 2))
        else:
            days = iter(range(first - 1, last + 2))
        for day in days:
            for a, b in self._shifts(day):
                total += max(min(b, end) - max(a, start), 0)
        return total

    def _whole_days(self, first: int, last: int) -> int:
        """The working time of every shift starting on local dates ``first``
        to ``last`` (ordinals): whole weeks and the weekdays' lengths, then
        the days that differ worked out one by one."""
        plan = self._plan
        weeks, rest = divmod(last - first + 1, 7)
        total = weeks * plan.week
        total += sum(plan.nominal[(first - 1 + k) % 7] for k in range(rest))
        odd: set[int] = set()
        first_year, last_year = date.fromordinal(first).year, date.fromordinal(last).year
        if plan.country is not None:
            for year in range(first_year, last_year + 1):
                holidays = public_holidays.holiday_ordinals(plan.country, plan.subdivision, year)
                odd.update(day for day in holidays if first <= day <= last)
        closed = plan.closed_sorted
        odd.update(closed[bisect_left(closed, first) : bisect_right(closed, last)])
        # Shifts near a change of the UTC offset last longer or shorter.
        since = (first - EPOCH_ORDINAL - 2) * DAY
        until = (last - EPOCH_ORDINAL + 3) * DAY
        for year in range(year_of_instant(since), year_of_instant(until) + 1):
            for instant, offset in offset_changes(plan.zone, year):
                if since <= instant <= until:
                    near = EPOCH_ORDINAL + (instant + offset) // DAY
                    odd.update(range(max(first, near - 3), min(last, near + 2) + 1))
        for day in odd:
            worked = sum(b - a for a, b in self._shifts(day))
            total += worked - plan.nominal[(day - 1) % 7]
        return total

    def _add(self, start: int, amount: int) -> int:
        plan = self._plan
        if plan.always:
            return start + amount
        # Far targets: jump whole weeks at a time, counting what they hold,
        # and keep the last week or two for the walk below.
        while amount > 2 * plan.week:
            weeks = amount // plan.week - 1
            while weeks:
                target = self._midnight(self._local_day(start) + 2 + 7 * weeks)
                worked = self._working(start, target)
                if 0 < worked < amount:
                    break
                weeks = weeks // 2 if worked else 0
            if not weeks:
                break
            start, amount = target, amount - worked
        return self._walk(start, amount)

    def _walk(self, start: int, amount: int) -> int:
        day = self._local_day(start) - 1
        idle = 0
        while idle <= SEARCH_DAYS:
            for a, b in self._shifts(day):
                if b <= start or b <= a:
                    continue
                a = max(a, start)
                if amount <= b - a:
                    return a + amount
                amount -= b - a
                idle = 0
            day += 1
            idle += 1
        since = date.fromordinal(day - idle)
        raise InvalidInput({"calendar": [f"no working time for {SEARCH_DAYS} days from {since}"]})

    def _open(self, start: int, end: int) -> Iterator[tuple[datetime, datetime]]:
        if end <= start:
            return
        if self._plan.always:
            yield _datetime(start), _datetime(end)
            return
        run: tuple[int, int] | None = None
        for day in range(self._local_day(start) - 1, self._local_day(end) + 2):
            for a, b in self._shifts(day):
                a, b = max(a, start), min(b, end)
                if b <= a:
                    continue
                if run is not None and a <= run[1]:
                    run = (run[0], max(run[1], b))
                    continue
                if run is not None:
                    yield _datetime(run[0]), _datetime(run[1])
                run = (a, b)
        if run is not None:
            yield _datetime(run[0]), _datetime(run[1])


BusinessCalendar.ALWAYS = BusinessCalendar()
