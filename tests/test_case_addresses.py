"""Case addresses for both sides: the service, and mail routed through the real inbound pipeline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casekit import Actor, CaseKit, InvalidInput, NotFound, PermissionDenied
from casekit.domain.case_address import UnknownSenders
from casekit.domain.directory import OrgRole
from casekit.sample import World
from casekit.services.inbound import Outcome
from casekit.store import tables

SHOP = "support@acme.test"
DESK = "desk@fast.test"


def mail(sender: str, subject: str, body: str = "Hello", *, to: str = SHOP, cc: str = "") -> bytes:
    headers = f"Cc: {cc}\r\n" if cc else ""
    mid = f"<{abs(hash((sender, subject, body, to)))}@t>"
    return (
        f"From: {sender}\r\nTo: {to}\r\n{headers}Subject: {subject}\r\nMessage-ID: {mid}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def participants(kit: CaseKit, case_id: int) -> dict[str, tuple[int | None, str | None]]:
    """Each email participant of the case: (organization, audience cap)."""
    p = tables.participants.c
    with kit.sessions(write=False) as session:
        rows = session.execute(
            select(p.email, p.org_id, p.audience).where(p.case_id == case_id, p.email.is_not(None))
        ).all()
    return {row.email: (row.org_id, row.audience) for row in rows}


def told(kit: CaseKit, entry_id: int) -> set[str]:
    """Who the message ``entry_id`` is mailed to (the outbox, written with the change)."""
    o = tables.outbox.c
    with kit.sessions(write=False) as session:
        return {
            str(e).lower() for e in session.scalars(select(o.email).where(o.entry_id == entry_id))
        }


# -- the service --------------------------------------------------------------------------------
def test_an_address_carries_its_options_and_each_organization_sees_its_own(
    kit: CaseKit, world: World
) -> None:
    added = kit.case_addresses.add(
        world.shipper_manager_actor,
        " Support@Acme.test ",
        case_type="where_is_my_order",
        owner_id=world.shipper_agent.id,
        partner_id=world.carrier.id,
        unknown_senders="triage",
    )
    assert (added.email, added.org_id, added.role) == (SHOP, world.shipper.id, OrgRole.SHIPPER)
    assert (added.case_type, added.owner_id, added.partner_id) == (
        "where_is_my_order",
        world.shipper_agent.id,
        world.carrier.id,
    )
    assert added.unknown_senders is UnknownSenders.TRIAGE
    # The carrier's own address: without a partner shipper it triages unknown senders.
    desk = kit.case_addresses.add(world.carrier_manager_actor, DESK)
    assert (desk.org_id, desk.role, desk.unknown_senders) == (
        world.carrier.id,
        OrgRole.CARRIER,
        UnknownSenders.TRIAGE,
    )
    # Staff read their organization's addresses, and only those.
    assert kit.case_addresses.list(world.shipper_actor) == [added]
    assert kit.case_addresses.list(world.carrier_actor) == [desk]
    assert [a.email for a in kit.case_addresses.list(Actor.host())] == [DESK, SHOP]
    with pytest.raises(NotFound):
        kit.case_addresses.list(world.carrier_actor, world.shipper.id)
    for call in (
        lambda: kit.case_addresses.get(world.carrier_manager_actor, SHOP),
        lambda: kit.case_addresses.update(world.carrier_manager_actor, SHOP, case_type=None),
        lambda: kit.case_addresses.remove(world.carrier_manager_actor, SHOP),
    ):
        with pytest.raises(NotFound):
            call()
    # Agents read; managers (and the host) edit.
    with pytest.raises(PermissionDenied):
        kit.case_addresses.update(world.shipper_actor, SHOP, case_type=None)
    with pytest.raises(PermissionDenied):
        kit.case_addresses.add(world.shipper_actor, "other@acme.test")
    with pytest.raises(PermissionDenied):
        kit.case_addresses.add(world.shipper_manager_actor, "x@fast.test", org_id=world.carrier.id)
    # An update changes what it names; None clears.
    changed = kit.case_addresses.update(
        world.shipper_manager_actor, SHOP, owner_id=None, unknown_senders="open"
    )
    assert (changed.owner_id, changed.unknown_senders) == (None, UnknownSenders.OPEN)
    assert (changed.case_type, changed.partner_id) == ("where_is_my_order", world.carrier.id)
    kit.case_addresses.remove(world.shipper_manager_actor, SHOP)
    assert kit.case_addresses.list(world.shipper_actor) == []
    with pytest.raises(NotFound):
        kit.case_addresses.remove(world.shipper_manager_actor, SHOP)


def test_bad_options_are_refused_naming_each_field(kit: CaseKit, world: World) -> None:
    with pytest.raises(InvalidInput) as error:
        kit.case_addresses.add(
            world.shipper_manager_actor,
            "not an address",
            case_type="no_such_type",
            owner_id=world.carrier_agent.id,  # a user of another organization
            partner_id=world.shipper.id,  # not of the other role
            unknown_senders="maybe",
        )
    assert set(error.value.errors) == {
        "email",
        "case_type",
        "owner_id",
        "partner_id",
        "unknown_senders",
    }
    kit.case_addresses.add(world.carrier_manager_actor, DESK)
    with pytest.raises(InvalidInput) as error:
        kit.case_addresses.update(world.carrier_manager_actor, DESK, unknown_senders="open")
    assert list(error.value.errors) == ["unknown_senders"]
    # Taken addresses, by the same or another organization.
    for actor in (world.carrier_manager_actor, world.shipper_manager_actor):
        with pytest.raises(InvalidInput) as error:
            kit.case_addresses.add(actor, "DESK@fast.test")
        assert list(error.value.errors) == ["email"]
    # A user who left is no default owner.
    kit.directory.deactivate_user(Actor.host(), world.carrier_agent.id)
    with pytest.raises(InvalidInput) as error:
        kit.case_addresses.update(Actor.host(), DESK, owner_id=world.carrier_agent.id)
    assert list(error.value.errors) == ["owner_id"]


# -- routing --------------------------------------------------------------------------------
def test_a_carrier_user_writing_to_a_shippers_address_opens_a_case_between_the_two(
    kit: CaseKit, world: World
) -> None:
    kit.case_addresses.add(
        Actor.host(),
        SHOP,
        org_id=world.shipper.id,
        case_type="osd_damaged",
        owner_id=world.shipper_manager.id,
    )
    result = kit.inbound.receive(
        mail(
            f"Cal <{world.carrier_agent.email}>",
            "Pallet crushed",
            "Photos follow.",
            cc="yard@fast.test, Mia@acme.test",
        )
    )
    assert result.outcome is Outcome.CREATED
    number = result.case_number or ""
    # The carrier sees the case it opened; its sender is the carrier-side author and owner.
    case = kit.cases.get(world.carrier_actor, number)
    assert (case.shipper_org_id, case.carrier_org_id, case.carrier_collaborating) == (
        world.shipper.id,
        world.carrier.id,
        True,
    )
    assert (case.type, case.source, case.shipper_owner_id, case.carrier_owner_id) == (
        "osd_damaged",
        "email",
        world.shipper_manager.id,
        world.carrier_agent.id,
    )
    opening = [e for e in kit.cases.timeline(world.shipper_actor, number) if e.kind == "message"]
    assert [(e.user_id, e.org_id, e.audience, e.body) for e in opening] == [
        (world.carrier_agent.id, world.carrier.id, "partners", "Photos follow.")
    ]
    # The Cc'd outsider joins as the carrier's, capped at the message's audience;
    # the shipper's own user is no address participant.
    assert participants(kit, case.id) == {"yard@fast.test": (world.carrier.id, "partners")}
    # The shipper's internal layer stays hidden from the carrier and its Cc.
    note = kit.messages.post(world.shipper_actor, number, "Carrier at fault?", audience="internal")
    both = kit.messages.post(world.shipper_actor, number, "We will inspect.", audience="partners")
    carrier_reads = [e.body for e in kit.cases.timeline(world.carrier_actor, number)]
    assert "Carrier at fault?" not in carrier_reads
    assert "We will inspect." in carrier_reads
    assert "yard@fast.test" not in told(kit, note.id)
    assert "yard@fast.test" in told(kit, both.id)


def test_a_shipper_user_writing_to_a_carriers_address_opens_a_case_between_the_two(
    kit: CaseKit, world: World
) -> None:
    kit.case_addresses.add(world.carrier_manager_actor, DESK, owner_id=world.carrier_agent.id)
    result = kit.inbound.receive(mail(world.shipper_agent.email, "Pickup missed", to=DESK))
    assert result.outcome is Outcome.CREATED
    number = result.case_number or ""
    for actor in (world.shipper_actor, world.carrier_actor):
        case = kit.cases.get(actor, number)
        assert (case.shipper_org_id, case.carrier_org_id) == (world.shipper.id, world.carrier.id)
    assert (case.shipper_owner_id, case.carrier_owner_id) == (
        world.shipper_agent.id,
        world.carrier_agent.id,
    )
    assert case.type == kit.settings.inbound_case_type
    [first] = [e for e in kit.cases.timeline(world.carrier_actor, number) if e.kind == "message"]
    assert (first.user_id, first.org_id) == (world.shipper_agent.id, world.shipper.id)


def test_a_user_writing_to_their_own_organizations_address_opens_the_case_as_themselves(
    kit: CaseKit, world: World
) -> None:
    kit.case_addresses.add(Actor.host(), SHOP, org_id=world.shipper.id, partner_id=world.carrier.id)
    own = kit.inbound.receive(mail(world.shipper_agent.email, "For the carrier"))
    case = kit.cases.get(world.carrier_actor, own.case_number or "")  # the partner is a party
    assert (case.shipper_owner_id, case.latest_message_user_id) == (
        world.shipper_agent.id,
        world.shipper_agent.id,
    )
    # With a default owner, the address's owner takes the case instead of the sender.
    kit.case_addresses.update(Actor.host(), SHOP, owner_id=world.shipper_manager.id)
    again = kit.inbound.receive(mail(world.shipper_agent.email, "Another one"))
    case = kit.cases.get(world.shipper_actor, again.case_number or "")
    assert case.shipper_owner_id == world.shipper_manager.id
    # A carrier's own user needs the address's partner shipper to open a case.
    kit.case_addresses.add(Actor.host(), DESK, org_id=world.carrier.id)
    stuck = kit.inbound.receive(mail(world.carrier_agent.email, "Our own", to=DESK))
    assert stuck.outcome is Outcome.TRIAGED
    assert "partner" in (stuck.reason or "")
    assert [i.id for i in kit.inbound.triage(world.carrier_actor)] == [stuck.inbound_id]
    kit.case_addresses.update(Actor.host(), DESK, partner_id=world.shipper.id)
    opened = kit.inbound.receive(mail(world.carrier_agent.email, "Our own, again", to=DESK))
    case = kit.cases.get(world.shipper_actor, opened.case_number or "")
    assert (case.carrier_owner_id, case.shipper_org_id) == (
        world.carrier_agent.id,
        world.shipper.id,
    )


def test_a_customer_writing_to_the_shippers_address_opens_a_customer_case(
    kit: CaseKit, world: World
) -> None:
    kit.case_addresses.add(
        Actor.host(),
        SHOP,
        org_id=world.shipper.id,
        partner_id=world.carrier.id,
        unknown_senders="triage",
    )
    result = kit.inbound.receive(mail(world.customer.email, "Where is it?", cc="mum@example.test"))
    assert result.outcome is Outcome.CREATED
    case = kit.cases.get(world.shipper_actor, result.case_number or "")
    assert (case.customer_id, case.carrier_org_id) == (world.customer.id, None)
    [first] = [
        e for e in kit.cases.timeline(world.customer_actor, case.number) if e.kind == "message"
    ]
    assert first.audience == "customer"
    assert participants(kit, case.id) == {
        world.customer.email: (world.shipper.id, "customer"),
        "mum@example.test": (world.shipper.id, "customer"),
    }


def test_unknown_senders_follow_the_address(kit: CaseKit, world: World) -> None:
    kit.case_addresses.add(Actor.host(), SHOP, org_id=world.shipper.id)
    opened = kit.inbound.receive(mail("nora@shop.test", "Hello", cc="ann@shop.test"))
    assert opened.outcome is Outcome.CREATED
    case = kit.cases.get(world.shipper_actor, opened.case_number or "")
    assert case.carrier_org_id is None
    assert participants(kit, case.id) == {
        "nora@shop.test": (world.shipper.id, "partners"),
        "ann@shop.test": (world.shipper.id, "partners"),
    }
    kit.case_addresses.update(world.shipper_manager_actor, SHOP, unknown_senders="triage")
    kept = kit.inbound.receive(mail("nora@shop.test", "Hello again"))
    assert (kept.outcome, kept.case_number) == (Outcome.TRIAGED, None)
    assert "unknown sender" in (kept.reason or "")
    assert [i.id for i in kit.inbound.triage(world.shipper_actor)] == [kept.inbound_id]
    assert kit.inbound.triage(world.carrier_actor) == []


def test_unknown_senders_at_a_carriers_address_open_cases_with_its_partner_shipper(
    kit: CaseKit, world: World
) -> None:
    kit.case_addresses.add(world.carrier_manager_actor, DESK)
    kept = kit.inbound.receive(mail("driver@subcontractor.test", "POD", to=DESK))
    assert kept.outcome is Outcome.TRIAGED
    assert [i.id for i in kit.inbound.triage(world.carrier_actor)] == [kept.inbound_id]
    assert kit.inbound.triage(world.shipper_actor) == []
    kit.case_addresses.update(
        world.carrier_manager_actor, DESK, partner_id=world.shipper.id, unknown_senders="open"
    )
    opened = kit.inbound.receive(mail("driver@subcontractor.test", "POD again", to=DESK))
    assert opened.outcome is Outcome.CREATED
    for actor in (world.carrier_actor, world.shipper_actor):
        case = kit.cases.get(actor, opened.case_number or "")
    assert (case.shipper_org_id, case.carrier_org_id) == (world.shipper.id, world.carrier.id)
    # The stranger writes for the carrier's side.
    assert participants(kit, case.id) == {
        "driver@subcontractor.test": (world.carrier.id, "partners")
    }


def test_a_default_owner_who_left_leaves_the_side_without_owner(kit: CaseKit, world: World) -> None:
    kit.case_addresses.add(
        Actor.host(), SHOP, org_id=world.shipper.id, owner_id=world.shipper_agent.id
    )
    kit.directory.deactivate_user(Actor.host(), world.shipper_agent.id)
    result = kit.inbound.receive(mail("nora@shop.test", "Hello"))
    case = kit.cases.get(world.shipper_manager_actor, result.case_number or "")
    assert case.shipper_owner_id is None


def test_cc_on_mail_filed_from_triage_become_participants(kit: CaseKit, world: World) -> None:
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id, message="Hi")
    kit.case_addresses.add(Actor.host(), SHOP, org_id=world.shipper.id, unknown_senders="triage")
    kept = kit.inbound.receive(
        mail("nora@shop.test", "About the parcel", cc=f"ann@shop.test, {world.carrier_agent.email}")
    )
    assert kept.outcome is Outcome.TRIAGED
    filed = kit.inbound.file(
        world.shipper_actor, kept.inbound_id or 0, case.number, audience="internal"
    )
    assert filed.outcome is Outcome.FILED
    # Joined for the shipper on the audience it was filed for (a user's address is none).
    assert participants(kit, case.id) == {
        "nora@shop.test": (world.shipper.id, "internal"),
        "ann@shop.test": (world.shipper.id, "internal"),
    }
    # Addresses hear what the shipper reads, and never an internal note.
    shared = kit.messages.post(world.shipper_actor, case.number, "Tracing.", audience="partners")
    assert {"nora@shop.test", "ann@shop.test"} <= told(kit, shared.id)
    note = kit.messages.post(world.shipper_actor, case.number, "Ours.", audience="internal")
    assert {"nora@shop.test", "ann@shop.test"} & told(kit, note.id) == set()
    # Opening a case from triage takes the Cc as well.
    other = kit.inbound.receive(mail("olga@shop.test", "New one", cc="pat@shop.test"))
    view = kit.inbound.open_case(world.shipper_actor, other.inbound_id or 0, type="other")
    assert set(participants(kit, view.id)) == {"olga@shop.test", "pat@shop.test"}
