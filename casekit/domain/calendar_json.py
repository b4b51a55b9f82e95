"""The JSON form of a business calendar: how it is stored and sent.

::

    {"time_zone": "America/Chicago",
     "hours": {"mon": [["08:00", "17:00"]],
               "tue": [["08:00", "12:00"], ["13:00", "17:00"]],
               "fri": [["22:00", "06:00"]]},
     "holidays": {"country": "US", "subdivision": "TX"},
     "closed_days": ["2026-12-24"]}

Times are local wall-clock times ``"HH:MM"``. An end not after its start
runs into the next day (``["22:00", "06:00"]``); ``"24:00"`` ends at
midnight, so ``["00:00", "24:00"]`` is the whole day. A missing weekday is
closed. ``holidays`` and ``closed_days`` may be left out or null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from casekit.domain.calendar import BusinessCalendar
from casekit.domain.calendar_checks import (
    MAX_CLOSED_DAYS,
    MAX_INTERVALS,
    WEEKDAYS,
    check_closed_days,
    check_holidays,
    check_hours,
    check_time_zone,
    interval_text,
)
from casekit.errors import InvalidInput

_KEYS = ("time_zone", "hours", "holidays", "closed_days")
_HOLIDAY_KEYS = ("country", "subdivision")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTERVAL = '["HH:MM", "HH:MM"] from start to end, such as ["08:00", "17:00"]'
_MISSING = object()


def calendar_to_json(calendar: BusinessCalendar) -> dict[str, Any]:
    country = calendar.holiday_country
    return {
        "time_zone": calendar.time_zone,
        "hours": {
            WEEKDAYS[day]: [list(interval_text(start, end)) for start, end in intervals]
            for day, intervals in calendar.hours.items()
        },
        "holidays": (
            None
            if country is None
            else {"country": country, "subdivision": calendar.holiday_subdivision}
        ),
        "closed_days": [day.isoformat() for day in sorted(calendar.closed_days)],
    }


def _key(key: object) -> str:
    """A key of the input as a field name: short, whatever was sent."""
    text = str(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _minutes(text: object) -> int | None:
    if isinstance(text, str) and (match := _TIME.fullmatch(text)):
        return int(match[1]) * 60 + int(match[2])
    return None


def _interval(value: object) -> tuple[int, int] | None:
    """``["HH:MM", "HH:MM"]`` as minutes from midnight; an end not after
    the start is the next day's."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    start = _minutes(value[0])
    end = 1440 if value[1] == "24:00" else _minutes(value[1])
    if start is None or end is None:
        return None
    return (start, end if end > start else end + 1440)


def _hours(errors: dict[str, list[str]], name: str, value: object) -> dict[int, list[Any]] | None:
    if value is _MISSING:
        errors[name] = ["required"]
        return None
    if not isinstance(value, Mapping):
        errors[name] = ["an object of weekdays (mon to sun) to lists of [start, end] times"]
        return None
    days: dict[int, list[Any]] = {}
    for key, intervals in value.items():
        path = f"{name}.{_key(key)}"
        if key not in WEEKDAYS:
            errors[path] = ["not a weekday: mon, tue, wed, thu, fri, sat or sun"]
        elif not isinstance(intervals, list):
            errors[path] = [f"a list of intervals {_INTERVAL}"]
        elif len(intervals) > MAX_INTERVALS:
            errors[path] = [f"at most {MAX_INTERVALS} intervals a day"]
        else:
            days[WEEKDAYS.index(key)] = parsed = []
            for index, interval in enumerate(intervals):
                minutes = _interval(interval)
                if minutes is None:
                    errors[f"{path}[{index}]"] = [_INTERVAL]
                parsed.append(minutes)
    return days


def _holidays(
    errors: dict[str, list[str]], name: str, value: object
) -> tuple[str | None, str | None]:
    if value is _MISSING or value is None:
        return None, None
    if not isinstance(value, Mapping):
        errors[name] = ['an object such as {"country": "US", "subdivision": "TX"}, or null']
        return None, None
    for key in value:
        if key not in _HOLIDAY_KEYS:
            errors[f"{name}.{_key(key)}"] = ["unknown field"]
    if "country" not in value:
        errors[f"{name}.country"] = ["required"]
        return None, None
    return check_holidays(
        errors,
        (f"{name}.country", f"{name}.subdivision"),
        value["country"],
        value.get("subdivision"),
    )


def _closed_days(errors: dict[str, list[str]], name: str, value: object) -> frozenset[date]:
    if value is _MISSING or value is None:
        return frozenset()
    if not isinstance(value, list):
        errors[name] = ['a list of dates "YYYY-MM-DD"']
        return frozenset()
    if len(value) > MAX_CLOSED_DAYS:
        errors[name] = [f"at most {MAX_CLOSED_DAYS} days"]
        return frozenset()
    days = set()
    for index, text in enumerate(value):
        try:
            if not (isinstance(text, str) and _DATE.fullmatch(text)):
                raise ValueError(text)
            days.add(date.fromisoformat(text))
        except ValueError:
            errors[f"{name}[{index}]"] = ['a date "YYYY-MM-DD"']
    return check_closed_days(errors, name, days)


def calendar_from_json(data: object, field: str) -> BusinessCalendar:
    """A :class:`BusinessCalendar` from its JSON form; every wrong field is
    named under ``field`` in the :class:`~casekit.errors.InvalidInput`."""
    if not isinstance(data, Mapping):
        raise InvalidInput({field: ["an object with time_zone, hours, holidays and closed_days"]})
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in _KEYS:
            errors[f"{field}.{_key(key)}"] = ["unknown field"]
    time_zone = data.get("time_zone", "UTC")
    check_time_zone(errors, f"{field}.time_zone", time_zone)
    days = _hours(errors, f"{field}.hours", data.get("hours", _MISSING))
    hours_name = f"{field}.hours"
    if days is not None and not any(
        key == hours_name or key.startswith(f"{hours_name}.") for key in errors
    ):
        check_hours(errors, f"{field}.hours", days)
    country, subdivision = _holidays(errors, f"{field}.holidays", data.get("holidays", _MISSING))
    closed_days = _closed_days(errors, f"{field}.closed_days", data.get("closed_days", _MISSING))
    if errors:
        raise InvalidInput(errors)
    return BusinessCalendar(
        time_zone=time_zone,
        hours=days,  # type: ignore[arg-type]  # checked above
        holiday_country=country,
        holiday_subdivision=subdivision,
        closed_days=closed_days,
    )
