"""Business calendars: working hours, holidays, closed days and daylight
saving, and the working time they count."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from casekit.domain import public_holidays, timezones
from casekit.domain.calendar import MAX_CLOSED_DAYS, WEEKDAYS, BusinessCalendar
from casekit.domain.timezones import SECOND, zone_window
from casekit.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600
MICROSECOND = timedelta(microseconds=1)
WEEKDAY_HOURS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def calendar(
    time_zone: str = "America/New_York", hours: Any = None, **rest: Any
) -> BusinessCalendar:
    data = {"time_zone": time_zone, "hours": WEEKDAY_HOURS if hours is None else hours, **rest}
    return BusinessCalendar.from_json(data)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def spans(cal: BusinessCalendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return list(cal.open_intervals(start, end))


# -- the examples the documentation gives ---------------------------------------------


def test_a_clock_started_friday_afternoon_is_due_monday_morning():
    cal = calendar()
    due = cal.add(ny(2026, 12, 4, 16, 55), 4 * HOUR)
    assert due == ny(2026, 12, 7, 11, 55)
    assert due.tzinfo is UTC
    assert cal.working_seconds(ny(2026, 12, 4, 16, 55), due) == 4 * HOUR


def test_christmas_day_is_closed_with_us_holidays():
    cal = calendar(holidays={"country": "US"})
    assert cal.add(ny(2026, 12, 24, 16), 2 * HOUR) == ny(2026, 12, 28, 9)
    assert calendar().add(ny(2026, 12, 24, 16), 2 * HOUR) == ny(2026, 12, 25, 9)


def test_a_subdivision_adds_its_own_holidays():
    # Texas also closes Christmas Eve (a Thursday in 2026).
    texas = calendar(holidays={"country": "US", "subdivision": "TX"})
    assert texas.add(ny(2026, 12, 24, 16), 2 * HOUR) == ny(2026, 12, 28, 10)
    assert not texas.is_open(ny(2026, 12, 24, 12))
    assert calendar(holidays={"country": "US"}).is_open(ny(2026, 12, 24, 12))


def test_german_states_keep_their_own_holidays():
    # Epiphany, Tuesday 6 January 2026: a holiday in Bavaria, not in Berlin.
    day = (berlin(2026, 1, 6), berlin(2026, 1, 7))
    bavaria = calendar("Europe/Berlin", holidays={"country": "DE", "subdivision": "BY"})
    berlin_state = calendar("Europe/Berlin", holidays={"country": "DE", "subdivision": "BE"})
    germany = calendar("Europe/Berlin", holidays={"country": "DE"})
    assert bavaria.working_seconds(*day) == 0
    assert berlin_state.working_seconds(*day) == 9 * HOUR
    assert germany.working_seconds(*day) == 9 * HOUR
    # New Year's Day is everyone's.
    new_year = (berlin(2026, 1, 1), berlin(2026, 1, 2))
    assert germany.working_seconds(*new_year) == berlin_state.working_seconds(*new_year) == 0


def test_a_holiday_observed_in_the_year_before():
    # New Year's Day 2022 was a Saturday, observed on Friday 31 December 2021.
    cal = calendar(holidays={"country": "US"})
    assert cal.working_seconds(ny(2021, 12, 31), ny(2022, 1, 1)) == 0
    assert cal.add(ny(2021, 12, 30, 16), 2 * HOUR) == ny(2022, 1, 3, 9)


def test_a_year_of_working_time():
    year = (ny(2026, 1, 1), ny(2027, 1, 1))
    # 261 weekdays of 9 hours; the United States close 11 of them in 2026.
    assert calendar().working_seconds(*year) == 261 * 9 * HOUR
    assert calendar(holidays={"country": "US"}).working_seconds(*year) == 250 * 9 * HOUR


# -- weekends, closed days, several intervals, shifts past midnight ----------------------


def test_weekends_are_closed():
    cal = calendar()
    assert cal.working_seconds(ny(2026, 3, 13, 12), ny(2026, 3, 16, 12)) == 9 * HOUR
    assert not cal.is_open(ny(2026, 3, 14, 12))
    assert spans(cal, ny(2026, 3, 13, 12), ny(2026, 3, 16, 12)) == [
        (ny(2026, 3, 13, 12), ny(2026, 3, 13, 17)),
        (ny(2026, 3, 16, 8), ny(2026, 3, 16, 12)),
    ]


def test_own_closed_days():
    cal = calendar(closed_days=["2026-12-24", "2026-12-31"])
    assert cal.closed_days == frozenset({date(2026, 12, 24), date(2026, 12, 31)})
    assert not cal.is_open(ny(2026, 12, 24, 9))
    assert cal.is_open(ny(2026, 12, 23, 9))
    assert cal.add(ny(2026, 12, 23, 16), 2 * HOUR) == ny(2026, 12, 25, 9)
    # December 2026 has 23 weekdays; the weeks between its ends are counted.
    assert cal.working_seconds(ny(2026, 12, 1), ny(2027, 1, 1)) == (23 - 2) * 9 * HOUR


def test_several_intervals_a_day():
    cal = calendar(hours={"tue": [["08:00", "12:00"], ["13:00", "17:00"]]})
    assert not cal.is_open(ny(2026, 3, 10, 12, 30))
    assert cal.is_open(ny(2026, 3, 10, 13))
    assert cal.add(ny(2026, 3, 10, 11), 2 * HOUR) == ny(2026, 3, 10, 14)
    assert cal.working_seconds(ny(2026, 3, 10), ny(2026, 3, 11)) == 8 * HOUR
    # Unsorted intervals are sorted.
    unsorted = calendar(hours={"tue": [["13:00", "17:00"], ["08:00", "12:00"]]})
    assert unsorted == cal


def test_a_shift_past_midnight_belongs_to_the_day_it_starts():
    cal = calendar(hours={"fri": [["22:00", "06:00"]]})
    assert cal.hours == {4: ((1320, 1800),)}
    assert cal.is_open(ny(2026, 3, 14, 5, 59))
    assert not cal.is_open(ny(2026, 3, 14, 6))
    assert not cal.is_open(ny(2026, 3, 13, 21, 59))
    assert cal.working_seconds(ny(2026, 3, 9), ny(2026, 3, 16)) == 8 * HOUR
    assert cal.add(ny(2026, 3, 14, 5), 2 * HOUR) == ny(2026, 3, 20, 23)
    # Closing the Friday closes the whole shift; closing the Saturday does not.
    friday = calendar(hours={"fri": [["22:00", "06:00"]]}, closed_days=["2026-03-13"])
    assert not friday.is_open(ny(2026, 3, 14, 2))
    saturday = calendar(hours={"fri": [["22:00", "06:00"]]}, closed_days=["2026-03-14"])
    assert saturday.is_open(ny(2026, 3, 14, 2))


def test_a_holiday_closes_the_night_shift_starting_on_it():
    # Thanksgiving, Thursday 26 November 2026.
    hours = {day: [["22:00", "06:00"]] for day in ("wed", "thu")}
    cal = calendar(hours=hours, holidays={"country": "US"})
    assert cal.is_open(ny(2026, 11, 26, 5))  # Wednesday's shift, into the holiday
    assert not cal.is_open(ny(2026, 11, 26, 23))
    assert not cal.is_open(ny(2026, 11, 27, 5))
    assert cal.working_seconds(ny(2026, 11, 23), ny(2026, 11, 30)) == 8 * HOUR


def test_touching_intervals_are_one_open_interval():
    cal = calendar(hours={"fri": [["22:00", "24:00"]], "sat": [["00:00", "06:00"]]})
    assert spans(cal, ny(2026, 3, 13), ny(2026, 3, 15)) == [
        (ny(2026, 3, 13, 22), ny(2026, 3, 14, 6))
    ]
    assert cal.is_open(ny(2026, 3, 14, 0))


def test_add_zero_is_start_when_open_else_the_next_opening():
    cal = calendar()
    assert cal.add(ny(2026, 3, 10, 9, 30), 0) == ny(2026, 3, 10, 9, 30)
    assert cal.add(ny(2026, 3, 10, 17), 0) == ny(2026, 3, 11, 8)
    assert cal.add(ny(2026, 3, 14, 12), 0) == ny(2026, 3, 16, 8)
    # A clock that ends with the day ends at the closing time, not the next opening.
    assert cal.add(ny(2026, 3, 10, 16), HOUR) == ny(2026, 3, 10, 17)


def test_long_additions_skip_whole_weeks():
    cal = calendar(holidays={"country": "US"})
    start = ny(2026, 1, 2, 10)
    due = cal.add(start, 1000 * HOUR)
    assert cal.working_seconds(start, due) == 1000 * HOUR
    assert cal.is_open(due - MICROSECOND)
    assert due == reference_add(cal, start, 1000 * HOUR, timedelta(days=200))


def test_a_long_addition_can_end_at_closing_time():
    # Ten Mondays' work from a Monday morning: due the tenth Monday at 17:00,
    # not at the eleventh's opening.
    mondays = BusinessCalendar(hours={0: ((480, 1020),)})
    assert mondays.add(utc(2026, 3, 2, 8), 10 * 9 * HOUR) == utc(2026, 5, 4, 17)


def test_long_spans_count_the_changes_of_the_clocks():
    # With holidays the calendar is not ALWAYS: the weeks between are counted.
    every_hour = calendar(
        hours={day: [["00:00", "24:00"]] for day in WEEKDAYS}, holidays={"country": "US"}
    )
    # 1 January to 1 June 2026: 151 days, 4 of them holidays, and the hour lost on 8 March.
    assert every_hour.working_seconds(ny(2026, 1, 1), ny(2026, 6, 1)) == (147 * 24 - 1) * HOUR
    # Four Saturday nights, the second across 8 March.
    nights = calendar(hours={"sat": [["22:00", "06:00"]]})
    assert nights.working_seconds(ny(2026, 2, 28), ny(2026, 3, 28)) == (4 * 8 - 1) * HOUR


def test_a_span_that_starts_in_the_night_shift_of_the_day_before():
    # Saturday 02:00 is inside Friday's shift (22:00-06:00).
    cal = calendar(hours={"fri": [["22:00", "06:00"]]})
    start = ny(2026, 3, 14, 2)
    assert cal.working_seconds(start, ny(2026, 3, 14, 5)) == 3 * HOUR
    assert spans(cal, start, ny(2026, 3, 15)) == [(start, ny(2026, 3, 14, 6))]
    # Three weeks: 4 h of that shift, two whole Friday nights, 2 h of the last.
    assert cal.working_seconds(start, ny(2026, 4, 4)) == (4 + 16 + 2) * HOUR


def test_fractions_of_a_second():
    cal = calendar()
    due = cal.add(ny(2026, 3, 10, 16, 59, 59), 1.25)
    assert due == ny(2026, 3, 11, 8, 0, 0, 250_000)
    assert cal.working_seconds(ny(2026, 3, 10, 16, 59, 59), due) == 1.25


def test_threads_share_the_caches():
    """Zones and holidays are cached per process; threads that fill the
    caches together, and share one calendar's days, count the same."""
    for cached in (
        timezones.offset_changes,
        timezones.zone_window,
        public_holidays.holiday_ordinals,
    ):
        cached.cache_clear()
    shared = calendar(holidays={"country": "US"})
    barrier = threading.Barrier(8)

    def work(index: int) -> tuple[float, datetime]:
        cal = shared if index % 2 else calendar(holidays={"country": "US"})
        barrier.wait()
        return (
            cal.working_seconds(ny(2026, 1, 1), ny(2027, 1, 1)),
            cal.add(ny(2026, 1, 2, 10), 1000 * HOUR),
        )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [(250 * 9 * HOUR, ny(2026, 6, 11, 11))] * 8


