"""The demo's data tells the truth: times spread over hours and days up to today, orders
placed shortly before their cases, each speaker in their own words, every seed scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casekit import Actor, CaseKit, FrozenClock, Settings
from casekit.domain.case import EntryKind
from casekit_flask import demo_stories
from casekit_flask.demo import (
    EMAIL_ONLY_ADDRESS,
    EMAIL_ONLY_SHIPPER_ADDRESS,
    demo_plugins,
    load_demo_data,
)

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
HOST = Actor.host()


def _load(folder, *, shipments: int, now: datetime = NOW):
    settings = Settings(
        database_url=f"sqlite:///{folder / 'demo.sqlite3'}",
        attachment_dir=folder / "attachments",
        load_entry_points=False,
    )
    clock = FrozenClock(now - timedelta(days=demo_stories.SPAN_DAYS + 10))
    kit = CaseKit(settings=settings, plugins=demo_plugins(), clock=clock)
    kit.create_schema()
    world = load_demo_data(kit, shipments=shipments, now=now)
    return kit, world


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's data for 120 shipments (60 cases and the email-only shipper's), once."""
    kit, world = _load(tmp_path_factory.mktemp("demo"), shipments=120)
    rows = kit.views.list(HOST, {"view": "all_cases"}, limit=500).rows
    timelines = {row.number: kit.cases.timeline(HOST, row.number) for row in rows}
    yield kit, world, rows, timelines
    kit.close()


def test_every_case_reaches_up_to_today_and_every_dashboard_range_has_some(demo):
    _kit, world, rows, timelines = demo
    assert len(rows) == len(world.cases) == 62
    opened = sorted(row.created_at for row in rows)
    assert opened[0] >= NOW - timedelta(days=demo_stories.SPAN_DAYS + 1)
    assert opened[-1] <= NOW
    for days, at_least in ((1, 1), (7, 3), (30, 10), (90, 62)):
        recent = [t for t in opened if t >= NOW - timedelta(days=days)]
        assert len(recent) >= at_least, (days, len(recent))
    # Nothing happens after now, and the numbers follow the opening times.
    assert max(e.created_at for entries in timelines.values() for e in entries) <= NOW
    by_number = [row.created_at for row in sorted(rows, key=lambda r: r.number)]
    assert by_number == sorted(by_number)


def test_each_entry_has_its_own_time_and_the_first_response_is_minutes_or_hours(demo):
    kit, _world, rows, timelines = demo
    responses = []
    for row in rows:
        entries = timelines[row.number]
        times = [e.created_at for e in entries]
        assert times == sorted(times)
        said = [e.created_at for e in entries if e.kind is EntryKind.MESSAGE]
        assert len(set(said)) == len(said), row.number  # each message at its own time
        answers = [
            e
            for e in entries
            if e.kind is EntryKind.MESSAGE
            and e.actor_kind == "user"
            and e.created_at > row.created_at
        ]
        if answers:
            responses.append(answers[0].created_at - row.created_at)
    assert len(responses) >= 30
    assert min(responses) >= timedelta(seconds=30)  # never "0 s"
    assert max(responses) <= timedelta(days=2)  # never "49 days"
    assert len({r // timedelta(minutes=10) for r in responses}) >= 10  # spread, not one pause
    solved = [kit.cases.get(HOST, r.number) for r in rows if r.status.value == "solved"]
    assert solved
    spans = [case.solved_at - case.created_at for case in solved]
    assert min(spans) >= timedelta(minutes=5)
    assert max(spans) >= timedelta(days=1)  # some take days, as cases do


def test_orders_are_placed_shortly_before_their_cases(demo):
    kit, _world, rows, _timelines = demo
    checked = 0
    for row in rows:
        facts = kit.cases.facts(HOST, row.number)
        if facts.order is None or facts.order.placed_at is None:
            continue
        before = row.created_at - facts.order.placed_at
        assert timedelta(hours=12) <= before <= timedelta(days=6), (row.number, before)
        checked += 1
    assert checked >= 40


def test_each_speaker_says_what_fits_them(demo):
    _kit, world, rows, timelines = demo
    merchant = world.merchant_id
    messages = [e for entries in timelines.values() for e in entries if e.kind is EntryKind.MESSAGE]
    customers = [m.body for m in messages if m.actor_kind == "customer"]
    carriers = [m.body for m in messages if m.actor_kind == "user" and m.org_id != merchant]
    staff = [m.body for m in messages if m.actor_kind == "user" and m.org_id == merchant]
    assert customers
    assert carriers
    assert staff
    # A customer speaks of their order, never in the carriers' trade words.
    for body in customers:
        for word in ("consignee", "terminal", "POD", "trace", "rebook", "carton"):
            assert word not in body, body
    # The customers' lines are theirs alone, and so are the carriers'.
    assert not set(customers) & set(carriers)
    assert not set(customers) & set(staff)
    assert not set(carriers) & set(staff)
    # Portal cases are titled by what the customer writes about, not all alike.
    portal = [r for r in rows if r.source.value == "portal"]
    assert len({r.subject for r in portal}) >= 3


def test_every_seed_scenario_is_present(demo):
    kit, world, rows, timelines = demo
    d = kit.directory
    swift, harbor, bluebird = (
        d.organization_by_external_id(HOST, key) for key in ("swift", "harbor", "bluebird")
    )
    sources = {row.source.value for row in rows}
    assert {"portal", "user", "rule"} <= sources
    # The shipper and the carrier both on casekit: the carrier opens, the merchant answers.
    asked = [
        r for r in rows if r.shipper_org_id == world.merchant_id and r.carrier_org_id == swift.id
    ]
    by_carrier = [r for r in asked if timelines[r.number][0].org_id == swift.id]
    assert by_carrier
    assert any(
        e.actor_kind == "user" and e.org_id == world.merchant_id
        for r in by_carrier
        for e in timelines[r.number]
        if e.kind is EntryKind.MESSAGE
    )
    # Each side by email only: Harbor Freight Lines (a carrier), Bluebird Home (a shipper).
    addresses = {(a.side.value, a.email) for a in kit.notifications.collaborator_addresses(HOST)}
    assert addresses == {("carrier", EMAIL_ONLY_ADDRESS), ("shipper", EMAIL_ONLY_SHIPPER_ADDRESS)}
    assert [r for r in rows if r.carrier_org_id == harbor.id]
    blue = [r for r in rows if r.shipper_org_id == bluebird.id]
    assert len(blue) == 2
    assert {r.carrier_org_id for r in blue} == {swift.id}
    assert d.users(HOST, org_id=bluebird.id) == []
    # A rule opened cases, as the system, on the carriers' exceptions.
    ruled = [r for r in rows if r.source.value == "rule"]
    assert len(ruled) >= 5
    assert {timelines[r.number][0].system for r in ruled} == {"rule"}
    assert {r.type for r in ruled} <= {"osd_damaged", "address_correction"}


def test_the_demo_is_the_same_for_the_same_seed_and_time(tmp_path):
    def cases(folder):
        folder.mkdir()
        kit, _world = _load(folder, shipments=21)
        try:
            rows = kit.views.list(HOST, {"view": "all_cases"}, limit=100).rows
            return [
                (r.number, r.subject, r.type, r.status.value, r.created_at)
                for r in sorted(rows, key=lambda r: r.number)
            ]
        finally:
            kit.close()

    first = cases(tmp_path / "one")
    assert len(first) == 23
    assert cases(tmp_path / "two") == first
