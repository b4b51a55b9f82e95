"""Freight claims on every database: a claim's whole life (draft, documents, filing,
acknowledgment, payment, declination, withdrawal), its clocks and their warnings
through the outbox, the windows by mode and carrier, the webhooks and the hook,
the report, and who reads what.

The shipper's internal valuation is its own: the carrier and the customer never
read it, not in the claim, the timeline, a webhook or the carrier system's hook.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy import select
from test_rules import move, ship

from casekit import Actor, CaseKit, EventKind, InvalidInput, NotFound, PermissionDenied, hookimpl
from casekit.attachments import Upload
from casekit.domain.claims import ClaimClockKind, ClaimStatus, DocumentKind, add_months
from casekit.store import tables
from casekit.testing import World

VALUATION = "VALUATION-NOTE-8812"
DELIVERED = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)


class CarrierSystem:
    """A carrier's claims system: hears each filed claim, answers its claim number."""

    def __init__(self) -> None:
        self.told: list[Any] = []

    @hookimpl
    def casekit_claim_filed(self, case_number, claim, carrier):
        self.told.append((case_number, claim, carrier.name))
        return f"FC-{claim.id}"


def upload(name: str) -> Upload:
    return Upload(filename=name, content_type="text/plain", stream=io.BytesIO(b"x"))


def payloads(kit: CaseKit, hook_id: int) -> list[dict[str, Any]]:
    o = tables.webhook_outbox.c
    with kit.engine.connect() as conn:
        rows = conn.execute(select(o.payload).where(o.webhook_id == hook_id).order_by(o.id))
        return [json.loads(p) for p in rows.scalars()]


