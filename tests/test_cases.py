"""Opening and working cases through kit.cases, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casekit import (
    Actor,
    Audience,
    Conflict,
    EventKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ShipmentFacts,
    Side,
    Source,
    Status,
)


def events(kit, actor, number):
    return [e.event for e in kit.cases.timeline(actor, number) if e.event is not None]


def test_shipper_opens_a_case_and_owns_it(kit, world, clock):
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        customer=world.customer.id,
        subject="  WISMO call  ",
        message="Customer called: where is the order?",
    )
    assert case.number == f"CV{case.id:06d}"
    assert case.status is Status.NEW
    assert case.source is Source.USER
    assert case.subject == "WISMO call"
    assert case.shipper_owner_id == world.shipper_agent.id
    assert case.carrier_owner_id is None
    assert case.created_at == clock.now()
    assert case.latest_message_at == clock.now()
    assert case.latest_message_user_id == world.shipper_agent.id
    timeline = kit.cases.timeline(world.shipper_actor, case.number)
    assert [(e.kind.value, e.event) for e in timeline] == [
        ("event", EventKind.OPENED),
        ("message", None),
    ]
    assert timeline[1].audience is Audience.PARTNERS
    assert timeline[1].body == "Customer called: where is the order?"


def test_case_numbers_are_unique_and_prefixed(kit, world):
    numbers = {kit.cases.open(world.shipper_actor, type="other").number for _ in range(5)}
    assert len(numbers) == 5
    assert all(n.startswith("CV") for n in numbers)


def test_carrier_opens_a_case_naming_the_shipper(kit, world):
    case = kit.cases.open(
        world.carrier_actor,
        type="delivery_scheduling",
        shipper=world.shipper.id,
        message="Consignee unreachable",
    )
    assert case.carrier_org_id == world.carrier.id
    assert case.carrier_owner_id == world.carrier_agent.id
    assert case.shipper_owner_id is None
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.carrier_actor, type="other")
    assert "shipper" in error.value.errors


def test_customer_opens_feedback_through_the_portal(kit, world):
    case = kit.cases.open(world.customer_actor, message="The box was wet.")
    assert case.type == "customer_feedback"
    assert case.source is Source.PORTAL
    assert case.customer_id == world.customer.id
    assert case.shipper_org_id == world.shipper.id
    assert case.status is Status.NEW
    assert case.owner_ids == ()
    (message,) = [e for e in kit.cases.timeline(world.customer_actor, case.number) if e.body]
    # Feedback is for the shipper: the carrier, once on the case, does not read it.
    assert message.audience is Audience.CUSTOMER
    shipper_reads = [e.body for e in kit.cases.timeline(world.shipper_actor, case.number)]
    assert "The box was wet." in shipper_reads
    kit.cases.link_shipment(
        world.shipper_actor,
        case.number,
        ShipmentFacts(reference="SHP-W", shipper="acme", carrier="fast"),
    )
    carrier_reads = [e.body for e in kit.cases.timeline(world.carrier_actor, case.number)]
    assert "The box was wet." not in carrier_reads


def test_take_ownership_can_be_declined(kit, world):
    case = kit.cases.open(world.shipper_actor, type="lost", take_ownership=False)
    assert case.owner_ids == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"type": "no_such_type"}, "type"),
        ({}, "type"),
        ({"type": "lost", "subject": "x" * 301}, "subject"),
        ({"type": "lost", "source": "fax"}, "source"),
        ({"type": "lost", "source": "rule"}, "source"),
        ({"type": "lost", "audience": "the world", "message": "hi"}, "audience"),
        ({"type": "lost", "message": "   "}, "body"),
    ],
)
def test_bad_input_names_the_field(kit, world, kwargs, field):
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.shipper_actor, **kwargs)
    assert field in error.value.errors
    assert kit.cases.list(Actor.host()) == []


def test_parties_are_checked(kit, world):
    other = kit.directory.add_organization(Actor.host(), name="Other", role="shipper")
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.shipper_actor, type="lost", shipper=other.id)
    assert "shipper" in error.value.errors
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.shipper_actor, type="lost", carrier=other.id)
    assert "carrier" in error.value.errors
    stranger = kit.directory.add_customer(Actor.host(), shipper_org_id=other.id, email="s@x.test")
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.shipper_actor, type="lost", customer=stranger.id)
    assert "customer" in error.value.errors
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.shipper_actor, type="lost", customer=99999)
    assert "customer" in error.value.errors
    # The host names both: the customer must be the named shipper's.
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(Actor.host(), type="lost", shipper=other.id, customer=world.customer.id)
    assert list(error.value.errors) == ["customer"]
    opened = kit.cases.open(Actor.host(), type="lost", shipper=other.id, customer=stranger.id)
    assert opened.customer_id == stranger.id


def test_host_and_system_actors_choose_source(kit, world):
    case = kit.cases.open(Actor.host(), type="lost", shipper=world.shipper.id, source="email")
    assert case.source is Source.EMAIL
    rule = Actor.system_actor("rule", org_id=world.shipper.id)
    assert kit.cases.open(rule, type="lost").source is Source.RULE


def test_status_changes_are_audited_and_dated(kit, world, clock):
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    clock.advance(hours=1)
    view = kit.cases.change_status(world.shipper_actor, number, "waiting")
    assert view.status is Status.WAITING
    assert view.updated_at == clock.now()
    clock.advance(hours=1)
    solved = kit.cases.solve(world.carrier_actor, number)
    assert solved.status is Status.SOLVED
    assert solved.solved_at == clock.now()
    assert solved.solved_by == f"user:{world.carrier_agent.id}"
    clock.advance(hours=1)
    reopened = kit.cases.reopen(world.shipper_actor, number)
    assert reopened.status is Status.OPEN
    assert reopened.solved_at is None
    assert events(kit, world.shipper_actor, number) == [
        EventKind.OPENED,
        EventKind.STATUS_CHANGED,
        EventKind.SOLVED,
        EventKind.REOPENED,
    ]


def test_manual_status_rules(kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost").number
    with pytest.raises(InvalidInput):
        kit.cases.change_status(world.shipper_actor, number, "new")
    with pytest.raises(InvalidInput):
        kit.cases.change_status(world.shipper_actor, number, "closed-ish")
    with pytest.raises(InvalidInput):
        kit.cases.reopen(world.shipper_actor, number)
    kit.cases.solve(world.shipper_actor, number)
    with pytest.raises(InvalidInput):
        kit.cases.solve(world.shipper_actor, number)
    with pytest.raises(InvalidInput):
        kit.cases.reopen(world.shipper_actor, number, status="solved")
    assert kit.cases.reopen(world.shipper_actor, number, status="waiting").status is Status.WAITING


def test_customer_cannot_change_status(kit, world):
    number = kit.cases.open(world.customer_actor, message="hello").number
    with pytest.raises(PermissionDenied):
        kit.cases.solve(world.customer_actor, number)


def test_conflicting_updates_are_detected(kit, world):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    first = kit.cases.change_type(
        world.shipper_actor, case.number, "osd_damaged", expected_version=case.version
    )
    assert first.version > case.version
    with pytest.raises(Conflict) as error:
        kit.cases.solve(world.carrier_actor, case.number, expected_version=case.version)
    assert error.value.current_version == first.version
    assert kit.cases.get(world.shipper_actor, case.number).status is Status.NEW


def test_messages_never_conflict_but_bump_the_version(kit, world):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    kit.messages.post(world.carrier_actor, case.number, "news")
    after = kit.cases.get(world.shipper_actor, case.number)
    assert after.version > case.version
    with pytest.raises(Conflict):
        kit.cases.change_type(
            world.shipper_actor, case.number, "other", expected_version=case.version
        )


def test_change_type(kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost").number
    with pytest.raises(InvalidInput):
        kit.cases.change_type(world.shipper_actor, number, "nope")
    view = kit.cases.change_type(world.shipper_actor, number, "osd_shortage")
    assert view.type == "osd_shortage"
    (changed,) = [
        e
        for e in kit.cases.timeline(world.shipper_actor, number)
        if e.event is EventKind.TYPE_CHANGED
    ]
    assert (changed.old_value, changed.new_value) == ("lost", "osd_shortage")


def test_a_change_of_several_things_is_all_or_nothing(kit, world):
    me = world.shipper_actor
    number = kit.cases.open(me, type="lost").number
    kit.cases.change_status(me, number, Status.OPEN)
    before = kit.cases.get(me, number)
    for changes in (
        {"type": "osd_shortage", "status": "new"},
        {"type": "osd_shortage", "crm_number": "C" * 201},
        {"type": "osd_shortage", "colour": "red"},
        {"type": ["lost"]},
        {"crm_number": 5},
        {},
    ):
        with pytest.raises(InvalidInput):
            kit.cases.change(me, number, changes)
    with pytest.raises(Conflict):
        kit.cases.change(me, number, {"type": "osd_shortage"}, expected_version=before.version - 1)
    assert kit.cases.get(me, number) == before
    view = kit.cases.change(
        me, number, {"type": "osd_shortage", "status": "solved", "crm_number": " CRM-9 "}
    )
    assert (view.type, view.status, view.crm_number) == ("osd_shortage", Status.SOLVED, "CRM-9")
    assert view.version == before.version + 1
    events = [e.event for e in kit.cases.timeline(me, number) if e.event][-3:]
    assert events == [EventKind.TYPE_CHANGED, EventKind.SOLVED, EventKind.CRM_NUMBER_SET]
    reopened = kit.cases.change(me, number, {"status": "waiting"})
    assert reopened.status is Status.WAITING


def test_owners_one_per_side(kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    view = kit.cases.take(world.carrier_actor, number)
    assert view.shipper_owner_id == world.shipper_agent.id
    assert view.carrier_owner_id == world.carrier_agent.id
    # The carrier manager may hand the carrier side over; the agent keeps no claim.
    view = kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_manager.id)
    assert view.carrier_owner_id == world.carrier_manager.id
    # An agent cannot take a slot held by someone else.
    with pytest.raises(PermissionDenied):
        kit.cases.take(world.carrier_actor, number)
    # An owner hands over to a colleague; the new owner must be on that side.
    view = kit.cases.set_owner(world.shipper_actor, number, world.shipper_manager.id)
    assert view.shipper_owner_id == world.shipper_manager.id
    with pytest.raises(InvalidInput) as error:
        kit.cases.set_owner(world.shipper_manager_actor, number, world.carrier_agent.id)
    assert "user_id" in error.value.errors
    with pytest.raises(PermissionDenied):
        kit.cases.set_owner(world.shipper_actor, number, world.carrier_agent.id, side=Side.CARRIER)
    # Releasing an owned slot.
    view = kit.cases.set_owner(world.shipper_manager_actor, number, None)
    assert view.shipper_owner_id is None
    owner_events = [
        e
        for e in kit.cases.timeline(world.shipper_actor, number)
        if e.event is EventKind.OWNER_CHANGED
    ]
    assert len(owner_events) == 4


def test_set_owner_on_a_case_without_carrier(kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost").number
    with pytest.raises(InvalidInput):
        kit.cases.set_owner(Actor.host(), number, world.carrier_agent.id, side="carrier")
    with pytest.raises(InvalidInput):
        kit.cases.set_owner(Actor.host(), number, None, side="left")


def test_watchers(kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    kit.cases.watch(world.shipper_actor, number, world.shipper_manager.id)
    view = kit.cases.watch(world.carrier_actor, number)
    assert view.watcher_ids == (world.carrier_agent.id,)
    shipper_view = kit.cases.get(world.shipper_actor, number)
    assert shipper_view.watcher_ids == (world.shipper_manager.id,)
    assert set(kit.cases.get(Actor.host(), number).watcher_ids) == {
        world.shipper_manager.id,
        world.carrier_agent.id,
    }
    # Watching twice is one watch; adding someone of the other side is refused.
    kit.cases.watch(world.carrier_actor, number)
    with pytest.raises(InvalidInput):
        kit.cases.watch(world.carrier_actor, number, world.shipper_agent.id)
    # An agent may not remove a colleague's watch; the manager may remove their own.
    with pytest.raises(PermissionDenied):
        kit.cases.unwatch(world.shipper_actor, number, world.shipper_manager.id)
    view = kit.cases.unwatch(world.shipper_manager_actor, number)
    assert view.watcher_ids == ()
    # Watcher events are internal to the watcher's organization.
    carrier_events = events(kit, world.carrier_actor, number)
    assert carrier_events.count(EventKind.WATCHER_ADDED) == 1
    assert EventKind.WATCHER_REMOVED not in carrier_events


def test_crm_numbers_belong_to_one_organization(kit, world):
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    kit.cases.set_crm_number(world.shipper_actor, number, " ZD-1 ")
    kit.cases.set_crm_number(world.carrier_actor, number, "SF-9")
    assert kit.cases.get(world.shipper_manager_actor, number).crm_number == "ZD-1"
    assert kit.cases.get(world.carrier_actor, number).crm_number == "SF-9"
    kit.cases.set_crm_number(world.shipper_actor, number, "ZD-2")
    assert kit.cases.get(world.shipper_actor, number).crm_number == "ZD-2"
    kit.cases.set_crm_number(world.shipper_actor, number, None)
    assert kit.cases.get(world.shipper_actor, number).crm_number is None
    assert kit.cases.get(world.carrier_actor, number).crm_number == "SF-9"
    bodies = [
        (e.old_value, e.new_value)
        for e in kit.cases.timeline(world.carrier_actor, number)
        if e.event is EventKind.CRM_NUMBER_SET
    ]
    assert bodies == [(None, "SF-9")]
    with pytest.raises(PermissionDenied):
        kit.cases.set_crm_number(Actor.host(), number, "X")
    with pytest.raises(InvalidInput):
        kit.cases.set_crm_number(world.shipper_actor, number, "9" * 201)


def test_list_pages_newest_first(kit, world, clock):
    numbers = []
    for _ in range(5):
        clock.advance(minutes=1)
        numbers.append(kit.cases.open(world.shipper_actor, type="lost").number)
    first = kit.cases.list(world.shipper_actor, limit=2)
    assert [c.number for c in first] == numbers[::-1][:2]
    rest = kit.cases.list(world.shipper_actor, limit=10, before_id=first[-1].id)
    assert [c.number for c in rest] == numbers[::-1][2:]
    with pytest.raises(InvalidInput):
        kit.cases.list(world.shipper_actor, limit=0)


def test_missing_case_is_not_found(kit, world):
    with pytest.raises(NotFound):
        kit.cases.get(world.shipper_actor, "CV999999")
    with pytest.raises(NotFound):
        kit.cases.solve(world.shipper_actor, "CV999999")


def test_dates_track_every_change(kit, world, clock):
    number = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id).number
    for change in (
        lambda: kit.messages.post(world.carrier_actor, number, "hi"),
        lambda: kit.cases.watch(world.shipper_actor, number),
        lambda: kit.cases.take(world.carrier_actor, number),
        lambda: kit.cases.change_status(world.shipper_actor, number, "waiting"),
    ):
        clock.advance(timedelta(minutes=5))
        change()
        assert kit.cases.get(world.shipper_actor, number).updated_at == clock.now()


def test_customer_latest_message_is_the_latest_meant_for_them(kit, world, clock):
    case = kit.cases.open(world.customer_actor, message="Where is my order?")
    assert kit.cases.get(world.customer_actor, case.number).latest_message_at == clock.now()
    opened_at = clock.now()
    clock.advance(hours=1)
    kit.messages.post(world.shipper_actor, case.number, "Asking the carrier", audience="partners")
    view = kit.cases.get(world.customer_actor, case.number)
    assert view.latest_message_at == opened_at
    assert view.latest_message_org_id is None
    assert view.created_by == ""
    staff = kit.cases.get(world.shipper_actor, case.number)
    assert staff.latest_message_at == clock.now()
    assert staff.created_by == f"customer:{world.customer.id}"
    clock.advance(hours=1)
    kit.messages.post(world.shipper_actor, case.number, "On its way", audience="everyone")
    kit.cases.solve(world.shipper_actor, case.number)
    view = kit.cases.get(world.customer_actor, case.number)
    assert view.latest_message_at == clock.now()
    assert view.latest_message_at.tzinfo is not None
    assert view.solved_by is None
    assert view.solved_at == clock.now()


def test_a_carrier_cannot_name_the_shippers_customer(kit, world):
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(
            world.carrier_actor, type="lost", shipper=world.shipper.id, customer=world.customer.id
        )
    assert "customer" in error.value.errors
    # The same answer for an id that is nobody's: nothing to learn from it.
    with pytest.raises(InvalidInput) as other:
        kit.cases.open(world.carrier_actor, type="lost", shipper=world.shipper.id, customer=99999)
    assert other.value.errors == error.value.errors


def test_a_customer_names_only_their_own_orders(kit, world):
    from casekit import OrderFacts

    host = Actor.host()
    theirs = kit.cases.open(
        host,
        type="other",
        shipper=world.shipper.id,
        order=OrderFacts(number="1042", customer_email=world.customer.email.upper()),
    )
    kit.cases.open(
        host,
        type="other",
        shipper=world.shipper.id,
        order=OrderFacts(number="2000", customer_email="someone@else.test"),
    )
    assert theirs.order_id is not None
    mine = kit.cases.open(world.customer_actor, message="Torn box", order="1042")
    assert mine.order_id == theirs.order_id
    with pytest.raises(NotFound) as stranger:
        kit.cases.open(world.customer_actor, message="Let me see", order="2000")
    with pytest.raises(NotFound) as missing:
        kit.cases.open(world.customer_actor, message="Let me see", order="3000")
    assert str(stranger.value).replace("2000", "N") == str(missing.value).replace("3000", "N")
    with pytest.raises(InvalidInput) as error:
        kit.cases.open(world.customer_actor, message="Where?", shipment="S-1")
    assert "shipment" in error.value.errors