# -- daylight saving -------------------------------------------------------------------


def test_a_day_is_23_or_25_hours_when_the_clocks_change():
    always = calendar(hours={day: [["00:00", "24:00"]] for day in WEEKDAYS})
    assert always.working_seconds(ny(2026, 3, 8), ny(2026, 3, 9)) == 23 * HOUR
    assert always.working_seconds(ny(2026, 11, 1), ny(2026, 11, 2)) == 25 * HOUR
    assert always.working_seconds(ny(2026, 1, 1), ny(2027, 1, 1)) == 365 * 24 * HOUR


def test_working_hours_away_from_the_change_keep_their_length():
    sundays = calendar(hours={"sun": [["08:00", "17:00"]]})
    assert sundays.working_seconds(ny(2026, 3, 8), ny(2026, 3, 9)) == 9 * HOUR
    assert sundays.working_seconds(ny(2026, 11, 1), ny(2026, 11, 2)) == 9 * HOUR
    assert spans(sundays, ny(2026, 3, 8), ny(2026, 3, 9)) == [
        (utc(2026, 3, 8, 12), utc(2026, 3, 8, 21))
    ]


@pytest.mark.parametrize(
    ("zone", "saturday", "hours"),
    [
        ("America/New_York", date(2026, 3, 7), 7),
        ("America/New_York", date(2026, 10, 31), 9),
        ("Europe/Berlin", date(2026, 3, 28), 7),
        ("Europe/Berlin", date(2026, 10, 24), 9),
    ],
)
def test_a_night_shift_across_the_change_is_an_hour_shorter_or_longer(zone, saturday, hours):
    cal = calendar(zone, hours={"sat": [["22:00", "06:00"]]})
    tz = ZoneInfo(zone)
    start = datetime.combine(saturday, time(0), tzinfo=tz)
    week = (start, start + timedelta(days=7))
    assert cal.working_seconds(*week) == hours * HOUR
    sunday = saturday + timedelta(days=1)
    assert spans(cal, *week) == [
        (
            datetime.combine(saturday, time(22), tzinfo=tz),
            datetime.combine(sunday, time(6), tzinfo=tz),
        )
    ]


