"""The report columns of the case row (casekit.store.report_columns) follow every change.

Each test changes a case through the services and checks the columns by
value, then checks that every case's stored columns equal what its timeline
and snapshot give now (the same computation migration 0011 runs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from casekit import Actor, CaseKit, ShipmentFacts
from casekit.clock import FrozenClock
from casekit.store import report_columns, tables
from casekit.testing import World

c = tables.cases.c
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def columns(kit: CaseKit, number: str) -> dict[str, Any]:
    stmt = select(*(c[name] for name in report_columns.REPORT_COLUMNS)).where(c.number == number)
    with kit.engine.connect() as conn:
        return dict(conn.execute(stmt).one()._mapping)


def assert_all_consistent(kit: CaseKit) -> None:
    """Every case's stored report columns are what its rows give now."""
    computed = report_columns.computed()
    stmt = select(
        c.number,
        *(c[name] for name in report_columns.REPORT_COLUMNS),
        *(computed[name].label(f"now_{name}") for name in report_columns.REPORT_COLUMNS),
    ).order_by(c.id)
    with kit.engine.connect() as conn:
        rows = list(conn.execute(stmt).mappings())
    assert rows
    for row in rows:
        for name in report_columns.REPORT_COLUMNS:
            assert row[name] == row[f"now_{name}"], (row["number"], name)


def step(clock: FrozenClock, minutes: int = 10) -> datetime:
    clock.advance(timedelta(minutes=minutes))
    return clock.now()


