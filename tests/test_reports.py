"""Reports on small hand-checked data: every metric, the viewer's time zone across a
daylight-saving change, what each side sees, and each number's drill-down.

The story (times UTC; New York moved from UTC-5 to UTC-4 on 2026-03-08):

- D, 03-06 12:00: a shipper's rule opens it (type lost, carrier Fast); Sam takes it.
- A, 03-07 06:00: Sam opens it (where_is_my_order, carrier Fast, brand Acme Home);
  Cal (carrier) answers at 06:30, Sam at 07:00, Sam solves it at 08:00.
- C, 03-08 04:59 (03-07 23:59 in New York): Sam opens it (where_is_my_order, the
  customer, brand Acme Kids, no carrier); Mia solves it at 10:00, the customer
  writes at 11:00 (it reopens), Mia solves it again 03-09 05:00.
- B, 03-09 04:30 (00:30 in New York, on 03-09 only because of the change): Cal
  opens it for the shipper (osd_damaged); Sam writes an internal note at 04:45,
  answers the carrier at 06:00 and writes another internal note at 07:30; Cal
  writes an internal note at 08:00.
- O, 03-08 12:00: another shipper's case with carrier Fast.

Now is 03-10 07:00. The report covers 03-07 to 03-09 in New York.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from casekit import Actor, InvalidInput, PermissionDenied, ShipmentFacts
from casekit.clock import FrozenClock
from casekit.query.report_models import ReportQuery, Table
from casekit.query.timing import Granularity
from casekit.schemas.views import ListQuerySchema

NY = "America/New_York"
RANGE = {"from": "2026-03-07", "to": "2026-03-09", "timezone": NY}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at(6, 12))


def move(clock: FrozenClock, moment: datetime) -> None:
    assert moment >= clock.now()
    clock.advance(moment - clock.now())


@pytest.fixture
def story(kit, world, clock):
    sam, mia = world.shipper_actor, world.shipper_manager_actor
    cal = world.carrier_actor
    host = Actor.host()
    rule = Actor.system_actor("rule", org_id=world.shipper.id)
    other = kit.directory.add_organization(host, name="Other Goods", role="shipper")
    olly = kit.directory.add_user(host, org_id=other.id, name="Olly", email="olly@other.test")
    slow = kit.directory.add_organization(host, name="Slow Parcel", role="carrier")
    sid = kit.directory.add_user(host, org_id=slow.id, name="Sid", email="sid@slow.test")
    made = {}

    d = kit.cases.open(rule, type="lost", carrier=world.carrier.id, message="Lost on the way")
    kit.cases.take(sam, d.number)
    made["D"] = d.number

    move(clock, at(7, 6))
    made["A"] = kit.cases.open(
        sam,
        type="where_is_my_order",
        carrier=world.carrier.id,
        message="Where is it?",
        shipment=ShipmentFacts(reference="S-A", carrier="fast", brand="Acme Home"),
    ).number
    move(clock, at(7, 6, 30))
    kit.messages.post(cal, made["A"], "On its way")
    move(clock, at(7, 7))
    kit.messages.post(sam, made["A"], "Thanks")
    move(clock, at(7, 8))
    kit.cases.solve(sam, made["A"])

    move(clock, at(8, 4, 59))
    made["C"] = kit.cases.open(
        sam,
        type="where_is_my_order",
        customer=world.customer.id,
        message="Checking",
        shipment=ShipmentFacts(reference="S-C", brand="Acme Kids"),
    ).number
    move(clock, at(8, 10))
    kit.cases.solve(mia, made["C"])
    move(clock, at(8, 11))
    kit.messages.post(world.customer_actor, made["C"], "Still not here")
    move(clock, at(8, 12))
    made["O"] = kit.cases.open(
        Actor.of_user(olly), type="lost", carrier=world.carrier.id, message="Gone"
    ).number

    move(clock, at(9, 4, 30))
    made["B"] = kit.cases.open(
        cal, type="osd_damaged", shipper=world.shipper.id, message="Crushed crate"
    ).number
    move(clock, at(9, 4, 45))
    kit.messages.post(sam, made["B"], "note to self", audience="internal")
    move(clock, at(9, 5))
    kit.cases.solve(mia, made["C"])
    move(clock, at(9, 6))
    kit.messages.post(sam, made["B"], "Send photos")
    move(clock, at(9, 7, 30))
    kit.messages.post(sam, made["B"], "another note", audience="internal")
    move(clock, at(9, 8))
    kit.messages.post(cal, made["B"], "carrier note", audience="internal")
    move(clock, at(10, 7))
    made["sid"] = Actor.of_user(sid)
    return made


def rows(report, table):
    return {row.label: row.count for row in report.table(table).rows}


def by_label(report, table):
    return {row.label: row for row in report.table(table).rows}


def check_drill_downs(kit, actor, report):
    """Every number's query lists exactly the cases it counts."""
    checked = 0

    def same(query, expected):
        nonlocal checked
        loaded = ListQuerySchema().load(json.loads(json.dumps(_dump(query))))
        assert kit.views.count(actor, loaded) == expected, (query, expected)
        checked += 1

    for section in report.sections:
        for total in section.totals:
            same(total.query, total.count)
        for table in section.tables:
            for row in table.rows:
                if hasattr(row, "count"):
                    same(row.query, row.count)
                elif hasattr(row, "measured"):
                    same(row.query, row.cases)
                elif hasattr(row, "reopened"):
                    same(row.solved_query, row.solved)
                    same(row.reopened_query, row.reopened)
                elif hasattr(row, "active_owned"):
                    same(row.active_query, row.active_owned)
                    same(row.solved_query, row.solved)
                elif hasattr(row, "clocks"):
                    same(row.query, row.clocks)
                    same(row.breached_query, row.breached)
                elif hasattr(row, "elapsed_seconds"):
                    same(row.query, 1)
    return checked