def test_a_working_time_in_the_spring_gap_starts_when_the_clocks_go_forward():
    # 8 March 2026: 02:00 EST is 03:00 EDT (07:00 UTC); 02:30 never happens.
    cal = calendar(hours={"sun": [["02:30", "05:00"]]})
    assert spans(cal, ny(2026, 3, 8), ny(2026, 3, 9)) == [(utc(2026, 3, 8, 7), utc(2026, 3, 8, 9))]
    one_to_four = calendar(hours={"sun": [["01:00", "04:00"]]})
    assert one_to_four.working_seconds(ny(2026, 3, 8), ny(2026, 3, 9)) == 2 * HOUR
    # Wholly inside the gap: no working time at all, not even an instant.
    in_gap = calendar(hours={"sun": [["02:15", "02:45"]], "mon": [["08:00", "17:00"]]})
    assert spans(in_gap, ny(2026, 3, 8), ny(2026, 3, 9)) == []
    assert not in_gap.is_open(utc(2026, 3, 8, 7))
    assert in_gap.add(ny(2026, 3, 7, 12), 0) == ny(2026, 3, 9, 8)


def test_a_working_time_in_the_repeated_hour_starts_the_first_time():
    # 1 November 2026: 01:00-02:00 happens twice, first EDT (05:00-06:00 UTC), then EST.
    cal = calendar(hours={"sun": [["01:30", "03:00"]]})
    assert spans(cal, ny(2026, 11, 1), ny(2026, 11, 2)) == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8))
    ]
    assert cal.is_open(utc(2026, 11, 1, 6, 15))  # 01:15 EST, the second time round