def test_messages_move_first_responses_and_the_other_sides_latest(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    number = kit.cases.open(
        sam,
        type="where_is_my_order",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
    ).number
    opened = clock.now()
    # The opening message answers nobody; the carrier reads it from the other side.
    assert columns(kit, number) == {
        "brand": None,
        "customer_segment": None,
        "region": None,
        "shipper_first_response_at": None,
        "carrier_first_response_at": None,
        "shipper_other_side_message_at": None,
        "carrier_other_side_message_at": opened,
        "reopened_at": None,
    }

    step(clock)
    kit.messages.post(cal, number, "checking with the driver", audience="internal")
    step(clock)
    kit.messages.post(sam, number, "note to self", audience="internal")
    # Internal notes are neither responses nor anything the other side reads.
    assert columns(kit, number)["carrier_first_response_at"] is None
    assert columns(kit, number)["shipper_other_side_message_at"] is None
    assert columns(kit, number)["carrier_other_side_message_at"] == opened

    replied = step(clock)
    kit.messages.post(cal, number, "On its way")
    found = columns(kit, number)
    assert found["carrier_first_response_at"] == replied
    assert found["shipper_other_side_message_at"] == replied
    assert found["carrier_other_side_message_at"] == opened

    answered = step(clock)
    kit.messages.post(sam, number, "Thanks", audience="everyone")
    step(clock)
    kit.messages.post(cal, number, "Delivered tomorrow")  # not the first any more
    found = columns(kit, number)
    assert found["shipper_first_response_at"] == answered
    assert found["carrier_first_response_at"] == replied
    assert found["carrier_other_side_message_at"] == answered

    customer = step(clock)
    kit.messages.post(world.customer_actor, number, "Still not here")
    found = columns(kit, number)
    # A customer is the other side for both; a customer's message answers nobody.
    # Written to the shipper alone (``customer``), the carrier does not read it.
    assert found["shipper_other_side_message_at"] == customer
    assert found["carrier_other_side_message_at"] == answered
    assert found["shipper_first_response_at"] == answered
    assert_all_consistent(kit)

    to_customer = step(clock)
    kit.messages.post(sam, number, "A new one ships today", audience="customer")
    found = columns(kit, number)
    # The shipper's answer to its customer is a response of the shipper's...
    assert found["shipper_first_response_at"] == answered
    # ...that the carrier does not read either.
    assert found["carrier_other_side_message_at"] == answered
    assert_all_consistent(kit)

    step(clock)
    [still] = [e for e in kit.cases.timeline(sam, number) if e.body == "Still not here"]
    kit.cases.share_with_carrier(sam, number, still.id)
    # Shared: the carrier reads it from the others, at the time it was written.
    assert columns(kit, number)["carrier_other_side_message_at"] == customer
    assert to_customer > customer
    assert_all_consistent(kit)

    everyone = step(clock)
    kit.messages.post(world.customer_actor, number, "Thanks all", audience="everyone")
    found = columns(kit, number)
    assert found["shipper_other_side_message_at"] == everyone
    assert found["carrier_other_side_message_at"] == everyone
    assert_all_consistent(kit)


def test_a_message_at_the_opening_moment_is_no_response(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Gone"
    ).number
    kit.messages.post(world.carrier_actor, number, "Same second")  # the clock did not move
    found = columns(kit, number)
    assert found["carrier_first_response_at"] is None
    assert found["shipper_other_side_message_at"] == clock.now()
    assert_all_consistent(kit)


def test_reopening_is_kept(kit: CaseKit, world: World, clock: FrozenClock) -> None:
    sam, mia = world.shipper_actor, world.shipper_manager_actor
    number = kit.cases.open(sam, type="lost", message="Gone").number
    step(clock)
    kit.cases.solve(sam, number)
    assert columns(kit, number)["reopened_at"] is None
    first = step(clock)
    kit.cases.reopen(mia, number)
    assert columns(kit, number)["reopened_at"] == first
    step(clock)
    kit.cases.solve(sam, number)
    assert columns(kit, number)["reopened_at"] == first
    # A customer's message reopens a solved case too.
    other = kit.cases.open(
        sam, type="lost", customer=world.customer.id, message="Looking", audience="everyone"
    ).number
    step(clock)
    kit.cases.solve(sam, other)
    again = step(clock)
    kit.messages.post(world.customer_actor, other, "Still nothing")
    assert kit.cases.get(sam, other).status.value != "solved"
    assert columns(kit, other)["reopened_at"] == again
    assert_all_consistent(kit)


def snapshot(kit: CaseKit, number: str) -> tuple[Any, ...]:
    found = columns(kit, number)
    return tuple(found[name] for name in report_columns.SNAPSHOT_COLUMNS)


def test_the_brand_segment_and_region_follow_the_shipment_snapshot(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    sam = world.shipper_actor
    number = kit.cases.open(
        sam,
        type="where_is_my_order",
        message="Where is it?",
        shipment=ShipmentFacts(
            reference="S-1", brand="Acme Home", customer_segment="VIP", region="South"
        ),
    ).number
    twin = kit.cases.open(
        sam, type="lost", message="Also", shipment=ShipmentFacts(reference="S-1")
    ).number
    plain = kit.cases.open(sam, type="lost", message="No shipment").number
    assert snapshot(kit, number) == ("Acme Home", "VIP", "South")
    assert snapshot(kit, twin) == ("Acme Home", "VIP", "South")
    assert snapshot(kit, plain) == (None, None, None)

    # A refresh of the snapshot by the feed moves every case on it: the
    # region alone, then the brand alone.
    host = Actor.host()
    shipper = world.shipper.external_id
    for facts, expected in (
        (
            ShipmentFacts(reference="S-1", shipper=shipper, region="West"),
            ("Acme Home", "VIP", "West"),
        ),
        (
            ShipmentFacts(reference="S-1", shipper=shipper, brand="Acme Kids"),
            ("Acme Kids", "VIP", "West"),
        ),
    ):
        assert kit.shipments.upsert_shipments(host, [facts]).updated == 1
        assert snapshot(kit, number) == snapshot(kit, twin) == expected

    # Facts handed in with a case refresh the snapshot through the ORM: the
    # segment alone, then the brand.
    step(clock)
    kit.cases.open(
        sam,
        type="lost",
        message="Third",
        shipment=ShipmentFacts(reference="S-1", customer_segment="Retail"),
    )
    assert snapshot(kit, number) == ("Acme Kids", "Retail", "West")
    kit.cases.open(
        sam, type="lost", message="Third", shipment=ShipmentFacts(reference="S-1", brand="Acme Pro")
    )
    assert snapshot(kit, number) == ("Acme Pro", "Retail", "West")

    # Linking another shipment copies its snapshot.
    step(clock)
    kit.cases.link_shipment(
        sam, plain, ShipmentFacts(reference="S-2", brand="Acme Outdoor", region="North")
    )
    assert snapshot(kit, plain) == ("Acme Outdoor", None, "North")
    # And the list's brand filter reads the same column.
    found = kit.views.count(
        sam,
        {"view": "all_cases", "filters": [{"field": "brand", "op": "in", "value": ["Acme Pro"]}]},
    )
    assert found == 4
    assert_all_consistent(kit)


def test_inbound_mail_filed_on_a_case_counts(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    number = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        message="We are on it.",
    ).number
    step(clock)
    raw = (
        f"From: cal@fast.test\r\nTo: support@acme.test\r\nSubject: RE: {number}\r\n"
        "Message-ID: <r1@t>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDelivered.\r\n"
    ).encode()
    result = kit.inbound.receive(raw)
    assert result.entry_id is not None
    found = columns(kit, number)
    assert found["carrier_first_response_at"] == clock.now()
    assert found["shipper_other_side_message_at"] == clock.now()
    assert_all_consistent(kit)


# -- the incremental path: a message moves its columns by one comparison ------------------


def test_an_earlier_message_moves_a_first_response_back_never_a_latest(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    # Clocks of several web workers can disagree: a message may carry an
    # earlier time than one already counted.
    sam, cal = world.shipper_actor, world.carrier_actor
    opened = clock.now()
    number = kit.cases.open(sam, type="lost", carrier=world.carrier.id, message="Gone").number
    late = step(clock, 20)
    kit.messages.post(cal, number, "Looking")
    later = step(clock, 5)
    kit.messages.post(sam, number, "Thanks")
    assert columns(kit, number) == {
        "brand": None,
        "customer_segment": None,
        "region": None,
        "shipper_first_response_at": later,
        "carrier_first_response_at": late,
        "shipper_other_side_message_at": late,
        "carrier_other_side_message_at": later,
        "reopened_at": None,
    }

    early = opened + timedelta(minutes=10)
    clock.advance(early - clock.now())
    kit.messages.post(cal, number, "Found it")
    found = columns(kit, number)
    assert found["carrier_first_response_at"] == early  # the earliest response wins
    assert found["shipper_other_side_message_at"] == late  # the latest stays the latest
    assert_all_consistent(kit)

    earlier = opened + timedelta(minutes=5)
    clock.advance(earlier - clock.now())
    kit.messages.post(sam, number, "Any news?")
    kit.messages.post(cal, number, "an earlier note", audience="internal")
    found = columns(kit, number)
    assert found["shipper_first_response_at"] == earlier
    assert found["carrier_first_response_at"] == early  # the internal note is no response
    assert found["carrier_other_side_message_at"] == later
    assert_all_consistent(kit)


def test_customers_and_the_host_are_the_other_side_of_both(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    sam = world.shipper_actor
    number = kit.cases.open(
        world.customer_actor, type="customer_feedback", message="Where is my parcel?"
    ).number
    opened = clock.now()
    # A customer's opening message answers nobody; it is for the shipper
    # (``customer``), which reads it from the other side, a carrier would not.
    assert columns(kit, number) == {
        "brand": None,
        "customer_segment": None,
        "region": None,
        "shipper_first_response_at": None,
        "carrier_first_response_at": None,
        "shipper_other_side_message_at": opened,
        "carrier_other_side_message_at": None,
        "reopened_at": None,
    }
    answered = step(clock)
    kit.messages.post(sam, number, "On its way", audience="everyone")
    hosted = step(clock)
    kit.messages.post(Actor.host(), number, "Carrier notified", audience="partners")
    found = columns(kit, number)
    assert found["shipper_first_response_at"] == answered
    assert found["carrier_first_response_at"] is None
    # The host belongs to no side: both read its message from the others.
    assert found["shipper_other_side_message_at"] == hosted
    assert found["carrier_other_side_message_at"] == hosted
    step(clock)
    kit.messages.post(Actor.host(), number, "host note", audience="internal")
    assert columns(kit, number) == found
    assert_all_consistent(kit)


def test_a_case_without_carrier_counts_what_a_carrier_would_read_for_the_carrier_side(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    sam = world.shipper_actor
    opened = clock.now()
    number = kit.cases.open(
        sam, type="lost", customer=world.customer.id, message="Gone", audience="everyone"
    ).number
    assert columns(kit, number)["carrier_other_side_message_at"] == opened
    again = step(clock)
    kit.messages.post(sam, number, "Still looking", audience="everyone")
    customer = step(clock)
    kit.messages.post(world.customer_actor, number, "Thanks", audience="everyone")
    step(clock)
    kit.messages.post(world.customer_actor, number, "Just for you")  # customer
    step(clock)
    kit.messages.post(sam, number, "note", audience="internal")
    found = columns(kit, number)
    assert found["shipper_first_response_at"] == again
    assert found["carrier_first_response_at"] is None
    assert found["shipper_other_side_message_at"] == customer + timedelta(minutes=10)
    assert found["carrier_other_side_message_at"] == customer
    assert_all_consistent(kit)


def test_a_post_writes_the_report_columns_with_the_case_update(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Gone"
    ).number
    step(clock)
    updates: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        kit.messages.post(world.carrier_actor, number, "On its way")
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)
    # One UPDATE of the case: its status, dates and version, and the report columns.
    assert len(updates) == 1
    assert "carrier_first_response_at" in updates[0]
    assert "version" in updates[0]
    assert columns(kit, number)["carrier_first_response_at"] == clock.now()
    assert_all_consistent(kit)
