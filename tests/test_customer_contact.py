"""The customer's phone, and their contact details shared with the carrier on purpose.

The carrier reads the consignee facts of the shipment, never the customer's
account: its case view has no ``contact`` until the shipper shares it on that
case (``kit.cases.share_contact``), and none again once withdrawn; another
case of the same customer stays closed to it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from casekit import Actor, CaseKit, Conflict, EventKind, InvalidInput, NotFound, PermissionDenied
from casekit.domain.directory import CustomerRecord
from casekit.testing import SmtpSink, World


@pytest.mark.parametrize("junk", ["call me", "+", "1" * 33, "12<script>", 42])
def test_a_phone_is_digits_and_a_few_signs(kit: CaseKit, world: World, junk: object) -> None:
    """Junk is InvalidInput naming ``phone`` when adding, changing or syncing a customer."""
    host, shipper = Actor.host(), world.shipper
    with pytest.raises(InvalidInput) as added:
        kit.directory.add_customer(host, shipper_org_id=shipper.id, email="a@x.test", phone=junk)  # type: ignore[arg-type]
    assert list(added.value.errors) == ["phone"]
    with pytest.raises(InvalidInput) as changed:
        kit.directory.update_customer(host, world.customer.id, phone=junk)  # type: ignore[arg-type]
    assert list(changed.value.errors) == ["phone"]
    record = CustomerRecord("c-1", shipper.external_id or "", "a@x.test", phone=junk)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as synced:
        kit.directory.sync(host, customers=[record])
    assert list(synced.value.errors) == ["customers.0.phone"]


def test_a_phone_is_kept_changed_synced_and_cleared(kit: CaseKit, world: World) -> None:
    host, shipper = Actor.host(), world.shipper
    added = kit.directory.add_customer(
        host, shipper_org_id=shipper.id, email="b@x.test", phone="  +1 (555) 010-2000 "
    )
    assert added.phone == "+1 (555) 010-2000"
    assert kit.directory.update_customer(host, added.id, phone="").phone is None
    record = CustomerRecord("c-2", shipper.external_id or "", "c@x.test", phone="0170 123")
    kit.directory.sync(host, customers=[record])
    synced = kit.directory.customer_by_external_id(world.shipper_actor, "c-2")
    assert synced.phone == "0170 123"
    kit.directory.sync(
        host, customers=[CustomerRecord("c-2", shipper.external_id or "", "c@x.test")]
    )
    assert kit.directory.customer(host, synced.id).phone is None


def _open(kit: CaseKit, world: World) -> str:
    return kit.cases.open(
        world.shipper_actor,
        type="lost",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
    ).number


def test_the_shipper_shares_the_contact_with_the_carrier_of_one_case(
    kit: CaseKit, world: World
) -> None:
    w = world
    kit.directory.update_customer(Actor.host(), w.customer.id, phone="+44 20 7946 0000")
    number, other = _open(kit, w), _open(kit, w)
    contact = kit.cases.get(w.shipper_actor, number).contact
    assert contact is not None
    assert (contact.name, contact.email, contact.phone) == (
        w.customer.name,
        w.customer.email,
        "+44 20 7946 0000",
    )
    assert kit.cases.get(w.carrier_actor, number).contact is None
    assert kit.cases.facts(w.carrier_actor, number).customer is None
    version = kit.cases.get(w.shipper_actor, number).version
    with pytest.raises(Conflict):
        kit.cases.share_contact(w.shipper_actor, number, expected_version=version - 1)

    shared = kit.cases.share_contact(w.shipper_actor, number, expected_version=version)
    assert shared.contact_shared_at is not None
    seen = kit.cases.get(w.carrier_actor, number)
    assert seen.contact == contact
    assert seen.customer_id is None
    assert seen.contact_shared_at == shared.contact_shared_at
    # Not the customer's other case; the customer does not learn of the share.
    assert kit.cases.get(w.carrier_actor, other).contact is None
    # Nor in a list holding both: the contact is read per case, not per customer.
    listed = {view.number: view.contact for view in kit.cases.list(w.carrier_actor)}
    assert listed == {number: contact, other: None}
    as_customer = kit.cases.get(w.customer_actor, number)
    assert as_customer.contact == contact  # their own
    assert as_customer.contact_shared_at is None
    # Sharing again changes nothing.
    assert kit.cases.share_contact(w.shipper_actor, number).version == shared.version

    kit.cases.withdraw_contact(w.shipper_manager_actor, number)
    assert kit.cases.get(w.carrier_actor, number).contact is None
    events = [e.event for e in kit.cases.timeline(w.carrier_actor, number) if e.event]
    assert events[-2:] == [EventKind.CONTACT_SHARED, EventKind.CONTACT_WITHDRAWN]
    assert not {EventKind.CONTACT_SHARED, EventKind.CONTACT_WITHDRAWN} & {
        e.event for e in kit.cases.timeline(w.customer_actor, number)
    }


def test_only_the_shippers_staff_share_the_contact(kit: CaseKit, world: World) -> None:
    w = world
    number = _open(kit, w)
    for actor in (w.carrier_actor, w.customer_actor):
        with pytest.raises(PermissionDenied):
            kit.cases.share_contact(actor, number)
        with pytest.raises(PermissionDenied):
            kit.cases.withdraw_contact(actor, number)
    other = World.build(kit, tag="-other")
    with pytest.raises(NotFound):
        kit.cases.share_contact(other.shipper_actor, number)
    assert not kit.cases.allowed(w.carrier_actor, number).share_contact
    assert kit.cases.allowed(w.shipper_actor, number).share_contact
    alone = kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="x")
    with pytest.raises(InvalidInput) as no_customer:
        kit.cases.share_contact(w.shipper_actor, alone.number)
    assert list(no_customer.value.errors) == ["customer"]


def test_a_carrier_named_later_does_not_inherit_the_share(kit: CaseKit, world: World) -> None:
    w = world
    number = _open(kit, w)
    kit.cases.share_contact(w.shipper_actor, number)
    kit.cases.change(w.shipper_actor, number, {"carrier": None})
    kit.cases.change(w.shipper_actor, number, {"carrier": w.carrier.id})
    assert kit.cases.get(w.carrier_actor, number).contact is None


def test_the_carriers_users_are_mailed_the_contact_while_shared(
    mailing_kit: Callable[..., CaseKit], sink: SmtpSink
) -> None:
    mkit = mailing_kit()
    w = World.build(mkit)
    mkit.directory.update_customer(Actor.host(), w.customer.id, phone="555 0100")
    number = _open(mkit, w)
    mkit.cases.set_owner(w.carrier_actor, number, w.carrier_agent.id)
    mkit.notifications.deliver()
    sink.clear()

    def mailed(text: str) -> str:
        mkit.messages.post(w.shipper_actor, number, text, audience="partners")
        mkit.notifications.deliver()
        (mail,) = sink.to(w.carrier_agent.email)
        sink.clear()
        return mail.as_string()

    assert w.customer.email not in mailed("before")
    mkit.cases.share_contact(w.shipper_actor, number)
    after = mailed("after")
    assert w.customer.email in after
    assert "555 0100" in after
    mkit.cases.withdraw_contact(w.shipper_actor, number)
    assert w.customer.email not in mailed("withdrawn")
