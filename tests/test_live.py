"""Live updates: each viewer's signal, read markers and who is writing, on every backend.

The signal of a case must move for a viewer exactly when something it may read
changes, never for what it may not (an internal note of the other side, the
shipper's conversation with its customer before it is shared): a bare version
number would tell the carrier that the shipper wrote something.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from casekit import Actor, CaseKit, InvalidInput, NotFound, PermissionDenied
from casekit.query.live import PRESENCE_SECONDS, PRESENCE_WRITE_SECONDS
from casekit.store import tables
from casekit.testing import FrozenClock, World

VIEWERS = ("shipper", "shipper_manager", "carrier", "customer")


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    """A case between the shipper, the carrier and the customer."""
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Damage noted at delivery",
    ).number


def viewers(world: World) -> dict[str, Actor]:
    return {
        "shipper": world.shipper_actor,
        "shipper_manager": world.shipper_manager_actor,
        "carrier": world.carrier_actor,
        "customer": world.customer_actor,
    }


def moved_for(kit: CaseKit, world: World, number: str, change: Callable[[], object]) -> set[str]:
    """The viewers whose signal of the case ``change`` moved."""
    actors = viewers(world)
    before = {name: kit.live.state(actor, number).signal for name, actor in actors.items()}
    change()
    return {
        name
        for name, actor in actors.items()
        if kit.live.state(actor, number).signal != before[name]
    }


def test_each_viewers_signal_moves_only_for_what_it_may_read(
    kit: CaseKit, world: World, number: str
) -> None:
    shipper, carrier, customer = world.shipper_actor, world.carrier_actor, world.customer_actor
    post = kit.messages.post
    staff_of_shipper = {"shipper", "shipper_manager"}

    assert (
        moved_for(kit, world, number, lambda: post(shipper, number, "note", audience="internal"))
        == staff_of_shipper
    )
    assert moved_for(
        kit, world, number, lambda: post(carrier, number, "note", audience="internal")
    ) == {"carrier"}
    assert moved_for(
        kit, world, number, lambda: post(shipper, number, "to you", audience="customer")
    ) == staff_of_shipper | {"customer"}
    customer_entry = post(customer, number, "photos attached")
    # The customer's message above moved the shipper and the customer only.
    assert moved_for(
        kit, world, number, lambda: post(customer, number, "and another")
    ) == staff_of_shipper | {"customer"}
    assert moved_for(
        kit, world, number, lambda: post(carrier, number, "for partners", audience="partners")
    ) == staff_of_shipper | {"carrier"}
    # Shared with the carrier, the customer's message becomes the carrier's to read.
    assert moved_for(
        kit, world, number, lambda: kit.cases.share_with_carrier(shipper, number, customer_entry.id)
    ) == staff_of_shipper | {"carrier"}
    assert moved_for(
        kit, world, number, lambda: post(shipper, number, "all", audience="everyone")
    ) == set(VIEWERS)


def test_the_state_counts_what_the_viewer_reads_and_strangers_find_nothing(
    kit: CaseKit, world: World, number: str
) -> None:
    kit.messages.post(world.shipper_actor, number, "secret", audience="internal")
    shipper = kit.live.state(world.shipper_actor, number)
    carrier = kit.live.state(world.carrier_actor, number)
    assert shipper.entries == len(kit.cases.timeline(world.shipper_actor, number))
    assert carrier.entries == len(kit.cases.timeline(world.carrier_actor, number))
    assert carrier.entries < shipper.entries
    assert carrier.latest_entry_id == kit.cases.timeline(world.carrier_actor, number)[-1].id
    assert carrier.latest_entry_id < shipper.latest_entry_id
    stranger = World.build(kit, tag="-2")
    for actor in (stranger.shipper_actor, stranger.carrier_actor, stranger.customer_actor):
        with pytest.raises(NotFound):
            kit.live.state(actor, number)
        with pytest.raises(NotFound):
            kit.live.mark_read(actor, number)


def test_unread_is_a_readable_entry_newer_than_the_marker_and_not_ones_own(
    kit: CaseKit, world: World, number: str
) -> None:
    shipper, manager, carrier = (
        world.shipper_actor,
        world.shipper_manager_actor,
        world.carrier_actor,
    )
    case_id = kit.cases.get(shipper, number).id
    # Never opened: the case's entries are unread, but not the creator's own message.
    assert kit.live.unread(manager, [case_id]) == {case_id}
    assert kit.live.unread(shipper, [case_id]) == set()
    assert kit.live.state(manager, number).unread
    marker = kit.live.mark_read(manager, number)
    assert marker == kit.live.state(manager, number).latest_entry_id
    assert kit.live.unread(manager, [case_id]) == set()
    assert not kit.live.state(manager, number).unread

    # The other side's internal note is nothing to read; its partners message is.
    kit.messages.post(carrier, number, "ours", audience="internal")
    assert kit.live.unread(manager, [case_id]) == set()
    kit.messages.post(carrier, number, "yours", audience="partners")
    assert kit.live.unread(manager, [case_id]) == {case_id}
    assert kit.live.unread(shipper, [case_id]) == {case_id}
    # One's own message is not unread.
    kit.live.mark_read(manager, number)
    kit.messages.post(manager, number, "thanks", audience="partners")
    assert kit.live.unread(manager, [case_id]) == set()
    assert kit.live.unread(carrier, [case_id]) == {case_id}

    # A marker never moves back; a bad one is refused.
    newest = kit.live.mark_read(manager, number)
    assert newest == kit.live.state(manager, number).latest_entry_id
    assert kit.live.mark_read(manager, number, entry_id=1) == newest
    with pytest.raises(InvalidInput) as refused:
        kit.live.mark_read(manager, number, entry_id=-1)
    assert "entry_id" in refused.value.errors


def test_unread_leaves_out_cases_the_viewer_may_not_see(
    kit: CaseKit, world: World, number: str
) -> None:
    other = World.build(kit, tag="-2")
    theirs = kit.cases.open(other.shipper_actor, type="osd_damaged", message="theirs")
    mine = kit.cases.get(world.shipper_manager_actor, number).id
    assert kit.live.unread(world.shipper_manager_actor, [mine, theirs.id]) == {mine}
    # The host keeps no markers: nothing is unread for it, and marking writes nothing.
    assert kit.live.unread(Actor.host(), [mine]) == set()
    assert kit.live.mark_read(Actor.host(), number) == 0
    # Another shipper's customer sees nothing of the case, unread or not.
    assert kit.live.unread(other.customer_actor, [mine, theirs.id]) == set()
    with pytest.raises(InvalidInput):
        kit.live.unread(world.shipper_manager_actor, list(range(501)))


def test_the_customers_unread_counts_only_what_is_meant_for_the_customer(
    kit: CaseKit, world: World, number: str
) -> None:
    customer, shipper, carrier = world.customer_actor, world.shipper_actor, world.carrier_actor
    case_id = kit.cases.get(shipper, number).id
    kit.live.open(customer, number)
    assert kit.live.unread(customer, [case_id]) == set()
    # Staff talk among themselves: nothing for the customer to read (the status it moved
    # shows in the portal's list itself).
    kit.messages.post(shipper, number, "ours", audience="internal")
    kit.messages.post(carrier, number, "partners", audience="partners")
    kit.messages.post(carrier, number, "carrier's own", audience="internal")
    assert kit.live.unread(customer, [case_id]) == set()
    assert not kit.live.state(customer, number).unread
    # A reply meant for the customer is.
    kit.messages.post(shipper, number, "A new box ships today.", audience="customer")
    assert kit.live.unread(customer, [case_id]) == {case_id}
    assert kit.live.state(customer, number).unread
    # Opening the case reads it; the customer's own reply is not unread to them.
    opened = kit.live.open(customer, number)
    assert not opened.unread
    assert kit.live.unread(customer, [case_id]) == set()
    kit.messages.post(customer, number, "Thank you")
    assert kit.live.unread(customer, [case_id]) == set()
    # The customer's marker is theirs alone: staff still have theirs to read.
    assert kit.live.unread(world.shipper_manager_actor, [case_id]) == {case_id}
    m = tables.customer_read_markers.c
    with kit.engine.connect() as conn:
        held = conn.execute(select(m.entry_id).where(m.customer_id == world.customer.id))
        assert held.scalar_one() == opened.latest_entry_id


def test_writing_is_shown_to_colleagues_only_for_a_while(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    kit.live.writing(world.shipper_actor, number)
    assert kit.live.state(world.shipper_manager_actor, number).writing == ("Sam Shipper",)
    # Not to oneself, not to the other organization, not to the customer.
    assert kit.live.state(world.shipper_actor, number).writing == ()
    assert kit.live.state(world.carrier_actor, number).writing == ()
    assert kit.live.state(world.customer_actor, number).writing == ()
    kit.live.writing(world.carrier_actor, number)
    assert kit.live.state(world.carrier_manager_actor, number).writing == (
        world.carrier_agent.name,
    )
    assert kit.live.state(world.shipper_manager_actor, number).writing == ("Sam Shipper",)

    # Said again at once, it is not written again; later it is.
    def seen() -> object:
        p = tables.presence.c
        with kit.engine.connect() as conn:
            return conn.execute(
                select(p.seen_at).where(p.user_id == world.shipper_agent.id)
            ).scalar_one()

    first = seen()
    clock.advance(seconds=PRESENCE_WRITE_SECONDS - 1)
    kit.live.writing(world.shipper_actor, number)
    assert seen() == first
    clock.advance(seconds=2)
    kit.live.writing(world.shipper_actor, number)
    assert seen() != first

    # Unsaid, or gone quiet, it is no longer shown.
    kit.live.writing(world.shipper_actor, number, active=False)
    assert kit.live.state(world.shipper_manager_actor, number).writing == ()
    kit.live.writing(world.shipper_actor, number)
    clock.advance(timedelta(seconds=PRESENCE_SECONDS + 1))
    assert kit.live.state(world.shipper_manager_actor, number).writing == ()


def test_only_staff_users_are_shown_writing(kit: CaseKit, world: World, number: str) -> None:
    for actor in (world.customer_actor, Actor.host(), Actor.system_actor("api", org_id=1)):
        with pytest.raises(PermissionDenied):
            kit.live.writing(actor, number)
    stranger = World.build(kit, tag="-2")
    with pytest.raises(NotFound):
        kit.live.writing(stranger.shipper_actor, number)


def test_opening_the_case_reads_it_up_to_its_newest_entry(
    kit: CaseKit, world: World, number: str
) -> None:
    manager = world.shipper_manager_actor
    kit.messages.post(world.carrier_actor, number, "for you", audience="partners")
    assert kit.live.state(manager, number).unread
    opened = kit.live.open(manager, number)
    assert not opened.unread
    assert opened.signal == kit.live.state(manager, number).signal
    assert not kit.live.state(manager, number).unread
    p = tables.read_markers.c
    with kit.engine.connect() as conn:
        marker = conn.execute(
            select(p.entry_id).where(p.user_id == world.shipper_manager.id)
        ).scalar_one()
    assert marker == opened.latest_entry_id
