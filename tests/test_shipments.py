"""The order and shipment store: upserts, tracking events, reads, and the views on them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from casekit import (
    Actor,
    ExceptionKind,
    InvalidInput,
    NotFound,
    OrderFacts,
    PermissionDenied,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
)
from casekit.store import tables

UTC = datetime.now().astimezone().tzinfo


def feed(world) -> Actor:
    return Actor.system_actor("api", org_id=world.shipper.id)


def count(kit, table) -> int:
    with kit.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_upsert_creates_then_changes_nothing_then_refreshes(kit, world, clock):
    rows = [
        ShipmentFacts(reference="S-1", carrier="fast", tracking_number="1Z1", region="West"),
        ShipmentFacts(reference="S-2", tracking_number="1Z2", mode="parcel"),
    ]
    first = kit.shipments.upsert_shipments(feed(world), rows)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, [])
    again = kit.shipments.upsert_shipments(feed(world), rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    clock.advance(hours=1)
    third = kit.shipments.upsert_shipments(
        feed(world), [ShipmentFacts(reference="S-1", region="East", carrier_name="Fast Freight")]
    )
    assert (third.created, third.updated, third.unchanged) == (0, 1, 0)
    facts = kit.shipments.shipment(world.shipper_actor, "S-1")
    assert facts.region == "East"
    assert facts.tracking_number == "1Z1"  # left empty by the newer facts: kept
    assert facts.carrier == "fast"
    assert facts.shipper == "acme"
    # Found by its tracking number too, and by the carrier.
    assert kit.shipments.shipment(world.carrier_actor, "1Z1").reference == "S-1"
    with pytest.raises(NotFound):
        kit.shipments.shipment(world.carrier_actor, "S-2")  # no carrier: not the carrier's
    assert count(kit, tables.shipments) == 2
    with kit.engine.connect() as conn:
        key = conn.execute(
            select(tables.shipments.c.carrier_key).where(tables.shipments.c.reference == "S-1")
        ).scalar_one()
    assert key == "fast freight"


def test_bad_rows_are_rejected_with_reasons_and_the_rest_kept(kit, world):
    rows = [
        ShipmentFacts(reference="OK-1"),
        ShipmentFacts(reference="  "),
        ShipmentFacts(reference="BAD-MODE", mode="rocket"),  # type: ignore[arg-type]
        ShipmentFacts(reference="BAD-CARRIER", carrier="nobody"),
        ShipmentFacts(reference="OTHER", shipper="someone-else"),
        ShipmentFacts(reference="LONG", tracking_number="x" * 201),
        ShipmentFacts(reference="DATE", promised_date="2026-01-01"),  # type: ignore[arg-type]
        "not facts",  # type: ignore[list-item]
        ShipmentFacts(reference="OK-2"),
    ]
    report = kit.shipments.upsert_shipments(feed(world), rows)
    assert report.created == 2
    reasons = {r.index: r.errors for r in report.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5, 6, 7}
    assert "reference" in reasons[1]
    assert "mode" in reasons[2]
    assert "carrier" in reasons[3]
    assert "shipper" in reasons[4]
    assert reasons[5] == {"tracking_number": ["at most 200 characters"]}
    assert "promised_date" in reasons[6]
    assert count(kit, tables.shipments) == 2


def test_who_may_load_facts(kit, world):
    with pytest.raises(PermissionDenied):
        kit.shipments.upsert_shipments(world.shipper_actor, [ShipmentFacts(reference="A")])
    with pytest.raises(PermissionDenied):
        kit.shipments.upsert_shipments(world.customer_actor, [ShipmentFacts(reference="A")])
    # A carrier's feed cannot write a shipper's facts.
    carrier_feed = Actor.system_actor("api", org_id=world.carrier.id)
    report = kit.shipments.upsert_shipments(carrier_feed, [ShipmentFacts(reference="A")])
    assert report.created == 0
    assert "shipper" in report.rejected[0].errors
    # The host names the shipper of each.
    host = kit.shipments.upsert_shipments(
        Actor.host(), [ShipmentFacts(reference="A", shipper="acme"), ShipmentFacts(reference="B")]
    )
    assert host.created == 1
    assert "shipper" in host.rejected[0].errors
    # A manager may load them by hand.
    assert (
        kit.shipments.upsert_shipments(
            world.shipper_manager_actor, [ShipmentFacts(reference="C")]
        ).created
        == 1
    )


def test_orders_upsert_and_read(kit, world, clock):
    placed = clock.now() - timedelta(days=1)
    rows = [
        OrderFacts(number="1001", customer_email="casey@example.test", placed_at=placed),
        OrderFacts(number="1002", brand="Acme Outdoors"),
        OrderFacts(number="", brand="x"),
    ]
    report = kit.shipments.upsert_orders(feed(world), rows)
    assert (report.created, len(report.rejected)) == (2, 1)
    assert report.rejected[0].errors == {"number": ["an order number is required"]}
    assert kit.shipments.upsert_orders(feed(world), rows[:2]).unchanged == 2
    update = kit.shipments.upsert_orders(feed(world), [OrderFacts(number="1002", brand="B")])
    assert update.updated == 1
    order = kit.shipments.order(world.shipper_actor, "1001")
    assert order.customer_email == "casey@example.test"
    assert order.placed_at == placed
    assert kit.shipments.order(world.shipper_actor, "1002").brand == "B"
    with pytest.raises(NotFound):
        kit.shipments.order(world.carrier_actor, "1001")


def test_a_refresh_moves_what_cases_are_filtered_on(kit, world):
    """Cases join the store's snapshot: refreshed facts change the views at once."""
    kit.shipments.upsert_shipments(feed(world), [ShipmentFacts(reference="S-9", region="West")])
    case = kit.cases.open(world.shipper_actor, type="lost", shipment="S-9")
    query = {"view": "all_cases", "filters": [{"field": "region", "op": "in", "value": ["East"]}]}
    assert kit.views.count(world.shipper_actor, query) == 0
    kit.shipments.upsert_shipments(feed(world), [ShipmentFacts(reference="S-9", region="East")])
    page = kit.views.list(world.shipper_actor, query)
    assert [row.number for row in page.rows] == [case.number]