def _dump(query):
    from casekit.schemas.views import dump_query

    return dump_query(query)


# -- volume -------------------------------------------------------------------------------


def test_days_are_the_viewers_across_the_daylight_saving_change(kit, world, story):
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    assert report.range_start == at(7, 5)  # midnight EST
    assert report.range_end == at(10, 4)  # midnight EDT
    assert rows(report, "opened") == {"2026-03-07": 2, "2026-03-08": 0, "2026-03-09": 1}
    assert rows(report, "solved") == {"2026-03-07": 1, "2026-03-08": 0, "2026-03-09": 1}
    # The same cases in UTC days: B and C fall on other days.
    utc = kit.reports.dashboard(world.shipper_actor, {**RANGE, "timezone": "UTC"})
    assert rows(utc, "opened") == {"2026-03-07": 1, "2026-03-08": 1, "2026-03-09": 1}
    # In a fixed UTC-5 zone (no daylight saving) B is opened on the 8th.
    fixed = kit.reports.dashboard(world.shipper_actor, {**RANGE, "timezone": "Etc/GMT+5"})
    assert rows(fixed, "opened") == {"2026-03-07": 2, "2026-03-08": 1, "2026-03-09": 0}


def test_the_autumn_change_makes_a_25_hour_day(kit, world, clock):
    sam = world.shipper_actor
    move(clock, datetime(2026, 11, 2, 4, 30, tzinfo=UTC))  # 11-01 23:30 EST, after the change
    kit.cases.open(sam, type="lost", message="late")
    report = kit.reports.dashboard(sam, {"from": "2026-11-01", "to": "2026-11-02", "timezone": NY})
    assert report.range_start == datetime(2026, 11, 1, 4, tzinfo=UTC)  # midnight EDT
    assert rows(report, "opened") == {"2026-11-01": 1, "2026-11-02": 0}


def test_weeks_start_on_monday_and_are_cut_to_the_range(kit, world, story):
    report = kit.reports.dashboard(
        world.shipper_actor,
        {"from": "2026-03-04", "to": "2026-03-15", "timezone": NY, "granularity": "week"},
    )
    # 03-04 (Wednesday) to Sunday 03-08, then the week of Monday 03-09.
    assert rows(report, "opened") == {"2026-03-04": 3, "2026-03-09": 1}
    assert rows(report, "solved") == {"2026-03-04": 1, "2026-03-09": 1}


