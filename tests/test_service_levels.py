"""Service levels end to end: targets, clocks kept by every change, what each side sees.

The clock arithmetic of calendars is tests/test_calendar.py's; the replay of
a side's timeline is tested here through the services, on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from casekit import Actor, CaseKit, ShipmentFacts
from casekit.domain.audience import Audience
from casekit.domain.sla import ClockState, DueState
from casekit.errors import InvalidInput, PermissionDenied
from casekit.testing import FrozenClock, World

HOUR = 3600


def _open(kit: CaseKit, world: World, **kwargs: object) -> str:
    view = kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        subject="Damaged pallet",
        carrier=world.carrier.id,
        message="Pallet arrived crushed.",
        audience=Audience.PARTNERS,
        **kwargs,
    )
    return view.number


def _clocks(kit: CaseKit, actor: Actor, number: str) -> dict[tuple[str, str], object]:
    view = kit.cases.get(actor, number)
    return {(c.side.value, c.kind.value): c for c in view.clocks}


def test_a_carrier_target_runs_first_response_and_resolution(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {
            "name": "Damage",
            "first_response": 4 * HOUR,
            "resolution": 48 * HOUR,
            "warn_before": HOUR,
        },
    )
    number = _open(kit, world)
    opened = clock.now()
    seen = _clocks(kit, world.carrier_actor, number)
    first = seen[("carrier", "first_response")]
    assert first.state is ClockState.RUNNING  # type: ignore[attr-defined]
    assert first.due_at == opened + timedelta(hours=4)  # type: ignore[attr-defined]
    assert first.warn_at == opened + timedelta(hours=3)  # type: ignore[attr-defined]
    assert first.due_state is DueState.ON_TRACK  # type: ignore[attr-defined]
    # the shipper has no target: no clocks of its own, and the carrier's are not shown to it
    assert _clocks(kit, world.shipper_actor, number) == {}

    clock.advance(hours=3, minutes=30)
    seen = _clocks(kit, world.carrier_actor, number)
    assert seen[("carrier", "first_response")].due_state is DueState.DUE_SOON  # type: ignore[attr-defined]
    kit.messages.post(world.carrier_actor, number, body="On it.", audience=Audience.PARTNERS)
    seen = _clocks(kit, world.carrier_actor, number)
    first = seen[("carrier", "first_response")]
    assert first.state is ClockState.STOPPED  # type: ignore[attr-defined]
    assert first.due_state is DueState.MET  # type: ignore[attr-defined]
    assert first.elapsed_seconds == 3.5 * HOUR  # type: ignore[attr-defined]
    assert seen[("carrier", "resolution")].state is ClockState.RUNNING  # type: ignore[attr-defined]


def test_a_late_first_response_is_breached_and_next_response_rounds(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {"name": "All", "first_response": HOUR, "next_response": 2 * HOUR},
    )
    number = _open(kit, world)
    opened = clock.now()
    # unless set, the warning comes a quarter of the shortest time before (an hour at most)
    first = _clocks(kit, world.carrier_actor, number)[("carrier", "first_response")]
    assert first.warn_at == opened + timedelta(minutes=45)  # type: ignore[attr-defined]
    clock.advance(hours=2)
    kit.messages.post(world.carrier_actor, number, body="Sorry, late.", audience=Audience.PARTNERS)
    first = _clocks(kit, world.carrier_actor, number)[("carrier", "first_response")]
    assert first.breached_at == opened + timedelta(hours=1)  # type: ignore[attr-defined]
    assert first.due_state is DueState.BREACHED  # type: ignore[attr-defined]
    assert ("carrier", "next_response") not in _clocks(kit, world.carrier_actor, number)

    clock.advance(hours=1)
    asked = clock.now()
    kit.messages.post(world.shipper_actor, number, body="When?", audience=Audience.PARTNERS)
    following = _clocks(kit, world.carrier_actor, number)[("carrier", "next_response")]
    assert following.started_at == asked  # type: ignore[attr-defined]
    assert following.due_at == asked + timedelta(hours=2)  # type: ignore[attr-defined]
    # the shipper's internal note is not the carrier's to answer
    clock.advance(minutes=10)
    kit.messages.post(world.shipper_actor, number, body="chase", audience=Audience.INTERNAL)
    assert (
        _clocks(kit, world.carrier_actor, number)[("carrier", "next_response")].started_at == asked
    )  # type: ignore[attr-defined]


def test_resolution_pauses_while_waiting_and_stops_when_solved(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    kit.service_levels.save_target(
        world.shipper_manager_actor,
        {"name": "Customer", "resolution": 10 * HOUR, "pause_when_waiting": True},
    )
    number = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        subject="Where is it?",
        customer=world.customer.id,
    ).number
    clock.advance(hours=2)
    kit.messages.post(world.shipper_actor, number, body="Checking.", audience=Audience.CUSTOMER)
    resolution = _clocks(kit, world.shipper_actor, number)[("shipper", "resolution")]
    assert resolution.state is ClockState.PAUSED  # type: ignore[attr-defined]
    assert resolution.due_at is None  # type: ignore[attr-defined]
    clock.advance(hours=20)  # waiting on the customer does not count
    kit.messages.post(Actor.of_customer(world.customer), number, body="Still nothing")
    resolution = _clocks(kit, world.shipper_actor, number)[("shipper", "resolution")]
    assert resolution.state is ClockState.RUNNING  # type: ignore[attr-defined]
    assert resolution.due_at == clock.now() + timedelta(hours=8)  # type: ignore[attr-defined]
    clock.advance(hours=1)
    kit.cases.solve(world.shipper_actor, number)
    resolution = _clocks(kit, world.shipper_actor, number)[("shipper", "resolution")]
    assert resolution.state is ClockState.STOPPED  # type: ignore[attr-defined]
    assert resolution.elapsed_seconds == 3 * HOUR  # type: ignore[attr-defined]
    assert resolution.due_state is DueState.MET  # type: ignore[attr-defined]
    # the customer sees no clocks
    assert kit.cases.get(Actor.of_customer(world.customer), number).clocks == ()


def test_a_target_chosen_by_conditions_and_recomputed_when_it_changes(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    manager = world.carrier_manager_actor
    damage = kit.service_levels.save_target(
        manager,
        {"name": "Damage", "conditions": {"types": ["osd_damaged"]}, "resolution": 5 * HOUR},
    )
    kit.service_levels.save_target(manager, {"name": "Rest", "resolution": 50 * HOUR})
    number = _open(kit, world)
    opened = clock.now()
    assert _clocks(kit, world.carrier_actor, number)[("carrier", "resolution")].due_at == (  # type: ignore[attr-defined]
        opened + timedelta(hours=5)
    )
    kit.service_levels.save_target(manager, {"resolution": 7 * HOUR}, target_id=damage.id)
    assert _clocks(kit, world.carrier_actor, number)[("carrier", "resolution")].due_at == (  # type: ignore[attr-defined]
        opened + timedelta(hours=7)
    )
    kit.service_levels.remove_target(manager, damage.id)  # type: ignore[arg-type]
    after = _clocks(kit, world.carrier_actor, number)[("carrier", "resolution")]
    assert after.target_name == "Rest"  # type: ignore[attr-defined]
    assert after.due_at == opened + timedelta(hours=50)  # type: ignore[attr-defined]


def test_clocks_shown_to_a_partner_only_when_the_side_shares_them(
    kit: CaseKit, world: World
) -> None:
    kit.service_levels.save_target(world.carrier_manager_actor, {"name": "All", "resolution": HOUR})
    number = _open(kit, world)
    assert _clocks(kit, world.shipper_actor, number) == {}
    kit.service_levels.set_calendar(
        world.carrier_manager_actor,
        {
            "time_zone": "UTC",
            "hours": {
                d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
        },
        partner_org_id=world.shipper.id,
        share_clocks=True,
    )
    assert set(_clocks(kit, world.shipper_actor, number)) == {("carrier", "resolution")}
    assert set(_clocks(kit, Actor.host(), number)) == {("carrier", "resolution")}


def test_only_a_manager_sets_targets_and_bad_input_names_the_field(
    kit: CaseKit, world: World
) -> None:
    with pytest.raises(PermissionDenied):
        kit.service_levels.save_target(world.carrier_actor, {"name": "x", "resolution": HOUR})
    cases = [
        ({"name": "", "resolution": HOUR}, "name"),
        ({"name": "x"}, "resolution"),
        ({"name": "x", "resolution": 10}, "resolution"),
        ({"name": "x", "resolution": "1h"}, "resolution"),
        ({"name": "x", "resolution": HOUR, "conditions": {"types": ["nope"]}}, "conditions.types"),
        ({"name": "x", "resolution": HOUR, "conditions": {"colour": ["red"]}}, "conditions.colour"),
        (
            {"name": "x", "resolution": HOUR, "conditions": {"partners": [world.carrier.id]}},
            "conditions.partners",
        ),
        (
            {"name": "x", "resolution": HOUR, "escalation": {"watchers": [world.shipper_agent.id]}},
            "escalation.watchers",
        ),
        ({"name": "x", "resolution": HOUR, "surprise": 1}, "surprise"),
    ]
    for values, field in cases:
        with pytest.raises(InvalidInput) as caught:
            kit.service_levels.save_target(world.carrier_manager_actor, values)
        assert field in caught.value.errors, (values, caught.value.errors)
    assert kit.service_levels.targets(world.carrier_actor) == []


def test_a_shipment_whose_brand_moves_moves_its_open_cases_to_another_target(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    manager = world.shipper_manager_actor
    kit.service_levels.save_target(
        manager, {"name": "Premium", "conditions": {"brands": ["Acme Gold"]}, "resolution": HOUR}
    )
    view = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        subject="Late",
        shipment=ShipmentFacts(reference="SHP-9", brand="Acme Basic"),
    )
    assert _clocks(kit, world.shipper_actor, view.number) == {}
    clock.advance(minutes=5)
    report = kit.shipments.upsert_shipments(
        Actor.host(),
        [ShipmentFacts(reference="SHP-9", shipper=world.shipper.external_id, brand="Acme Gold")],
    )
    assert report.updated == 1
    resolution = _clocks(kit, world.shipper_actor, view.number)[("shipper", "resolution")]
    assert resolution.target_name == "Premium"  # type: ignore[attr-defined]
    assert resolution.started_at == view.created_at  # type: ignore[attr-defined]


def test_a_carrier_named_later_starts_then_and_one_taken_off_keeps_no_clocks(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    from sqlalchemy import select

    from casekit.store import tables

    kit.service_levels.save_target(
        world.carrier_manager_actor, {"name": "All", "first_response": 2 * HOUR}
    )
    number = kit.cases.open(world.shipper_actor, type="lost", subject="Lost").number
    clock.advance(hours=5)
    named = clock.now()
    kit.cases.change(world.shipper_actor, number, {"carrier": world.carrier.id})
    first = _clocks(kit, world.carrier_actor, number)[("carrier", "first_response")]
    assert first.started_at == named  # type: ignore[attr-defined]
    assert first.due_at == named + timedelta(hours=2)  # type: ignore[attr-defined]
    kit.cases.change(world.shipper_actor, number, {"carrier": None})
    with kit.engine.connect() as conn:
        assert conn.execute(select(tables.clocks)).all() == []
        due = conn.execute(select(tables.cases.c.carrier_due_at)).scalar_one()
    assert due is None


def test_a_large_recompute_goes_on_in_the_worker(
    kit: CaseKit, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casekit.services import service_levels

    numbers = [_open(kit, world) for _ in range(5)]
    monkeypatch.setattr(service_levels, "RECOMPUTE_BATCH", 2)
    monkeypatch.setattr(service_levels, "RECOMPUTE_SECONDS", 0.0)
    kit.service_levels.save_target(world.carrier_manager_actor, {"name": "All", "resolution": HOUR})
    # one batch now, the rest later
    with_clocks = [n for n in numbers if _clocks(kit, world.carrier_actor, n)]
    assert with_clocks == numbers[:2]
    [(org, after, _at)] = kit.service_levels.pending_recomputes()
    assert org == world.carrier.id
    assert after > 0
    assert kit.service_levels.recompute_pending() == 2  # the next batch, then its time is up
    assert kit.service_levels.recompute_pending(seconds=10) == 1  # the last, then none is left
    assert kit.service_levels.pending_recomputes() == []
    assert all(_clocks(kit, world.carrier_actor, n) for n in numbers)


def test_recompute_since_gives_the_solved_cases_of_the_past_their_clocks(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    """Cases solved before the organization had targets (or before upgrading past
    migration 0029) have no clocks; ``since`` gives those opened since then the
    clocks they stopped with, once: a solved case keeps them afterwards."""
    early = _open(kit, world)
    clock.advance(hours=1)
    late = _open(kit, world)
    clock.advance(hours=2)
    for number in (early, late):
        kit.cases.solve(world.carrier_actor, number)
    manager = world.carrier_manager_actor
    kit.service_levels.save_target(manager, {"name": "All", "resolution": 2 * HOUR})
    assert _clocks(kit, world.carrier_actor, late) == {}
    with pytest.raises(InvalidInput) as caught:
        kit.service_levels.recompute(manager, since="yesterday")  # type: ignore[arg-type]
    assert "since" in caught.value.errors
    since = clock.now() - timedelta(hours=2, minutes=30)
    assert kit.service_levels.recompute(manager, since=since) == 1
    assert _clocks(kit, world.carrier_actor, early) == {}
    resolution = _clocks(kit, world.carrier_actor, late)[("carrier", "resolution")]
    assert resolution.state is ClockState.STOPPED  # type: ignore[attr-defined]
    assert resolution.elapsed_seconds == 2 * HOUR  # type: ignore[attr-defined]
    assert resolution.due_state is DueState.MET  # type: ignore[attr-defined]
    # Done once: the case has its clocks now, and a solved case keeps them.
    assert kit.service_levels.recompute(manager, since=since) == 0
    assert kit.service_levels.recompute(Actor.host(), since=since) == 0


def test_a_late_entry_from_a_merged_duplicate_recomputes_the_clocks_from_the_timeline(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    """An entry that arrives late: the carrier answered on a duplicate at 10:00, and the
    duplicate is merged into the original at 14:00, after the original's first response
    was due (13:00) and the breach was warned. The original's timeline now holds that
    answer at 10:00, so its clock is the one it would have had: stopped at 10:00, met,
    never breached; and nobody is warned again."""
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {"name": "Answer", "first_response": 4 * HOUR, "warn_before": HOUR},
    )
    opened = clock.now()  # Monday 09:00 UTC: every hour counts (no calendar)
    original = _open(kit, world)
    clock.advance(minutes=10)
    duplicate = _open(kit, world)
    clock.advance(minutes=50)
    answered = clock.now()
    kit.messages.post(world.carrier_actor, duplicate, body="On it.", audience=Audience.PARTNERS)
    clock.advance(hours=4)  # 14:00: the original's first response breached at 13:00
    first = _clocks(kit, world.carrier_actor, original)[("carrier", "first_response")]
    assert first.due_state is DueState.BREACHED  # type: ignore[attr-defined]
    assert first.due_at == opened + timedelta(hours=4)  # type: ignore[attr-defined]
    assert kit.service_levels.sweep().breached == 1

    kit.cases.merge(world.shipper_actor, duplicate, into=original)
    first = _clocks(kit, world.carrier_actor, original)[("carrier", "first_response")]
    assert first.state is ClockState.STOPPED  # type: ignore[attr-defined]
    assert first.stopped_at == answered  # type: ignore[attr-defined]
    assert first.breached_at is None  # type: ignore[attr-defined]
    assert first.due_state is DueState.MET  # type: ignore[attr-defined]
    assert first.elapsed_seconds == HOUR  # type: ignore[attr-defined]
    # The case row no longer lists the original as due on the carrier's side.
    listed = kit.views.list(world.carrier_actor, {"view": "due_soon"}).rows
    assert original not in [row.number for row in listed]
    assert kit.service_levels.sweep().clocks == 0