def test_berlin_spring_forward_in_a_week_of_office_hours():
    # 29 March 2026 02:00 CET -> 03:00 CEST: Friday 16:00 + 2 h ends Monday 09:00 either way.
    cal = calendar("Europe/Berlin", holidays={"country": "DE", "subdivision": "BE"})
    assert cal.add(berlin(2026, 3, 27, 16), 2 * HOUR) == berlin(2026, 3, 30, 9)
    assert cal.working_seconds(berlin(2026, 3, 23), berlin(2026, 3, 30)) == 45 * HOUR


def test_midnight_that_never_happens():
    # São Paulo put its clocks forward at midnight: 4 November 2018 began at 01:00.
    cal = calendar("America/Sao_Paulo", hours={"sun": [["00:00", "08:00"]]})
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    sunday = datetime(2018, 11, 4, 1, tzinfo=sao_paulo)
    assert spans(cal, sunday - timedelta(days=1), sunday + timedelta(days=1)) == [
        (sunday, datetime(2018, 11, 4, 8, tzinfo=sao_paulo))
    ]


def test_midnight_that_happens_twice():
    # São Paulo put its clocks back at midnight: on 18 February 2018 00:00
    # (-02, 02:00 UTC) became 17 February 23:00 (-03), so Saturday's last
    # hour happened twice and Sunday began at 03:00 UTC.
    cal = calendar(
        "America/Sao_Paulo", hours={"sat": [["22:00", "24:00"]], "sun": [["00:00", "02:00"]]}
    )
    saturday = (utc(2018, 2, 18, 0), utc(2018, 2, 18, 3))
    sunday = (utc(2018, 2, 18, 3), utc(2018, 2, 18, 5))
    assert spans(cal, utc(2018, 2, 17), utc(2018, 2, 19)) == [(saturday[0], sunday[1])]
    assert cal.working_seconds(*saturday) == 3 * HOUR
    assert cal.is_open(utc(2018, 2, 18, 2, 30))  # 23:30 the second time
    assert cal.working_seconds(utc(2018, 2, 18, 2, 30), utc(2018, 2, 18, 4)) == 1.5 * HOUR
    assert cal.add(utc(2018, 2, 17, 12), 4 * HOUR) == utc(2018, 2, 18, 4)


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Sao_Paulo"]
)
def test_local_times_convert_as_zoneinfo_does(zone):
    """The first instant the wall clock shows a local time: zoneinfo's fold 0,
    or the end of the gap for a time that never happens."""
    tz = ZoneInfo(zone)
    window = zone_window(zone, 2018)
    local = datetime(2017, 12, 31)
    while local < datetime(2019, 1, 2):
        micros = (local - datetime(1970, 1, 1)) // MICROSECOND
        instant = window.instant(micros)
        expected = local.replace(tzinfo=tz)
        if expected.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local:
            assert instant == (expected - utc(1970, 1, 1)) // MICROSECOND, local
        else:  # in a gap: the wall clock jumps past it at ``instant``
            before = datetime.fromtimestamp((instant - 1) / SECOND, tz).replace(tzinfo=None)
            after = datetime.fromtimestamp(instant / SECOND, tz).replace(tzinfo=None)
            assert before < local < after, local
        local += timedelta(minutes=30)