def warnings(kit: CaseKit) -> list[tuple[str, str, str]]:
    o = tables.outbox.c
    with kit.engine.connect() as conn:
        rows = conn.execute(
            select(o.event, o.old_value, o.email)
            .where(o.event.in_(["clock_due_soon", "clock_breached"]))
            .order_by(o.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def damaged_case(
    kit: CaseKit, world: World, ref: str = "SH-1", **facts: Any
) -> tuple[str, dict[str, int]]:
    """A damage case on a freight shipment delivered on DELIVERED, with a bill of lading
    and a photo for partners, and the shipper's internal file."""
    ship(kit, world, ref, **({"mode": "freight"} | facts))
    move(kit, world, ref, "delivered", DELIVERED, evaluate=False)
    case = kit.cases.open(
        world.shipper_actor, type="osd_damaged", carrier=world.carrier.id,
        customer=world.customer.id, subject="Crushed pallet", shipment=ref,
    )  # fmt: skip
    shared = kit.messages.post(
        world.carrier_actor, case.number, "BOL and photo", audience="partners",
        attachments=[upload("bol.txt"), upload("photo.txt")],
    )  # fmt: skip
    internal = kit.messages.post(
        world.shipper_actor, case.number, "our notes", audience="internal",
        attachments=[upload("internal.txt")],
    )  # fmt: skip
    ids = {a.filename: a.id for e in (shared, internal) for a in e.attachments}
    return case.number or "", ids  # type: ignore[return-value]


LINES = [
    {"description": "Pallet of glassware", "quantity": 2, "amount": "1200.00"},
    {"description": "Freight charges", "amount": "150.50"},
]


def test_a_claim_from_draft_to_partial_payment(kit: CaseKit, world: World, clock: Any) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    system = CarrierSystem()
    kit.plugin_manager.register(system)
    kit.settings = attrs.evolve(kit.settings, webhook_allow_private_addresses=True)
    hooks = {
        side: kit.webhooks.subscribe(
            manager, url=f"https://127.0.0.1/{side}", events=["claim_changed"]
        ).webhook.id
        for side, manager in (
            ("shipper", world.shipper_manager_actor),
            ("carrier", world.carrier_manager_actor),
        )
    }
    number, files = damaged_case(kit, world)

    claim = kit.claims.draft(
        sam,
        number,
        {"lines": LINES, "documents": {"bill_of_lading": [files["bol.txt"]]}},
    )
    assert claim.status is ClaimStatus.DRAFT
    assert claim.amount == Decimal("1350.50")
    assert isinstance(claim.amount, Decimal)
    assert claim.claimant == world.shipper.name
    assert claim.currency == "USD"
    assert claim.lines[0].quantity == 2
    assert claim.lines[1].amount == Decimal("150.50")
    assert claim.delivered_at == DELIVERED
    assert DocumentKind.PHOTOS in claim.documents_missing
    assert DocumentKind.BILL_OF_LADING not in claim.documents_missing
    (filing,) = claim.clocks
    assert filing.kind is ClaimClockKind.FILING
    assert filing.side == "shipper"
    assert filing.due_at == datetime(2026, 10, 2, 15, 0, tzinfo=UTC)  # nine months
    assert filing.state == "running"
    assert not filing.breached

    # A draft is the shipper's alone; the customer never reads a claim.
    assert kit.claims.list(cal, number) == []
    assert kit.claims.list(Actor.of_customer(world.customer), number) == []
    with pytest.raises(NotFound):
        kit.claims.get(cal, number, claim.id)
    # One open claim per case.
    with pytest.raises(InvalidInput) as caught:
        kit.claims.draft(sam, number, {"lines": LINES})
    assert "claim" in caught.value.errors

    # The photo ticked off later; the valuation is the shipper's own.
    claim = kit.claims.update(
        sam, number, claim.id,
        {"documents": {"bill_of_lading": [files["bol.txt"]], "photos": [files["photo.txt"]]}},
    )  # fmt: skip
    assert claim.documents[DocumentKind.PHOTOS] == (files["photo.txt"],)
    claim = kit.claims.set_valuation(
        sam, number, claim.id, expected_recovery="900.00", note=VALUATION
    )
    assert claim.expected_recovery == Decimal("900.00")
    assert claim.valuation_note == VALUATION

    clock.advance(days=10)
    filed = kit.claims.file(sam, number, claim.id)
    assert filed.status is ClaimStatus.FILED
    assert filed.filed_at == clock.now()
    assert filed.carrier_reference == "FC-" + str(claim.id)
    kinds = {c.kind: c for c in filed.clocks}
    assert kinds[ClaimClockKind.FILING].state == "stopped"
    assert kinds[ClaimClockKind.FILING].met
    assert not filed.filed_late
    assert kinds[ClaimClockKind.ACKNOWLEDGMENT].due_at == clock.now() + timedelta(days=30)
    assert kinds[ClaimClockKind.DISPOSITION].due_at == clock.now() + timedelta(days=120)
    assert kinds[ClaimClockKind.DISPOSITION].side == "carrier"
    # The carrier's system heard of it, as the carrier reads it.
    ((told_number, told, carrier_name),) = system.told
    assert told_number == number
    assert carrier_name == world.carrier.name
    assert told.expected_recovery is None
    assert told.valuation_note is None
    assert told.amount == Decimal("1350.50")

    # The carrier reads the filed claim, never the valuation; it cannot change it.
    as_carrier = kit.claims.get(cal, number, claim.id)
    assert as_carrier.amount == Decimal("1350.50")
    assert as_carrier.expected_recovery is None
    assert as_carrier.valuation_note is None
    with pytest.raises(PermissionDenied):
        kit.claims.set_valuation(cal, number, claim.id, expected_recovery="1")
    with pytest.raises(InvalidInput) as caught:
        kit.claims.file(sam, number, claim.id)
    assert "status" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        kit.claims.acknowledge(sam, number, claim.id)
    assert caught.value.errors == {"status": ["the carrier acknowledges a claim"]}
    with pytest.raises(InvalidInput) as caught:
        kit.claims.update(sam, number, claim.id, {"lines": LINES})
    assert "lines" in caught.value.errors

    clock.advance(days=3)
    acked = kit.claims.acknowledge(cal, number, claim.id, reference="CL-77")
    assert acked.status is ClaimStatus.ACKNOWLEDGED
    assert acked.reference == "CL-77"

    clock.advance(days=40)
    with pytest.raises(InvalidInput) as caught:
        kit.claims.pay(cal, number, claim.id, amount_paid="2000.00")
    assert "amount_paid" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        kit.claims.pay(cal, number, claim.id, amount_paid=1000.0)  # a float is no amount
    assert "amount_paid" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        kit.claims.pay(cal, number, claim.id, amount_paid="1000.00")
    assert "reason" in caught.value.errors  # a part payment says why
    paid = kit.claims.pay(
        cal, number, claim.id, amount_paid="1000.00", reason="Depreciation of the glassware"
    )
    assert paid.status is ClaimStatus.PARTLY_PAID
    assert paid.amount_paid == Decimal("1000.00")
    assert all(c.state == "stopped" for c in paid.clocks)
    assert all(c.met for c in paid.clocks)
    with pytest.raises(InvalidInput):
        kit.claims.withdraw(sam, number, claim.id)

    # The timeline: the draft and the valuation internal to the shipper, the rest for partners.
    events = {e.event: e for e in kit.cases.timeline(Actor.host(), number) if e.event is not None}
    assert events[EventKind.CLAIM_DRAFTED].audience.value == "internal"
    assert events[EventKind.CLAIM_VALUED].audience.value == "internal"
    assert events[EventKind.CLAIM_FILED].audience.value == "partners"
    assert "1000.00 of 1350.50 USD" in (events[EventKind.CLAIM_PARTLY_PAID].body or "")
    carrier_reads = {e.event for e in kit.cases.timeline(cal, number)}
    assert EventKind.CLAIM_DRAFTED not in carrier_reads
    assert EventKind.CLAIM_VALUED not in carrier_reads
    assert {EventKind.CLAIM_FILED, EventKind.CLAIM_PARTLY_PAID} <= carrier_reads
    customer_reads = {
        e.event for e in kit.cases.timeline(Actor.of_customer(world.customer), number)
    }
    assert not {e for e in customer_reads if e is not None and e.value.startswith("claim_")}
    assert all(VALUATION not in (e.body or "") for e in kit.cases.timeline(Actor.host(), number))

    # The webhooks: the carrier hears from the filing on, never the valuation.
    shipper_log = payloads(kit, hooks["shipper"])
    carrier_log = payloads(kit, hooks["carrier"])
    assert [p["change"] for p in shipper_log] == [
        "claim_drafted", "claim_changed", "claim_valued", "claim_filed",
        "claim_acknowledged", "claim_partly_paid",
    ]  # fmt: skip
    assert [p["change"] for p in carrier_log] == [
        "claim_filed", "claim_acknowledged", "claim_partly_paid",
    ]  # fmt: skip
    assert VALUATION in json.dumps(shipper_log)
    assert VALUATION not in json.dumps(carrier_log)
    assert "900.00" not in json.dumps(carrier_log)
    assert carrier_log[0]["claim"]["amount"] == "1350.50"

    # The report, each side's.
    for viewer in (world.shipper_manager_actor, world.carrier_actor):
        (row,) = kit.claims.report(viewer).rows
        assert (row.carrier, row.currency, row.filed, row.partly_paid) == (
            world.carrier.name, "USD", 1, 1,
        )  # fmt: skip
        assert row.claimed == Decimal("1350.50")
        assert row.paid_amount == Decimal("1000.00")
        assert row.recovery_rate == pytest.approx(1000 / 1350.5)
        assert row.days_to_pay == 43.0
    assert kit.claims.report(world.shipper_actor, start=clock.now()).rows == ()


def test_declined_and_withdrawn_claims(kit: CaseKit, world: World, clock: Any) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    number, _ = damaged_case(kit, world)
    claim = kit.claims.draft(sam, number, {"lines": LINES[:1], "currency": "eur"})
    assert claim.currency == "EUR"
    with pytest.raises(NotFound):
        kit.claims.withdraw(cal, number, claim.id)  # the carrier does not read a draft
    withdrawn = kit.claims.withdraw(sam, number, claim.id, reason="Settled with the consignee")
    assert withdrawn.status is ClaimStatus.WITHDRAWN
    assert kit.claims.list(cal, number) == []  # a withdrawn draft stays the shipper's

    claim = kit.claims.draft(sam, number, {"lines": LINES[:1]})
    kit.claims.file(sam, number, claim.id)
    with pytest.raises(InvalidInput) as caught:
        kit.claims.decline(cal, number, claim.id, reason="  ")
    assert "reason" in caught.value.errors
    with pytest.raises(InvalidInput):
        kit.claims.pay(sam, number, claim.id, amount_paid="1.00")
    declined = kit.claims.decline(cal, number, claim.id, reason="Concealed damage, no exception")
    assert declined.status is ClaimStatus.DECLINED
    assert declined.reason
    (row,) = kit.claims.report(world.shipper_manager_actor).rows
    assert (row.filed, row.declined, row.recovery_rate, row.days_to_pay) == (1, 1, 0.0, None)


def test_bad_input_names_each_field(kit: CaseKit, world: World) -> None:
    sam = world.shipper_actor
    number, files = damaged_case(kit, world)
    cases = [
        ({"lines": []}, "lines"),
        ({"lines": [{"description": "x", "amount": 12.5}]}, "lines.0.amount"),
        ({"lines": [{"description": "x", "amount": "12.505"}]}, "lines.0.amount"),
        ({"lines": [{"description": "", "amount": "1"}]}, "lines.0.description"),
        ({"lines": [{"description": "x", "amount": "1", "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{"description": "x", "amount": "1", "colour": "red"}]}, "lines.0.colour"),
        ({"lines": LINES, "currency": "dollars"}, "currency"),
        ({"lines": LINES, "documents": {"receipt": [1]}}, "documents.receipt"),
        ({"lines": LINES, "documents": {"photos": ["x"]}}, "documents.photos"),
        # The shipper's internal file is no document of a claim the carrier reads.
        ({"lines": LINES, "documents": {"photos": [files["internal.txt"]]}}, "documents.photos"),
        ({"lines": LINES, "documents": {"photos": [999999]}}, "documents.photos"),
        ({"lines": LINES, "delivered_at": "yesterday"}, "delivered_at"),
        ({"lines": LINES, "price": 1}, "price"),
    ]
    for data, field in cases:
        with pytest.raises(InvalidInput) as caught:
            kit.claims.draft(sam, number, data)
        assert field in caught.value.errors, (data, caught.value.errors)
    with pytest.raises(PermissionDenied):
        kit.claims.draft(world.carrier_actor, number, {"lines": LINES})
    with pytest.raises(PermissionDenied):
        kit.claims.draft(Actor.of_customer(world.customer), number, {"lines": LINES})
    other = kit.cases.open(sam, type="where_is_my_order", carrier=world.carrier.id).number
    with pytest.raises(InvalidInput) as caught:
        kit.claims.draft(sam, other or "", {"lines": LINES})
    assert "type" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        kit.claims.set_valuation(sam, number, 1, expected_recovery="-3")
    assert "expected_recovery" in caught.value.errors
    assert kit.claims.list(sam, number) == []


def test_the_windows_by_mode_and_carrier(kit: CaseKit, world: World) -> None:
    manager = world.shipper_manager_actor
    assert kit.claims.settings(manager) == ()
    with pytest.raises(InvalidInput) as caught:
        kit.claims.save_settings(
            manager,
            {"rules": [{"mode": "air"}, {"carrier_org_id": "x", "resolve_days": -1}]},
        )
    assert {"rules.0.mode", "rules.1.carrier_org_id", "rules.1.resolve_days"} <= set(
        caught.value.errors
    )
    with pytest.raises(PermissionDenied):
        kit.claims.save_settings(world.shipper_actor, {"rules": []})
    with pytest.raises(PermissionDenied):  # claim windows are a shipper's
        kit.claims.settings(world.carrier_manager_actor)
    rules = kit.claims.save_settings(
        manager,
        {
            "rules": [
                {"mode": "parcel", "filing_months": 0, "filing_days": 60},
                {
                    "mode": "parcel",
                    "carrier_org_id": world.carrier.id,
                    "filing_months": 0,
                    "filing_days": 21,
                    "filing_warn_days": 7,
                },
            ]
        },
    )
    assert len(rules) == 2
    assert kit.claims.settings(world.shipper_actor) == rules
    # The carrier's parcel terms: 21 days; the freight case keeps the law's 9 months.
    parcel, _ = damaged_case(kit, world, "PK-1", mode="parcel")
    freight, _ = damaged_case(kit, world, "FR-1")
    on_parcel = kit.claims.draft(world.shipper_actor, parcel, {"lines": LINES})
    on_freight = kit.claims.draft(world.shipper_actor, freight, {"lines": LINES})
    assert on_parcel.clocks[0].due_at == DELIVERED + timedelta(days=21)
    assert on_parcel.clocks[0].warn_at == DELIVERED + timedelta(days=14)
    assert on_freight.clocks[0].due_at == add_months(DELIVERED, 9)


def test_the_clocks_warn_once_per_threshold_through_the_outbox(
    kit: CaseKit, world: World, clock: Any
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    number, _ = damaged_case(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    claim = kit.claims.draft(sam, number, {"lines": LINES})
    due = add_months(DELIVERED, 9)
    assert kit.claims.sweep(now=due - timedelta(days=31)).clocks == 0
    swept = kit.claims.sweep(now=due - timedelta(days=30))
    assert (swept.clocks, swept.due_soon, swept.breached) == (1, 1, 0)
    assert kit.claims.sweep(now=due - timedelta(days=1)).clocks == 0  # once
    swept = kit.claims.sweep(now=due)
    assert (swept.clocks, swept.breached) == (1, 1)
    assert kit.claims.sweep(now=due + timedelta(days=5)).clocks == 0
    owner = world.shipper_agent.email  # the shipper side's owner: the case's creator
    assert warnings(kit) == [
        ("clock_due_soon", "claim_filing", owner),
        ("clock_breached", "claim_filing", owner),
    ]
    # Filed late: the carrier's clocks warn the carrier's owner.
    clock.advance(due + timedelta(days=6) - clock.now())
    filed = kit.claims.file(sam, number, claim.id)
    assert filed.filed_late
    received = filed.filed_at
    assert received is not None
    swept = kit.claims.sweep(now=received + timedelta(days=25))
    assert (swept.clocks, swept.due_soon) == (1, 1)  # acknowledgment, 5 days ahead
    kit.claims.acknowledge(cal, number, claim.id)
    swept = kit.claims.sweep(now=received + timedelta(days=121))
    assert (swept.due_soon, swept.breached) == (0, 1)  # disposition: its breach only
    carrier_owner = world.carrier_agent.email
    assert warnings(kit)[2:] == [
        ("clock_due_soon", "claim_acknowledgment", carrier_owner),
        ("clock_breached", "claim_disposition", carrier_owner),
    ]
    kit.notifications.deliver()


def test_sweepers_side_by_side_warn_once(kit: CaseKit, world: World, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writing transaction at a time")
    numbers = []
    for i in range(12):
        number, _ = damaged_case(kit, world, f"SH-{i}")
        kit.claims.draft(world.shipper_actor, number, {"lines": LINES})
        numbers.append(number)
    at = add_months(DELIVERED, 9)
    outcomes = []

    def run() -> None:
        outcomes.append(kit.claims.sweep(now=at))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(o.breached for o in outcomes) == 12
    assert len(warnings(kit)) == 12


def test_the_command_sweeps_the_claims(kit: CaseKit, world: World, database_url: str) -> None:
    from click.testing import CliRunner

    from casekit.cli import cli

    number, _ = damaged_case(kit, world)
    kit.claims.draft(world.shipper_actor, number, {"lines": LINES, "delivered_at": "2025-01-01"})
    result = CliRunner().invoke(cli, ["--database-url", database_url, "claims", "sweep"])
    assert result.exit_code == 0, result.output
    # Past its due time already: the breach warning alone, to the shipper's owner.
    assert "claim clocks warned: 1 (0 due soon, 1 breached), notifications: 1" in result.output
    result = CliRunner().invoke(cli, ["--database-url", database_url, "claims", "sweep"])
    assert "claim clocks warned: 0" in result.output


def test_a_new_delivery_time_restarts_the_filing_clock(kit: CaseKit, world: World) -> None:
    sam = world.shipper_actor
    number, _ = damaged_case(kit, world)
    claim = kit.claims.draft(sam, number, {"lines": LINES})
    kit.claims.sweep(now=add_months(DELIVERED, 9))  # the breach warned
    changed = kit.claims.update(sam, number, claim.id, {"delivered_at": "2026-03-01"})
    (filing,) = changed.clocks
    assert changed.delivered_at == datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert filing.due_at == datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
    # Its warnings are owed anew.
    swept = kit.claims.sweep(now=filing.warn_at)
    assert (swept.clocks, swept.due_soon) == (1, 1)


def test_a_firm_settlement_offer_stops_the_carriers_clocks(
    kit: CaseKit, world: World, clock: Any
) -> None:
    """49 CFR 370.9(a): the carrier pays, declines or makes a firm compromise settlement
    offer within 120 days. The offer stops its clocks; the shipper rejects it (the claim
    is acknowledged again, its clocks still stopped) or accepts it (partly paid)."""
    sam, cal = world.shipper_actor, world.carrier_actor
    number, _ = damaged_case(kit, world)
    claim = kit.claims.draft(sam, number, {"lines": LINES})
    kit.claims.set_valuation(sam, number, claim.id, expected_recovery="700.00", note=VALUATION)
    filed = kit.claims.file(sam, number, claim.id)
    received = filed.filed_at
    assert received is not None

    # Only the carrier offers, an amount above 0 and below the amount claimed.
    with pytest.raises(InvalidInput) as caught:
        kit.claims.offer(sam, number, claim.id, amount_offered="500.00")
    assert caught.value.errors == {"status": ["the carrier makes a settlement offer"]}
    for bad in ("1350.50", "2000", "0", "5.001", "many"):
        with pytest.raises(InvalidInput) as caught:
            kit.claims.offer(cal, number, claim.id, amount_offered=bad)
        assert list(caught.value.errors) == ["amount_offered"], bad
    # No offer to answer yet.
    with pytest.raises(InvalidInput) as caught:
        kit.claims.accept_offer(sam, number, claim.id)
    assert caught.value.errors == {"status": ["the claim is filed: no offer to be accepted"]}

    clock.advance(days=100)
    offered = kit.claims.offer(
        cal, number, claim.id, amount_offered="600.00", reason="Glassware at depreciated value"
    )
    assert offered.status is ClaimStatus.OFFERED
    assert offered.amount_offered == Decimal("600.00")
    assert offered.offered_at == clock.now()
    assert offered.expected_recovery is None  # the carrier reads no valuation
    kinds = {c.kind: c for c in offered.clocks}
    for kind in (ClaimClockKind.ACKNOWLEDGMENT, ClaimClockKind.DISPOSITION):
        assert kinds[kind].state == "stopped"
    assert kinds[ClaimClockKind.DISPOSITION].met  # day 100 of 120
    assert kinds[ClaimClockKind.ACKNOWLEDGMENT].met is False  # 30 days passed unacknowledged
    # Stopped clocks warn no more: past the 120 days, the sweep finds nothing.
    assert kit.claims.sweep(now=received + timedelta(days=121)).clocks == 0
    # The carrier answers no offer of its own; the shipper's report counts it open.
    with pytest.raises(InvalidInput):
        kit.claims.accept_offer(cal, number, claim.id)
    with pytest.raises(InvalidInput):
        kit.claims.pay(cal, number, claim.id, amount_paid="600.00", reason="x")
    (row,) = kit.claims.report(world.shipper_manager_actor).rows
    assert (row.filed, row.open, row.partly_paid) == (1, 1, 0)

    rejected = kit.claims.reject_offer(sam, number, claim.id, reason="Replacement cost is 1200")
    assert rejected.status is ClaimStatus.ACKNOWLEDGED
    assert rejected.acknowledged_at == clock.now()
    assert all(c.state == "stopped" for c in rejected.clocks)
    assert rejected.expected_recovery == Decimal("700.00")

    clock.advance(days=5)
    kit.claims.offer(cal, number, claim.id, amount_offered="900.00", reason="Revised")
    accepted = kit.claims.accept_offer(sam, number, claim.id)
    assert accepted.status is ClaimStatus.PARTLY_PAID
    assert accepted.amount_paid == Decimal("900.00")
    assert accepted.settled_at == clock.now()
    assert accepted.reason == "Revised"
    with pytest.raises(InvalidInput):
        kit.claims.reject_offer(sam, number, claim.id)

    # The timeline says each step to both sides, the shipper's words with its rejection.
    said = [
        (e.event, e.body)
        for e in kit.cases.timeline(cal, number)
        if e.event in (
            EventKind.CLAIM_OFFERED, EventKind.CLAIM_OFFER_REJECTED,
            EventKind.CLAIM_OFFER_ACCEPTED,
        )
    ]  # fmt: skip
    assert said == [
        (EventKind.CLAIM_OFFERED,
         "Settlement offered: 600.00 of 1350.50 USD\nGlassware at depreciated value"),
        (EventKind.CLAIM_OFFER_REJECTED,
         "Settlement offer of 600.00 USD rejected\nReplacement cost is 1200"),
        (EventKind.CLAIM_OFFERED, "Settlement offered: 900.00 of 1350.50 USD\nRevised"),
        (EventKind.CLAIM_OFFER_ACCEPTED,
         "Settlement offer accepted: 900.00 of 1350.50 USD paid\nRevised"),
    ]  # fmt: skip
    assert all(VALUATION not in (e.body or "") for e in kit.cases.timeline(Actor.host(), number))
    (row,) = kit.claims.report(world.carrier_actor).rows
    assert (row.open, row.partly_paid, row.paid_amount) == (0, 1, Decimal("900.00"))
    assert row.days_to_pay == 105.0


def test_the_shipper_withdraws_a_claim_under_offer(kit: CaseKit, world: World) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    number, _ = damaged_case(kit, world)
    claim = kit.claims.draft(sam, number, {"lines": LINES})
    kit.claims.file(sam, number, claim.id)
    kit.claims.offer(cal, number, claim.id, amount_offered="10.00")
    withdrawn = kit.claims.withdraw(sam, number, claim.id, reason="Insurer pays")
    assert withdrawn.status is ClaimStatus.WITHDRAWN
    assert withdrawn.amount_paid is None
    with pytest.raises(InvalidInput):
        kit.claims.accept_offer(sam, number, claim.id)


def test_the_worker_sweeps_the_claims_as_it_sweeps_the_service_levels(
    kit: CaseKit, world: World, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """``casekit worker`` (a worker with ``sweep``) runs the claims sweep when it starts
    and every ``sla_sweep_seconds``, and delivers the warnings in the same loop; a
    failing service-level sweep does not stop it."""
    number, _ = damaged_case(kit, world)
    kit.claims.draft(world.shipper_actor, number, {"lines": LINES})
    due = add_months(DELIVERED, 9)
    clock.advance(due - timedelta(days=30) - clock.now())  # the filing clock's warning time
    worker = kit.notifications.worker(sweep=True)
    assert worker.sweep_seconds == kit.settings.sla_sweep_seconds == 60
    seconds = [0.0]
    worker.timer = lambda: seconds[0]
    worker.run(once=True)  # sweeps at 0 s, then delivers what it wrote
    owner = world.shipper_agent.email
    assert warnings(kit) == [("clock_due_soon", "claim_filing", owner)]
    o = tables.outbox.c
    with kit.engine.connect() as conn:
        attempts = conn.execute(select(o.attempts).where(o.event == "clock_due_soon")).scalar()
    assert attempts == 1  # delivered by the same loop
    # Not again before the interval; the breach once it is due.
    clock.advance(days=30)
    seconds[0] = 59.0
    worker.sweep_due()
    assert len(warnings(kit)) == 1

    def broken() -> None:
        raise RuntimeError("the service levels' tables are locked")

    kit.service_levels.sweep = broken  # type: ignore[method-assign]
    seconds[0] = 60.0
    with caplog.at_level("ERROR", logger="casekit.services.worker"):
        worker.sweep_due()
    assert "the service-level sweep failed" in caplog.text
    assert warnings(kit) == [
        ("clock_due_soon", "claim_filing", owner),
        ("clock_breached", "claim_filing", owner),
    ]
    # A worker without ``sweep`` sweeps no claim.
    clock.advance(days=400)
    kit.notifications.worker().run(once=True)
    assert len(warnings(kit)) == 2