def test_backlog_by_every_dimension(kit, world, story):
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    volume = report.section("volume")
    assert {t.key: t.count for t in volume.totals} == {"opened": 3, "solved": 2, "active": 2}
    assert rows(report, "backlog_by_status") == {"New": 1, "Open": 1}
    labels = {code: t.label for code, t in kit.case_types.items()}
    assert rows(report, "backlog_by_type") == {labels["lost"]: 1, labels["osd_damaged"]: 1}
    assert rows(report, "backlog_by_carrier") == {"Fast Freight": 2}
    assert rows(report, "backlog_by_brand") == {"No brand": 2}
    assert rows(report, "backlog_by_owner") == {"Sam Shipper": 1, "Unowned": 1}
    assert rows(report, "backlog_by_source") == {"Staff": 1, "Rule": 1}
    assert rows(report, "opened_by_source") == {"Staff": 3}


def test_filters_narrow_every_number(kit, world, story):
    query = {**RANGE, "filters": {"type": ["where_is_my_order"]}}
    report = kit.reports.dashboard(world.shipper_actor, query)
    assert rows(report, "opened") == {"2026-03-07": 2, "2026-03-08": 0, "2026-03-09": 0}
    assert rows(report, "backlog_by_type") == {}
    branded = kit.reports.dashboard(
        world.shipper_actor, {**RANGE, "filters": {"brand": ["Acme Kids"]}}
    )
    assert rows(branded, "opened") == {"2026-03-07": 1, "2026-03-08": 0, "2026-03-09": 0}
    owned = kit.reports.dashboard(
        world.shipper_actor,
        {**RANGE, "filters": {"owner": [world.shipper_agent.id], "carrier": [world.carrier.id]}},
    )
    assert rows(owned, "opened") == {"2026-03-07": 1, "2026-03-08": 0, "2026-03-09": 0}
    assert check_drill_downs(kit, world.shipper_actor, owned) > 20


# -- speed --------------------------------------------------------------------------------


def test_first_response_counts_the_viewers_messages_to_others_only(kit, world, story):
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    [overall] = report.table("first_response").rows
    # A: 1 h; B: 1.5 h (Sam's internal note at 15 min is no response); C: none.
    assert (overall.cases, overall.measured) == (3, 2)
    assert overall.median_seconds == pytest.approx(4500)
    assert overall.p90_seconds == pytest.approx(3600 + 0.9 * 1800)
    by_type = by_label(report, "first_response_by_type")
    wismo = by_type[kit.case_types["where_is_my_order"].label]
    assert (wismo.cases, wismo.measured, wismo.median_seconds) == (2, 1, pytest.approx(3600))
    by_owner = by_label(report, "first_response_by_owner")
    assert by_owner["Unowned"].median_seconds == pytest.approx(5400)
    assert (by_owner["Sam Shipper"].cases, by_owner["Sam Shipper"].measured) == (2, 1)
    assert {r.label for r in report.table("first_response_by_carrier").rows} == {
        "Fast Freight",
        "No carrier",
    }


def test_time_to_solve_and_reopen_rate(kit, world, story):
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    [overall] = report.table("resolution").rows
    # A: 2 h; C: opened 03-08 04:59, solved (again) 03-09 05:00: 24 h 1 min.
    assert (overall.cases, overall.measured) == (2, 2)
    assert overall.median_seconds == pytest.approx((7200 + 86460) / 2)
    assert overall.p90_seconds == pytest.approx(7200 + 0.9 * (86460 - 7200))
    reopens = report.table("reopens").rows
    assert (reopens[0].solved, reopens[0].reopened, reopens[0].rate) == (2, 1, 0.5)


def test_the_carriers_speed_counts_its_own_messages(kit, world, story):
    report = kit.reports.dashboard(world.carrier_actor, RANGE)
    [first] = report.table("first_response").rows
    # A: Cal after 30 min; B (Cal opened it) and O: no answer from the carrier.
    assert (first.cases, first.measured, first.median_seconds) == (3, 1, pytest.approx(1800))
    [solve] = report.table("resolution").rows
    assert (solve.cases, solve.median_seconds) == (1, pytest.approx(7200))
    assert rows(report, "backlog_by_shipper") == {"Acme Goods": 2, "Other Goods": 1}


# -- load ---------------------------------------------------------------------------------


