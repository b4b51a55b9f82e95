"""The dashboard's targets section, counted from the clocks, checked by hand on every database.

The story (times UTC; no calendar, so every hour is working time):

The shipper (Acme) promises "Damage" (osd_damaged: first response 2 h,
resolution 24 h) and "Everything" (first response 4 h, next response 1 h,
resolution 48 h); the carrier Fast promises "All" (first response 1 h,
resolution 8 h). Slow Parcel, another carrier, promises nothing.

- S, 03-01 12:00: Sam opens it (lost, carrier Fast): before the range.
- P, 03-02 09:00: Cal (Fast) opens it for Acme (osd_damaged); Sam answers
  at 10:00 and solves it 03-03 11:00.
- Q, 03-03 08:00: Sam opens it (where_is_my_order, carrier Slow); Sid (Slow)
  writes at 09:00 and nobody answers.
- O, 03-03 12:00: another shipper's case with carrier Fast; nobody answers.
- R, 03-04 10:00: Sam opens it (lost, carrier Fast); Cal answers at 10:20,
  Sam at 10:50.

Now is 03-05 12:00. The report covers 03-02 to 03-04 (UTC days).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casekit import Actor, CaseKit
from casekit.clock import FrozenClock
from casekit.domain.calendar import BusinessCalendar
from casekit.query.report_models import BreachRow, ClockRow, Report
from casekit.query.report_targets import Clocks, working_until
from casekit.schemas.views import ListQuerySchema, dump_query
from casekit.testing import World

HOUR = 3600
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RANGE = {"from": "2026-03-02", "to": "2026-03-04"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at(1, 8))


@pytest.fixture
def story(kit: CaseKit, world: World, clock: FrozenClock) -> dict[str, Any]:
    def move(moment: datetime) -> None:
        assert moment >= clock.now()
        clock.advance(moment - clock.now())

    host = Actor.host()
    sam, cal = world.shipper_actor, world.carrier_actor
    mia, max_ = world.shipper_manager_actor, world.carrier_manager_actor
    slow = kit.directory.add_organization(host, name="Slow Parcel", role="carrier")
    sid = Actor.of_user(
        kit.directory.add_user(host, org_id=slow.id, name="Sid", email="sid@slow.test")
    )
    other = kit.directory.add_organization(host, name="Other Goods", role="shipper")
    olly = Actor.of_user(
        kit.directory.add_user(host, org_id=other.id, name="Olly", email="olly@other.test")
    )
    levels = kit.service_levels
    levels.save_target(
        mia,
        {
            "name": "Damage",
            "conditions": {"types": ["osd_damaged"]},
            "first_response": 2 * HOUR,
            "resolution": 24 * HOUR,
        },
    )
    levels.save_target(
        mia,
        {
            "name": "Everything",
            "first_response": 4 * HOUR,
            "next_response": HOUR,
            "resolution": 48 * HOUR,
        },
    )
    levels.save_target(max_, {"name": "All", "first_response": HOUR, "resolution": 8 * HOUR})
    made: dict[str, Any] = {"slow": slow.id, "sid": sid}

    def opened(actor: Actor, **kwargs: Any) -> str:
        return kit.cases.open(actor, message="Please look", audience="partners", **kwargs).number

    move(at(1, 12))
    made["S"] = opened(sam, type="lost", carrier=world.carrier.id)
    move(at(2, 9))
    made["P"] = opened(cal, type="osd_damaged", shipper=world.shipper.id)
    move(at(2, 10))
    kit.messages.post(sam, made["P"], "Sorry, looking", audience="partners")
    move(at(3, 8))
    made["Q"] = opened(sam, type="where_is_my_order", carrier=slow.id)
    move(at(3, 9))
    kit.messages.post(sid, made["Q"], "Which one?", audience="partners")
    move(at(3, 11))
    kit.cases.solve(sam, made["P"])
    move(at(3, 12))
    made["O"] = opened(olly, type="lost", carrier=world.carrier.id)
    move(at(4, 10))
    made["R"] = opened(sam, type="lost", carrier=world.carrier.id)
    move(at(4, 10, 20))
    kit.messages.post(cal, made["R"], "On it", audience="partners")
    move(at(4, 10, 50))
    kit.messages.post(sam, made["R"], "Thanks", audience="partners")
    move(at(5, 12))
    return made


def figures(report: Report, table: str) -> dict[tuple[Any, str], tuple[Any, ...]]:
    """(group, kind): (clocks, breached, rate, median hours, mean hours)."""
    found = {}
    for row in report.table(table).rows:
        assert isinstance(row, ClockRow)
        found[(row.label, row.kind)] = (
            row.clocks,
            row.breached,
            row.breach_rate,
            None if row.median_seconds is None else row.median_seconds / HOUR,
            None if row.mean_seconds is None else row.mean_seconds / HOUR,
        )
    return found


def check_drill_downs(kit: CaseKit, actor: Actor, report: Report) -> int:
    """Every clock count's and breach count's query lists exactly the cases it counts."""
    checked = 0

    def same(query: Any, expected: int) -> None:
        nonlocal checked
        loaded = ListQuerySchema().load(json.loads(json.dumps(dump_query(query))))
        assert kit.views.count(actor, loaded) == expected, (query, expected)
        checked += 1

    for table in report.section("targets").tables:
        for row in table.rows:
            if isinstance(row, ClockRow):
                same(row.query, row.clocks)
                same(row.breached_query, row.breached)
            else:
                assert isinstance(row, BreachRow)
                same(row.query, 1)
    return checked


def test_the_shippers_clocks_by_hand(kit: CaseKit, world: World, story: dict[str, Any]) -> None:
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    # P: answered after 1 h (Damage: 2 h). Q and R were Sam's own: no first response owed.
    # Next response: Q waits on Sam since 03-03 09:00 (51 h by now, 1 h promised);
    # R was answered in 30 min. Resolution: P solved after 26 h (Damage: 24 h),
    # Q open 52 h (48 h promised), R open 26 h.
    assert figures(report, "targets") == {
        ("All cases", "first_response"): (1, 0, 0.0, 1.0, 1.0),
        ("All cases", "next_response"): (2, 1, 0.5, 25.75, 25.75),
        ("All cases", "resolution"): (3, 2, 0.667, 26.0, pytest.approx(104 / 3, abs=1e-3)),
    }
    labels = {code: t.label for code, t in kit.case_types.items()}
    damaged, wismo, lost = labels["osd_damaged"], labels["where_is_my_order"], labels["lost"]
    assert figures(report, "targets_by_type") == {
        (damaged, "first_response"): (1, 0, 0.0, 1.0, 1.0),
        (damaged, "resolution"): (1, 1, 1.0, 26.0, 26.0),
        (wismo, "next_response"): (1, 1, 1.0, 51.0, 51.0),
        (wismo, "resolution"): (1, 1, 1.0, 52.0, 52.0),
        (lost, "next_response"): (1, 0, 0.0, 0.5, 0.5),
        (lost, "resolution"): (1, 0, 0.0, 26.0, 26.0),
    }
    assert figures(report, "targets_by_carrier") == {
        ("Fast Freight", "first_response"): (1, 0, 0.0, 1.0, 1.0),
        ("Fast Freight", "next_response"): (1, 0, 0.0, 0.5, 0.5),
        ("Fast Freight", "resolution"): (2, 1, 0.5, 26.0, 26.0),
        ("Slow Parcel", "next_response"): (1, 1, 1.0, 51.0, 51.0),
        ("Slow Parcel", "resolution"): (1, 1, 1.0, 52.0, 52.0),
    }
    assert figures(report, "targets_by_owner") == {
        ("Unowned", "first_response"): (1, 0, 0.0, 1.0, 1.0),
        ("Unowned", "resolution"): (1, 1, 1.0, 26.0, 26.0),
        ("Sam Shipper", "next_response"): (2, 1, 0.5, 25.75, 25.75),
        ("Sam Shipper", "resolution"): (2, 1, 0.5, 39.0, 39.0),
    }
    breaches = [(b.number, b.kind, b.state, b.breached_at) for b in report.table("breaches").rows]
    assert breaches == [
        (story["P"], "resolution", "stopped", at(3, 9)),
        (story["Q"], "next_response", "running", at(3, 10)),
        (story["Q"], "resolution", "running", at(5, 8)),
    ]
    [late] = [b for b in report.table("breaches").rows if b.kind == "next_response"]
    assert (late.target_seconds, late.elapsed_seconds) == (HOUR, 51 * HOUR)
    assert check_drill_downs(kit, world.shipper_actor, report) == 2 * 18 + 3


def test_the_carrier_counts_its_own_clocks_only(
    kit: CaseKit, world: World, story: dict[str, Any]
) -> None:
    report = kit.reports.dashboard(world.carrier_actor, RANGE)
    # P: Cal opened it (no first response owed); solved by Sam after 26 h (8 h promised).
    # O: never answered (48 h by now); R: answered in 20 min, open 26 h.
    assert figures(report, "targets") == {
        ("All cases", "first_response"): (2, 1, 0.5, pytest.approx(24 + 1 / 6), 24 + 1 / 6),
        ("All cases", "resolution"): (3, 3, 1.0, 26.0, pytest.approx(100 / 3, abs=1e-3)),
    }
    assert figures(report, "targets_by_shipper") == {
        ("Acme Goods", "first_response"): (1, 0, 0.0, pytest.approx(1 / 3), 1 / 3),
        ("Acme Goods", "resolution"): (2, 2, 1.0, 26.0, 26.0),
        ("Other Goods", "first_response"): (1, 1, 1.0, 48.0, 48.0),
        ("Other Goods", "resolution"): (1, 1, 1.0, 48.0, 48.0),
    }
    assert check_drill_downs(kit, world.carrier_actor, report) > 20
    # The shipper's figures are not the carrier's, even when the carrier shows
    # its clocks to the shipper.
    before = kit.reports.dashboard(world.shipper_actor, RANGE).section("targets")
    kit.service_levels.set_calendar(
        world.carrier_manager_actor,
        {"time_zone": "UTC", "hours": {day: [["00:00", "24:00"]] for day in DAYS}},
        partner_org_id=world.shipper.id,
        share_clocks=True,
    )
    assert kit.reports.dashboard(world.shipper_actor, RANGE).section("targets") == before
    # Slow Parcel, without targets, has no clocks to count.
    sid: Actor = story["sid"]
    assert all(not t.rows for t in kit.reports.dashboard(sid, RANGE).section("targets").tables)


class CountedOfficeHours:
    """Working time Monday to Friday, 08:00 to 17:00 UTC, counted day by day."""

    def working_seconds(self, start: datetime, end: datetime) -> float:
        return sum((close - open_).total_seconds() for open_, close in self.spans(start, end))

    def spans(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            opens, closes = (
                max(day + timedelta(hours=8), start),
                min(day + timedelta(hours=17), end),
            )
            if day.weekday() < 5 and opens < closes:
                yield opens, closes
            day += timedelta(days=1)

    def add(self, start: datetime, seconds: float) -> datetime:  # pragma: no cover - unused
        raise NotImplementedError


class OfficeHours(CountedOfficeHours):
    """The same hours, which also lists its open intervals (as BusinessCalendar does)."""

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        return self.spans(start, end)


NOW = at(20, 15, 30)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.integers(min_value=-40 * 24 * 60, max_value=60).map(
            lambda minutes: NOW + timedelta(minutes=minutes)
        ),
        max_size=12,
    )
)
def test_one_walk_counts_what_each_clock_would_count_alone(moments: list[datetime]) -> None:
    """The running clocks' working time to now, from one list of open intervals or
    added up interval by interval from the latest, is each one's own count: in
    office hours and in every-hour time."""
    for calendar in (OfficeHours(), CountedOfficeHours(), BusinessCalendar.ALWAYS):
        found = working_until(calendar, [m for m in moments if m < NOW], NOW)
        assert set(found) == {m for m in moments if m < NOW}
        for moment, seconds in found.items():
            assert seconds == pytest.approx(calendar.working_seconds(moment, NOW), abs=1e-6)


def test_a_changed_target_changes_the_figures(
    kit: CaseKit, world: World, story: dict[str, Any]
) -> None:
    """The report reads the clocks the change recomputed: Q's answer, promised in
    a day now, is no longer late; the solved P keeps the promise it broke."""
    mia = world.shipper_manager_actor
    everything = next(t for t in kit.service_levels.targets(mia) if t.name == "Everything")
    kit.service_levels.save_target(mia, {"next_response": 60 * HOUR}, target_id=everything.id)
    damage = next(t for t in kit.service_levels.targets(mia) if t.name == "Damage")
    kit.service_levels.save_target(mia, {"resolution": 30 * HOUR}, target_id=damage.id)
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    assert figures(report, "targets") == {
        ("All cases", "first_response"): (1, 0, 0.0, 1.0, 1.0),
        ("All cases", "next_response"): (2, 0, 0.0, 25.75, 25.75),
        ("All cases", "resolution"): (3, 2, 0.667, 26.0, pytest.approx(104 / 3, abs=1e-3)),
    }
    assert [(b.number, b.kind) for b in report.table("breaches").rows] == [
        (story["P"], "resolution"),
        (story["Q"], "resolution"),
    ]
    assert check_drill_downs(kit, world.shipper_actor, report) == 2 * 18 + 2


def test_filters_and_the_top_rows(kit: CaseKit, world: World, story: dict[str, Any]) -> None:
    query = {**RANGE, "filters": {"type": ["where_is_my_order"]}}
    report = kit.reports.dashboard(world.shipper_actor, query)
    assert figures(report, "targets") == {
        ("All cases", "next_response"): (1, 1, 1.0, 51.0, 51.0),
        ("All cases", "resolution"): (1, 1, 1.0, 52.0, 52.0),
    }
    assert check_drill_downs(kit, world.shipper_actor, report) == 2 * 8 + 2
    # With its top row only, a table of groups keeps its largest group (all its
    # kinds) and counts the rest: Slow Parcel's two rows, one case.
    top = kit.reports.dashboard(world.shipper_actor, RANGE, top=1)
    by_carrier = top.table("targets_by_carrier")
    assert {row.label for row in by_carrier.rows} == {"Fast Freight"}
    assert by_carrier.rest is not None
    assert (by_carrier.rest.rows, by_carrier.rest.cases) == (2, 1)
    whole = kit.reports.dashboard(world.shipper_actor, RANGE).table("targets_by_carrier")
    assert by_carrier.rows == whole.rows[: len(by_carrier.rows)]


@pytest.mark.backends("postgresql")
def test_the_database_sums_the_groups_as_reading_every_clock_does(
    kit: CaseKit,
    world: World,
    story: dict[str, Any],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL the database sums and ranks the groups, the running clocks counted
    on in SQL in the calendar kept for their other party: the same section (figures,
    top rows and rest, breaches) as every clock read and grouped in Python."""
    office = {
        "time_zone": "America/New_York",
        "hours": {day: [["08:00", "12:00"], ["13:00", "17:00"]] for day in DAYS[:5]},
    }
    night = {"time_zone": "Asia/Tokyo", "hours": {day: [["22:00", "06:00"]] for day in DAYS}}
    every_hour = figures(kit.reports.dashboard(world.shipper_actor, RANGE), "targets_by_carrier")
    levels = kit.service_levels
    levels.set_calendar(world.shipper_manager_actor, office)
    levels.set_calendar(world.shipper_manager_actor, night, partner_org_id=story["slow"])
    levels.set_calendar(world.carrier_manager_actor, night, partner_org_id=world.shipper.id)
    # The running clocks were counted now; the report, days later, counts on from there.
    clock.advance(days=2, hours=7, minutes=10)
    compared = 0
    for actor in (world.shipper_actor, world.carrier_actor):
        for top in (None, 1):
            by_database = kit.reports.dashboard(actor, RANGE, sections=["targets"], top=top)
            with monkeypatch.context() as patched:
                patched.setattr(Clocks, "grouped", Clocks.grouped_in_python)
                by_python = kit.reports.dashboard(actor, RANGE, sections=["targets"], top=top)
            assert by_database == by_python
            compared += sum(len(table.rows) for table in by_database.sections[0].tables)
    assert compared > 40
    # The calendars count: the running clocks' working time is not every hour's.
    clock.advance(days=-2, hours=-7, minutes=-10)
    after = figures(kit.reports.dashboard(world.shipper_actor, RANGE), "targets_by_carrier")
    assert after != every_hour