# -- refusals --------------------------------------------------------------------------


def test_instants_need_a_time_zone():
    with pytest.raises(ValueError, match="needs a time zone"):
        calendar().working_seconds(datetime(2026, 3, 10, 9), ny(2026, 3, 10, 10))
    with pytest.raises(ValueError, match="needs a time zone"):
        calendar().open_intervals(ny(2026, 3, 10, 9), datetime(2026, 3, 10, 10))


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_add_refuses_negative_or_endless_amounts(seconds):
    with pytest.raises(ValueError, match="seconds"):
        calendar().add(ny(2026, 3, 10, 9), seconds)


def test_a_calendar_closed_for_years_gives_up():
    def closed_mondays(weeks: int) -> BusinessCalendar:
        mondays = frozenset(date(2026, 3, 2) + timedelta(weeks=k) for k in range(weeks))
        return BusinessCalendar(hours={0: ((480, 1020),)}, closed_days=mondays)

    # Closed for 150 weeks (1050 days): the search goes on.
    first_open = datetime.combine(date(2026, 3, 2) + timedelta(weeks=150), time(9), tzinfo=UTC)
    assert closed_mondays(150).add(utc(2026, 3, 1), 3600) == first_open
    # Closed for 160 weeks (1120 days, over three years): it stops.
    with pytest.raises(InvalidInput) as raised:
        closed_mondays(160).add(utc(2026, 3, 1), 3600)
    assert set(raised.value.errors) == {"calendar"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("mon-fri", "calendar"),
        ({"hours": WEEKDAY_HOURS, "time_zone": "Mars/Olympus"}, "calendar.time_zone"),
        ({"hours": WEEKDAY_HOURS, "time_zone": 5}, "calendar.time_zone"),
        ({"time_zone": "UTC"}, "calendar.hours"),
        ({"hours": [["08:00", "17:00"]]}, "calendar.hours"),
        ({"hours": {"mon": [["8:00", "17:00"]]}}, "calendar.hours.mon[0]"),
        ({"hours": {"mon": [["08:00", "25:00"]]}}, "calendar.hours.mon[0]"),
        ({"hours": {"mon": [["08:60", "17:00"]]}}, "calendar.hours.mon[0]"),
        ({"hours": {"mon": [["24:00", "06:00"]]}}, "calendar.hours.mon[0]"),
        ({"hours": {"mon": [["08:00"]]}}, "calendar.hours.mon[0]"),
        ({"hours": {"mon": [[480, 1020]]}}, "calendar.hours.mon[0]"),
        ({"hours": {"mon": "08:00-17:00"}}, "calendar.hours.mon"),
        ({"hours": {"monday": [["08:00", "17:00"]]}}, "calendar.hours.monday"),
        ({"hours": {"mon": [["08:00", "08:30"]] * 25}}, "calendar.hours.mon"),
        ({"hours": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "calendar.hours.mon[1]"),
        (
            {"hours": {"fri": [["22:00", "06:00"]], "sat": [["05:00", "09:00"]]}},
            "calendar.hours.sat[0]",
        ),
        (
            {"hours": {"sun": [["22:00", "06:00"]], "mon": [["05:00", "09:00"]]}},
            "calendar.hours.mon[0]",
        ),
        ({"hours": {"mon": []}}, "calendar.hours"),
        ({"hours": {}}, "calendar.hours"),
        ({"hours": WEEKDAY_HOURS, "holidays": {"country": "XX"}}, "calendar.holidays.country"),
        ({"hours": WEEKDAY_HOURS, "holidays": {"country": 1}}, "calendar.holidays.country"),
        (
            {"hours": WEEKDAY_HOURS, "holidays": {"country": "US", "subdivision": "BY"}},
            "calendar.holidays.subdivision",
        ),
        ({"hours": WEEKDAY_HOURS, "holidays": {"subdivision": "TX"}}, "calendar.holidays.country"),
        (
            {"hours": WEEKDAY_HOURS, "holidays": {"country": "US", "region": "TX"}},
            "calendar.holidays.region",
        ),
        ({"hours": WEEKDAY_HOURS, "holidays": "US"}, "calendar.holidays"),
        ({"hours": WEEKDAY_HOURS, "closed_days": ["2026-02-30"]}, "calendar.closed_days[0]"),
        (
            {"hours": WEEKDAY_HOURS, "closed_days": ["2026-12-24", "24.12.2026"]},
            "calendar.closed_days[1]",
        ),
        ({"hours": WEEKDAY_HOURS, "closed_days": ["20261224"]}, "calendar.closed_days[0]"),
        ({"hours": WEEKDAY_HOURS, "closed_days": ["1066-10-14"]}, "calendar.closed_days"),
        ({"hours": WEEKDAY_HOURS, "closed_days": "2026-12-24"}, "calendar.closed_days"),
        ({"hours": WEEKDAY_HOURS, "timezone": "UTC"}, "calendar.timezone"),
    ],
)
def test_a_wrong_field_is_named(data, field):
    with pytest.raises(InvalidInput) as raised:
        BusinessCalendar.from_json(data)
    assert set(raised.value.errors) == {field}
    assert all(raised.value.errors[field])


