"""Rules: definitions, event rules, the sweep, owners, auto-solve, the dry run."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from casekit import (
    Actor,
    ExceptionKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
    Source,
    Status,
)
from casekit.domain.case import EntryKind, EventKind
from casekit.domain.rules import TimeCondition, parse_rule
from casekit.services.rules import STARTER_RULES
from casekit.store import tables

DAMAGED = {
    "name": "Damaged",
    "exceptions": ["damaged"],
    "case_type": "osd_damaged",
    "message": "Shipment {reference} arrived damaged ({exception}).",
    "auto_solve": True,
}


def feed(world):
    return Actor.system_actor("api", org_id=world.shipper.id)


def carrier_feed(world):
    return Actor.system_actor("api", org_id=world.carrier.id)


def ship(kit, world, *refs, **facts):
    kit.shipments.upsert_shipments(
        feed(world), [ShipmentFacts(reference=r, carrier="fast", **facts) for r in refs]
    )


def move(kit, world, ref, status, at, exception=None, evaluate=True):
    return kit.shipments.record_events(
        carrier_feed(world),
        [ShipmentEvent(reference=ref, status=status, exception=exception, occurred_at=at)],
        evaluate_rules=evaluate,
    )


def rule_cases(kit):
    with kit.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.rule_cases)).scalar_one()


# -- definitions ---------------------------------------------------------------------------


def test_a_definition_is_checked_field_by_field(kit):
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            {
                "name": "",
                "case_type": "nope",
                "statuses": ["flying"],
                "colour": "red",
                "owner": "round_robin",
                "hours": -1,
            },
            case_types=kit.case_types,
        )
    errors = caught.value.errors
    assert set(errors) == {"name", "case_type", "statuses", "colour", "owner_ids", "hours"}
    with pytest.raises(InvalidInput) as caught:
        parse_rule({"name": "x", "case_type": "lost"}, case_types=kit.case_types)
    assert "statuses" in caught.value.errors  # a rule on facts alone would match everything
    spec = parse_rule(DAMAGED, case_types=kit.case_types)
    assert parse_rule(spec.as_json(), case_types=kit.case_types) == spec


def test_managers_define_rules_agents_read_them(kit, world):
    manager = world.shipper_manager_actor
    rule = kit.rules.create(manager, DAMAGED)
    assert rule.enabled
    assert rule.spec.exceptions == (ExceptionKind.DAMAGED,)
    with pytest.raises(PermissionDenied):
        kit.rules.create(world.shipper_actor, DAMAGED | {"name": "Other"})
    with pytest.raises(InvalidInput) as caught:
        kit.rules.create(manager, DAMAGED)
    assert "name" in caught.value.errors
    assert [r.name for r in kit.rules.list(world.shipper_actor)] == ["Damaged"]
    with pytest.raises(NotFound):
        kit.rules.get(world.carrier_manager_actor, rule.id)
    with pytest.raises(InvalidInput) as caught:
        kit.rules.create(manager, DAMAGED | {"name": "W", "watcher_ids": [world.carrier_agent.id]})
    assert "watcher_ids" in caught.value.errors
    changed = kit.rules.update(manager, rule.id, DAMAGED | {"name": "Damaged freight"})
    assert changed.name == "Damaged freight"
    assert kit.rules.disable(manager, rule.id).enabled is False
    assert kit.rules.get(world.shipper_actor, rule.id).enabled is False
    kit.rules.delete(manager, rule.id)
    assert kit.rules.list(manager) == []
    with pytest.raises(InvalidInput):
        kit.rules.create(Actor.host(), DAMAGED)  # the host names the shipper
    assert kit.rules.create(Actor.host(), DAMAGED, org_id=world.shipper.id).org_id == (
        world.shipper.id
    )


def test_starter_rules_install_disabled_and_once(kit, world):
    installed = kit.rules.install_starters(world.shipper_manager_actor)
    assert len(installed) == len(STARTER_RULES) >= 10
    assert not any(rule.enabled for rule in installed)
    assert {r.spec.time_condition for r in installed} >= {
        TimeCondition.STALLED_IN_TRANSIT,
        TimeCondition.MISSED_ESTIMATED,
    }
    assert kit.rules.install_starters(world.shipper_manager_actor) == []
    ship(kit, world, "S-1")
    move(kit, world, "S-1", ShipmentStatus.EXCEPTION, kit.clock.now(), ExceptionKind.DAMAGED)
    assert kit.cases.list(Actor.host()) == []  # disabled: nothing opens


# -- event rules ------------------------------------------------------------------------------


def test_an_event_opens_one_case_and_recovery_solves_it(kit, world, clock):
    kit.rules.create(
        world.shipper_manager_actor,
        DAMAGED
        | {
            "owner": "user",
            "owner_ids": [world.shipper_agent.id],
            "watcher_ids": [world.shipper_manager.id],
            "carrier_collaborating": False,
        },
    )
    ship(kit, world, "S-1", "S-2", region="West")
    now = clock.now()
    report = move(kit, world, "S-1", ShipmentStatus.EXCEPTION, now, ExceptionKind.DAMAGED)
    assert len(report.opened) == 1
    number = report.opened[0]
    host = Actor.host()
    case = kit.cases.get(host, number)
    assert case.source is Source.RULE
    assert case.type == "osd_damaged"
    assert case.shipper_owner_id == world.shipper_agent.id
    assert case.watcher_ids == (world.shipper_manager.id,)
    assert case.carrier_org_id == world.carrier.id
    assert case.carrier_collaborating is False
    assert case.created_by == f"system:rule@org:{world.shipper.id}"
    timeline = kit.cases.timeline(host, number)
    messages = [e for e in timeline if e.kind is EntryKind.MESSAGE]
    assert messages[0].body == "Shipment S-1 arrived damaged (damaged)."
    assert {EventKind.OPENED, EventKind.OWNER_CHANGED, EventKind.WATCHER_ADDED} <= {
        e.event for e in timeline
    }
    # More exception news while the case is open: no second case.
    again = move(
        kit, world, "S-1", ShipmentStatus.EXCEPTION, now + timedelta(hours=1), ExceptionKind.DAMAGED
    )
    assert again.opened == []
    # Another shipment: its own case.
    assert len(move(kit, world, "S-2", "exception", now, "damaged").opened) == 1
    # Delivered: the rule solves its case, on the record.
    solved = move(kit, world, "S-1", ShipmentStatus.DELIVERED, now + timedelta(hours=2))
    assert solved.solved == [number]
    case = kit.cases.get(host, number)
    assert case.status is Status.SOLVED
    assert case.solved_by == f"system:rule@org:{world.shipper.id}"
    last = kit.cases.timeline(host, number)
    assert last[-1].event is EventKind.SOLVED
    assert any("Solved by the rule" in e.body for e in last if e.kind is EntryKind.MESSAGE)


def test_a_case_solved_by_hand_is_not_reopened_without_news(kit, world, clock):
    kit.rules.create(world.shipper_manager_actor, DAMAGED | {"auto_solve": False})
    ship(kit, world, "S-1")
    t = clock.now()
    number = move(kit, world, "S-1", "exception", t, "damaged").opened[0]
    kit.cases.solve(world.shipper_actor, number)
    # The same event delivered again: a duplicate, nothing opens.
    assert move(kit, world, "S-1", "exception", t, "damaged").opened == []
    # Newer news of the same kind: a new case, as the old one is solved.
    fresh = move(kit, world, "S-1", "exception", t + timedelta(hours=1), "damaged")
    assert len(fresh.opened) == 1
    assert fresh.opened[0] != number


def test_conditions_on_facts(kit, world, clock):
    kit.rules.create(
        world.shipper_manager_actor,
        {
            "name": "Freight held in the West",
            "exceptions": ["held_at_terminal"],
            "modes": ["freight"],
            "regions": ["West"],
            "carriers": [world.carrier.id],
            "case_type": "general_status_update",
        },
    )
    ship(kit, world, "F-W", mode="freight", region="West")
    ship(kit, world, "F-E", mode="freight", region="East")
    ship(kit, world, "P-W", mode="parcel", region="West")
    t = clock.now()
    opened = []
    for ref in ("F-W", "F-E", "P-W"):
        opened += move(kit, world, ref, "exception", t, "held_at_terminal").opened
    assert len(opened) == 1
    assert kit.cases.get(Actor.host(), opened[0]).subject == "Freight held in the West: F-W"


def test_round_robin_and_least_loaded_owners(kit, world, clock):
    team = [world.shipper_agent.id, world.shipper_manager.id]
    kit.rules.create(
        world.shipper_manager_actor,
        DAMAGED | {"name": "RR", "owner": "round_robin", "owner_ids": team},
    )
    refs = [f"S-{i}" for i in range(4)]
    ship(kit, world, *refs)
    owners = []
    for ref in refs:
        number = move(kit, world, ref, "exception", clock.now(), "damaged").opened[0]
        owners.append(kit.cases.get(Actor.host(), number).shipper_owner_id)
    assert owners == team * 2
    kit.rules.create(
        world.shipper_manager_actor,
        {
            "name": "LL",
            "exceptions": ["lost"],
            "case_type": "lost",
            "owner": "least_loaded",
            "owner_ids": team,
        },
    )
    # The agent takes on one more case by hand: the manager is less loaded.
    kit.cases.open(world.shipper_actor, type="other")
    ship(kit, world, "L-1")
    number = move(kit, world, "L-1", "exception", clock.now(), "lost").opened[0]
    assert kit.cases.get(Actor.host(), number).shipper_owner_id == world.shipper_manager.id


# -- time rules and the sweep -----------------------------------------------------------------


def test_the_sweep_opens_late_shipments_once(kit, world, clock):
    stalled = kit.rules.create(
        world.shipper_manager_actor,
        {
            "name": "Stalled",
            "time_condition": "stalled_in_transit",
            "hours": 48,
            "case_type": "where_is_my_order",
            "auto_solve": True,
        },
    )
    kit.rules.create(
        world.shipper_manager_actor,
        {"name": "Missed EDD", "time_condition": "missed_estimated", "case_type": "lost"},
    )
    ship(kit, world, "OLD", "NEW", "DONE")
    ship(kit, world, "EDD", estimated_date=clock.now().date() - timedelta(days=1))
    t = clock.now()
    move(kit, world, "OLD", "in_transit", t - timedelta(hours=50))
    move(kit, world, "NEW", "in_transit", t - timedelta(hours=2))
    move(kit, world, "DONE", "delivered", t - timedelta(hours=90))
    move(kit, world, "EDD", "in_transit", t - timedelta(hours=1))
    assert sorted(kit.rules.dry_run(world.shipper_actor, stalled.id)) == ["OLD"]
    first = kit.rules.sweep()
    assert len(first.opened) == 2
    subjects = {kit.cases.get(Actor.host(), n).subject for n in first.opened}
    assert subjects == {"Stalled: OLD", "Missed EDD: EDD"}
    assert kit.rules.sweep().opened == []  # idempotent
    assert kit.rules.dry_run(world.shipper_actor, stalled.id) == []
    clock.advance(hours=47)
    later = {kit.cases.get(Actor.host(), n).subject for n in kit.rules.sweep().opened}
    assert later == {"Stalled: NEW", "Stalled: EDD"}
    # A definition not saved yet can be tried too.
    trial = {"name": "t", "statuses": ["delivered"], "case_type": "other"}
    assert kit.rules.dry_run(world.shipper_manager_actor, trial) == ["DONE"]
    assert rule_cases(kit) == 4


def test_time_conditions(kit):
    from datetime import UTC, datetime

    from casekit.domain.rules import late

    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    today = now.date()

    def check(condition, hours, status, **shipment):
        return late(TimeCondition(condition), hours, ShipmentStatus(status), shipment, now)

    ago = now - timedelta(hours=10)
    assert check("stalled_pre_transit", 8, "scheduled", status_at=ago)
    assert not check("stalled_pre_transit", 12, "scheduled", status_at=ago)
    assert not check("stalled_pre_transit", 8, "in_transit", status_at=ago)
    assert check("missed_appointment", 2, "pickup_appointment", appointment_at=ago)
    assert not check("missed_appointment", 2, "in_transit", appointment_at=ago)
    assert check("will_miss_estimated", 24, "in_transit", estimated_date=today)
    assert not check("will_miss_estimated", 24, "out_for_delivery", estimated_date=today)
    assert not check("will_miss_estimated", 24, "in_transit", estimated_date=date(2026, 3, 20))
    assert check("missed_estimated", 0, "in_transit", estimated_date=date(2026, 3, 9))
    assert not check("missed_estimated", 0, "delivered", estimated_date=date(2026, 3, 9))
    assert check(
        "will_miss_promised",
        0,
        "in_transit",
        promised_date=date(2026, 3, 11),
        estimated_date=date(2026, 3, 12),
    )
    assert check("missed_promised", 0, "exception", promised_date=date(2026, 3, 9))
    assert not check("missed_promised", 0, "exception", promised_date=today)


@pytest.mark.backends("postgresql", "mysql")
def test_concurrent_sweeps_open_one_case_per_shipment(kit, world, clock, database_url):
    """Two machines sweeping at once: the database lets one case through per slot."""
    from casekit import CaseKit
    from casekit.settings import Settings

    kit.rules.create(
        world.shipper_manager_actor,
        {"name": "Missed", "time_condition": "missed_promised", "case_type": "lost"},
    )
    refs = [f"S-{i}" for i in range(12)]
    ship(kit, world, *refs, promised_date=clock.now().date() - timedelta(days=2))
    for ref in refs:
        move(kit, world, ref, "in_transit", clock.now())
    kits = [
        CaseKit(settings=Settings(database_url=database_url, load_entry_points=False), clock=clock)
        for _ in range(2)
    ]
    outcomes = []
    barrier = threading.Barrier(2)

    def sweep(k):
        barrier.wait()
        outcomes.append(k.rules.sweep())

    threads = [threading.Thread(target=sweep, args=(k,)) for k in kits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in kits:
        k.close()
    opened = [n for o in outcomes for n in o.opened]
    assert len(opened) == len(refs)
    assert sum(len(o.raced) for o in outcomes) + len(opened) >= len(refs)
    assert len(kit.cases.list(Actor.host(), limit=100)) == len(refs)
    assert rule_cases(kit) == len(refs)


def test_the_command_line_sweeps(kit, world, clock, database_url, monkeypatch):
    from casekit.cli import cli

    kit.rules.create(
        world.shipper_manager_actor,
        {"name": "Missed", "time_condition": "missed_promised", "case_type": "lost"},
    )
    ship(kit, world, "S-1", promised_date=date(2020, 1, 1))
    move(kit, world, "S-1", "in_transit", clock.now())
    runner = CliRunner()
    monkeypatch.setenv("CASEKIT_LOAD_ENTRY_POINTS", "false")
    result = runner.invoke(cli, ["--database-url", database_url, "rules", "sweep"])
    assert result.exit_code == 0, result.output
    assert "opened 1 case" in result.output
    result = runner.invoke(cli, ["--database-url", database_url, "rules", "sweep"])
    assert "opened 0 cases" in result.output
    result = runner.invoke(cli, ["--database-url", database_url, "rules", "list", "acme"])
    assert "tier 2 enabled  Missed" in result.output
    assert len(kit.cases.list(Actor.host())) == 1
    result = runner.invoke(cli, ["--database-url", database_url, "rules", "starters", "acme"])
    assert result.exit_code == 0, result.output
    assert f"added {len(STARTER_RULES)} disabled rules" in result.output
    trial = kit.rules.create(
        world.shipper_manager_actor,
        {"name": "In transit", "statuses": ["in_transit"], "case_type": "other"},
        enabled=False,
    )
    result = runner.invoke(cli, ["--database-url", database_url, "rules", "dry-run", str(trial.id)])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["S-1"]
    result = runner.invoke(cli, ["--database-url", database_url, "rules", "list", "nobody"])
    assert result.exit_code == 2  # a bad ORGANIZATION argument, like any usage error
    assert "no organization 'nobody'" in result.output


def sweepable(kit, world, clock, count):
    """``count`` shipments a time rule opens a case for at the next sweep (the clock's or now)."""
    kit.rules.create(
        world.shipper_manager_actor,
        {"name": "Missed", "time_condition": "missed_promised", "case_type": "lost"},
    )
    refs = [f"S-{n}" for n in range(count)]
    ship(kit, world, *refs, promised_date=date(2020, 1, 1))
    for ref in refs:
        move(kit, world, ref, "in_transit", clock.now())


def test_the_sweep_command_ends_with_one_summary_line_off_a_terminal(
    kit, world, clock, database_url, monkeypatch
):
    from casekit.cli import cli

    sweepable(kit, world, clock, 25)
    monkeypatch.setenv("CASEKIT_LOAD_ENTRY_POINTS", "false")
    result = CliRunner().invoke(cli, ["--database-url", database_url, "rules", "sweep"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no bar, no label: not a terminal
    [line] = result.stdout.splitlines()
    numbers = sorted(c.number for c in kit.cases.list(Actor.host()))
    assert len(numbers) == 25
    assert line == (
        f"swept 25 shipments due: opened 25 cases ({' '.join(numbers[:20])} and 5 more)"
    )


def test_the_sweep_command_draws_a_bar_on_a_terminal(kit, world, clock, database_url):
    import os
    import sys

    from casekit.testing import run_in_terminal

    sweepable(kit, world, clock, 30)
    status, shown = run_in_terminal(
        [sys.executable, "-m", "casekit", "--database-url", database_url, "rules", "sweep"],
        env={**os.environ, "CASEKIT_LOAD_ENTRY_POINTS": "false", "TERM": "xterm"},
    )
    assert status == 0, shown
    assert "Sweeping  [" in shown
    assert "30/30" in shown  # the bar counts the shipments worked
    assert "#" * 10 in shown
    assert "swept 30 shipments due: opened 30 cases" in shown
    assert len(kit.cases.list(Actor.host())) == 30


def test_a_case_that_cannot_open_loses_no_event_and_stops_no_other_rule(
    kit, world, clock, monkeypatch, caplog
):
    kit.rules.create(world.shipper_manager_actor, DAMAGED | {"name": "A"})
    kit.rules.create(world.shipper_manager_actor, DAMAGED | {"name": "B"})
    ship(kit, world, "S-1")
    real_open = kit.cases.open
    calls = []

    def first_fails(actor, **kw):
        calls.append(kw["subject"])
        if len(calls) == 1:
            raise InvalidInput({"type": ["gone from the catalogue"]})
        return real_open(actor, **kw)

    monkeypatch.setattr(kit.cases, "open", first_fails)
    report = move(kit, world, "S-1", "exception", clock.now(), "damaged")
    assert report.recorded == 1
    assert len(report.opened) == 1
    assert kit.shipments.shipment(world.shipper_actor, "S-1").exception == "damaged"
    assert report.failed == [(report.failed[0][0], "S-1", report.failed[0][2])]
    assert "gone from the catalogue" in report.failed[0][2]
    assert "could not open a case for S-1" in caplog.text
    assert "gone from the catalogue" in caplog.text


def test_rules_are_the_shippers_and_never_write_to_its_customer(kit, world, clock):
    """A rule reads shipments, never messages, and belongs to a shipper: no carrier
    holds one, and what a rule writes is for partners or the shipper alone."""
    for actor, org_id in (
        (world.carrier_manager_actor, None),
        (Actor.host(), world.carrier.id),
    ):
        with pytest.raises(InvalidInput) as caught:
            kit.rules.create(actor, DAMAGED, org_id=org_id)
        assert caught.value.errors == {"org_id": ["rules belong to a shipper"]}
    kit.rules.create(world.shipper_manager_actor, DAMAGED)
    ship(kit, world, "S-1")
    now = clock.now()
    [number] = move(kit, world, "S-1", ShipmentStatus.EXCEPTION, now, ExceptionKind.DAMAGED).opened
    assert move(kit, world, "S-1", ShipmentStatus.DELIVERED, now + timedelta(hours=1)).solved == [
        number
    ]
    written = [
        (e.body.split(":")[0], e.audience)
        for e in kit.cases.timeline(Actor.host(), number)
        if e.kind is EntryKind.MESSAGE
    ]
    assert written == [
        ("Shipment S-1 arrived damaged (damaged).", "partners"),
        ("Solved by the rule “Damaged”", "internal"),
    ]
