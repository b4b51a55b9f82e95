"""The ``customer`` audience: the shipper's conversation with its customer.

The carrier reads none of it unless the shipper shares an entry; it sees the
statuses of that conversation (``reply_received``, ``waiting``) as ``open``
and may set only ``open`` and ``solved``; its latest message, and so its
Recent Responses, ignore that conversation. On every backend; the pure rules
are at the end.
"""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from casekit import (
    Actor,
    Audience,
    CaseKit,
    EventKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Status,
    Upload,
)
from casekit.domain import policy
from casekit.domain.actor import ActorKind
from casekit.domain.audience import entry_visible
from casekit.domain.case import Case, Side, Source
from casekit.domain.workflow import (
    CUSTOMER_STATUSES,
    StatusMove,
    carrier_may_set,
    status_after_message,
    status_for_carrier,
    status_moves,
    status_value_for_carrier,
)
from casekit.testing import FrozenClock, World


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    """A case between the shipper, the carrier and the customer, opened for partners."""
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Damage noted at delivery",
    ).number


def bodies(kit: CaseKit, actor: Actor, number: str) -> list[str]:
    return [e.body for e in kit.cases.timeline(actor, number) if e.kind == "message"]


# -- sharing ----------------------------------------------------------------------------


def test_the_shipper_shares_a_customers_message_with_the_carrier(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    w = world
    said = kit.messages.post(
        w.customer_actor,
        number,
        "The cover is torn",
        attachments=[Upload("torn.jpg", io.BytesIO(b"JPEG torn"), "image/jpeg")],
    )
    assert said.audience is Audience.CUSTOMER
    photo = said.attachments[0].id
    assert "The cover is torn" not in bodies(kit, w.carrier_actor, number)
    with pytest.raises(NotFound):
        kit.open_attachment(w.carrier_actor, number, photo)
    clock.advance(minutes=5)
    version = kit.cases.get(Actor.host(), number).version

    shared = kit.cases.share_with_carrier(w.shipper_actor, number, said.id)

    assert (shared.id, shared.body, shared.shared_at) == (said.id, said.body, clock.now())
    assert shared.customer_id == w.customer.id  # as the shipper reads it
    assert kit.cases.get(Actor.host(), number).version == version + 1
    # The carrier reads it from now on, with its attachment, not who wrote it.
    (seen,) = [e for e in kit.cases.timeline(w.carrier_actor, number) if e.id == said.id]
    assert (seen.body, seen.shared_at, seen.customer_id, seen.author_email) == (
        "The cover is torn",
        clock.now(),
        None,
        None,
    )
    view, stream = kit.open_attachment(w.carrier_actor, number, photo)
    with stream:
        assert stream.read() == b"JPEG torn"
    assert view.filename == "torn.jpg"
    # An audited event for both parties' staff, not for the customer.
    (event,) = [
        e for e in kit.cases.timeline(Actor.host(), number) if e.event is EventKind.ENTRY_SHARED
    ]
    assert (event.audience, event.new_value, event.org_id) == (
        Audience.PARTNERS,
        str(said.id),
        w.shipper.id,
    )
    assert (event.user_id, event.created_at) == (w.shipper_agent.id, clock.now())
    for reader in (w.shipper_manager_actor, w.carrier_actor):
        assert event.id in [e.id for e in kit.cases.timeline(reader, number)]
    assert event.id not in [e.id for e in kit.cases.timeline(w.customer_actor, number)]


def test_sharing_twice_changes_nothing(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    said = kit.messages.post(world.customer_actor, number, "Where is it?")
    first = kit.cases.share_with_carrier(world.shipper_actor, number, said.id)
    version = kit.cases.get(Actor.host(), number).version
    clock.advance(hours=1)
    again = kit.cases.share_with_carrier(world.shipper_manager_actor, number, said.id)
    assert again.shared_at == first.shared_at
    assert kit.cases.get(Actor.host(), number).version == version
    timeline = kit.cases.timeline(Actor.host(), number)
    assert [e.event for e in timeline].count(EventKind.ENTRY_SHARED) == 1


@pytest.mark.parametrize("who", ["shipper api", "host"])
def test_the_shippers_systems_and_the_host_may_share(
    kit: CaseKit, world: World, number: str, who: str
) -> None:
    actor = (
        Actor.system_actor("api", org_id=world.shipper.id) if who == "shipper api" else Actor.host()
    )
    said = kit.messages.post(world.customer_actor, number, "Hello?")
    assert kit.cases.share_with_carrier(actor, number, said.id).shared_at is not None
    assert "Hello?" in bodies(kit, world.carrier_actor, number)


@pytest.mark.parametrize("who", ["carrier agent", "carrier api", "customer"])
def test_only_the_shipper_shares(kit: CaseKit, world: World, number: str, who: str) -> None:
    actor = {
        "carrier agent": world.carrier_actor,
        "carrier api": Actor.system_actor("api", org_id=world.carrier.id),
        "customer": world.customer_actor,
    }[who]
    said = kit.messages.post(world.customer_actor, number, "Hello?")
    before = kit.cases.timeline(Actor.host(), number)
    with pytest.raises(PermissionDenied):
        kit.cases.share_with_carrier(actor, number, said.id)
    assert kit.cases.timeline(Actor.host(), number) == before
    assert "Hello?" not in bodies(kit, world.carrier_actor, number)


def test_an_outsider_cannot_tell_the_case_exists(kit: CaseKit, world: World, number: str) -> None:
    other = World.build(kit, tag="-other")
    said = kit.messages.post(world.customer_actor, number, "Hello?")
    with pytest.raises(NotFound):
        kit.cases.share_with_carrier(other.shipper_actor, number, said.id)


def test_only_a_message_for_the_customer_is_shared(kit: CaseKit, world: World, number: str) -> None:
    w = world
    post = kit.messages.post
    others = [
        post(w.shipper_actor, number, "note", audience=Audience.INTERNAL),
        post(w.shipper_actor, number, "to the carrier", audience=Audience.PARTNERS),
        post(w.shipper_actor, number, "to all", audience=Audience.EVERYONE),
        post(w.customer_actor, number, "me to all", audience=Audience.EVERYONE),
    ]
    events = [e for e in kit.cases.timeline(Actor.host(), number) if e.kind == "event"]
    for entry_id in [e.id for e in others] + [events[0].id]:
        with pytest.raises(InvalidInput) as error:
            kit.cases.share_with_carrier(w.shipper_actor, number, entry_id)
        assert "entry" in error.value.errors
    assert "note" not in bodies(kit, w.carrier_actor, number)
    # The shipper's own message to its customer may be shared too.
    mine = post(w.shipper_actor, number, "refund offered", audience=Audience.CUSTOMER)
    kit.cases.share_with_carrier(w.shipper_actor, number, mine.id)
    assert "refund offered" in bodies(kit, w.carrier_actor, number)


def test_an_entry_of_another_case_is_not_found(kit: CaseKit, world: World, number: str) -> None:
    w = world
    other = kit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id
    ).number
    elsewhere = kit.messages.post(w.customer_actor, other, "About my other order")
    for entry_id in (elsewhere.id, 999_999):
        with pytest.raises(NotFound):
            kit.cases.share_with_carrier(w.shipper_actor, number, entry_id)
    assert "About my other order" not in bodies(kit, w.carrier_actor, other)


def test_the_customer_never_learns_a_message_was_shared_with_the_carrier(
    kit: CaseKit, world: World, number: str
) -> None:
    photos = kit.messages.post(world.customer_actor, number, "Photos of the torn cover")
    assert kit.cases.share_with_carrier(world.shipper_actor, number, photos.id).shared_at
    read = {e.id: e for e in kit.cases.timeline(world.customer_actor, number)}
    assert read[photos.id].shared_at is None
    staff = {e.id: e for e in kit.cases.timeline(world.shipper_actor, number)}
    assert staff[photos.id].shared_at is not None
    carrier = {e.id: e for e in kit.cases.timeline(world.carrier_actor, number)}
    assert carrier[photos.id].shared_at is not None


def test_the_carrier_never_reads_the_address_a_mail_filed_by_the_shipper_came_from(
    kit: CaseKit, world: World
) -> None:
    """A mail the shipper files from its triage may be its customer's (here on a
    case that is not theirs): the carrier reads what it says, not the address
    it came from."""
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


# -- the statuses the carrier sees ------------------------------------------------------


def test_the_carrier_sees_the_customer_conversations_statuses_as_open(
    kit: CaseKit, world: World, number: str
) -> None:
    w = world
    kit.messages.post(w.shipper_actor, number, "Looking at it", audience=Audience.PARTNERS)
    kit.messages.post(w.shipper_actor, number, "We are on it", audience=Audience.CUSTOMER)
    assert kit.cases.get(w.shipper_actor, number).status is Status.WAITING
    waiting_view = kit.cases.get(w.carrier_actor, number)
    assert waiting_view.status is Status.OPEN
    kit.messages.post(w.customer_actor, number, "Thanks")
    for status in (Status.REPLY_RECEIVED, Status.OPEN):
        actor = w.shipper_actor if status is Status.REPLY_RECEIVED else w.carrier_actor
        assert kit.cases.get(actor, number).status is status
        assert [v.status for v in kit.cases.list(actor)] == [status]
        rows = kit.views.list(actor, {"view": "all_cases"}).rows
        assert [r.status for r in rows] == [status]

    def count(actor: Actor, *statuses: str) -> int:
        query = {
            "view": "all_cases",
            "filters": [{"field": "status", "op": "in", "value": list(statuses)}],
        }
        return kit.views.count(actor, query)

    assert (count(w.shipper_actor, "reply_received"), count(w.shipper_actor, "open")) == (1, 0)
    assert (count(w.carrier_actor, "reply_received"), count(w.carrier_actor, "open")) == (0, 1)
    assert count(w.carrier_actor, "waiting", "reply_received") == 0
    # The status events: the carrier reads new -> open, nothing of the rest.
    moves = {
        who: [
            (e.old_value, e.new_value, e.audience)
            for e in kit.cases.timeline(actor, number)
            if e.event is EventKind.STATUS_CHANGED
        ]
        for who, actor in (("shipper", w.shipper_actor), ("carrier", w.carrier_actor))
    }
    assert moves["shipper"] == [
        ("new", "open", Audience.EVERYONE),
        ("open", "waiting", Audience.CUSTOMER),
        ("waiting", "reply_received", Audience.CUSTOMER),
    ]
    assert moves["carrier"] == [("new", "open", Audience.EVERYONE)]
    # Solved by hand, for both; reopened by the customer, for the shipper only.
    kit.cases.solve(w.shipper_actor, number)
    kit.messages.post(w.customer_actor, number, "Still broken")
    changes = [
        (e.event, e.old_value, e.new_value)
        for e in kit.cases.timeline(w.carrier_actor, number)
        if e.event in (EventKind.SOLVED, EventKind.REOPENED)
    ]
    assert changes == [(EventKind.SOLVED, "open", "solved")]
    assert kit.cases.get(w.carrier_actor, number).status is Status.SOLVED
    assert kit.cases.get(w.shipper_actor, number).status is Status.REPLY_RECEIVED


@pytest.mark.parametrize("target", ["reply_received", "waiting"])
def test_the_carrier_may_not_set_the_customer_conversations_statuses(
    kit: CaseKit, world: World, number: str, target: str
) -> None:
    w = world
    with pytest.raises(PermissionDenied):
        kit.cases.change_status(w.carrier_actor, number, target)
    kit.cases.solve(w.carrier_actor, number)
    with pytest.raises(PermissionDenied):
        kit.cases.reopen(w.carrier_actor, number, status=target)
    # The shipper may.
    kit.cases.reopen(w.shipper_actor, number, status=target)
    assert kit.cases.get(w.shipper_actor, number).status is Status(target)


def test_the_carrier_sets_open_and_solved_and_what_it_sees_is_a_no_op(
    kit: CaseKit, world: World, number: str
) -> None:
    w = world
    kit.messages.post(w.shipper_actor, number, "Checking", audience=Audience.PARTNERS)
    kit.messages.post(w.shipper_actor, number, "On its way", audience=Audience.CUSTOMER)
    before = kit.cases.get(Actor.host(), number)
    assert before.status is Status.WAITING
    # Open is what the carrier sees already: nothing changes, for anyone.
    seen = kit.cases.change_status(w.carrier_actor, number, "open")
    assert seen.status is Status.OPEN
    after = kit.cases.get(Actor.host(), number)
    assert (after.status, after.version) == (Status.WAITING, before.version)
    events = [e.event for e in kit.cases.timeline(Actor.host(), number)]
    assert events.count(EventKind.STATUS_CHANGED) == 2  # new -> open -> waiting only
    solved = kit.cases.change_status(w.carrier_actor, number, "solved")
    assert solved.status is Status.SOLVED
    assert kit.cases.get(w.shipper_actor, number).status is Status.SOLVED
    kit.cases.reopen(w.carrier_actor, number)
    assert kit.cases.get(w.shipper_actor, number).status is Status.OPEN
    # Any other move to the status it sees is refused, as anyone's is.
    with pytest.raises(InvalidInput):
        kit.cases.change_status(w.carrier_actor, number, "open")
    kit.cases.solve(w.carrier_actor, number)
    with pytest.raises(InvalidInput):
        kit.cases.change_status(w.carrier_actor, number, "solved")


# -- the latest message each side reads ---------------------------------------------------


def test_recent_responses_follow_the_latest_message_each_side_reads(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    w = world

    def recent(actor: Actor) -> list[str]:
        return [r.number for r in kit.views.list(actor, {"view": "recent_responses"}).rows]

    def latest(actor: Actor) -> object:
        (row,) = kit.views.list(actor, {"view": "all_cases"}).rows
        assert kit.cases.get(actor, number).latest_message_at == row.latest_message_at
        return row.latest_message_at

    def posted_by_me(actor: Actor) -> int:
        query = {
            "view": "all_cases",
            "filters": [{"field": "latest_message", "op": "posted_by", "value": "my_organization"}],
        }
        return kit.views.count(actor, query)

    clock.advance(minutes=1)
    kit.messages.post(w.carrier_actor, number, "Photos attached")
    carrier_wrote = clock.now()
    assert (recent(w.shipper_actor), recent(w.carrier_actor)) == ([number], [])
    clock.advance(minutes=1)
    kit.messages.post(w.customer_actor, number, "Any news?")
    customer_wrote = clock.now()
    # The shipper: the customer's message is the latest, a response to it.
    assert recent(w.shipper_actor) == [number]
    assert latest(w.shipper_actor) == customer_wrote
    # The carrier: it does not read it; its own message is still the latest.
    assert recent(w.carrier_actor) == []
    assert latest(w.carrier_actor) == carrier_wrote
    assert posted_by_me(w.carrier_actor) == 1
    clock.advance(minutes=1)
    kit.messages.post(w.shipper_actor, number, "Checking", audience=Audience.CUSTOMER)
    assert recent(w.shipper_actor) == []
    assert posted_by_me(w.shipper_actor) == 1
    assert (recent(w.carrier_actor), latest(w.carrier_actor)) == ([], carrier_wrote)
    # Once the shipper writes for partners, the carrier has a response.
    clock.advance(minutes=1)
    kit.messages.post(w.shipper_actor, number, "Carrier, please call them")
    assert (recent(w.carrier_actor), latest(w.carrier_actor)) == ([number], clock.now())
    assert posted_by_me(w.carrier_actor) == 0
    # Sorted by latest message, each side by what it reads.
    other = kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id).number
    clock.advance(minutes=1)
    kit.messages.post(w.carrier_actor, other, "On it")
    clock.advance(minutes=1)
    kit.messages.post(w.shipper_actor, number, "Any update?", audience=Audience.CUSTOMER)
    by_latest = {"view": "all_cases", "sort": {"field": "latest_message_at"}}
    assert [r.number for r in kit.views.list(w.shipper_actor, by_latest).rows] == [number, other]
    assert [r.number for r in kit.views.list(w.carrier_actor, by_latest).rows] == [other, number]


def test_the_csv_export_follows_what_each_side_reads(
    kit: CaseKit, world: World, number: str
) -> None:
    w = world
    said = kit.messages.post(w.customer_actor, number, "Refund please")
    columns = {"view": "all_cases", "columns": ["number", "status", "latest_message_excerpt"]}

    def exported(actor: Actor) -> list[str]:
        lines = "".join(kit.views.export_csv(actor, columns)).splitlines()
        assert lines[0] == "number,status,latest_message_excerpt"
        (row,) = lines[1:]
        return row.split(",")

    assert exported(w.shipper_actor) == [number, "reply_received", "Refund please"]
    # The customer's message moved the shipper's status only: new for the carrier.
    assert exported(w.carrier_actor) == [number, "new", "Damage noted at delivery"]
    kit.cases.share_with_carrier(w.shipper_actor, number, said.id)
    assert exported(w.carrier_actor) == [number, "new", "Refund please"]


def test_a_shared_message_later_than_the_carriers_latest_becomes_it(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
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


# -- the pure rules -------------------------------------------------------------------------


def test_the_customer_conversations_statuses() -> None:
    assert {Status.REPLY_RECEIVED, Status.WAITING} == CUSTOMER_STATUSES
    for status in Status:
        seen = status_for_carrier(status)
        assert seen is (Status.OPEN if status in CUSTOMER_STATUSES else status)
        assert status_value_for_carrier(status.value) == seen.value
        assert carrier_may_set(status) is (status not in CUSTOMER_STATUSES)
    for value in (None, "", "42", "user:7"):
        assert status_value_for_carrier(value) == value
    # Both sides together: one event, for everyone when the carrier sees a
    # move, else for the shipper and its customer only.
    for old, new in itertools.product(Status, Status):
        seen_old, seen_new = status_for_carrier(old), status_for_carrier(new)
        moves = status_moves(old, new, seen_old, seen_new)
        if old is new:
            assert moves == ()
        elif seen_old is seen_new:
            assert moves == (StatusMove(old, new, Audience.CUSTOMER),)
        else:
            assert moves == (StatusMove(old, new, Audience.EVERYONE),)


@pytest.mark.parametrize("current", list(Status))
def test_a_message_to_the_customer_moves_like_one_to_everyone(current: Status) -> None:
    for by_customer in (False, True):
        assert status_after_message(
            current, by_customer=by_customer, audience=Audience.CUSTOMER
        ) is status_after_message(current, by_customer=by_customer, audience=Audience.EVERYONE)


def test_who_reads_which_audience() -> None:
    """Every audience, viewer and share: the customer reads customer and
    everyone; the carrier an unshared customer entry never, a shared one yes;
    internal notes stay in their organization; the host reads all."""
    shipper, carrier = 1, 2
    for audience, author, shared in itertools.product(
        Audience, (shipper, carrier, None), (False, True)
    ):
        assert entry_visible(
            audience,
            author,
            viewer_org_id=None,
            viewer_is_customer=False,
            viewer_is_carrier=False,
            shared=shared,
            viewer_unrestricted=True,
        )
        customer = entry_visible(
            audience,
            author,
            viewer_org_id=None,
            viewer_is_customer=True,
            viewer_is_carrier=False,
            shared=shared,
        )
        assert customer is (audience in (Audience.CUSTOMER, Audience.EVERYONE))
        for org, is_carrier in ((shipper, False), (carrier, True)):
            staff = entry_visible(
                audience,
                author,
                viewer_org_id=org,
                viewer_is_customer=False,
                viewer_is_carrier=is_carrier,
                shared=shared,
            )
            if audience is Audience.INTERNAL:
                expected = author == org
            elif audience is Audience.CUSTOMER:
                expected = shared or not is_carrier
            else:
                expected = True
            assert staff is expected, (audience, author, shared, org)
    assert {a for a in Audience if a.reaches_customer} == {Audience.CUSTOMER, Audience.EVERYONE}
    assert {a for a in Audience if a.reaches_carrier} == {Audience.PARTNERS, Audience.EVERYONE}


def _case(*, customer: bool = True) -> Case:
    return Case(
        type="lost",
        source=Source.USER,
        shipper_org_id=1,
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
        carrier_org_id=2,
        customer_id=7 if customer else None,
        status=Status.OPEN,
    )


@pytest.mark.parametrize("customer_on_case", [True, False])
def test_who_may_post_which_audience(customer_on_case: bool) -> None:
    case = _case(customer=customer_on_case)
    actors = {
        "shipper": Actor(ActorKind.USER, user_id=10, org_id=1),
        "shipper api": Actor.system_actor("api", org_id=1),
        "carrier": Actor(ActorKind.USER, user_id=20, org_id=2),
        "carrier api": Actor.system_actor("api", org_id=2),
        "outsider": Actor(ActorKind.USER, user_id=30, org_id=3),
        "customer": Actor(ActorKind.CUSTOMER, customer_id=7),
        "host": Actor.host(),
    }
    for (who, actor), audience in itertools.product(actors.items(), Audience):
        refused = policy.may_post(actor, case, audience)
        if who == "host":
            allowed = True
        elif who == "customer":
            allowed = audience in (Audience.CUSTOMER, Audience.EVERYONE)
        elif who == "outsider":
            allowed = False
        elif who.startswith("carrier"):
            allowed = audience in (Audience.INTERNAL, Audience.PARTNERS)
        else:
            allowed = customer_on_case or not audience.reaches_customer
        assert (refused is None) is allowed, (who, audience, refused)
    for who, actor in actors.items():
        assert (policy.may_share(actor, case) is None) is (
            who in ("shipper", "shipper api", "host")
        )
    for status in Status:
        carrier = policy.may_set_status(actors["carrier"], case, status)
        assert (carrier is None) is (status not in CUSTOMER_STATUSES)
        assert policy.may_set_status(actors["shipper"], case, status) is None
    assert policy.side_of_actor(actors["carrier"], case) is Side.CARRIER