def test_too_many_closed_days_are_refused():
    days = [(date(2026, 1, 1) + timedelta(days=k)).isoformat() for k in range(MAX_CLOSED_DAYS + 1)]
    with pytest.raises(InvalidInput) as raised:
        BusinessCalendar.from_json({"hours": WEEKDAY_HOURS, "closed_days": days})
    assert set(raised.value.errors) == {"calendar.closed_days"}


def test_every_wrong_field_is_named_at_once_under_the_callers_name():
    data = {
        "time_zone": "Nowhere",
        "hours": {"mon": [["08:00", "17:00"]], "tue": [["9", "5"]]},
        "holidays": {"country": "US", "subdivision": "Atlantis"},
        "closed_days": ["tomorrow"],
    }
    with pytest.raises(InvalidInput) as raised:
        BusinessCalendar.from_json(data, field="organization.calendar")
    assert set(raised.value.errors) == {
        "organization.calendar.time_zone",
        "organization.calendar.hours.tue[0]",
        "organization.calendar.holidays.subdivision",
        "organization.calendar.closed_days[0]",
    }
    assert "Atlantis" in raised.value.errors["organization.calendar.holidays.subdivision"][0]


def test_a_long_wrong_key_is_cut_short_in_its_name():
    with pytest.raises(InvalidInput) as raised:
        BusinessCalendar.from_json({"hours": WEEKDAY_HOURS, "x" * 5000: 1})
    (name,) = raised.value.errors
    assert name.startswith("calendar.xxx")
    assert len(name) < 60


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"hours": {7: ((480, 1020),)}}, "hours"),
        ({"hours": {0: ((480, 3000),)}}, "hours.mon[0]"),
        ({"hours": {0: ((1440, 1500),)}}, "hours.mon[0]"),
        ({"hours": {0: ((600, 600),)}}, "hours.mon[0]"),
        ({"hours": {0: ((480.0, 1020),)}}, "hours.mon[0]"),
        ({"hours": {6: ((1320, 1800),), 0: ((0, 60),)}}, "hours.mon[0]"),
        ({"hours": {}}, "hours"),
        ({"holiday_subdivision": "TX"}, "holiday_subdivision"),
        ({"holiday_country": "Atlantis"}, "holiday_country"),
        ({"closed_days": frozenset({datetime(2026, 12, 24, tzinfo=UTC)})}, "closed_days"),
    ],
)
def test_the_constructor_names_a_wrong_argument(arguments, field):
    with pytest.raises(InvalidInput) as raised:
        BusinessCalendar(**arguments)
    assert set(raised.value.errors) == {field}