def event(ref, status, at, **kw):
    return ShipmentEvent(reference=ref, status=status, occurred_at=at, **kw)


def test_events_move_the_status_once_and_keep_history(kit, world, clock):
    kit.shipments.upsert_shipments(
        feed(world), [ShipmentFacts(reference="S-1", carrier="fast", tracking_number="TN1")]
    )
    t0 = clock.now() - timedelta(hours=5)
    carrier = Actor.system_actor("api", org_id=world.carrier.id)
    batch = [
        event("S-1", ShipmentStatus.IN_TRANSIT, t0, location="Reno, NV"),
        ShipmentEvent(
            tracking_number="TN1",
            status=ShipmentStatus.EXCEPTION,
            exception=ExceptionKind.ADDRESS_ISSUE,
            occurred_at=t0 + timedelta(hours=2),
            estimated_date=date(2026, 1, 9),
        ),
        event("S-1", "bogus", t0),
        event("NOPE", ShipmentStatus.DELIVERED, t0),
        ShipmentEvent(status=ShipmentStatus.DELIVERED, occurred_at=t0),
        event("S-1", ShipmentStatus.IN_TRANSIT, datetime(2026, 1, 1)),  # naive
    ]
    report = kit.shipments.record_events(carrier, batch, evaluate_rules=False)
    assert (report.recorded, report.duplicates) == (2, 0)
    reasons = {r.index: r.errors for r in report.rejected}
    assert set(reasons) == {2, 3, 4, 5}
    assert "status" in reasons[2]
    assert reasons[3] == {"reference": ["no shipment 'NOPE' is yours"]}
    assert "reference" in reasons[4]
    assert "occurred_at" in reasons[5]
    facts = kit.shipments.shipment(world.shipper_actor, "S-1")
    assert facts.shipment_status is ShipmentStatus.EXCEPTION
    assert facts.exception is ExceptionKind.ADDRESS_ISSUE
    assert facts.status_at == t0 + timedelta(hours=2)
    assert facts.estimated_date == date(2026, 1, 9)
    # Delivered again: a duplicate; an older event: history only.
    again = kit.shipments.record_events(carrier, batch[:2], evaluate_rules=False)
    assert (again.recorded, again.duplicates) == (0, 2)
    late = kit.shipments.record_events(
        carrier, [event("S-1", ShipmentStatus.SCHEDULED, t0 - timedelta(days=1))]
    )
    assert late.recorded == 1
    assert kit.shipments.shipment(world.shipper_actor, "S-1").shipment_status == "exception"
    history = kit.shipments.events(world.shipper_actor, "S-1")
    assert [h.status for h in history] == ["scheduled", "in_transit", "exception"]
    assert history[1].location == "Reno, NV"
    # Back on its way: the exception goes.
    kit.shipments.record_events(
        carrier, [event("S-1", ShipmentStatus.OUT_FOR_DELIVERY, t0 + timedelta(hours=3))]
    )
    facts = kit.shipments.shipment(world.shipper_actor, "S-1")
    assert facts.shipment_status is ShipmentStatus.OUT_FOR_DELIVERY
    assert facts.exception is None


def test_events_only_for_the_actors_shipments(kit, world, clock):
    kit.shipments.upsert_shipments(feed(world), [ShipmentFacts(reference="S-1")])
    stranger = kit.directory.add_organization(
        Actor.host(), name="Other Carrier", role="carrier", external_id="other"
    )
    outsider = Actor.system_actor("api", org_id=stranger.id)
    report = kit.shipments.record_events(
        outsider, [event("S-1", ShipmentStatus.DELIVERED, clock.now())]
    )
    assert report.recorded == 0
    assert report.rejected[0].index == 0
    with pytest.raises(PermissionDenied):
        kit.shipments.record_events(world.carrier_actor, [])
    with pytest.raises(PermissionDenied):
        kit.shipments.record_events(world.customer_actor, [])
    assert count(kit, tables.shipment_events) == 0


def test_views_filter_on_the_tracking_state(kit, world, clock):
    kit.shipments.upsert_shipments(
        feed(world), [ShipmentFacts(reference=r, carrier="fast") for r in ("A", "B")]
    )
    a = kit.cases.open(world.shipper_actor, type="lost", shipment="A")
    b = kit.cases.open(world.shipper_actor, type="lost", shipment="B")
    carrier = Actor.system_actor("api", org_id=world.carrier.id)
    kit.shipments.record_events(
        carrier,
        [
            event("A", ShipmentStatus.EXCEPTION, clock.now(), exception=ExceptionKind.LOST),
            event("B", ShipmentStatus.IN_TRANSIT, clock.now()),
        ],
    )

    def listed(field, op, value):
        query = {"view": "all_cases", "filters": [{"field": field, "op": op, "value": value}]}
        return {row.number for row in kit.views.list(world.carrier_actor, query).rows}

    assert listed("exception", "in", ["lost"]) == {a.number}
    assert listed("exception", "not_in", ["lost"]) == {b.number}
    assert listed("shipment_status", "in", ["in_transit", "delivered"]) == {b.number}
    with pytest.raises(InvalidInput):
        listed("shipment_status", "in", ["flying"])