def test_load_per_user(kit, world, story):
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    load = {
        r.name: (r.active_owned, r.messages_posted, r.solved) for r in report.table("load").rows
    }
    # Sam: owns D; wrote on A twice, opened C, three entries on B (notes count as posts).
    assert load == {"Sam Shipper": (1, 6, 1), "Mia Manager": (0, 0, 1)}
    assert report.section("load").totals[0].count == 1  # B: nobody on the shipper's side
    carrier = kit.reports.dashboard(world.carrier_actor, RANGE)
    load = {
        r.name: (r.active_owned, r.messages_posted, r.solved) for r in carrier.table("load").rows
    }
    assert load == {"Cal Carrier": (1, 3, 0), "Max Dispatch": (0, 0, 0)}
    assert carrier.section("load").totals[0].count == 2  # D and O


# -- aging --------------------------------------------------------------------------------


def test_aging_and_the_other_sides_latest_message(kit, world, story):
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    # D: 3 days 19 hours; B: 26.5 hours.
    assert rows(report, "aging_by_age") == {
        "Under 1 day": 0,
        "1 to 3 days": 1,
        "3 to 7 days": 1,
        "7 to 14 days": 0,
        "Over 14 days": 0,
    }
    # B: Cal's opening message (26.5 h); Cal's internal note (23 h) does not count.
    # D: nothing from the carrier.
    assert rows(report, "aging_by_other_side_message") == {
        "Under 1 day": 0,
        "1 to 3 days": 1,
        "3 to 7 days": 0,
        "7 to 14 days": 0,
        "Over 14 days": 0,
        "No message yet": 1,
    }
    carrier = kit.reports.dashboard(world.carrier_actor, RANGE)
    # B: Sam's answer (25 h), not his internal note (23.5 h); O: 43 h; D: the rule's message.
    assert rows(carrier, "aging_by_other_side_message") == {
        "Under 1 day": 0,
        "1 to 3 days": 2,
        "3 to 7 days": 1,
        "7 to 14 days": 0,
        "Over 14 days": 0,
        "No message yet": 0,
    }


def test_the_carrier_counts_what_it_reads_of_the_shippers_talk_with_its_customer(
    kit, world, story, clock
):
    """The shipper's conversation with its customer moves the shipper's figures
    alone: the carrier sees its statuses as open and none of its messages, until
    the shipper shares one."""
    sam, cal = world.shipper_actor, world.carrier_actor
    number = kit.cases.open(
        sam,
        type="delivery_scheduling",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="A slot for the delivery?",
    ).number  # 03-10 07:00
    move(clock, at(10, 7, 10))
    kit.messages.post(cal, number, "Tuesday or Wednesday")
    move(clock, at(12, 8))
    kit.messages.post(world.customer_actor, number, "Not Tuesday, I am away")
    move(clock, at(12, 8, 10))
    kit.messages.post(sam, number, "Wednesday then", audience="customer")
    move(clock, at(12, 9))
    query = {
        "from": "2026-03-10",
        "to": "2026-03-12",
        "timezone": NY,
        "filters": {"type": ["delivery_scheduling"]},
    }
    shipper = kit.reports.dashboard(sam, query)
    carrier = kit.reports.dashboard(cal, query)
    assert rows(shipper, "backlog_by_status") == {"Waiting": 1}
    assert rows(carrier, "backlog_by_status") == {"Open": 1}
    # The shipper's answer to its customer is its first response (49 h 10 min).
    [first] = shipper.table("first_response").rows
    assert (first.measured, first.median_seconds) == (1, pytest.approx(49 * 3600 + 600))
    [first] = carrier.table("first_response").rows
    assert (first.measured, first.median_seconds) == (1, pytest.approx(600))
    # The shipper read its customer an hour ago; the carrier's latest from the
    # others is the opening message, two days ago.
    aging = "aging_by_other_side_message"
    assert {k: n for k, n in rows(shipper, aging).items() if n} == {"Under 1 day": 1}
    assert {k: n for k, n in rows(carrier, aging).items() if n} == {"1 to 3 days": 1}
    for actor, report in ((sam, shipper), (cal, carrier)):
        assert check_drill_downs(kit, actor, report) > 20
    # Shared with the carrier, the customer's message is one it reads from the others.
    [asked] = [e for e in kit.cases.timeline(sam, number) if e.body == "Not Tuesday, I am away"]
    kit.cases.share_with_carrier(sam, number, asked.id)
    carrier = kit.reports.dashboard(cal, query)
    assert {k: n for k, n in rows(carrier, aging).items() if n} == {"Under 1 day": 1}
    assert rows(carrier, "backlog_by_status") == {"Open": 1}
    assert check_drill_downs(kit, cal, carrier) > 20


