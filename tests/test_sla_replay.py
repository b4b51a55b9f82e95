"""The replay of a side's timeline (casekit.domain.sla), checked against a minute-by-minute oracle.

The oracle knows nothing of how :func:`~casekit.domain.sla.replay` counts: it
walks the case's life one minute at a time, decides from the happenings so
far whether each clock runs in that minute, and counts the minutes the
calendar says are open. Timelines, targets and calendars are drawn by
hypothesis, with every moment on a whole minute so that both must agree
exactly.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from casekit.domain.calendar import BusinessCalendar
from casekit.domain.case import Side
from casekit.domain.sla import (
    ClockKind,
    ClockState,
    DueState,
    Happening,
    Point,
    Target,
    replay,
)
from casekit.domain.workflow import Status

START = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # a Friday, two days before a DST change
MINUTE = timedelta(minutes=1)

CALENDARS = [
    BusinessCalendar.ALWAYS,
    BusinessCalendar.from_json(
        {
            "time_zone": "America/New_York",
            "hours": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    ),
    BusinessCalendar.from_json(
        {
            "time_zone": "Europe/Berlin",
            "hours": {
                "mon": [["06:00", "12:00"], ["13:00", "18:00"]],
                "tue": [["22:00", "06:00"]],
                "sat": [["09:00", "13:00"]],
            },
            "closed_days": ["2026-03-09"],
        }
    ),
]


def _target(
    first: int | None, following: int | None, resolution: int | None, pause: bool
) -> Target:
    return Target(
        org_id=1,
        name="t",
        position=0,
        updated_at=START,
        updated_by="test",
        first_response_seconds=first,
        next_response_seconds=following,
        resolution_seconds=resolution,
        pause_when_waiting=pause,
        warn_before_seconds=1800,
    )


HAPPENINGS = st.sampled_from(
    [
        (Happening.RESPONSE, None),
        (Happening.INCOMING, None),
        (Happening.STATUS, Status.OPEN),
        (Happening.STATUS, Status.WAITING),
        (Happening.STATUS, Status.SOLVED),
        (Happening.STATUS, Status.REPLY_RECEIVED),
    ]
)
TIMELINES = st.lists(
    st.tuples(st.integers(min_value=0, max_value=4 * 24 * 60), HAPPENINGS), max_size=8
)
TIMES = st.one_of(st.none(), st.integers(min_value=1, max_value=20 * 60).map(lambda m: m * 60))


def _oracle(
    points: list[Point],
    target: Target,
    calendar: BusinessCalendar,
    now: datetime,
    opened_by_side: bool,
) -> dict[ClockKind, tuple[float, bool, bool, bool]]:
    """Per clock: (working seconds counted, ever started, runs at ``now``, the case
    solved at ``now``)."""
    order = {Happening.STATUS: 0, Happening.RESPONSE: 1, Happening.INCOMING: 2}
    timeline = sorted(points, key=lambda p: (p.at, order[p.what]))
    counted = dict.fromkeys(ClockKind, 0.0)
    # the first response is owed from the start unless the side opened the case;
    # the resolution clock starts with the case; each round of next response
    # starts with a message of another party that waits for an answer
    started = {
        ClockKind.FIRST_RESPONSE: not opened_by_side,
        ClockKind.NEXT_RESPONSE: False,
        ClockKind.RESOLUTION: True,
    }
    running = dict.fromkeys(ClockKind, False)
    solved_now = False
    status = Status.NEW
    answered = opened_by_side
    waiting = False
    last_response: datetime | None = None
    last_incoming: datetime | None = None
    index = 0
    minute = START
    while minute <= now:
        # the happenings of this minute take effect from it
        while index < len(timeline) and timeline[index].at <= minute:
            point = timeline[index]
            index += 1
            if point.what is Happening.STATUS:
                status = point.status or status
                if status is Status.SOLVED:
                    waiting = False
            elif point.what is Happening.RESPONSE:
                if point.at == START:
                    continue
                last_response = point.at
                answered = True
                waiting = False
            else:
                last_incoming = point.at
                if answered and not waiting and status is not Status.SOLVED:
                    waiting = True
                    counted[ClockKind.NEXT_RESPONSE] = 0.0
                    started[ClockKind.NEXT_RESPONSE] = True
        solved = status is Status.SOLVED
        paused = target.pause_when_waiting and (
            status is Status.WAITING
            or (
                last_response is not None
                and (last_incoming is None or last_response > last_incoming)
            )
        )
        running = {
            ClockKind.FIRST_RESPONSE: not answered and not solved,
            ClockKind.NEXT_RESPONSE: waiting and not solved,
            ClockKind.RESOLUTION: not solved and not paused,
        }
        if minute == now:
            solved_now = solved
        if minute < now:
            for kind, runs in running.items():
                if runs and calendar.is_open(minute):
                    counted[kind] += 60.0
        minute += MINUTE
    # The resolution clock is stopped only while the case is solved; otherwise, not
    # running, it is paused (waiting), reopened straight into waiting too.
    return {kind: (counted[kind], started[kind], running[kind], solved_now) for kind in ClockKind}


@settings(max_examples=150, deadline=None)
@given(
    timeline=TIMELINES,
    first=TIMES,
    following=TIMES,
    resolution=TIMES,
    pause=st.booleans(),
    calendar=st.sampled_from(CALENDARS),
    horizon=st.integers(min_value=0, max_value=5 * 24 * 60),
    opened_by_side=st.booleans(),
)
def test_replay_counts_what_the_minute_by_minute_oracle_counts(
    timeline: list[tuple[int, tuple[Happening, Status | None]]],
    first: int | None,
    following: int | None,
    resolution: int | None,
    pause: bool,
    calendar: BusinessCalendar,
    horizon: int,
    opened_by_side: bool,
) -> None:
    now = START + horizon * MINUTE
    # the timeline up to the reading (what is later has not happened yet)
    points = [
        Point(START + m * MINUTE, what, status) for m, (what, status) in timeline if m <= horizon
    ]
    target = _target(first, following, resolution, pause)
    clocks = {
        c.kind: c
        for c in replay(
            points,
            side=Side.CARRIER,
            joined_at=START,
            status=Status.NEW,
            target=target,
            calendar=calendar,
            now=now,
            opened_by_side=opened_by_side,
        )
    }
    expected = _oracle(points, target, calendar, now, opened_by_side)
    for kind in ClockKind:
        seconds = target.seconds(kind)
        counted, started, runs, solved = expected[kind]
        if seconds is None:
            assert kind not in clocks
            continue
        if not started:
            assert kind not in clocks, kind
            continue
        clock = clocks[kind]
        assert abs(clock.elapsed_seconds - counted) < 1e-6, (kind, clock, counted)
        assert (clock.state is ClockState.RUNNING) == runs, (kind, clock)
        if kind is ClockKind.RESOLUTION:
            assert (clock.state is ClockState.STOPPED) == solved, (kind, clock)
        assert (clock.breached_at is not None) == (counted > seconds), (kind, clock, counted)
        if clock.breached_at is not None:
            assert clock.breached_at <= now
            # at least the target's working time had passed since it started
            assert calendar.working_seconds(clock.started_at, clock.breached_at) >= seconds - 1e-6
        if clock.state is ClockState.RUNNING:
            assert clock.due_at is not None
            assert clock.warn_at is not None
            assert clock.warn_at <= clock.due_at
            if clock.breached_at is None:
                # due when the rest of the target has run, in working time from now
                left = seconds - counted
                assert abs(calendar.working_seconds(now, clock.due_at) - left) < 1e-3
                assert clock.reads(now) in (DueState.ON_TRACK, DueState.DUE_SOON)
            else:
                assert clock.reads(now) is DueState.BREACHED
        else:
            assert clock.due_at is None


def test_the_order_entries_arrive_in_does_not_matter() -> None:
    """A late entry (written after others, dated before them) gives the same clocks."""
    rng = random.Random(7)
    target = _target(3600, 1800, 8 * 3600, True)
    calendar = CALENDARS[1]
    for _ in range(50):
        points = [
            Point(
                START + rng.randrange(0, 3 * 24 * 60) * MINUTE,
                rng.choice([Happening.RESPONSE, Happening.INCOMING, Happening.STATUS]),
                rng.choice([Status.OPEN, Status.WAITING, Status.SOLVED]),
            )
            for _ in range(6)
        ]
        now = START + timedelta(days=4)
        shuffled = list(points)
        rng.shuffle(shuffled)
        assert _replay(points, target, calendar, now) == _replay(shuffled, target, calendar, now)


def _replay(
    points: list[Point], target: Target, calendar: BusinessCalendar, now: datetime
) -> list[object]:
    return list(
        replay(
            points,
            side=Side.SHIPPER,
            joined_at=START,
            status=Status.NEW,
            target=target,
            calendar=calendar,
            now=now,
        )
    )


def test_a_friday_case_is_due_on_monday_in_the_carriers_hours() -> None:
    """The issue's example: 16:55 on a Friday, 4 working hours, 08:00-17:00 Mon-Fri."""
    calendar = CALENDARS[1]
    opened = datetime(2026, 12, 4, 21, 55, tzinfo=UTC)  # Friday 16:55 in New York
    [first] = replay(
        [],
        side=Side.CARRIER,
        joined_at=opened,
        status=Status.NEW,
        target=_target(4 * 3600, None, None, False),
        calendar=calendar,
        now=opened + timedelta(minutes=1),
    )
    assert first.due_at == datetime(2026, 12, 7, 16, 55, tzinfo=UTC)  # Monday 11:55 EST
    assert first.warn_at == datetime(2026, 12, 7, 16, 25, tzinfo=UTC)  # 30 working minutes before


def test_a_case_reopened_straight_into_waiting_pauses_its_resolution_clock() -> None:
    """Solved at 16:00, reopened as waiting (on the customer) at 17:00: the resolution
    clock is paused, not stopped (the case is not solved); it runs on when the
    status is open again at 18:00, from the working time counted until 16:00."""
    target = _target(None, None, 8 * 3600, True)
    points = [
        Point(START + timedelta(hours=2), Happening.STATUS, Status.SOLVED),
        Point(START + timedelta(hours=3), Happening.STATUS, Status.WAITING),
    ]
    calendar = BusinessCalendar.ALWAYS
    [clock] = _replay(points, target, calendar, START + timedelta(hours=3, minutes=30))
    assert clock.state is ClockState.PAUSED, clock
    assert clock.elapsed_seconds == 2 * 3600
    assert clock.reads(START + timedelta(hours=3, minutes=30)) is DueState.PAUSED
    points.append(Point(START + timedelta(hours=4), Happening.STATUS, Status.OPEN))
    [clock] = _replay(points, target, calendar, START + timedelta(hours=5))
    assert clock.state is ClockState.RUNNING
    assert clock.elapsed_seconds == 3 * 3600
    assert clock.due_at == START + timedelta(hours=10)