# -- the JSON form ---------------------------------------------------------------------


def test_the_json_form():
    data = {
        "time_zone": "America/Chicago",
        "hours": {
            "mon": [["08:00", "17:00"]],
            "tue": [["08:00", "12:00"], ["13:00", "17:00"]],
            "fri": [["22:00", "06:00"]],
            "sat": [["06:00", "24:00"]],
            "sun": [["08:00", "08:00"]],
        },
        "holidays": {"country": "us", "subdivision": "tx"},
        "closed_days": ["2026-12-31", "2026-12-24"],
    }
    cal = BusinessCalendar.from_json(data)
    assert cal == BusinessCalendar(
        time_zone="America/Chicago",
        hours={
            0: ((480, 1020),),
            1: ((480, 720), (780, 1020)),
            4: ((1320, 1800),),
            5: ((360, 1440),),
            6: ((480, 1920),),
        },
        holiday_country="US",
        holiday_subdivision="TX",
        closed_days=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    )
    assert cal.to_json() == {
        **data,
        "holidays": {"country": "US", "subdivision": "TX"},
        "closed_days": ["2026-12-24", "2026-12-31"],
    }
    assert json.loads(json.dumps(cal.to_json())) == cal.to_json()


def test_midnight_to_midnight_is_the_whole_day():
    cal = calendar(hours={"mon": [["00:00", "00:00"]]})
    assert cal.hours == {0: ((0, 1440),)}
    assert cal.to_json()["hours"] == {"mon": [["00:00", "24:00"]]}


def test_the_defaults_are_every_day_all_day_in_utc():
    assert BusinessCalendar() == BusinessCalendar.ALWAYS
    assert BusinessCalendar.ALWAYS.to_json() == {
        "time_zone": "UTC",
        "hours": {day: [["00:00", "24:00"]] for day in WEEKDAYS},
        "holidays": None,
        "closed_days": [],
    }
    assert BusinessCalendar.from_json({"hours": {d: [["00:00", "24:00"]] for d in WEEKDAYS}}) == (
        BusinessCalendar.ALWAYS
    )
    assert len({BusinessCalendar(), BusinessCalendar.ALWAYS, calendar()}) == 2


# -- properties ------------------------------------------------------------------------

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Sao_Paulo"]
HOLIDAYS = [(None, None), ("US", None), ("US", "TX"), ("DE", "BY")]
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def week_hours(draw: st.DrawFn) -> dict[int, list[tuple[int, int]]]:
    days: dict[int, list[tuple[int, int]]] = {}
    for day in range(7):
        points = sorted(draw(st.lists(st.integers(0, 48), max_size=4, unique=True)))
        days[day] = [(points[i] * 30, points[i + 1] * 30) for i in range(0, len(points) - 1, 2)]
    if draw(st.booleans()):  # a night shift
        day = draw(st.integers(0, 6))
        start, end = draw(st.integers(36, 47)) * 30, draw(st.integers(1, 16)) * 30
        today, tomorrow = days[day], days[(day + 1) % 7]
        if (not today or today[-1][1] <= start) and (not tomorrow or tomorrow[0][0] >= end):
            today.append((start, 1440 + end))
    assume(any(days.values()))
    return days


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    country, subdivision = draw(st.sampled_from(HOLIDAYS))
    return BusinessCalendar(
        time_zone=draw(st.sampled_from(ZONES)),
        hours=draw(week_hours()),
        holiday_country=country,
        holiday_subdivision=subdivision,
        closed_days=draw(st.frozensets(st.dates(date(2026, 1, 1), date(2026, 5, 31)), max_size=12)),
    )


