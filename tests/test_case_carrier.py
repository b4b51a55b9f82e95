"""Bringing a carrier in later: naming, changing and removing the carrier of a
case and switching whether it collaborates, on every database.

Mail goes through a real SMTP server on loopback (``SmtpSink``): the new
carrier hears the case is its own, the old one hears nothing more, and the
old carrier's private layer never reaches the new one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import Message

import pytest
from sqlalchemy import select

from casekit import (
    Actor,
    Audience,
    CaseKit,
    Conflict,
    EventKind,
    InvalidInput,
    NotFound,
    OrgRole,
    PermissionDenied,
    Side,
    UserRole,
)
from casekit import signals as casekit_signals
from casekit.domain.shipment import ShipmentFacts
from casekit.store import tables
from casekit.testing import SignalRecorder, SmtpSink, World

SECRET = "reply-secret-0123456789abcdef"
OLD_DESK = "dispatch@fast.test"
NEW_DESK = "desk@swift.test"


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    return mailing_kit(
        reply_address="reply@inbound.acme.test",
        reply_secrets=(SECRET,),
        unsubscribe_url="https://acme.test/unsubscribe/{token}",
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
    )


class Swift:
    """A second carrier with an agent and a manager."""

    def __init__(self, kit: CaseKit, w: World) -> None:
        host = Actor.host()
        self.org = kit.directory.add_organization(
            host, name="Swift Haulage", role=OrgRole.CARRIER, external_id="swift"
        )
        self.agent = kit.directory.add_user(
            host, org_id=self.org.id, name="Sue Swift", email="sue@swift.test"
        )
        self.manager = kit.directory.add_user(
            host,
            org_id=self.org.id,
            name="Ned Swift",
            email="ned@swift.test",
            role=UserRole.MANAGER,
        )
        for carrier, desk in ((w.carrier.id, OLD_DESK), (self.org.id, NEW_DESK)):
            kit.notifications.set_collaborator_address(
                host,
                shipper_org_id=w.shipper.id,
                carrier_org_id=carrier,
                side=Side.CARRIER,
                email=desk,
            )

    @property
    def agent_actor(self) -> Actor:
        return Actor.of_user(self.agent)

    @property
    def manager_actor(self) -> Actor:
        return Actor.of_user(self.manager)


@pytest.fixture
def w(mkit: CaseKit) -> World:
    return World.build(mkit)


@pytest.fixture
def swift(mkit: CaseKit, w: World) -> Swift:
    return Swift(mkit, w)


def recipients(sink: SmtpSink) -> list[str]:
    return sorted(r for _f, rcpts in sink.envelopes for r in rcpts)


def text(mail: Message) -> str:
    return mail.as_string()


def events(kit: CaseKit, actor: Actor, number: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (str(e.event), e.old_value, e.new_value)
        for e in kit.cases.timeline(actor, number)
        if e.event in (EventKind.CARRIER_CHANGED, EventKind.CARRIER_COLLABORATING)
    ]


def test_a_carrier_named_later_hears_the_case_is_its_own(mkit, w, swift, sink):
    case = mkit.cases.open(w.shipper_actor, type="lost", message="Where is it?")
    mkit.notifications.deliver()
    sink.clear()
    with pytest.raises(NotFound):
        mkit.cases.get(swift.agent_actor, case.number)

    with SignalRecorder([casekit_signals.carrier_changed]) as recorded:
        view = mkit.cases.change(w.shipper_actor, case.number, {"carrier": swift.org.id})
    assert view.carrier_org_id == swift.org.id
    assert view.carrier_collaborating is True
    ((_name, kwargs),) = recorded.calls
    assert (kwargs["old"], kwargs["new"]) == (None, swift.org.id)
    assert kwargs["collaborating"] is True
    # The new carrier reads the case, the partners message that opened it included.
    reads = [e.body for e in mkit.cases.timeline(swift.agent_actor, case.number)]
    assert "Where is it?" in reads
    assert events(mkit, swift.agent_actor, case.number) == [
        ("carrier_changed", None, str(swift.org.id))
    ]
    mkit.notifications.deliver()
    # Its desk and its manager (on by default) hear; its agent did not ask to;
    # the shipper, who made the change, is not told; the other carrier nothing.
    assert recipients(sink) == sorted([NEW_DESK, swift.manager.email])
    (mail,) = sink.to(NEW_DESK)
    assert "Swift Haulage" in mail["Subject"]
    assert case.number in mail["Subject"]
    assert "brought case" in mail.get_body(("plain",)).get_content()
    # An agent who turns it on hears the next time.
    mkit.notifications.set_subscriptions(swift.agent_actor, {"carrier_named": True})
    sink.clear()
    mkit.cases.change(w.shipper_actor, case.number, {"carrier": w.carrier.id})
    mkit.cases.change(w.shipper_actor, case.number, {"carrier": swift.org.id})
    mkit.notifications.deliver()
    assert swift.agent.email in recipients(sink)


def test_changing_the_carrier_leaves_the_old_carriers_private_layer_behind(mkit, w, swift, sink):
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, message="Where is it?"
    )
    number = case.number
    old = w.carrier_actor
    mkit.cases.take(old, number)
    mkit.cases.watch(w.carrier_manager_actor, number)
    mkit.cases.set_crm_number(old, number, "FAST-CRM-77")
    mkit.messages.post(old, number, "OLD CARRIER NOTE: driver was late", audience="internal")
    mkit.messages.post(old, number, "On its way", audience="partners", cc=["ops@fast.test"])
    mkit.messages.post(w.shipper_actor, number, "SHIPPER NOTE", audience="internal")
    mkit.notifications.deliver()
    (mail,) = sink.to("ops@fast.test")
    token = str(mail["List-Unsubscribe"]).strip()[len("<https://acme.test/unsubscribe/") : -1]
    mkit.unsubscribe.unsubscribe(token)
    sink.clear()

    view = mkit.cases.change(w.shipper_actor, number, {"carrier": swift.org.id})
    assert view.carrier_org_id == swift.org.id
    assert view.carrier_owner_id is None
    # The old carrier lost the case, in every read.
    with pytest.raises(NotFound):
        mkit.cases.get(old, number)
    with pytest.raises(NotFound):
        mkit.cases.timeline(w.carrier_manager_actor, number)
    # The new one reads what a carrier reads: never the old carrier's notes, nor
    # the shipper's; the partners conversation, yes.
    reads = [e.body for e in mkit.cases.timeline(swift.agent_actor, number)]
    assert "On its way" in reads
    assert "Where is it?" in reads
    assert not any(b and "NOTE" in b for b in reads), reads
    assert mkit.cases.get(swift.agent_actor, number).crm_number is None
    # Its owner, watchers, CRM number, Cc'd address and unsubscriptions are gone.
    with mkit.sessions(write=False) as session:
        watchers = session.scalars(select(tables.watchers.c.user_id)).all()
        participants = session.execute(
            select(tables.participants.c.email, tables.participants.c.user_id)
        ).all()
        crm = session.scalars(select(tables.crm_numbers.c.number)).all()
        unsubscribed = session.scalars(select(tables.unsubscriptions.c.recipient)).all()
    assert w.carrier_manager.id not in watchers
    assert all(email != "ops@fast.test" for email, _u in participants)
    assert all(user_id != w.carrier_agent.id for _e, user_id in participants)
    assert "FAST-CRM-77" not in crm
    assert unsubscribed == []
    # The shipper still reads everything, the old notes included (the host does too).
    shipper_reads = [e.body for e in mkit.cases.timeline(w.shipper_actor, number)]
    assert "SHIPPER NOTE" in shipper_reads
    assert "OLD CARRIER NOTE: driver was late" not in shipper_reads
    host_reads = [e.body for e in mkit.cases.timeline(Actor.host(), number)]
    assert "OLD CARRIER NOTE: driver was late" in host_reads

    mkit.notifications.deliver()
    sink.clear()
    mkit.messages.post(w.shipper_actor, number, "Pickup moved to 3pm", audience="partners")
    mkit.notifications.deliver()
    heard = recipients(sink)
    assert NEW_DESK in heard
    assert not any(r.endswith("@fast.test") for r in heard), heard


def test_removing_the_carrier_and_naming_it_again_starts_it_afresh(mkit, w, swift, sink):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id)
    mkit.cases.take(w.carrier_actor, case.number)
    mkit.messages.post(w.carrier_actor, case.number, "OUR NOTE", audience="internal")
    removed = mkit.cases.change(w.shipper_actor, case.number, {"carrier": None})
    assert removed.carrier_org_id is None
    with pytest.raises(NotFound):
        mkit.cases.get(w.carrier_actor, case.number)
    back = mkit.cases.change(w.shipper_actor, case.number, {"carrier": w.carrier.id})
    # Its own notes are its own again; its owner slot starts empty.
    assert back.carrier_owner_id is None
    reads = [e.body for e in mkit.cases.timeline(w.carrier_actor, case.number)]
    assert "OUR NOTE" in reads
    assert events(mkit, w.shipper_actor, case.number) == [
        ("carrier_changed", str(w.carrier.id), None),
        ("carrier_changed", None, str(w.carrier.id)),
    ]


def test_a_new_carrier_starts_from_the_cases_status_not_the_old_carriers(mkit, w, swift):
    """The old carrier saw the case solved while the shipper and its customer
    talked on; a carrier named then reads the case as it is (open), not as the
    carrier before it was left to read it."""
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id
    )
    mkit.cases.solve(w.shipper_actor, case.number)
    mkit.messages.post(w.customer_actor, case.number, "It is still not here")
    assert mkit.cases.get(w.shipper_actor, case.number).status == "reply_received"
    assert mkit.cases.get(w.carrier_actor, case.number).status == "solved"

    mkit.cases.change(w.shipper_actor, case.number, {"carrier": swift.org.id})
    assert mkit.cases.get(swift.agent_actor, case.number).status == "open"
    assert mkit.cases.get(w.shipper_actor, case.number).status == "reply_received"


def test_collaborating_on_starts_the_carriers_mail_and_off_stops_it(mkit, w, swift, sink):
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=swift.org.id, carrier_collaborating=False
    )
    mkit.messages.post(w.shipper_actor, case.number, "First", audience="partners")
    mkit.notifications.deliver()
    assert not any(r.endswith("@swift.test") for r in recipients(sink))

    on = mkit.cases.change(w.shipper_actor, case.number, {"carrier_collaborating": True})
    assert on.carrier_collaborating is True
    mkit.notifications.deliver()
    assert recipients(sink) == sorted([NEW_DESK, swift.manager.email])
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Second", audience="partners")
    mkit.notifications.deliver()
    assert "Second" in sink.to(NEW_DESK)[0].get_body(("plain",)).get_content()
    sink.clear()

    off = mkit.cases.change(w.shipper_actor, case.number, {"carrier_collaborating": False})
    assert off.carrier_collaborating is False
    mkit.messages.post(w.shipper_actor, case.number, "Third", audience="partners")
    mkit.notifications.deliver()
    assert not any(r.endswith("@swift.test") for r in recipients(sink)), recipients(sink)
    # The carrier still reads the case; each switch is on the timeline for both sides.
    assert "Third" in [e.body for e in mkit.cases.timeline(swift.agent_actor, case.number)]
    assert events(mkit, swift.agent_actor, case.number) == [
        ("carrier_collaborating", "False", "True"),
        ("carrier_collaborating", "True", "False"),
    ]


def test_naming_a_non_collaborating_carrier_mails_nobody(mkit, w, swift, sink):
    case = mkit.cases.open(w.shipper_actor, type="lost")
    mkit.notifications.deliver()
    sink.clear()
    mkit.cases.change(
        w.shipper_actor,
        case.number,
        {"carrier": swift.org.id, "carrier_collaborating": False},
    )
    mkit.notifications.deliver()
    assert recipients(sink) == []


def test_only_the_shippers_staff_choose_the_carrier(mkit, w, swift):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id)
    for changes in ({"carrier": swift.org.id}, {"carrier": None}, {"carrier_collaborating": False}):
        with pytest.raises(PermissionDenied, match="shipper's staff"):
            mkit.cases.change(w.carrier_manager_actor, case.number, changes)
    with pytest.raises(NotFound):
        mkit.cases.change(swift.manager_actor, case.number, {"carrier": swift.org.id})
    assert mkit.cases.get(w.shipper_actor, case.number).carrier_org_id == w.carrier.id
    # The host may.
    view = mkit.cases.change(Actor.host(), case.number, {"carrier": swift.org.id})
    assert view.carrier_org_id == swift.org.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"carrier": "2"}, "carrier"),
        ({"carrier": True}, "carrier"),
        ({"carrier": 0}, "carrier"),
        ({"carrier": 10**9}, "carrier"),
        ({"carrier_collaborating": "yes"}, "carrier_collaborating"),
        ({"carrier_collaborating": None}, "carrier_collaborating"),
    ],
)
def test_bad_carrier_changes_name_their_field_and_change_nothing(mkit, w, changes, field):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id)
    with pytest.raises(InvalidInput) as error:
        mkit.cases.change(w.shipper_actor, case.number, {**changes, "type": "osd_damaged"})
    assert set(error.value.errors) == {field}
    after = mkit.cases.get(w.shipper_actor, case.number)
    assert (after.carrier_org_id, after.type, after.version) == (w.carrier.id, "lost", 1)


def test_a_shipper_is_not_a_carrier_and_collaborating_needs_a_carrier(mkit, w):
    case = mkit.cases.open(w.shipper_actor, type="lost")
    with pytest.raises(InvalidInput) as error:
        mkit.cases.change(w.shipper_actor, case.number, {"carrier": w.shipper.id})
    assert "is not a carrier" in error.value.errors["carrier"][0]
    with pytest.raises(InvalidInput) as error:
        mkit.cases.change(w.shipper_actor, case.number, {"carrier_collaborating": True})
    assert "no carrier" in error.value.errors["carrier_collaborating"][0]


def test_the_shipments_carrier_holds_unless_the_shipment_changes_too(mkit, w, swift):
    case = mkit.cases.open(
        w.shipper_actor,
        type="lost",
        shipment=ShipmentFacts(reference="SHP-1", shipper="acme", carrier="fast"),
    )
    assert case.carrier_org_id == w.carrier.id
    with pytest.raises(InvalidInput) as error:
        mkit.cases.change(w.shipper_actor, case.number, {"carrier": swift.org.id})
    assert "SHP-1" in error.value.errors["carrier"][0]
    with pytest.raises(InvalidInput):
        mkit.cases.change(w.shipper_actor, case.number, {"carrier": None})
    # Linking the new carrier's shipment in the same change: both move together.
    view = mkit.cases.change(
        w.shipper_actor,
        case.number,
        {
            "carrier": swift.org.id,
            "shipment": ShipmentFacts(reference="SHP-2", shipper="acme", carrier="swift"),
        },
    )
    assert view.carrier_org_id == swift.org.id
    # A shipment of yet another carrier is still refused, and nothing moves.
    with pytest.raises(InvalidInput) as error:
        mkit.cases.change(
            w.shipper_actor,
            case.number,
            {
                "carrier": w.carrier.id,
                "shipment": ShipmentFacts(reference="SHP-3", shipper="acme", carrier="swift"),
            },
        )
    assert "shipment" in error.value.errors
    assert mkit.cases.get(w.shipper_actor, case.number).carrier_org_id == swift.org.id


def test_a_stale_version_is_a_conflict_and_changes_nothing(mkit, w, swift):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id)
    mkit.cases.change(w.shipper_actor, case.number, {"type": "osd_damaged"})
    with pytest.raises(Conflict):
        mkit.cases.change(
            w.shipper_actor,
            case.number,
            {"carrier": swift.org.id},
            expected_version=case.version,
        )
    assert mkit.cases.get(w.shipper_actor, case.number).carrier_org_id == w.carrier.id


def test_the_carrier_change_is_a_partners_event_both_sides_read(mkit, w, swift):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id)
    mkit.cases.change(w.shipper_actor, case.number, {"carrier": swift.org.id})
    (entry,) = [
        e
        for e in mkit.cases.timeline(swift.agent_actor, case.number)
        if e.event is EventKind.CARRIER_CHANGED
    ]
    assert entry.audience is Audience.PARTNERS
    assert (entry.old_value, entry.new_value) == (str(w.carrier.id), str(swift.org.id))


def test_webhooks_tell_the_parties_after_the_change_never_the_old_carrier(mkit, w, swift):
    hooks = {
        w.shipper.id: w.shipper_manager_actor,
        w.carrier.id: w.carrier_manager_actor,
        swift.org.id: swift.manager_actor,
    }
    for org_id, manager in hooks.items():
        mkit.webhooks.subscribe(
            manager, url=f"http://127.0.0.1:9/{org_id}", events=["carrier_changed"]
        )
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id)
    mkit.cases.change(w.shipper_actor, case.number, {"carrier": swift.org.id})
    wo = tables.webhook_outbox.c
    with mkit.sessions(write=False) as session:
        rows = session.execute(select(wo.event, wo.payload)).all()
    payloads = [json.loads(p) for event, p in rows if event == "carrier_changed"]
    assert sorted(p["organization_id"] for p in payloads) == sorted([w.shipper.id, swift.org.id])
    for payload in payloads:
        assert (payload["old"], payload["new"]) == (w.carrier.id, swift.org.id)
        assert payload["collaborating"] is True
        assert payload["case"]["carrier_org_id"] == swift.org.id
