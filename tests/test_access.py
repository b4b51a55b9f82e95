"""The access rules, example by example, on every backend.

Who may see which case and read which entry; that a case an actor may not
see answers exactly like a case that does not exist, on every service
method; which changes a party that can see a case may still not make; CRM
numbers, internal notes and owners that stay with whom they belong to.
:mod:`tests.test_access_property` drives the same rules with random
operations.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

from casekit import (
    Actor,
    Audience,
    CaseKit,
    InvalidInput,
    NotFound,
    OrderFacts,
    OrgRole,
    PermissionDenied,
    ShipmentFacts,
    Side,
    Status,
    Upload,
    UserRole,
)
from casekit.clock import FrozenClock
from casekit.query.models import CustomerView, OrderView
from casekit.query.scoped import Scope
from casekit.testing import World

MISSING = "CV999999"


@attrs.define
class Parties:
    """One busy case between ``world``'s shipper, carrier and customer, and outsiders.

    The case has a message of every audience from the shipper, an internal
    note and a partners message from the carrier, three messages from the
    customer (one to the shipper, one the shipper shared with the carrier,
    one to everyone), each party's CRM number and a watcher per side.
    ``entry_ids`` names each message by its text.
    """

    kit: CaseKit
    world: World
    other: World  # another shipper, carrier and customer, parties to nothing here
    number: str
    second_agent: Actor  # another agent of the shipper
    other_customer: Actor  # another customer of the same shipper
    attachment_id: int  # on the shipper's internal note
    entry_ids: dict[str, int]

    @property
    def actors(self) -> dict[str, Actor]:
        w, o = self.world, self.other
        return {
            "shipper agent": w.shipper_actor,
            "shipper manager": w.shipper_manager_actor,
            "shipper api": Actor.system_actor("api", org_id=w.shipper.id),
            "carrier agent": w.carrier_actor,
            "carrier manager": w.carrier_manager_actor,
            "carrier api": Actor.system_actor("rule", org_id=w.carrier.id),
            "customer": w.customer_actor,
            "host": Actor.host(),
            "other customer of the shipper": self.other_customer,
            "other shipper": o.shipper_actor,
            "other carrier": o.carrier_manager_actor,
            "other shipper's api": Actor.system_actor("api", org_id=o.shipper.id),
            "other shipper's customer": o.customer_actor,
        }


@pytest.fixture
def parties(kit: CaseKit, world: World) -> Parties:
    host = Actor.host()
    other = World.build(kit, tag="-other")
    second = kit.directory.add_user(
        host, org_id=world.shipper.id, name="Sue Second", email="sue@acme.test"
    )
    other_customer = kit.directory.add_customer(
        host, shipper_org_id=world.shipper.id, email="other@example.test"
    )
    w = world
    case = kit.cases.open(
        w.shipper_actor,
        type="osd_damaged",
        subject="Torn cover",
        carrier=w.carrier.id,
        customer=w.customer.id,
        message="shipper partners",
    )
    n = case.number
    post = kit.messages.post
    note = post(
        w.shipper_actor,
        n,
        "shipper internal",
        audience=Audience.INTERNAL,
        attachments=[Upload("claim.pdf", io.BytesIO(b"%PDF internal"), "application/pdf")],
    )
    said = [
        post(w.shipper_actor, n, "shipper everyone", audience=Audience.EVERYONE),
        post(w.shipper_actor, n, "shipper customer", audience=Audience.CUSTOMER),
        post(w.carrier_actor, n, "carrier internal", audience=Audience.INTERNAL),
        post(w.carrier_actor, n, "carrier partners", audience=Audience.PARTNERS),
        post(w.customer_actor, n, "customer to the shipper"),
        post(w.customer_actor, n, "customer shared"),
        post(w.customer_actor, n, "customer everyone", audience=Audience.EVERYONE),
        post(Actor.host(), n, "host internal", audience=Audience.INTERNAL),
    ]
    entry_ids = {entry.body: entry.id for entry in said}
    kit.cases.share_with_carrier(w.shipper_actor, n, entry_ids["customer shared"])
    kit.cases.set_crm_number(w.shipper_actor, n, "ZD-100")
    kit.cases.set_crm_number(w.carrier_actor, n, "SF-900")
    kit.cases.watch(w.shipper_manager_actor, n)
    kit.cases.watch(w.carrier_manager_actor, n)
    kit.cases.take(w.carrier_actor, n)
    return Parties(
        kit=kit,
        world=world,
        other=other,
        number=n,
        second_agent=Actor.of_user(second),
        other_customer=Actor.of_customer(other_customer),
        attachment_id=note.attachments[0].id,
        entry_ids=entry_ids,
    )


SHIPPER_READS = {
    "shipper partners",
    "shipper internal",
    "shipper everyone",
    "shipper customer",
    "carrier partners",
    "customer to the shipper",
    "customer shared",
    "customer everyone",
}
# Not the shipper's conversation with its customer, but the entry it shared.
CARRIER_READS = {
    "shipper partners",
    "shipper everyone",
    "carrier internal",
    "carrier partners",
    "customer shared",
    "customer everyone",
}
CUSTOMER_READS = {
    "shipper everyone",
    "shipper customer",
    "customer to the shipper",
    "customer shared",
    "customer everyone",
}
ALL_MESSAGES = SHIPPER_READS | CARRIER_READS | {"host internal"}

# who: (sees the case, the messages it reads, its CRM number, sees owners and watchers)
TABLE: dict[str, tuple[bool, set[str], str | None, bool]] = {
    "shipper agent": (True, SHIPPER_READS, "ZD-100", True),
    "shipper manager": (True, SHIPPER_READS, "ZD-100", True),
    "shipper api": (True, SHIPPER_READS, "ZD-100", True),
    "carrier agent": (True, CARRIER_READS, "SF-900", True),
    "carrier manager": (True, CARRIER_READS, "SF-900", True),
    "carrier api": (True, CARRIER_READS, "SF-900", True),
    "customer": (True, CUSTOMER_READS, None, False),
    "host": (True, ALL_MESSAGES, "ZD-100", True),
    "other customer of the shipper": (False, set(), None, False),
    "other shipper": (False, set(), None, False),
    "other carrier": (False, set(), None, False),
    "other shipper's api": (False, set(), None, False),
    "other shipper's customer": (False, set(), None, False),
}


def missing_error(call: Callable[[str], Any]) -> tuple[type[BaseException], str] | None:
    """What ``call`` raises for a case number that does not exist (type and text)."""
    try:
        call(MISSING)
    except Exception as error:
        return type(error), str(error)
    return None


def error_for(call: Callable[[str], Any], number: str) -> tuple[type[BaseException], str] | None:
    """What ``call`` raises for ``number``, its text written as if for MISSING."""
    try:
        call(number)
    except Exception as error:
        return type(error), str(error).replace(number, MISSING)
    return None


# -- who sees what --------------------------------------------------------------------


@pytest.mark.parametrize("who", list(TABLE))
def test_who_sees_what(parties: Parties, who: str) -> None:
    kit, n = parties.kit, parties.number
    actor = parties.actors[who]
    sees, reads, crm, sees_people = TABLE[who]
    listed = [view.number for view in kit.cases.list(actor)]
    assert listed == ([n] if sees else [])
    if not sees:
        for read in (kit.cases.get, kit.cases.timeline):
            with pytest.raises(NotFound) as caught:
                read(actor, n)
            assert str(caught.value) == f"case {n!r} not found"
        return
    view = kit.cases.get(actor, n)
    timeline = kit.cases.timeline(actor, n)
    assert {e.body for e in timeline if e.kind.value == "message"} == reads
    assert view.crm_number == crm
    w = parties.world
    # What every party shares: the case, its subject and its two organizations.
    assert (view.number, view.type, view.subject) == (n, "osd_damaged", "Torn cover")
    assert (view.shipper_org_id, view.carrier_org_id) == (w.shipper.id, w.carrier.id)
    if sees_people:
        assert view.shipper_owner_id == w.shipper_agent.id
        assert view.carrier_owner_id == w.carrier_agent.id
    else:
        assert view.shipper_owner_id is None
        assert view.carrier_owner_id is None
        assert view.latest_message_user_id is None
    org = actor.org_id
    expected_watchers = {
        u.id
        for u in (w.shipper_manager, w.carrier_manager)
        if sees_people and (actor.is_unrestricted or u.org_id == org)
    }
    assert set(view.watcher_ids) == expected_watchers
    # Events follow the same rule: watcher and CRM events stay in their org,
    # the customer reads only the events meant for them, the carrier none of
    # the shipper's conversation with its customer but what it shared, and
    # that conversation's statuses as open.
    carrier = org == w.carrier.id
    for entry in timeline:
        if actor.is_customer:
            assert entry.audience in (Audience.CUSTOMER, Audience.EVERYONE)
        elif not actor.is_unrestricted and entry.audience is Audience.INTERNAL:
            assert entry.org_id == org
        if carrier and entry.audience is Audience.CUSTOMER:
            assert entry.shared_at is not None, entry
    assert view.status is (Status.OPEN if carrier else Status.REPLY_RECEIVED)
    moves = [(e.old_value, e.new_value) for e in timeline if e.event == "status_changed"]
    if carrier:
        assert moves == [("new", "open")]
    else:
        assert moves == [("new", "waiting"), ("waiting", "reply_received")]
    text = repr(timeline) + repr(view)
    for secret, owner in (("ZD-100", w.shipper.id), ("SF-900", w.carrier.id)):
        if not actor.is_unrestricted and owner != org:
            assert secret not in text


def test_a_view_carries_the_cases_times_and_people_for_staff_only(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    """Staff read when and by whom a case was opened, changed, solved and last
    written to; the customer reads the times of what is meant for them, no staff."""
    w = world
    opened = kit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id
    )
    n = opened.number
    clock.advance(minutes=5)
    to_customer = kit.messages.post(w.shipper_actor, n, "on its way", audience=Audience.CUSTOMER)
    clock.advance(minutes=5)
    kit.messages.post(w.carrier_actor, n, "scanned at the hub", audience=Audience.PARTNERS)
    clock.advance(minutes=5)
    kit.cases.solve(w.shipper_actor, n)
    shipper = kit.cases.get(w.shipper_actor, n)
    assert opened.created_at is not None
    assert shipper.created_at == opened.created_at
    assert shipper.updated_at is not None
    assert shipper.updated_at > opened.created_at
    assert shipper.solved_at is not None
    assert shipper.created_by == w.shipper_actor.describe()
    assert (shipper.latest_message_user_id, shipper.latest_message_org_id) == (
        w.carrier_agent.id,
        w.carrier.id,
    )
    carrier = kit.cases.get(w.carrier_actor, n)
    assert (carrier.latest_message_user_id, carrier.latest_message_org_id) == (
        w.carrier_agent.id,
        w.carrier.id,
    )
    customer = kit.cases.get(w.customer_actor, n)
    assert customer.created_at == opened.created_at
    assert customer.latest_message_at == to_customer.created_at
    assert customer.solved_at == shipper.solved_at
    assert customer.created_by == ""
    assert (customer.latest_message_user_id, customer.latest_message_org_id) == (None, None)


@pytest.mark.parametrize("who", list(TABLE))
def test_attachments_follow_their_entry(parties: Parties, who: str) -> None:
    kit, n = parties.kit, parties.number
    actor = parties.actors[who]
    may_read = who in ("shipper agent", "shipper manager", "shipper api", "host")
    if may_read:
        view, stream = kit.open_attachment(actor, n, parties.attachment_id)
        with stream:
            assert stream.read() == b"%PDF internal"
        assert view.filename == "claim.pdf"
    else:
        with pytest.raises(NotFound):
            kit.open_attachment(actor, n, parties.attachment_id)


def test_an_attachment_is_only_found_through_its_own_case(parties: Parties) -> None:
    kit, w = parties.kit, parties.world
    elsewhere = kit.cases.open(w.shipper_actor, type="other").number
    for actor in (w.shipper_actor, Actor.host()):
        with pytest.raises(NotFound) as caught:
            kit.open_attachment(actor, elsewhere, parties.attachment_id)
        assert str(caught.value) == f"attachment {parties.attachment_id!r} not found"


def test_a_timeline_is_its_own_cases_entries(parties: Parties, clock: FrozenClock) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    clock.advance(seconds=60)
    api = parties.actors["shipper api"]
    elsewhere = kit.cases.open(api, type="other", message="elsewhere").number
    kit.cases.solve(api, elsewhere)
    for actor in (w.shipper_actor, Actor.host()):
        timeline = kit.cases.timeline(actor, elsewhere)
        assert [e.body for e in timeline if e.kind.value == "message"] == ["elsewhere"]
        assert {(e.case_number, e.created_at) for e in timeline} == {(elsewhere, clock.now())}
        assert {e.system for e in timeline} == {"api"}
        assert [(e.old_value, e.new_value) for e in timeline if e.event == "solved"] == [
            ("new", "solved")
        ]
        assert {e.case_number for e in kit.cases.timeline(actor, n)} == {n}


@pytest.mark.parametrize("who", [who for who, row in TABLE.items() if row[0]])
def test_an_entry_in_hand_is_read_as_the_timeline_reads_it(parties: Parties, who: str) -> None:
    """:meth:`Scope.readable` (for an entry a change just wrote) agrees with the timeline."""
    kit, n = parties.kit, parties.number
    actor = parties.actors[who]
    everything = kit.cases.timeline(Actor.host(), n)
    with kit.sessions(write=False) as session:
        scope = Scope(session, actor)
        case = scope.case(n)
        read = [scope.readable(case, entry) for entry in everything]
    assert [entry for entry in read if entry is not None] == kit.cases.timeline(actor, n)


def test_a_customer_sees_only_their_own_cases(parties: Parties) -> None:
    kit, w = parties.kit, parties.world
    own = kit.cases.open(w.customer_actor, message="my parcel is late").number
    theirs = kit.cases.open(parties.other_customer, message="mine too").number
    for_nobody = kit.cases.open(w.shipper_actor, type="lost", message="staff only").number
    assert [v.number for v in kit.cases.list(w.customer_actor)] == [own, parties.number]
    assert [v.number for v in kit.cases.list(parties.other_customer)] == [theirs]
    for number in (theirs, for_nobody):
        with pytest.raises(NotFound):
            kit.cases.get(w.customer_actor, number)
    listed = kit.views.list(w.customer_actor, {"view": "all_cases"}).rows
    assert {row.number for row in listed} == {own, parties.number}
    assert kit.views.search(w.customer_actor, theirs).rows == ()


def test_a_customer_does_not_read_partner_events(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    kit.cases.change_type(w.carrier_actor, n, "lost")
    kit.cases.set_owner(w.shipper_manager_actor, n, w.shipper_manager.id)
    seen = {e.event for e in kit.cases.timeline(w.customer_actor, n) if e.event is not None}
    assert seen == {"opened", "status_changed"}


# -- nothing leaks by error type or text ---------------------------------------------------

OUTSIDERS = [
    "other customer of the shipper",
    "other shipper",
    "other carrier",
    "other shipper's api",
    "other shipper's customer",
]


def operations(parties: Parties, actor: Actor) -> dict[str, Callable[[str], Any]]:
    """Every service call on one case number, as ``actor``."""
    kit, w = parties.kit, parties.world
    cases = kit.cases
    user = actor.user_id or w.shipper_agent.id
    return {
        "get": lambda n: cases.get(actor, n),
        "timeline": lambda n: cases.timeline(actor, n),
        "post": lambda n: kit.messages.post(actor, n, "hello", audience=Audience.PARTNERS),
        "post everyone": lambda n: kit.messages.post(actor, n, "hi", audience=Audience.EVERYONE),
        "change_status": lambda n: cases.change_status(actor, n, Status.WAITING),
        "solve": lambda n: cases.solve(actor, n),
        "reopen": lambda n: cases.reopen(actor, n),
        "change_type": lambda n: cases.change_type(actor, n, "lost"),
        "set_owner": lambda n: cases.set_owner(actor, n, user, side=Side.SHIPPER),
        "take": lambda n: cases.take(actor, n),
        "watch": lambda n: cases.watch(actor, n, user),
        "unwatch": lambda n: cases.unwatch(actor, n, w.shipper_manager.id),
        "set_crm_number": lambda n: cases.set_crm_number(actor, n, "MINE-1"),
        "link_crm": lambda n: cases.link_crm(actor, n),
        "link_shipment": lambda n: cases.link_shipment(
            actor, n, ShipmentFacts(reference="SHP-1", shipper="acme")
        ),
        "link_order": lambda n: cases.link_order(actor, n, OrderFacts(number="ORD-1")),
        "open_attachment": lambda n: kit.open_attachment(actor, n, parties.attachment_id),
    }


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_what_a_missing_case_gets_from_every_method(
    parties: Parties, who: str
) -> None:
    actor = parties.actors[who]
    before = parties.kit.cases.timeline(Actor.host(), parties.number)
    for name, call in operations(parties, actor).items():
        missing = missing_error(call)
        assert missing is not None, name
        assert error_for(call, parties.number) == missing, f"{who} / {name}"
        # Staff get NotFound from all (a system cannot take a case, whichever);
        # a customer's refusals never depend on the case either.
        refused_first = name == "take" and not actor.is_user
        if (actor.is_staff and not refused_first) or name in ("get", "timeline", "post"):
            assert missing[0] is NotFound, f"{who} / {name}: {missing}"
    assert parties.kit.cases.timeline(Actor.host(), parties.number) == before


@pytest.mark.parametrize("who", ["other shipper", "other carrier", "other shipper's api"])
def test_outsider_staff_get_not_found_for_every_write(parties: Parties, who: str) -> None:
    actor = parties.actors[who]
    for name, call in operations(parties, actor).items():
        if name == "take" and not actor.is_user:
            continue  # only users take cases: refused before the case is looked up
        with pytest.raises(NotFound) as caught:
            call(parties.number)
        assert str(caught.value) == f"case {parties.number!r} not found", name


# -- parties that see but may not do ------------------------------------------------------


@pytest.mark.parametrize("audience", ["customer", "everyone"])
def test_a_carrier_may_not_write_to_the_customer(parties: Parties, audience: str) -> None:
    w = parties.world
    with pytest.raises(PermissionDenied):
        parties.kit.messages.post(w.carrier_actor, parties.number, "hi", audience=audience)
    with pytest.raises(PermissionDenied):
        parties.kit.messages.post(
            Actor.system_actor("api", org_id=w.carrier.id),
            parties.number,
            "hi",
            audience=audience,
        )


@pytest.mark.parametrize("audience", [Audience.INTERNAL, Audience.PARTNERS])
def test_a_customer_writes_to_the_shipper_or_everyone_only(
    parties: Parties, audience: Audience
) -> None:
    with pytest.raises(PermissionDenied):
        parties.kit.messages.post(
            parties.world.customer_actor, parties.number, "psst", audience=audience
        )


@pytest.mark.parametrize("audience", [Audience.CUSTOMER, Audience.EVERYONE])
def test_no_message_to_a_customer_a_case_does_not_have(
    kit: CaseKit, world: World, audience: Audience
) -> None:
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    with pytest.raises(PermissionDenied):
        kit.messages.post(world.shipper_actor, number, "hi", audience=audience)


def test_a_customer_may_not_work_the_case(parties: Parties) -> None:
    kit, customer, n = parties.kit, parties.world.customer_actor, parties.number
    for call in (
        lambda: kit.cases.change_status(customer, n, Status.SOLVED),
        lambda: kit.cases.change_type(customer, n, "lost"),
        lambda: kit.cases.set_owner(customer, n, None, side=Side.SHIPPER),
        lambda: kit.cases.take(customer, n),
        lambda: kit.cases.watch(customer, n, parties.world.shipper_agent.id),
        lambda: kit.cases.set_crm_number(customer, n, "MINE"),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_an_agent_may_not_take_a_slot_another_agent_holds(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    assert kit.cases.get(w.shipper_actor, n).shipper_owner_id == w.shipper_agent.id
    with pytest.raises(PermissionDenied):
        kit.cases.take(parties.second_agent, n)
    with pytest.raises(PermissionDenied):
        kit.cases.set_owner(parties.second_agent, n, None)
    # The holder hands it over; a manager may reassign it.
    second = parties.second_agent.user_id
    assert kit.cases.set_owner(w.shipper_actor, n, second).shipper_owner_id == second
    view = kit.cases.set_owner(w.shipper_manager_actor, n, w.shipper_agent.id)
    assert view.shipper_owner_id == w.shipper_agent.id


def test_an_empty_slot_is_anyones_on_that_side(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    kit.cases.set_owner(w.shipper_actor, n, None)
    assert kit.cases.take(parties.second_agent, n).shipper_owner_id == parties.second_agent.user_id


def test_one_side_may_not_set_the_other_sides_owner(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    with pytest.raises(PermissionDenied):
        kit.cases.set_owner(w.carrier_manager_actor, n, w.carrier_manager.id, side=Side.SHIPPER)
    with pytest.raises(PermissionDenied):
        kit.cases.set_owner(w.shipper_manager_actor, n, None, side=Side.CARRIER)
    with pytest.raises(InvalidInput):
        kit.cases.set_owner(w.shipper_manager_actor, n, w.carrier_agent.id)


def test_removing_another_users_watch_takes_a_manager(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    agent = w.shipper_agent.id
    kit.cases.watch(w.shipper_actor, n)
    with pytest.raises(PermissionDenied):
        kit.cases.unwatch(parties.second_agent, n, agent)
    kit.cases.watch(parties.second_agent, n, agent)  # adding a colleague is fine
    view = kit.cases.unwatch(w.shipper_manager_actor, n, agent)
    assert agent not in view.watcher_ids
    kit.cases.unwatch(w.shipper_manager_actor, n)  # and one's own watch
    with pytest.raises(InvalidInput):  # the other side's users are not ours to add
        kit.cases.watch(w.shipper_actor, n, w.carrier_agent.id)


def test_the_host_records_no_crm_number(parties: Parties) -> None:
    with pytest.raises(PermissionDenied):
        parties.kit.cases.set_crm_number(Actor.host(), parties.number, "HOST-1")


# -- CRM numbers, internal notes and owners stay where they belong --------------------------


def test_crm_numbers_are_each_organizations_own(kit: CaseKit) -> None:
    host = Actor.host()
    # The carrier's organization is created first, so its id sorts before the shipper's.
    carrier = kit.directory.add_organization(host, name="C", role=OrgRole.CARRIER, external_id="c")
    shipper = kit.directory.add_organization(host, name="S", role=OrgRole.SHIPPER, external_id="s")
    assert carrier.id is not None
    assert shipper.id is not None
    s_user = kit.directory.add_user(host, org_id=shipper.id, name="S", email="s@s.test")
    c_user = kit.directory.add_user(host, org_id=carrier.id, name="C", email="c@c.test")
    s_actor, c_actor = Actor.of_user(s_user), Actor.of_user(c_user)
    n = kit.cases.open(s_actor, type="lost", carrier=carrier.id).number
    assert kit.cases.set_crm_number(c_actor, n, "CARRIER-7").crm_number == "CARRIER-7"
    assert kit.cases.get(s_actor, n).crm_number is None
    assert kit.cases.get(host, n).crm_number is None  # the host's view holds the shipper's
    kit.cases.set_crm_number(s_actor, n, "SHIPPER-3")
    assert kit.cases.get(s_actor, n).crm_number == "SHIPPER-3"
    assert kit.cases.get(c_actor, n).crm_number == "CARRIER-7"
    assert kit.cases.get(host, n).crm_number == "SHIPPER-3"
    assert [v.crm_number for v in kit.cases.list(c_actor)] == ["CARRIER-7"]
    assert "SHIPPER-3" not in repr(kit.cases.timeline(c_actor, n))
    assert "CARRIER-7" not in repr(kit.cases.timeline(s_actor, n))
    assert kit.views.search(s_actor, "CARRIER-7").rows == ()
    assert [r.number for r in kit.views.search(c_actor, "CARRIER-7").rows] == [n]
    assert [r.crm_number for r in kit.views.list(s_actor, {"view": "all_cases"}).rows] == [
        "SHIPPER-3"
    ]
    export = "".join(kit.views.export_csv(c_actor, {"view": "all_cases"}))
    assert "CARRIER-7" in export
    assert "SHIPPER-3" not in export


def test_internal_notes_stay_in_their_organization(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    for actor, hidden in (
        (w.carrier_actor, "shipper internal"),
        (w.shipper_actor, "carrier internal"),
        (w.customer_actor, "shipper internal"),
        (w.customer_actor, "carrier internal"),
        (w.customer_actor, "carrier partners"),
    ):
        assert hidden not in repr(kit.cases.timeline(actor, n))
        export = "".join(kit.views.export_csv(actor, {"view": "all_cases"}))
        assert hidden not in export
        rows = kit.views.list(actor, {"view": "all_cases"}).rows
        assert all(hidden not in (row.latest_message_excerpt or "") for row in rows)
        # The list's excerpt is the latest message of the actor's own timeline.
        said = [e.body for e in kit.cases.timeline(actor, n) if e.kind.value == "message"]
        assert [row.latest_message_excerpt for row in rows] == [said[-1]]


def test_watcher_and_crm_events_stay_in_their_organization(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number

    def events(actor: Actor) -> list[tuple[str | None, int | None]]:
        timeline = kit.cases.timeline(actor, n)
        return [(e.event, e.org_id) for e in timeline if e.event in SIDE_EVENTS]

    assert set(events(w.shipper_actor)) == {
        ("watcher_added", w.shipper.id),
        ("crm_number_set", w.shipper.id),
    }
    assert set(events(w.carrier_actor)) == {
        ("watcher_added", w.carrier.id),
        ("crm_number_set", w.carrier.id),
    }
    assert events(w.customer_actor) == []
    assert len(events(Actor.host())) == 4


SIDE_EVENTS = {"watcher_added", "watcher_removed", "crm_number_set"}


def test_customers_see_no_owners_in_any_list(parties: Parties) -> None:
    kit, w = parties.kit, parties.world
    customer = w.customer_actor
    rows = kit.views.list(customer, {"view": "all_cases"}).rows
    assert [(r.owners, r.shipper_owner_id, r.carrier_owner_id) for r in rows] == [((), None, None)]
    # Neither a view nor a filter may tell a customer who owns the case.
    owner = w.shipper_agent.id
    by_owner = {"view": "all_cases", "filters": [{"field": "owner", "op": "in", "value": [owner]}]}
    not_owner = {
        "view": "all_cases",
        "filters": [{"field": "owner", "op": "not_in", "value": [owner]}],
    }
    assert kit.views.count(customer, by_owner) == 0
    assert kit.views.count(customer, not_owner) == 1
    counts = kit.views.counts(customer)
    assert counts["new_cases"] == counts["all_active"] == 1
    kit.cases.set_owner(w.shipper_actor, parties.number, None)
    kit.cases.set_owner(w.carrier_actor, parties.number, None)
    assert kit.views.counts(customer) == counts
    assert kit.views.count(customer, by_owner) == 0
    watching = {
        "view": "all_cases",
        "filters": [{"field": "watcher", "op": "in", "value": [w.shipper_manager.id]}],
    }
    assert kit.views.count(customer, watching) == 0
    # Staff still filter by owner and watcher as before.
    assert kit.views.count(w.shipper_actor, watching) == 1


def test_watchers_are_seen_by_their_own_organization(parties: Parties) -> None:
    kit, w = parties.kit, parties.world
    watched = {
        "view": "all_cases",
        "filters": [{"field": "watcher", "op": "in", "value": [w.shipper_manager.id]}],
    }
    assert kit.views.count(w.shipper_actor, watched) == 1
    assert kit.views.count(w.carrier_actor, watched) == 0
    assert kit.cases.get(w.carrier_actor, parties.number).watcher_ids == (w.carrier_manager.id,)


def test_a_carrier_added_later_reads_partner_history_but_not_internal_notes(
    kit: CaseKit, world: World
) -> None:
    w = world
    n = kit.cases.open(w.shipper_actor, type="lost", message="before the carrier").number
    kit.messages.post(w.shipper_actor, n, "note to self", audience=Audience.INTERNAL)
    with pytest.raises(NotFound):
        kit.cases.get(w.carrier_actor, n)
    kit.cases.link_shipment(
        w.shipper_actor, n, ShipmentFacts(reference="SHP-9", shipper="acme", carrier="fast")
    )
    bodies = {e.body for e in kit.cases.timeline(w.carrier_actor, n) if e.kind.value == "message"}
    assert bodies == {"before the carrier"}


def test_system_actors_act_for_their_organization_only(parties: Parties) -> None:
    kit, w, n = parties.kit, parties.world, parties.number
    api = Actor.system_actor("api", org_id=w.carrier.id)
    note = kit.messages.post(api, n, "from the carrier's TMS", audience=Audience.INTERNAL)
    assert note.org_id == w.carrier.id
    assert "from the carrier's TMS" not in repr(kit.cases.timeline(w.shipper_actor, n))
    assert "from the carrier's TMS" in repr(kit.cases.timeline(w.carrier_manager_actor, n))
    assert kit.cases.set_crm_number(api, n, "TMS-1").crm_number == "TMS-1"
    assert kit.cases.get(w.carrier_actor, n).crm_number == "TMS-1"
    other = kit.cases.open(parties.other.shipper_actor, type="other").number
    with pytest.raises(NotFound):
        kit.messages.post(api, other, "hello?")


def test_a_manager_role_does_not_cross_organizations(parties: Parties) -> None:
    kit, o, n = parties.kit, parties.other, parties.number
    admin = kit.directory.add_user(
        Actor.host(), org_id=o.shipper.id, name="Ada", email="ada@x.test", role=UserRole.ADMIN
    )
    with pytest.raises(NotFound):
        kit.cases.set_owner(Actor.of_user(admin), n, None, side=Side.SHIPPER)


@pytest.mark.parametrize("who", ["carrier agent", "carrier manager", "carrier api"])
def test_the_carrier_never_reads_the_customers_account(
    parties: Parties, kit: CaseKit, who: str
) -> None:
    w, n = parties.world, parties.number
    kit.cases.link_order(
        w.shipper_actor,
        n,
        OrderFacts(number="ORD-7", customer_email=w.customer.email, customer_name="Casey C."),
    )
    # By mail, the customer's entry carries its address.
    raw = (
        f"From: {w.customer.email}\r\nTo: support@acme.test\r\nSubject: Re: [{n}]\r\n"
        "Message-ID: <by-mail@example.test>\r\n\r\ncustomer by mail\r\n"
    ).encode()
    assert kit.inbound.receive(raw).outcome.value == "appended"
    actor = parties.actors[who]
    assert kit.cases.get(actor, n).customer_id is None
    facts = kit.cases.facts(actor, n)
    assert facts.customer is None
    assert facts.order is not None
    assert (facts.order.number, facts.order.customer_email, facts.order.customer_name) == (
        "ORD-7",
        None,
        None,
    )

    def said() -> list[Any]:
        return [e for e in kit.cases.timeline(actor, n) if e.actor_kind == "customer"]

    # Not the customer's messages to the shipper (from the portal or by mail)
    # until the shipper shares them; then it reads them, still without who the
    # customer is (nor the address the mail came from).
    bodies = ["customer shared", "customer everyone"]
    assert [e.body for e in said() if e.kind.value == "message"] == bodies
    by_mail = next(
        e.id for e in kit.cases.timeline(w.shipper_actor, n) if e.body == "customer by mail"
    )
    kit.cases.share_with_carrier(w.shipper_actor, n, parties.entry_ids["customer to the shipper"])
    kit.cases.share_with_carrier(w.shipper_actor, n, by_mail)
    bodies = ["customer to the shipper", *bodies, "customer by mail"]
    assert [e.body for e in said() if e.kind.value == "message"] == bodies
    assert all(e.customer_id is None and e.author_email is None for e in said())
    assert w.customer.email not in repr(kit.cases.timeline(actor, n))
    # The shipper's staff read it all.
    shipper = parties.actors["shipper agent"]
    assert kit.cases.get(shipper, n).customer_id == w.customer.id
    assert kit.cases.facts(shipper, n).order.customer_email == w.customer.email  # type: ignore[union-attr]
    mine = [e for e in kit.cases.timeline(shipper, n) if e.actor_kind == "customer"]
    assert {e.customer_id for e in mine} == {w.customer.id}
    assert w.customer.email in {e.author_email for e in mine}


def test_the_carrier_does_not_read_which_customer_opened_a_case(kit: CaseKit, world: World) -> None:
    w = world
    kit.directory.set_feedback_portal(Actor.host(), w.shipper.id, True)
    n = kit.cases.open(w.customer_actor, message="The box was wet").number
    kit.cases.link_shipment(
        w.shipper_actor, n, ShipmentFacts(reference="SHP-9", shipper="acme", carrier="fast")
    )
    assert kit.cases.get(w.shipper_actor, n).created_by == f"customer:{w.customer.id}"
    seen = kit.cases.get(w.carrier_actor, n)
    assert (seen.created_by, seen.customer_id) == ("customer", None)


# -- the scoped reads, detail by detail -----------------------------------------------------


def test_a_customers_latest_message_is_the_latest_meant_for_them(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    w = world
    opened = clock.now()
    first = kit.cases.open(w.customer_actor, message="first parcel").number
    clock.advance(seconds=60)
    second = kit.cases.open(w.customer_actor, message="second parcel").number
    clock.advance(seconds=60)
    answered = clock.now()
    kit.messages.post(w.shipper_actor, first, "on it", audience=Audience.CUSTOMER)
    clock.advance(seconds=60)
    # Neither a note they do not read nor an event they do is a message to them.
    kit.messages.post(w.shipper_actor, first, "note", audience=Audience.INTERNAL)
    kit.cases.solve(w.shipper_actor, second)
    latest = {v.number: v.latest_message_at for v in kit.cases.list(w.customer_actor)}
    assert latest == {first: answered, second: opened + timedelta(seconds=60)}
    # On a case without a carrier, the shipper's list shows the customer's message.
    rows = kit.views.list(w.shipper_actor, {"view": "all_cases"}).rows
    assert {r.number: r.latest_message_excerpt for r in rows}[second] == "second parcel"


def test_the_case_pages_facts_are_read_in_full_by_the_shipper(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    w, host = world, Actor.host()
    sue = kit.directory.add_user(host, org_id=w.shipper.id, name="Sue", email="sue@acme.test")
    kit.cases.open(Actor.of_user(sue), type="lost", message="another case")
    n = kit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id, message="Hi"
    ).number
    bare = kit.cases.facts(w.shipper_actor, n)
    assert (bare.shipment, bare.order) == (None, None)
    placed = clock.now() - timedelta(days=2)
    order = OrderFacts(
        number="ORD-7",
        customer_email=w.customer.email,
        customer_name="Casey C.",
        brand="Acme Home",
        placed_at=placed,
    )
    kit.cases.link_order(w.shipper_actor, n, order)
    clock.advance(seconds=60)
    facts = ShipmentFacts(reference="SHP-9", shipper="acme", carrier="fast", tracking_number="1Z9")
    kit.cases.link_shipment(w.shipper_actor, n, facts)
    kit.cases.watch(host, n, w.shipper_manager.id)  # a watcher who wrote nothing
    kit.messages.post(w.carrier_manager_actor, n, "ours alone", audience=Audience.INTERNAL)
    seen = kit.cases.facts(w.shipper_actor, n)
    assert seen.shipment is not None
    shipment = seen.shipment
    assert (shipment.reference, shipment.carrier_org_id, shipment.tracking_number) == (
        "SHP-9",
        w.carrier.id,
        "1Z9",
    )
    assert shipment.updated_at == clock.now()
    assert seen.order == OrderView(
        number="ORD-7",
        customer_email=w.customer.email,
        customer_name="Casey C.",
        brand="Acme Home",
        placed_at=placed,
    )
    assert seen.customer == CustomerView(
        id=w.customer.id, name="Casey Customer", email=w.customer.email
    )
    # Its owner and its own watcher; not the author of the carrier's note, nor
    # of another case.
    shipper_people = {w.shipper_agent.id: "Sam Shipper", w.shipper_manager.id: "Mia Manager"}
    assert seen.people == shipper_people
    carrier_people = {w.shipper_agent.id: "Sam Shipper", w.carrier_manager.id: "Max Dispatch"}
    assert kit.cases.facts(w.carrier_actor, n).people == carrier_people


def test_the_carrier_reads_the_address_of_mail_written_for_it(kit: CaseKit, world: World) -> None:
    w = world
    n = kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi").number
    raw = (
        f"From: {w.carrier_agent.email}\r\nTo: support@acme.test\r\nSubject: Re: [{n}]\r\n"
        "Message-ID: <by-the-carrier@example.test>\r\n\r\nDelivered.\r\n"
    ).encode()
    assert kit.inbound.receive(raw).outcome.value == "appended"
    (entry,) = [e for e in kit.cases.timeline(w.carrier_actor, n) if e.body == "Delivered."]
    assert entry.author_email == w.carrier_agent.email
