"""What the customer reads of the shipper's sharing with the carrier: nothing."""

from __future__ import annotations

from datetime import timedelta

from casekit import CaseKit
from casekit.clock import FrozenClock
from casekit.testing import World


def test_the_customer_never_learns_a_message_was_shared_with_the_carrier(
    kit: CaseKit, world: World
) -> None:
    number = kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="We are on it",
    ).number
    photos = kit.messages.post(world.customer_actor, number, "Photos of the torn cover")
    assert kit.cases.share_with_carrier(world.shipper_actor, number, photos.id).shared_at
    read = {e.id: e for e in kit.cases.timeline(world.customer_actor, number)}
    assert read[photos.id].shared_at is None
    staff = {e.id: e for e in kit.cases.timeline(world.shipper_actor, number)}
    assert staff[photos.id].shared_at is not None
    carrier = {e.id: e for e in kit.cases.timeline(world.carrier_actor, number)}
    assert carrier[photos.id].shared_at is not None


def test_a_shared_message_later_than_the_carriers_latest_becomes_it(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    number = kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="We are on it",
    ).number
    clock.advance(timedelta(minutes=5))
    photos = kit.messages.post(world.customer_actor, number, "Photos of the torn cover")
    before = kit.cases.get(world.carrier_actor, number)
    assert before.latest_message_at is not None
    assert before.latest_message_at < photos.created_at
    clock.advance(timedelta(minutes=5))
    kit.cases.share_with_carrier(world.shipper_actor, number, photos.id)
    after = kit.cases.get(world.carrier_actor, number)
    assert after.latest_message_at == photos.created_at
    assert after.latest_message_org_id is None  # the customer's


def test_the_carrier_never_reads_the_address_a_mail_filed_by_the_shipper_came_from(
    kit: CaseKit, world: World
) -> None:
    """A mail the shipper files from its triage may be its customer's: the
    carrier reads what it says, not the address it came from."""
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Lost parcel"
    ).number
    raw = (
        f"From: {world.customer.email}\r\nTo: nobody@acme.test\r\nSubject: Re: [{number}]\r\n"
        "Message-ID: <filed@example.test>\r\n\r\nStill nothing here\r\n"
    ).encode()
    item = kit.inbound.receive(raw).inbound_id
    assert item is not None
    filed = kit.inbound.file(world.shipper_actor, item, number, audience="partners").entry_id
    staff = {e.id: e for e in kit.cases.timeline(world.shipper_actor, number)}
    assert staff[filed].author_email == world.customer.email
    carrier = {e.id: e for e in kit.cases.timeline(world.carrier_actor, number)}
    assert carrier[filed].body == "Still nothing here"
    assert carrier[filed].author_email is None
    assert world.customer.email not in repr(kit.cases.timeline(world.carrier_actor, number))
