"""Actions on every database: a delivery appointment's and a disposition's whole
life, the shipment fact and its filters, the missed appointment that a rule
acts on, the webhooks and the hook, the report, and who reads what.

The shipper's internal note on a disposition is its own: the carrier and the
customer never read it, not in the actions, the timeline, a webhook or the
carrier system's hook.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from test_rules import feed, ship
from test_tags import numbers

from casekit import (
    Actor,
    CaseKit,
    EventKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ShipmentFacts,
    hookimpl,
)
from casekit.domain.rule_starters import STARTER_RULES
from casekit.store import tables
from casekit.testing import World

NOTE = "INTERNAL-VALUATION-4711"
CHICAGO = "America/Chicago"


class CarrierSystem:
    """A carrier's system: hears each decided disposition, answers its reference."""

    def __init__(self) -> None:
        self.told: list[Any] = []

    @hookimpl
    def casekit_disposition_decided(self, case_number, disposition, carrier):
        self.told.append((case_number, disposition, carrier.name))
        return f"RMA-{disposition.id}"


def local(day: datetime, hour: int) -> str:
    return f"{day:%Y-%m-%d}T{hour:02d}:00"


def payloads(kit: CaseKit, hook_id: int) -> list[dict[str, Any]]:
    o = tables.webhook_outbox.c
    with kit.engine.connect() as conn:
        rows = conn.execute(
            select(o.payload).where(o.webhook_id == hook_id).order_by(o.id)
        ).scalars()
        return [json.loads(p) for p in rows]


