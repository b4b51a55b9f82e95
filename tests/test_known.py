"""Known values: the brands, segments and regions a filter offers: the actor's cases only."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from casekit import Actor, InvalidInput, ShipmentFacts
from casekit.query.known import known_values
from casekit.query.listing import Lister
from casekit.sample import World


def _open(kit, actor, ref, *, carrier=None, **facts):
    return kit.cases.open(
        actor, type="other", carrier=carrier, shipment=ShipmentFacts(reference=ref, **facts)
    ).number


def test_known_values_come_from_the_actors_own_cases(kit, world):
    other = World.build(kit, tag="2")
    s, carrier = world.shipper_actor, world.carrier_actor
    _open(kit, s, "K1", carrier=world.carrier.id, brand="Acme Home", region="South",
          customer_segment="VIP")  # fmt: skip
    _open(kit, s, "K2", brand="Acme Kids", region="West", customer_segment="")
    _open(kit, s, "K3", brand="Acme Home", region="South")
    _open(kit, other.shipper_actor, "K4", carrier=other.carrier.id, brand="Secret Brand",
          region="North", customer_segment="Wholesale")  # fmt: skip
    # The second world's shipper also works with the first world's carrier.
    _open(kit, other.shipper_actor, "K5", carrier=world.carrier.id, brand="Shared Brand")

    assert kit.views.known_values(s, "brand") == ["Acme Home", "Acme Kids"]
    assert kit.views.known_values(s, "region") == ["South", "West"]
    assert kit.views.known_values(s, "customer_segment") == ["VIP"]
    # The carrier: only the cases it is a party to, of either shipper.
    assert kit.views.known_values(carrier, "brand") == ["Acme Home", "Shared Brand"]
    assert kit.views.known_values(carrier, "region") == ["South"]
    assert kit.views.known_values(other.carrier_actor, "brand") == ["Secret Brand"]
    assert kit.views.known_values(other.shipper_actor, "customer_segment") == ["Wholesale"]
    # A customer: their own cases only (none here).
    assert kit.views.known_values(world.customer_actor, "brand") == []
    assert "Secret Brand" in kit.views.known_values(Actor.host(), "brand")


def test_known_values_of_an_unknown_field_name_the_field(kit, world):
    with pytest.raises(InvalidInput) as raised:
        kit.views.known_values(world.shipper_actor, "destination_name")
    assert "field" in raised.value.errors


def test_known_values_follow_the_snapshot_and_the_carrier(kit, world):
    s, carrier = world.shipper_actor, world.carrier_actor
    other = World.build(kit, tag="2")
    number = _open(kit, s, "K1", carrier=world.carrier.id, brand="Acme", region="South")
    _open(kit, s, "K2", brand="Acme", region="South")
    assert kit.views.known_values(carrier, "region") == ["South"]

    # The feed moves one snapshot: its old region stays only where a case has it.
    kit.shipments.upsert_shipments(
        Actor.host(),
        [ShipmentFacts(reference="K1", shipper=world.shipper.external_id, region="West")],
    )
    assert kit.views.known_values(s, "region") == ["South", "West"]
    assert kit.views.known_values(carrier, "region") == ["West"]

    # Handed to another carrier, the case's values are that carrier's only.
    kit.cases.change(s, number, {"carrier": other.carrier.id})
    assert kit.views.known_values(carrier, "region") == []
    assert kit.views.known_values(carrier, "brand") == []
    assert kit.views.known_values(other.carrier_actor, "region") == ["West"]


def test_known_values_stop_at_the_limit(kit, world, clock):
    s = world.shipper_actor
    for n, brand in enumerate(("Cedar", "Acme", "Birch", "Acme")):
        _open(kit, s, f"K{n}", brand=brand)
    with Session(kit.engine) as session:
        for actor in (s, Actor.host()):  # skipping through the index, and a DISTINCT
            lister = Lister(session, actor, now=clock.now(), window_months=0)
            assert known_values(lister, "brand", limit=2) == ("Acme", "Birch")
            assert known_values(lister, "brand", limit=3) == ("Acme", "Birch", "Cedar")
            assert known_values(lister, "brand") == ("Acme", "Birch", "Cedar")