# -- targets ------------------------------------------------------------------------------


def test_the_old_target_calls_are_deprecated_and_keep_type_targets(kit, world, story, clock):
    """``kit.reports.set_target`` and ``targets`` still work, warning: they set and
    read a service level of one case type, whose clocks the report counts."""
    mia = world.shipper_manager_actor
    with pytest.deprecated_call():
        kit.reports.set_target(
            mia, "where_is_my_order", first_response=timedelta(hours=2), resolution=86400
        )
    with pytest.deprecated_call():
        kit.reports.set_target(mia, "osd_damaged", first_response=3600)
    [damaged, wismo] = sorted(kit.service_levels.targets(mia), key=lambda t: t.name)
    assert (wismo.name, wismo.conditions, wismo.warn_before_seconds) == (
        kit.case_types["where_is_my_order"].label,
        {"types": ["where_is_my_order"]},
        3600,
    )
    assert (wismo.first_response_seconds, wismo.resolution_seconds) == (7200, 86400)
    assert (damaged.first_response_seconds, damaged.resolution_seconds) == (3600, None)
    with pytest.deprecated_call():
        listed = kit.reports.targets(world.shipper_actor)
    assert [(t.case_type, t.first_response_seconds, t.resolution_seconds) for t in listed] == [
        ("osd_damaged", 3600, None),
        ("where_is_my_order", 7200, 86400),
    ]
    # Setting the targets recomputed the open cases' clocks: B (osd_damaged, opened
    # by the carrier) was answered after 1.5 h, past the hour; it is open 26.5 h.
    report = kit.reports.dashboard(world.shipper_actor, RANGE)
    rows = {(r.label, r.kind): (r.clocks, r.breached) for r in report.table("targets").rows}
    assert rows == {("All cases", "first_response"): (1, 1)}
    assert [(b.number, b.kind) for b in report.table("breaches").rows] == [
        (story["B"], "first_response")
    ]
    # A change through the old call keeps what it does not know of.
    kit.service_levels.save_target(mia, {"next_response": 600}, target_id=damaged.id)
    with pytest.deprecated_call():
        assert kit.reports.set_target(mia, "osd_damaged") is None
    kept = kit.service_levels.target(mia, damaged.id)
    assert (kept.first_response_seconds, kept.next_response_seconds) == (None, 600)
    with pytest.deprecated_call():
        assert [t.case_type for t in kit.reports.targets(mia)] == ["where_is_my_order"]
    # Unsetting both of a target with nothing else removes it.
    with pytest.deprecated_call():
        assert kit.reports.set_target(mia, "where_is_my_order") is None
    assert [t.name for t in kit.service_levels.targets(mia)] == [damaged.name]


def test_targets_are_a_managers_and_checked(kit, world):
    with pytest.deprecated_call(), pytest.raises(PermissionDenied):
        kit.reports.set_target(world.shipper_actor, "lost", first_response=3600)
    with pytest.deprecated_call(), pytest.raises(PermissionDenied):
        kit.reports.set_target(world.customer_actor, "lost", first_response=3600)
    with pytest.deprecated_call(), pytest.raises(InvalidInput) as caught:
        kit.reports.set_target(
            world.shipper_manager_actor, "nope", first_response=10, resolution="1d"
        )
    assert set(caught.value.errors) == {"case_type", "first_response", "resolution"}
    assert kit.service_levels.targets(world.shipper_manager_actor) == []


# -- access -------------------------------------------------------------------------------


def test_each_viewer_counts_only_its_cases(kit, world, story):
    outsider = kit.reports.dashboard(story["sid"], RANGE)
    assert all(t.count == 0 for t in outsider.section("volume").totals)
    assert all(not t.rows for t in outsider.tables() if t.name.startswith("backlog"))
    assert outsider.table("first_response").rows[0].cases == 0
    for actor in (world.customer_actor, Actor.host()):
        with pytest.raises(PermissionDenied):
            kit.reports.dashboard(actor, RANGE)


