"""Business calendars' values checked: working hours by weekday, time
zone, holidays and closed days.

The checks write their messages under the field names the caller gives,
so :class:`~casekit.domain.calendar.BusinessCalendar` and its JSON form
(:mod:`casekit.domain.calendar_json`) name a wrong field the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from casekit.domain import public_holidays
from casekit.domain.timezones import FIRST_YEAR, LAST_YEAR, load_zone

#: Weekday names, Monday first: the keys of the JSON form's ``hours``.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The most working intervals one weekday may have.
MAX_INTERVALS = 24
#: The most closed days a calendar may list.
MAX_CLOSED_DAYS = 1000

_DAY_MINUTES = 1440
_WEEK_MINUTES = 7 * _DAY_MINUTES

Intervals = tuple[tuple[int, int], ...]


class WeekHours(Mapping[int, Intervals]):
    """Working hours by weekday (0 = Monday): read-only and hashable.

    Each weekday with working time maps to its intervals ``(start, end)`` in
    minutes from local midnight, sorted; a weekday without any is absent.
    """

    __slots__ = ("_days",)

    def __init__(self, days: Mapping[int, Sequence[tuple[int, int]]]) -> None:
        self._days: dict[int, Intervals] = {
            day: tuple(sorted((int(start), int(end)) for start, end in days[day]))
            for day in sorted(days)
            if days[day]
        }

    def __getitem__(self, day: int) -> Intervals:
        return self._days[day]

    def __iter__(self) -> Iterator[int]:
        return iter(self._days)

    def __len__(self) -> int:
        return len(self._days)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._days == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._days.items()))

    def __repr__(self) -> str:
        return f"WeekHours({self._days!r})"


def every_day() -> WeekHours:
    """Every weekday, all day."""
    return WeekHours(dict.fromkeys(range(7), ((0, _DAY_MINUTES),)))


def clock(minutes: int) -> str:
    """``minutes`` from midnight as ``"HH:MM"`` (1440 is ``"24:00"``)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def interval_text(start: int, end: int) -> tuple[str, str]:
    """An interval's wall-clock times as the JSON form writes them: an end
    past midnight as the next day's time, the end of the day as ``"24:00"``."""
    return clock(start), clock(end - _DAY_MINUTES if end > _DAY_MINUTES else end)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_time_zone(errors: dict[str, list[str]], name: str, value: object) -> None:
    if load_zone(value) is None:
        errors[name] = [
            f"unknown time zone {_shown(value)}; an IANA name such as 'America/Chicago'"
        ]


def _interval_problem(interval: object) -> str | None:
    if (
        isinstance(interval, str | bytes)
        or not isinstance(interval, Sequence)
        or len(interval) != 2
        or not all(type(each) is int for each in interval)
    ):
        return "an interval (start, end) in minutes from local midnight"
    start, end = interval
    if not 0 <= start < _DAY_MINUTES:
        return "the start is from 0 (00:00) to 1439 (23:59) minutes"
    if not start < end <= start + _DAY_MINUTES:
        return "the end is after the start and at most 24 hours after it"
    return None


def check_hours(errors: dict[str, list[str]], name: str, value: object) -> WeekHours | None:
    """``value`` (weekday -> intervals in minutes) as :class:`WeekHours`, or
    None with messages under ``errors``: ``name.mon[0]`` for an interval."""
    if not isinstance(value, Mapping):
        errors[name] = ["a mapping of weekdays (0 = Monday) to intervals"]
        return None
    days: dict[int, list[tuple[int, int]]] = {}
    placed: list[tuple[int, int, str]] = []
    for day, intervals in value.items():
        if type(day) is not int or not 0 <= day <= 6:
            errors[name] = [f"weekdays are 0 (Monday) to 6 (Sunday), not {_shown(day)}"]
            continue
        if isinstance(intervals, str | bytes) or not isinstance(intervals, Sequence):
            errors[f"{name}.{WEEKDAYS[day]}"] = ["a list of intervals"]
            continue
        if len(intervals) > MAX_INTERVALS:
            errors[f"{name}.{WEEKDAYS[day]}"] = [f"at most {MAX_INTERVALS} intervals a day"]
            continue
        days[day] = []
        for index, interval in enumerate(intervals):
            label = f"{WEEKDAYS[day]}[{index}]"
            problem = _interval_problem(interval)
            if problem is not None:
                errors[f"{name}.{label}"] = [problem]
                continue
            start, end = interval
            days[day].append((start, end))
            placed.append((day * _DAY_MINUTES + start, day * _DAY_MINUTES + end, label))
    _check_overlaps(errors, name, placed)
    hours = WeekHours(days)
    if not errors and not hours:
        errors[name] = ["no working time in the week"]
    return hours


def _check_overlaps(errors: dict[str, list[str]], name: str, placed: list[Any]) -> None:
    """Intervals of the week (minutes from Monday 00:00) must not overlap,
    counting a Sunday shift that runs into Monday."""
    wrapped = [(s - _WEEK_MINUTES, e - _WEEK_MINUTES, label) for s, e, label in placed]
    reach: tuple[int, str] | None = None
    for start, end, label in sorted(placed + [w for w in wrapped if w[1] > 0]):
        if reach is not None and start < reach[0]:
            errors.setdefault(f"{name}.{label}", []).append(f"overlaps {reach[1]}")
        if reach is None or end > reach[0]:
            reach = (end, label)


def check_holidays(
    errors: dict[str, list[str]],
    names: tuple[str, str],
    country: object,
    subdivision: object,
) -> tuple[str | None, str | None]:
    """The country and subdivision as ``holidays`` names them; messages under
    ``names`` (the country's field, the subdivision's) when it knows neither."""
    if country is None:
        if subdivision is not None:
            errors[names[1]] = ["a subdivision needs a country"]
        return None, None
    if not isinstance(country, str) or (code := public_holidays.country_code(country)) is None:
        errors[names[0]] = [f"no public holidays known for {_shown(country)}; a code such as 'US'"]
        return None, None
    if subdivision is None:
        return code, None
    if (
        not isinstance(subdivision, str)
        or (region := public_holidays.subdivision_code(code, subdivision)) is None
    ):
        known = public_holidays.some_subdivisions(code)
        errors[names[1]] = [f"{code} has no subdivision {_shown(subdivision)}; one of {known}"]
        return code, None
    return code, region


def check_closed_days(errors: dict[str, list[str]], name: str, value: object) -> frozenset[date]:
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        errors[name] = ["a set of dates"]
        return frozenset()
    days = frozenset(value)
    if len(days) > MAX_CLOSED_DAYS:
        errors[name] = [f"at most {MAX_CLOSED_DAYS} days"]
    elif not all(type(day) is date and FIRST_YEAR <= day.year <= LAST_YEAR for day in days):
        errors[name] = [f"dates from {FIRST_YEAR} to {LAST_YEAR}"]
    return days
