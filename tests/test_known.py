"""Known values: the brands, segments and regions a filter offers: the actor's cases only."""

from __future__ import annotations

import pytest

from casekit import Actor, InvalidInput, ShipmentFacts
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