def test_every_number_drills_down_to_the_same_cases(kit, world, story):
    kit.service_levels.save_target(
        world.shipper_manager_actor,
        {"name": "WISMO", "conditions": {"types": ["where_is_my_order"]}, "resolution": 7200},
    )
    for actor, numbers in (
        (world.shipper_actor, 50),
        (world.carrier_actor, 40),
        (story["sid"], 20),
    ):
        report = kit.reports.dashboard(actor, RANGE)
        assert check_drill_downs(kit, actor, report) >= numbers


# -- input and output -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-03-09"}, "from"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, "to"),
        ({**RANGE, "timezone": "Mars/Olympus"}, "timezone"),
        ({**RANGE, "timezone": "../../etc/passwd"}, "timezone"),
        ({**RANGE, "granularity": "hour"}, "granularity"),
        ({**RANGE, "filters": {"carrier": ["Fast"]}}, "filters.carrier"),
        ({**RANGE, "filters": {"carrier": [2**70]}}, "filters.carrier"),
        # Days whose local midnights are not UTC moments (an OverflowError before).
        ({"from": "9999-12-31", "to": "9999-12-31", "timezone": "Etc/GMT+12"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-01", "timezone": "Etc/GMT-14"}, "from"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),
        ({**RANGE, "filters": {"status": ["new"]}}, "filters.status"),
        ({**RANGE, "extra": 1}, "extra"),
    ],
)
def test_bad_input_names_the_field(kit, world, query, field):
    with pytest.raises(InvalidInput) as caught:
        kit.reports.dashboard(world.shipper_actor, query)
    assert field in caught.value.errors


def test_the_first_and_last_days_a_report_takes(kit, world):
    for query in (
        {"from": "0001-01-02", "to": "0001-01-02", "timezone": "Etc/GMT-14"},
        {"from": "9999-12-30", "to": "9999-12-30", "timezone": "Etc/GMT+12", "granularity": "week"},
    ):
        assert kit.reports.dashboard(world.shipper_actor, query).sections


def test_json_and_csv(kit, world, story):
    query = ReportQuery(
        start=date(2026, 3, 7), end=date(2026, 3, 9), timezone=NY, granularity=Granularity.DAY
    )
    report = kit.reports.dashboard(world.shipper_actor, query)
    data = json.loads(json.dumps(report.to_json()))
    assert data["query"] == {
        "from": "2026-03-07",
        "to": "2026-03-09",
        "timezone": NY,
        "granularity": "day",
        "filters": {},
    }
    opened = next(t for s in data["sections"] for t in s["tables"] if t["name"] == "opened")
    assert opened["rows"][2]["count"] == 1
    assert opened["rows"][2]["query"]["filters"][0]["field"] == "created_at"
    names = [t.name for t in report.tables()]
    assert len(names) == len(set(names))
    for table in report.tables():
        parsed = list(csv.reader(io.StringIO(table.csv())))
        assert len(parsed) == (len(table.rows) + 1 if table.rows else 1)
    load = list(csv.DictReader(io.StringIO(report.table("load").csv())))
    assert {r["name"]: r["messages_posted"] for r in load} == {
        "Sam Shipper": "6",
        "Mia Manager": "0",
    }
    assert "query" not in load[0]
    assert "active_query" not in load[0]
    assert Table(name="x", title="x", rows=()).csv() == "\r\n"


FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tcmd", "\rcmd")


def test_csv_neutralises_formulas(kit, world, clock):
    move(clock, at(7, 12))
    owner = kit.directory.add_user(
        Actor.host(), org_id=world.shipper.id, name="=cmd|' /C calc'!A0", email="eve@acme.test"
    )
    for i, brand in enumerate(FORMULAS):
        kit.cases.open(
            Actor.of_user(owner),
            type="lost",
            shipment=ShipmentFacts(reference=f"SHP-F{i}", shipper="acme", brand=brand),
        )
    move(clock, at(10, 7))
    report = kit.reports.dashboard(world.shipper_manager_actor, RANGE)
    cells = [
        cell
        for table in report.tables()
        for row in csv.reader(io.StringIO(table.csv(), newline=""))
        for cell in row
    ]
    assert {"'" + brand for brand in FORMULAS} <= set(cells)
    assert "'" + owner.name in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
