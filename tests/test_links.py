"""Linking cases to shipments and orders through the lookup hooks, or with facts given."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from casekit import (
    Actor,
    EventKind,
    InvalidInput,
    NotFound,
    OrderFacts,
    OrgRole,
    PermissionDenied,
    ShipmentFacts,
)
from casekit.domain.shipment import Mode, Order, Shipment
from casekit.testing import FakeShipments, make_kit

FACTS = ShipmentFacts(
    reference="SHP-1",
    shipper="acme",
    carrier="fast",
    tracking_number="1Z999",
    bol_number="BOL-77",
    destination_name="Casey Customer",
    destination_postal_code="10115",
    mode=Mode.PARCEL,
    status="in_transit",
    promised_date=date(2026, 1, 7),
)


@pytest.fixture
def fake():
    fake = FakeShipments()
    fake.add_shipment(FACTS)
    fake.add_order(OrderFacts(number="ORD-1", shipper="acme", customer_email="casey@example.test"))
    return fake


@pytest.fixture
def linked(kit, database_url, tmp_path, clock, fake):
    """A kit on the database under test with FakeShipments registered."""
    other = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        plugins=[fake],
        create_schema=False,
    )
    yield other
    other.close()


@pytest.fixture
def rival(kit):
    """A second carrier, Slow Freight, and one of its users."""
    host = Actor.host()
    slow = kit.directory.add_organization(
        host, name="Slow Freight", role=OrgRole.CARRIER, external_id="slow"
    )
    user = kit.directory.add_user(host, org_id=slow.id, name="Sid Slow", email="sid@slow.test")
    return slow, Actor.of_user(user)


def shipment_of(kit, case) -> Shipment:
    with kit.sessions(write=False) as session:
        snapshot = session.get(Shipment, case.shipment_id)
        assert snapshot is not None
        return snapshot


def order_of(kit, case) -> Order:
    with kit.sessions(write=False) as session:
        snapshot = session.get(Order, case.order_id)
        assert snapshot is not None
        return snapshot


def events(kit, actor, number):
    return [(e.event, e.new_value) for e in kit.cases.timeline(actor, number) if e.event]


# -- shipments through the lookup hook ------------------------------------------------


def test_opening_with_a_shipment_reference_snapshots_it(linked, world, fake, clock):
    case = linked.cases.open(world.shipper_actor, type="where_is_my_order", shipment="SHP-1")
    assert fake.lookups == [("shipment", "SHP-1")]
    assert case.shipment_id is not None
    assert case.carrier_org_id == world.carrier.id  # the shipment's carrier became a party
    snapshot = shipment_of(linked, case)
    assert snapshot.reference == "SHP-1"
    assert snapshot.shipper_org_id == world.shipper.id
    assert snapshot.carrier_org_id == world.carrier.id
    assert snapshot.tracking_number == "1Z999"
    assert snapshot.bol_number == "BOL-77"
    assert snapshot.destination_postal_code == "10115"
    assert snapshot.mode == "parcel"
    assert snapshot.status == "in_transit"
    assert snapshot.promised_date == date(2026, 1, 7)
    assert snapshot.updated_at == clock.now()
    # the carrier, now a party, sees the case
    assert linked.cases.get(world.carrier_actor, case.number).shipment_id == case.shipment_id


def test_the_reference_is_trimmed(linked, world, fake):
    case = linked.cases.open(world.shipper_actor, type="lost", shipment="  SHP-1 \n")
    assert fake.lookups == [("shipment", "SHP-1")]
    assert shipment_of(linked, case).reference == "SHP-1"


def test_the_carrier_links_its_own_shipment(linked, world, fake):
    case = linked.cases.open(
        world.carrier_actor, type="delivery_scheduling", shipper=world.shipper.id, shipment="SHP-1"
    )
    assert case.carrier_org_id == world.carrier.id
    assert shipment_of(linked, case).tracking_number == "1Z999"


def test_cases_share_one_snapshot_per_shipment(linked, world):
    first = linked.cases.open(world.shipper_actor, type="where_is_my_order", shipment="SHP-1")
    second = linked.cases.open(world.shipper_actor, type="osd_damaged", shipment="SHP-1")
    assert first.shipment_id == second.shipment_id
    assert first.number != second.number


def test_an_unknown_reference_is_not_found(linked, world, kit):
    with pytest.raises(NotFound) as info:
        linked.cases.open(world.shipper_actor, type="lost", shipment="SHP-404")
    assert (info.value.kind, info.value.key) == ("shipment", "SHP-404")
    assert kit.cases.list(world.shipper_actor) == []  # no case half-opened


def test_a_blank_reference_is_invalid(linked, world):
    with pytest.raises(InvalidInput) as info:
        linked.cases.open(world.shipper_actor, type="lost", shipment="   ")
    assert "shipment" in info.value.errors


def test_a_carrier_cannot_link_a_shipment_that_is_not_theirs(linked, world, fake, rival):
    _slow, sid = rival
    # the lookup does not answer Slow Freight: it is not SHP-1's carrier
    with pytest.raises(NotFound):
        linked.cases.open(sid, type="lost", shipper=world.shipper.id, shipment="SHP-1")
    # nor once casekit already has a snapshot of SHP-1 from the shipper's case
    linked.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    with pytest.raises(NotFound):
        linked.cases.open(sid, type="lost", shipper=world.shipper.id, shipment="SHP-1")
    # nor by linking it to a case of its own
    own = linked.cases.open(sid, type="lost", shipper=world.shipper.id)
    with pytest.raises(NotFound):
        linked.cases.link_shipment(sid, own.number, "SHP-1")
    assert linked.cases.get(sid, own.number).shipment_id is None


def test_the_snapshot_is_hidden_from_a_carrier_even_given_facts(kit, world, rival):
    _slow, sid = rival
    kit.cases.open(world.shipper_actor, type="lost", shipment=FACTS)
    with pytest.raises(NotFound):
        kit.cases.open(
            sid,
            type="lost",
            shipper=world.shipper.id,
            shipment=ShipmentFacts(reference="SHP-1"),
        )


def test_a_carrier_cannot_rewrite_another_carriers_shipment_with_facts(kit, world, rival):
    """Facts a carrier hands in are its claim: they may not take over a shipment it cannot see."""
    _slow, sid = rival
    case = kit.cases.open(world.shipper_actor, type="lost", shipment=FACTS)
    claim = ShipmentFacts(reference="SHP-1", carrier="slow", tracking_number="FORGED")
    with pytest.raises(NotFound):
        kit.cases.open(sid, type="lost", shipper=world.shipper.id, shipment=claim)
    own = kit.cases.open(sid, type="lost", shipper=world.shipper.id)
    with pytest.raises(NotFound):
        kit.cases.link_shipment(sid, own.number, claim)
    snapshot = shipment_of(kit, case)
    assert snapshot.carrier_org_id == world.carrier.id
    assert snapshot.tracking_number == "1Z999"
    assert kit.cases.get(sid, own.number).shipment_id is None


def test_a_carrier_may_hand_in_facts_about_its_own_shipments(kit, world):
    kit.cases.open(world.shipper_actor, type="lost", shipment=FACTS)
    update = ShipmentFacts(reference="SHP-1", carrier="fast", status="delivered")
    case = kit.cases.open(
        world.carrier_actor, type="lost", shipper=world.shipper.id, shipment=update
    )
    assert shipment_of(kit, case).status == "delivered"
    new = kit.cases.open(
        world.carrier_actor,
        type="lost",
        shipper=world.shipper.id,
        shipment=ShipmentFacts(reference="SHP-NEW", carrier="fast"),
    )
    assert shipment_of(kit, new).carrier_org_id == world.carrier.id


def test_a_case_with_another_carrier_cannot_take_the_shipment(linked, world, rival):
    slow, _sid = rival
    with pytest.raises(InvalidInput) as info:
        linked.cases.open(world.shipper_actor, type="lost", carrier=slow.id, shipment="SHP-1")
    assert "carrier" in info.value.errors
    case = linked.cases.open(world.shipper_actor, type="lost", carrier=slow.id)
    with pytest.raises(InvalidInput) as info:
        linked.cases.link_shipment(world.shipper_actor, case.number, "SHP-1")
    assert "shipment" in info.value.errors
    assert linked.cases.get(world.shipper_actor, case.number).shipment_id is None


def test_linking_later_sets_the_carrier_and_is_audited(linked, world, clock):
    case = linked.cases.open(world.shipper_actor, type="where_is_my_order")
    assert case.carrier_org_id is None
    clock.advance(minutes=5)
    updated = linked.cases.link_shipment(world.shipper_actor, case.number, "SHP-1")
    assert updated.carrier_org_id == world.carrier.id
    assert updated.shipment_id is not None
    assert updated.updated_at == clock.now()
    assert updated.version > case.version
    assert (EventKind.SHIPMENT_LINKED, "SHP-1") in events(linked, world.shipper_actor, case.number)
    assert (EventKind.CARRIER_CHANGED, str(world.carrier.id)) in events(
        linked, world.shipper_actor, case.number
    )
    # the carrier now sees it
    assert linked.cases.get(world.carrier_actor, case.number).number == case.number


def test_relinking_refreshes_the_snapshot(linked, world, fake, clock):
    case = linked.cases.open(world.shipper_actor, type="where_is_my_order", shipment="SHP-1")
    first = shipment_of(linked, case)
    clock.advance(hours=3)
    fake.add_shipment(
        ShipmentFacts(
            reference="SHP-1",
            shipper="acme",
            carrier="fast",
            status="delivered",
            estimated_date=date(2026, 1, 6),
            tracking_number=None,  # not given: the old value stays
        )
    )
    linked.cases.link_shipment(world.shipper_actor, case.number, "SHP-1")
    refreshed = shipment_of(linked, case)
    assert refreshed.id == first.id
    assert refreshed.status == "delivered"
    assert refreshed.estimated_date == date(2026, 1, 6)
    assert refreshed.tracking_number == "1Z999"
    assert refreshed.bol_number == "BOL-77"
    assert refreshed.promised_date == date(2026, 1, 7)
    assert refreshed.updated_at == clock.now()
    # relinking the same shipment is not a new link
    linked_events = [e for e, _ in events(linked, world.shipper_actor, case.number)]
    assert linked_events.count(EventKind.SHIPMENT_LINKED) == 0


def test_opening_another_case_refreshes_the_shared_snapshot(linked, world, fake, clock):
    first = linked.cases.open(world.shipper_actor, type="where_is_my_order", shipment="SHP-1")
    clock.advance(days=1)
    fake.add_shipment(ShipmentFacts(reference="SHP-1", shipper="acme", status="exception"))
    second = linked.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    assert second.shipment_id == first.shipment_id
    snapshot = shipment_of(linked, first)
    assert snapshot.status == "exception"
    assert snapshot.carrier_org_id == world.carrier.id  # kept: the new facts name no carrier
    assert snapshot.updated_at == clock.now()


def test_facts_that_change_nothing_keep_the_date(linked, world, clock):
    case = linked.cases.open(world.shipper_actor, type="where_is_my_order", shipment="SHP-1")
    opened_at = clock.now()
    clock.advance(hours=1)
    linked.cases.link_shipment(world.shipper_actor, case.number, "SHP-1")
    assert shipment_of(linked, case).updated_at == opened_at


def test_facts_for_another_shipper_are_not_found(kit, world):
    with pytest.raises(NotFound):
        kit.cases.open(
            world.shipper_actor,
            type="lost",
            shipment=ShipmentFacts(reference="SHP-X", shipper="someone-else"),
        )


def test_facts_naming_an_unknown_carrier_are_invalid(kit, world):
    with pytest.raises(InvalidInput) as info:
        kit.cases.open(
            world.shipper_actor,
            type="lost",
            shipment=ShipmentFacts(reference="SHP-X", carrier="no-such-carrier"),
        )
    assert "shipment" in info.value.errors
    with pytest.raises(InvalidInput):  # a shipper is not a carrier
        kit.cases.open(
            world.shipper_actor,
            type="lost",
            shipment=ShipmentFacts(reference="SHP-X", carrier="acme"),
        )


def test_facts_given_directly_need_no_plugin(kit, world):
    assert not [p for p in kit.plugin_manager.get_plugins() if isinstance(p, FakeShipments)]
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        shipment=ShipmentFacts(reference="DIRECT-1", carrier="fast", tracking_number="TRK-1"),
        order=OrderFacts(number="ORD-D", customer_name="Casey"),
    )
    assert case.carrier_org_id == world.carrier.id
    assert shipment_of(kit, case).tracking_number == "TRK-1"
    assert order_of(kit, case).customer_name == "Casey"
    # without a plugin, a bare reference resolves only to a snapshot casekit already has
    again = kit.cases.open(world.shipper_actor, type="lost", shipment="DIRECT-1")
    assert again.shipment_id == case.shipment_id
    with pytest.raises(NotFound):
        kit.cases.open(world.shipper_actor, type="lost", shipment="NEVER-SEEN")


# -- orders ------------------------------------------------------------------------------


def test_the_shipper_links_an_order(linked, world, fake, clock):
    case = linked.cases.open(
        world.shipper_actor, type="where_is_my_order", carrier=world.carrier.id
    )
    clock.advance(minutes=1)
    updated = linked.cases.link_order(world.shipper_actor, case.number, "ORD-1")
    assert ("order", "ORD-1") in fake.lookups
    assert updated.order_id is not None
    assert updated.updated_at == clock.now()
    order = order_of(linked, updated)
    assert (order.number, order.shipper_org_id) == ("ORD-1", world.shipper.id)
    assert order.customer_email == "casey@example.test"
    assert (EventKind.ORDER_LINKED, "ORD-1") in events(linked, world.shipper_actor, case.number)


def test_opening_with_an_order(linked, world):
    case = linked.cases.open(world.shipper_actor, type="cancel", order="ORD-1")
    assert order_of(linked, case).number == "ORD-1"


def test_the_carrier_may_not_link_an_order(linked, world, fake):
    case = linked.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    with pytest.raises(PermissionDenied):
        linked.cases.link_order(world.carrier_actor, case.number, "ORD-1")
    assert linked.cases.get(world.shipper_actor, case.number).order_id is None
    assert ("order", "ORD-1") not in fake.lookups


def test_an_unknown_order_is_not_found(linked, world):
    case = linked.cases.open(world.shipper_actor, type="lost")
    with pytest.raises(NotFound) as info:
        linked.cases.link_order(world.shipper_actor, case.number, "ORD-404")
    assert (info.value.kind, info.value.key) == ("order", "ORD-404")


def test_another_shippers_order_is_not_found(linked, world, fake):
    fake.add_order(OrderFacts(number="ORD-R", shipper="rival-shop"))
    case = linked.cases.open(world.shipper_actor, type="lost")
    with pytest.raises(NotFound):
        linked.cases.link_order(world.shipper_actor, case.number, "ORD-R")
    with pytest.raises(NotFound):
        linked.cases.link_order(
            world.shipper_actor, case.number, OrderFacts(number="ORD-R", shipper="rival-shop")
        )


def test_relinking_an_order_refreshes_it(linked, world, fake, clock):
    case = linked.cases.open(world.shipper_actor, type="lost", order="ORD-1")
    clock.advance(hours=1)
    fake.add_order(OrderFacts(number="ORD-1", shipper="acme", brand="Acme Outdoor"))
    linked.cases.link_order(world.shipper_actor, case.number, "ORD-1")
    order = order_of(linked, case)
    assert order.brand == "Acme Outdoor"
    assert order.customer_email == "casey@example.test"  # kept
    assert order.updated_at == clock.now()


def test_the_host_links_for_any_case(linked, world):
    case = linked.cases.open(world.shipper_actor, type="lost")
    host = Actor.host()
    linked.cases.link_shipment(host, case.number, "SHP-1")
    updated = linked.cases.link_order(host, case.number, "ORD-1")
    assert updated.shipment_id is not None
    assert updated.order_id is not None
    assert updated.carrier_org_id == world.carrier.id


def test_a_lookup_with_newer_facts_moves_the_date_only_when_something_changed(
    linked, world, fake, clock
):
    case = linked.cases.open(world.shipper_actor, type="lost", order="ORD-1")
    first = order_of(linked, case).updated_at
    clock.advance(timedelta(minutes=30))
    linked.cases.link_order(world.shipper_actor, case.number, "ORD-1")
    assert order_of(linked, case).updated_at == first


def test_the_case_page_facts_are_cut_to_the_viewer(linked, world):
    case = linked.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        order="ORD-1",
        customer=world.customer.id,
        message="Where is it?",
    )
    linked.messages.post(world.shipper_actor, case.number, "our note", audience="internal")
    linked.messages.post(world.carrier_actor, case.number, "on it")
    mine = linked.cases.facts(world.shipper_actor, case.number)
    assert mine.shipment is not None
    assert (mine.shipment.reference, mine.shipment.tracking_number) == ("SHP-1", "1Z999")
    assert mine.order is not None
    assert mine.order.number == "ORD-1"
    assert mine.customer is not None
    assert mine.customer.email == "casey@example.test"
    assert mine.organizations == {world.shipper.id: "Acme Goods", world.carrier.id: "Fast Freight"}
    assert mine.people == {
        world.shipper_agent.id: "Sam Shipper",
        world.carrier_agent.id: "Cal Carrier",
    }
    theirs = linked.cases.facts(world.carrier_actor, case.number)
    assert theirs.shipment is not None
    assert theirs.customer is None
    customer = linked.cases.facts(world.customer_actor, case.number)
    assert (customer.shipment, customer.people) == (None, {})
    assert customer.customer is not None
    assert customer.customer.id == world.customer.id


def test_cases_of_a_shipment_for_its_parties_only(linked, world, rival):
    first = linked.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    second = linked.cases.open(
        world.carrier_actor, type="lost", shipper=world.shipper.id, shipment="SHP-1"
    )
    linked.cases.open(world.shipper_actor, type="lost")
    numbers = [c.number for c in linked.cases.of_shipment(world.shipper_actor, " SHP-1 ")]
    assert numbers == [second.number, first.number]
    newest = linked.cases.of_shipment(world.shipper_actor, "SHP-1", limit=1)
    assert [c.number for c in newest] == [second.number]
    # Each party's view of a case names the shipment it is about.
    assert first.shipment_id is not None
    for actor in (world.shipper_actor, world.carrier_actor):
        assert linked.cases.get(actor, second.number).shipment_id == first.shipment_id
    assert len(linked.cases.of_shipment(world.carrier_actor, "SHP-1")) == 2
    _slow, rival_actor = rival
    assert linked.cases.of_shipment(rival_actor, "SHP-1") == []
    with pytest.raises(InvalidInput):
        linked.cases.of_shipment(world.shipper_actor, "SHP-1", limit=0)