def test_an_appointment_and_a_disposition_from_start_to_end(
    kit: CaseKit, world: World, clock: Any
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    system = CarrierSystem()
    kit.plugin_manager.register(system)
    starter = next(r for r in STARTER_RULES if r["name"] == "Missed Appointment (freight)")
    kit.rules.create(world.shipper_manager_actor, starter)
    kit.settings = attrs.evolve(kit.settings, webhook_allow_private_addresses=True)
    shipper_hook = kit.webhooks.subscribe(
        world.shipper_manager_actor,
        url="https://127.0.0.1/acme",
        events=["appointment_changed", "disposition_changed"],
    )
    carrier_hook = kit.webhooks.subscribe(
        world.carrier_manager_actor,
        url="https://127.0.0.1/fast",
        events=["appointment_changed", "disposition_changed"],
    )
    ship(kit, world, "SH-1", "SH-2", mode="freight")
    case = kit.cases.open(
        sam, type="delivery_scheduling", carrier=world.carrier.id, customer=world.customer.id,
        subject="When can you deliver?", shipment="SH-1",
    )  # fmt: skip
    other = kit.cases.open(
        sam, type="delivery_scheduling", carrier=world.carrier.id, subject="And this one",
        shipment="SH-2",
    )  # fmt: skip
    number = case.number
    tomorrow = clock.now() + timedelta(days=1)

    # Bad input names its field; the customer and outsiders take no action.
    for bad, field in (
        (lambda: kit.actions.propose_appointment(cal, number, [], time_zone=CHICAGO), "windows"),
        (
            lambda: kit.actions.propose_appointment(
                cal, number, [{"start": local(tomorrow, 12), "end": local(tomorrow, 8)}],
                time_zone=CHICAGO,
            ),
            "windows.0.end",
        ),
        (
            lambda: kit.actions.propose_appointment(
                cal, number, [{"start": "soon", "end": local(tomorrow, 8)}], time_zone=CHICAGO
            ),
            "windows.0.start",
        ),
        (
            lambda: kit.actions.propose_appointment(
                cal, number, [[local(tomorrow, 8), local(tomorrow, 12)]], time_zone="Mars/Base"
            ),
            "time_zone",
        ),
        (
            lambda: kit.actions.propose_appointment(
                cal, number, [[local(tomorrow, 8), local(tomorrow, 12)]]
            ),
            "time_zone",
        ),
        (
            lambda: kit.actions.propose_appointment(
                cal, number, [[local(tomorrow, 8), local(tomorrow, 12)]], time_zone=CHICAGO,
                audience="internal",
            ),
            "audience",
        ),
    ):  # fmt: skip
        with pytest.raises(InvalidInput) as raised:
            bad()
        assert field in raised.value.errors, (field, raised.value.errors)
    with pytest.raises(PermissionDenied):
        kit.actions.propose_appointment(
            world.customer_actor, number, [[local(tomorrow, 8), local(tomorrow, 12)]],
            time_zone=CHICAGO,
        )  # fmt: skip

    # The carrier proposes two windows, local to the destination; stored in UTC.
    proposed = kit.actions.propose_appointment(
        cal, number,
        [{"start": local(tomorrow, 8), "end": local(tomorrow, 12)},
         {"start": local(tomorrow, 13), "end": local(tomorrow, 17)}],
        time_zone=CHICAGO, note="Dock 4 only",
    )  # fmt: skip
    assert (proposed.state, proposed.side.value, proposed.time_zone) == (
        "proposed",
        "carrier",
        CHICAGO,
    )
    first = proposed.windows[0]
    assert first.start.utcoffset() == timedelta(0)
    assert first.start.hour == 14  # 08:00 in Chicago in winter is 14:00 UTC
    assert "08:00-12:00 (America/Chicago)" in first.label
    with pytest.raises(InvalidInput) as raised:  # one's own proposal waits for the other side
        kit.actions.accept_appointment(cal, number, proposed.id)
    assert "action_id" in raised.value.errors
    with pytest.raises(InvalidInput) as raised:  # one proposal at a time
        kit.actions.propose_appointment(
            sam, number, [[local(tomorrow, 9), local(tomorrow, 10)]], time_zone=CHICAGO
        )
    assert "windows" in raised.value.errors

    # The shipper counters with a window of its own; the carrier accepts it.
    countered = kit.actions.counter_appointment(
        sam, number, proposed.id, [[local(tomorrow, 10), local(tomorrow, 11)]]
    )
    assert (countered.replaces_id, countered.side.value, countered.time_zone) == (
        proposed.id,
        "shipper",
        CHICAGO,
    )
    with pytest.raises(InvalidInput) as raised:
        kit.actions.accept_appointment(cal, number, countered.id, window=3)
    assert "window" in raised.value.errors
    accepted = kit.actions.accept_appointment(cal, number, countered.id, note="See you then")
    assert accepted.state == "accepted"
    assert accepted.accepted is not None
    assert [a.state for a in kit.actions.list(sam, number)] == ["countered", "accepted"]

    # The appointment is a fact of the shipment, and a filter.
    facts = kit.cases.facts(cal, number)
    assert facts.shipment is not None
    assert facts.shipment.delivery_window_start == accepted.accepted.start
    assert facts.shipment.delivery_time_zone == CHICAGO
    has = {"field": "has_appointment", "op": "in", "value": ["yes"]}
    assert numbers(kit, sam, has) == [number]
    assert numbers(kit, cal, {**has, "value": ["no"]}) == [other.number]
    start = accepted.accepted.start
    on_day = {
        "field": "appointment_date",
        "op": "between",
        "value": {"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()},
    }
    assert numbers(kit, sam, on_day) == [number]
    on_day["value"] = {"from": (start + timedelta(minutes=1)).isoformat()}
    assert numbers(kit, sam, on_day) == []
    assert numbers(kit, sam, {"field": "has_appointment", "op": "empty", "value": True}) == []

    # The timeline tells both sides, never the customer (the audience is partners).
    def events(actor: Actor) -> list[str]:
        return [
            str(e.event)
            for e in kit.cases.timeline(actor, number)
            if str(e.event).startswith("appointment")
        ]

    assert (
        events(sam)
        == events(cal)
        == [
            "appointment_proposed",
            "appointment_countered",
            "appointment_accepted",
        ]
    )
    assert events(world.customer_actor) == []
    with pytest.raises(NotFound):
        kit.actions.get(world.customer_actor, number, accepted.id)

    # The second case's appointment is kept: delivered within the window.
    offer = kit.actions.propose_appointment(
        sam, other.number, [[local(tomorrow, 8), local(tomorrow, 18)]], time_zone=CHICAGO,
        audience="everyone",
    )  # fmt: skip
    kept = kit.actions.accept_appointment(cal, other.number, offer.id)
    assert kept.accepted is not None

    # The window ends: the first was missed, the second kept.
    from test_rules import move

    move(kit, world, "SH-2", "delivered", kept.accepted.start + timedelta(hours=1))
    clock.advance(days=2)
    outcome = kit.actions.sweep()
    assert (outcome.kept, outcome.missed) == ((offer.id,), (countered.id,))
    assert kit.actions.sweep().missed == ()  # judged once
    facts = kit.cases.facts(sam, number)
    assert facts.shipment is not None
    assert (facts.shipment.shipment_status, facts.shipment.exception) == (
        "exception",
        "missed_appointment",
    )
    # The starter rule opened a Delivery Scheduling case on the missed shipment.
    opened = numbers(kit, sam, {"field": "source", "op": "in", "value": ["rule"]})
    assert len(opened) == 1
    assert kit.cases.get(sam, opened[0]).type == "delivery_scheduling"
    assert events(cal)[-1] == "appointment_missed"

    # A disposition: the carrier asks, the shipper decides with an internal note.
    with pytest.raises(PermissionDenied):
        kit.actions.request_disposition(
            sam, number, reason="refused", deadline=clock.now() + timedelta(days=3)
        )
    with pytest.raises(InvalidInput) as raised:
        kit.actions.request_disposition(
            cal, number, reason="lost", deadline="yesterday", storage_per_day="-1", currency="$"
        )
    assert set(raised.value.errors) == {"reason", "deadline", "storage_per_day", "currency"}
    deadline = clock.now() + timedelta(days=3)
    asked = kit.actions.request_disposition(
        cal, number, reason="refused", deadline=deadline, storage_per_day="35.50",
        note="Consignee refused at the door",
    )  # fmt: skip
    assert (asked.state, asked.storage_from, asked.storage_per_day) == (
        "requested",
        deadline,
        Decimal("35.50"),
    )
    with pytest.raises(PermissionDenied):
        kit.actions.decide_disposition(cal, number, asked.id, choice="destroy", payer="carrier")
    with pytest.raises(InvalidInput) as raised:
        kit.actions.decide_disposition(sam, number, asked.id, choice="return", payer="nobody")
    assert set(raised.value.errors) == {"payer", "ra_number"}
    decided = kit.actions.decide_disposition(
        sam, number, asked.id, choice="return", payer="shipper", ra_number="RA-88",
        note="Back to our DC please", internal_note=NOTE,
    )  # fmt: skip
    assert (decided.choice, decided.ra_number, decided.internal_note) == ("return", "RA-88", NOTE)
    assert decided.carrier_reference == f"RMA-{asked.id}"
    # The carrier's system heard it as the carrier reads it.
    [(told_number, told, carrier_name)] = system.told
    assert (told_number, told.choice, told.internal_note, carrier_name) == (
        number,
        "return",
        None,
        world.carrier.name,
    )
    carrier_reads = kit.actions.get(cal, number, asked.id)
    assert (carrier_reads.choice, carrier_reads.internal_note) == ("return", None)
    assert kit.actions.get(Actor.host(), number, asked.id).internal_note == NOTE
    with pytest.raises(NotFound):
        kit.actions.get(world.customer_actor, number, asked.id)
    for reader in (cal, world.customer_actor):
        timeline = kit.cases.timeline(reader, number)
        assert NOTE not in repr(timeline)
    assert any(
        e.event is EventKind.DISPOSITION_DECIDED and "RA-88" in e.body
        for e in kit.cases.timeline(cal, number)
    )

    # Webhooks: each side its own view; the note only to the shipper.
    shipper_got = payloads(kit, shipper_hook.webhook.id)
    carrier_got = payloads(kit, carrier_hook.webhook.id)
    assert [p["event"] for p in carrier_got] == [p["event"] for p in shipper_got]
    assert [p["change"] for p in carrier_got][-2:] == [
        "disposition_requested",
        "disposition_decided",
    ]
    assert shipper_got[-1]["action"]["internal_note"] == NOTE
    assert carrier_got[-1]["action"]["internal_note"] is None
    assert NOTE not in json.dumps(carrier_got)

    # The report: appointments kept and missed by carrier, dispositions by choice.
    for reader in (sam, cal):
        report = kit.actions.report(reader)
        [row] = report.appointments
        assert (row.carrier, row.accepted, row.kept, row.missed) == (
            world.carrier.name,
            2,
            1,
            1,
        )
        assert [(d.choice, d.count) for d in report.dispositions] == [("return", 1)]
    with pytest.raises(PermissionDenied):
        kit.actions.report(world.customer_actor)


def test_withdrawing_an_accepted_appointment_takes_it_off_the_shipment(
    kit: CaseKit, world: World, clock: Any, database_url: str
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    ship(kit, world, "SH-9", mode="freight")
    number = kit.cases.open(
        sam, type="delivery_scheduling", carrier=world.carrier.id, subject="Appt",
        shipment="SH-9",
    ).number  # fmt: skip
    day = clock.now() + timedelta(days=2)
    offer = kit.actions.propose_appointment(
        sam, number, [[local(day, 8), local(day, 9)]], time_zone="Europe/Berlin"
    )
    with pytest.raises(InvalidInput):  # the other side's proposal: counter it instead
        kit.actions.withdraw_appointment(cal, number, offer.id)
    kit.actions.accept_appointment(cal, number, offer.id)
    # A later proposal defaults to the time zone the shipment's appointment was agreed in.
    with pytest.raises(InvalidInput) as raised:
        kit.actions.propose_appointment(cal, number, [[local(day, 10), local(day, 11)]])
    assert "windows" in raised.value.errors  # withdraw the accepted one first
    withdrawn = kit.actions.withdraw_appointment(cal, number, offer.id)
    assert withdrawn.state == "withdrawn"
    shipment = kit.cases.facts(sam, number).shipment
    assert shipment is not None
    assert shipment.delivery_window_start is None
    again = kit.actions.propose_appointment(cal, number, [[local(day, 10), local(day, 11)]])
    assert again.time_zone == "Europe/Berlin"
    runner = CliRunner()
    from casekit.cli import cli

    clock.advance(days=5)
    result = runner.invoke(cli, ["--database-url", database_url, "actions", "sweep"])
    assert result.exit_code == 0, result.output
    assert "appointments kept: 0, missed: 0" in result.output  # nothing accepted now


def test_a_disposition_request_is_withdrawn_and_its_storage_charged_until_then(
    kit: CaseKit, world: World, clock: Any
) -> None:
    sam, cal, customer = world.shipper_actor, world.carrier_actor, world.customer_actor
    number = kit.cases.open(
        sam, type="refused_by_receiver", carrier=world.carrier.id, customer=world.customer.id,
        subject="Refused at the door",
    ).number  # fmt: skip
    asked = kit.actions.request_disposition(
        cal, number, reason="refused", deadline=clock.now() + timedelta(days=1),
        storage_per_day="25.00",
    )  # fmt: skip
    assert asked.storage_charges(clock.now()) == Decimal("0.00")
    # A day begun counts: five hours after the deadline, one day is charged.
    clock.advance(days=1, hours=5)
    assert kit.actions.get(sam, number, asked.id).storage_charges(clock.now()) == Decimal("25.00")
    clock.advance(days=1)
    with pytest.raises(PermissionDenied):  # the shipper decides; only the carrier withdraws
        kit.actions.withdraw_disposition(sam, number, asked.id)
    with pytest.raises(PermissionDenied):
        kit.actions.withdraw_disposition(customer, number, asked.id)
    withdrawn = kit.actions.withdraw_disposition(
        cal, number, asked.id, note="The consignee took the freight after all"
    )
    assert withdrawn.state == "withdrawn"
    with pytest.raises(InvalidInput) as raised:
        kit.actions.withdraw_disposition(cal, number, asked.id)
    assert "action_id" in raised.value.errors
    with pytest.raises(InvalidInput) as raised:
        kit.actions.decide_disposition(sam, number, asked.id, choice="destroy", payer="shipper")
    assert "action_id" in raised.value.errors
    # The charges stop at the withdrawal: two days, however long the case stays open.
    clock.advance(days=3)
    for reader in (sam, cal):
        read = kit.actions.get(reader, number, asked.id)
        assert (read.storage_days(clock.now()), read.storage_charges(clock.now())) == (
            2,
            Decimal("50.00"),
        )
        [entry] = [
            e
            for e in kit.cases.timeline(reader, number)
            if e.event is EventKind.DISPOSITION_WITHDRAWN
        ]
        assert "took the freight after all" in entry.body
    assert not [
        e
        for e in kit.cases.timeline(customer, number)
        if e.event is EventKind.DISPOSITION_WITHDRAWN
    ]

    # Another request may follow; one still waiting is charged up to the report's time.
    again = kit.actions.request_disposition(
        cal, number, reason="refused", deadline=clock.now() + timedelta(hours=1),
        storage_per_day="10.50", currency="eur",
    )  # fmt: skip
    clock.advance(days=2)
    for reader in (sam, cal):
        report = kit.actions.report(reader)
        assert [(r.currency, r.dispositions, r.days, r.charges) for r in report.storage] == [
            ("EUR", 1, 2, Decimal("21.00")),
            ("USD", 1, 2, Decimal("50.00")),
        ]
        # Withdrawn requests are no disposition; the waiting one is.
        assert [(d.choice, d.count) for d in report.dispositions] == [(None, 1)]
    assert kit.actions.get(cal, number, again.id).storage_days(clock.now()) == 2


def test_the_shipments_time_zone_is_the_appointments_default(
    kit: CaseKit, world: World, clock: Any
) -> None:
    """An order feed that knows the destination's time zone gives it to the shipment;
    a proposal naming none is in that zone; a zone that does not exist is refused."""
    sam, cal = world.shipper_actor, world.carrier_actor

    report = kit.shipments.upsert_shipments(
        feed(world),
        [
            ShipmentFacts(reference="SH-TZ", carrier="fast", delivery_time_zone=CHICAGO),
            ShipmentFacts(reference="SH-BAD", carrier="fast", delivery_time_zone="Mars/Olympus"),
        ],
    )
    assert report.created == 1
    [rejected] = report.rejected
    assert rejected.key == "SH-BAD"
    assert "unknown time zone" in rejected.errors["delivery_time_zone"][0]
    number = kit.cases.open(
        sam, type="delivery_scheduling", carrier=world.carrier.id, subject="Book it",
        shipment="SH-TZ",
    ).number  # fmt: skip
    shipment = kit.cases.facts(sam, number).shipment
    assert shipment is not None
    assert shipment.delivery_time_zone == CHICAGO
    day = clock.now() + timedelta(days=2)
    offer = kit.actions.propose_appointment(cal, number, [[local(day, 8), local(day, 12)]])
    assert offer.time_zone == CHICAGO
    [window] = offer.windows
    assert window.start.hour == 14  # 08:00 in Chicago, winter: UTC-6
    # Without a zone from the shipment or the proposal, the proposal names the field.
    other = kit.cases.open(
        sam, type="delivery_scheduling", carrier=world.carrier.id, subject="No zone"
    ).number
    with pytest.raises(InvalidInput) as raised:
        kit.actions.propose_appointment(cal, other, [[local(day, 8), local(day, 12)]])
    assert "time_zone" in raised.value.errors