# Most instants in early 2026 (closed days, two changes of the clocks), some anywhere
# from 2017 (São Paulo's midnight changes) to 2028.
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 5, 31), timezones=st.just(UTC)),
    st.datetimes(datetime(2017, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
)
amounts = st.one_of(
    st.integers(0, 40 * HOUR),
    st.floats(0, 20 * 7 * 24 * HOUR, allow_nan=False),
    st.integers(0, 3000).map(lambda minutes: minutes * 60.0),
)


def weekly_seconds(cal: BusinessCalendar) -> int:
    return sum(end - start for day in cal.hours.values() for start, end in day) * 60


def reference_add(
    cal: BusinessCalendar, start: datetime, seconds: float, horizon: timedelta
) -> datetime:
    """``add`` the slow way: walk the open intervals."""
    left = timedelta(microseconds=round(seconds * SECOND))
    for a, b in cal.open_intervals(start, start + horizon):
        if left <= b - a:
            return a + left
        left -= b - a
    raise AssertionError("the horizon is too short")


@PROPERTIES
@given(calendars(), instants, amounts)
def test_add_then_working_seconds_gives_the_amount_back(cal, start, seconds):
    seconds = min(seconds, 60 * weekly_seconds(cal))
    due = cal.add(start, seconds)
    assert due >= start
    assert cal.working_seconds(start, due) == pytest.approx(seconds, abs=1e-6)
    if round(seconds * SECOND) > 0:
        assert cal.is_open(due - MICROSECOND)  # it ends in working time, not after a closure
    else:
        assert cal.is_open(due)


@PROPERTIES
@given(calendars(), instants, amounts)
def test_add_agrees_with_walking_the_open_intervals(cal, start, seconds):
    seconds = min(seconds, 20 * weekly_seconds(cal))
    weeks = seconds / weekly_seconds(cal) + 2
    horizon = timedelta(weeks=weeks + 4 * (1 + weeks / 52))
    assert cal.add(start, seconds) == reference_add(cal, start, seconds, horizon)


@PROPERTIES
@given(calendars(), instants, amounts, amounts)
def test_add_is_monotone(cal, start, first, second):
    low, high = sorted(min(each, 60 * weekly_seconds(cal)) for each in (first, second))
    assert cal.add(start, low) <= cal.add(start, high)


@PROPERTIES
@given(calendars(), instants, instants, instants)
def test_working_seconds_add_up(cal, first, second, third):
    a, b, c = sorted((first, second, third))
    assert cal.working_seconds(a, b) + cal.working_seconds(b, c) == pytest.approx(
        cal.working_seconds(a, c), abs=1e-6
    )
    assert cal.working_seconds(c, a) == 0


@PROPERTIES
@given(calendars(), instants, st.integers(0, 400 * 24 * HOUR))
def test_working_seconds_is_the_length_of_the_open_intervals(cal, start, seconds):
    end = start + timedelta(seconds=seconds)
    total = sum((b - a for a, b in cal.open_intervals(start, end)), timedelta())
    assert cal.working_seconds(start, end) == total.total_seconds()


@PROPERTIES
@given(calendars(), instants, st.integers(0, 21 * 24 * HOUR))
def test_a_clock_never_runs_outside_working_hours(cal, start, seconds):
    end = start + timedelta(seconds=seconds)
    intervals = list(cal.open_intervals(start, end))
    for a, b in intervals:
        assert start <= a < b <= end
        assert a.tzinfo is UTC
        assert b.tzinfo is UTC
        assert cal.is_open(a)
        assert cal.is_open(a + (b - a) / 2)
        assert cal.is_open(b - MICROSECOND)
    for (_, before), (after, _) in pairwise(intervals):
        assert before < after
        assert not cal.is_open(before)
        assert not cal.is_open(before + (after - before) / 2)
        assert not cal.is_open(after - MICROSECOND)


@settings(max_examples=30, deadline=None)
@given(instants, instants, amounts)
def test_always_is_wall_time(a, b, seconds):
    always = BusinessCalendar.ALWAYS
    assert always.working_seconds(a, b) == max((b - a).total_seconds(), 0)
    assert always.add(a, seconds) == a + timedelta(microseconds=round(seconds * SECOND))
    assert always.is_open(a)
    assert list(always.open_intervals(a, b)) == ([(a, b)] if a < b else [])


@PROPERTIES
@given(calendars())
def test_the_json_form_round_trips(cal):
    data = json.loads(json.dumps(cal.to_json()))
    assert BusinessCalendar.from_json(data) == cal
    assert BusinessCalendar.from_json(data).to_json() == data
