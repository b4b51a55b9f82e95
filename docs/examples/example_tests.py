"""Tests written with casekit.testing; conftest.py opts in to its fixtures."""

from datetime import timedelta

import pytest

from casekit import ShipmentFacts, Status, signals
from casekit.testing import FakeShipments, SignalRecorder, World, make_kit


def test_a_message_from_the_carrier_opens_a_new_case(casekit_world, casekit_clock):
    kit, world = casekit_world.kit, casekit_world
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    casekit_clock.advance(minutes=5)
    with SignalRecorder([signals.status_changed]) as recorded:
        kit.messages.post(world.carrier_actor, case.number, "We are tracing it.")
    assert kit.cases.get(world.shipper_actor, case.number).status is Status.OPEN
    assert recorded.of(signals.status_changed)[0]["new"] is Status.OPEN
    entries = kit.cases.timeline(world.carrier_actor, case.number)
    assert entries[-1].created_at - entries[0].created_at == timedelta(minutes=5)


@pytest.fixture
def shipments():
    fake = FakeShipments()
    fake.add_shipment(ShipmentFacts(reference="SHP-1", shipper="acme", carrier="fast"))
    return fake


def test_linking_a_shipment_makes_its_carrier_a_party(tmp_path, shipments):
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    kit = make_kit(url, attachment_dir=tmp_path / "files", plugins=[shipments])
    world = World.build(kit)  # organizations "acme" and "fast", their users, a customer
    case = kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    assert case.carrier_org_id == world.carrier.id
    assert shipments.lookups == [("shipment", "SHP-1")]
    kit.close()
