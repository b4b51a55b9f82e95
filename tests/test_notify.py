"""Notifications end to end: the outbox, the worker, and a real SMTP server on loopback.

Each test changes cases through the services, runs the worker, and reads
what an aiosmtpd server received: the right people get the right mails,
nobody else gets any.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import attrs
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, event, func, insert, select

from casekit import (
    Actor,
    Audience,
    CaseKit,
    EventKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Side,
)
from casekit import signals as casekit_signals
from casekit.cli import cli
from casekit.domain.case import EntryKind
from casekit.mail.marker import REPLY_MARKER
from casekit.mail.tokens import token_of, verify
from casekit.services.outbox import QUEUED, SENDING, SENT
from casekit.services.worker import Worker
from casekit.store import tables
from casekit.store.database import WRITE_OPTION
from casekit.testing import SignalRecorder, SmtpSink, World, make_kit

SECRET = "reply-secret-0123456789abcdef"
CARRIER_DESK = "dispatch@fast.test"
SHIPPER_DESK = "claims@acme.test"


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    """A kit that mails through ``sink``, on the test's database."""
    return mailing_kit(
        reply_address="reply@inbound.acme.test",
        reply_secrets=(SECRET,),
        case_url="https://acme.test/cases/{number}",
        notify_retry_seconds=60,
        notify_max_attempts=4,
    )


@pytest.fixture
def w(mkit: CaseKit) -> World:
    world = World.build(mkit)
    host = Actor.host()
    for side, address in ((Side.CARRIER, CARRIER_DESK), (Side.SHIPPER, SHIPPER_DESK)):
        mkit.notifications.set_collaborator_address(
            host,
            shipper_org_id=world.shipper.id,
            carrier_org_id=world.carrier.id,
            side=side,
            email=address,
        )
    return world


def deliver(kit: CaseKit) -> None:
    kit.notifications.deliver()


def recipients(sink: SmtpSink) -> list[str]:
    return sorted(r for _f, rcpts in sink.envelopes for r in rcpts)


def open_case(kit: CaseKit, w: World, **kwargs):
    args = {
        "type": "where_is_my_order",
        "carrier": w.carrier.id,
        "message": "Where is order 1001?",
    }
    args.update(kwargs)
    return kit.cases.open(w.shipper_actor, **args)


# -- who --------------------------------------------------------------------------------


def test_opening_mails_the_carrier_desk_with_threading_headers_and_a_reply_token(mkit, w, sink):
    case = open_case(mkit, w)
    deliver(mkit)
    # The shipper agent opened and owns it: not told. The carrier has no owner: its desk is.
    assert recipients(sink) == [CARRIER_DESK]
    mail = sink.received[0]
    assert case.number in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["From"] == "cases@acme.test"
    assert mail["Message-ID"].startswith("<casekit.case")
    assert "Where is order 1001?" in mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "https://acme.test/cases/" + case.number in html
    token = token_of(mail["Reply-To"], "reply@inbound.acme.test")
    assert token is not None
    bound = verify(token, [SECRET])
    assert bound.case_id == case.id
    assert bound.matches_address(CARRIER_DESK)
    assert not bound.matches_address("someone@else.test")


def test_a_message_reaches_owners_and_watchers_once_each_never_the_author(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.cases.take(w.carrier_actor, case.number)
    mkit.cases.watch(w.carrier_actor, case.number)  # owner and watcher: still one mail
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    deliver(mkit)
    sink.clear()

    mkit.messages.post(w.carrier_actor, case.number, "It left the depot this morning.")
    deliver(mkit)
    assert recipients(sink) == sorted([w.shipper_agent.email, w.shipper_manager.email])
    for mail in sink.received:
        assert "It left the depot" in mail.get_body(("plain",)).get_content()


def test_an_internal_note_stays_in_the_authors_organization(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    mkit.cases.watch(w.carrier_manager_actor, case.number)
    deliver(mkit)
    sink.clear()

    mkit.messages.post(w.shipper_actor, case.number, "Refund them if late", audience="internal")
    deliver(mkit)
    assert recipients(sink) == [w.shipper_manager.email]
    for mail in sink.received:
        assert "Refund them" in mail.get_body(("plain",)).get_content()


def test_the_customer_hears_everyone_messages_and_solving_never_partners_messages(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id)
    mkit.cases.take(w.carrier_actor, case.number)
    deliver(mkit)
    assert w.customer.email not in recipients(sink)  # opened with a partners message

    sink.clear()
    mkit.messages.post(w.carrier_actor, case.number, "Driver says gate code wrong")
    deliver(mkit)
    assert w.customer.email not in recipients(sink)

    mkit.messages.post(w.shipper_actor, case.number, "We are on it!", audience="everyone")
    deliver(mkit)
    to_customer = sink.to(w.customer.email)
    assert len(to_customer) == 1
    body = to_customer[0].get_body(("plain",)).get_content()
    assert "We are on it!" in body
    assert "gate code" not in body

    mkit.cases.solve(w.shipper_actor, case.number)
    deliver(mkit)
    assert len(sink.to(w.customer.email)) == 2
    assert "solved" in sink.to(w.customer.email)[1]["Subject"].lower()


def test_a_non_collaborating_carrier_hears_nothing(mkit, w, sink):
    case = open_case(mkit, w, carrier_collaborating=False)
    mkit.cases.watch(w.carrier_actor, case.number)
    mkit.messages.post(w.shipper_actor, case.number, "Any news?")
    deliver(mkit)
    assert all(not r.endswith("@fast.test") for r in recipients(sink)), recipients(sink)


def test_a_side_with_an_owner_is_not_mailed_at_its_desk(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.cases.take(w.carrier_actor, case.number)
    deliver(mkit)
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Update please")
    deliver(mkit)
    assert recipients(sink) == [w.carrier_agent.email]


def test_the_shipper_desk_hears_when_the_shipper_has_no_owner(mkit, w, sink):
    case = mkit.cases.open(
        w.carrier_actor, type="delivery_scheduling", shipper=w.shipper.id, message="Need a slot"
    )
    deliver(mkit)
    assert recipients(sink) == [SHIPPER_DESK]
    assert case.carrier_owner_id == w.carrier_agent.id


def test_assigning_an_owner_mails_the_new_owner(mkit, w, sink):
    case = open_case(mkit, w, take_ownership=False)
    deliver(mkit)
    sink.clear()
    mkit.cases.set_owner(w.shipper_manager_actor, case.number, w.shipper_agent.id)
    deliver(mkit)
    assert recipients(sink) == [w.shipper_agent.email]
    assert "Assigned to you" in sink.received[-1]["Subject"]


def test_customer_feedback_reaches_the_subscribed_merchant_logins(mkit, w, sink):
    # Managers hear of new feedback by default; agents once they subscribe.
    case = mkit.cases.open(w.customer_actor, message="The box was open when it came")
    deliver(mkit)
    assert recipients(sink) == [w.shipper_manager.email]
    assert "Customer feedback" in sink.received[0]["Subject"]

    mkit.notifications.set_subscriptions(w.shipper_actor, {"customer_feedback": True})
    mkit.notifications.set_subscriptions(w.shipper_manager_actor, {"customer_feedback": False})
    sink.clear()
    mkit.messages.post(w.customer_actor, case.number, "Hello? Anyone?")
    deliver(mkit)
    assert recipients(sink) == [w.shipper_agent.email]

    # The merchant's reply reaches the customer in the Customer Feedback template.
    sink.clear()
    mkit.messages.post(
        w.shipper_actor, case.number, "Sorry! A new one is on its way.", audience="everyone"
    )
    deliver(mkit)
    reply = sink.to(w.customer.email)
    assert len(reply) == 1
    assert "replied to your feedback" in reply[0]["Subject"]
    assert "A new one is on its way" in reply[0].get_body(("plain",)).get_content()


def test_an_unsubscribed_owner_hears_nothing_of_messages(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.cases.take(w.carrier_actor, case.number)
    mkit.notifications.set_subscriptions(w.carrier_actor, {"message_posted": False})
    deliver(mkit)
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Any news?")
    deliver(mkit)
    assert recipients(sink) == []
    subs = {s.event.value: s for s in mkit.notifications.subscriptions(w.carrier_actor)}
    assert subs["message_posted"].enabled is False
    assert subs["message_posted"].default is True
    mkit.notifications.set_subscriptions(w.carrier_actor, {"message_posted": None})
    subs = {s.event.value: s for s in mkit.notifications.subscriptions(w.carrier_actor)}
    assert subs["message_posted"].enabled is True


def test_a_cc_address_hears_partners_messages_but_not_internal_notes(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.messages.post(
        w.shipper_actor, case.number, "Looping in the warehouse", cc=["dock@wh.test"]
    )
    deliver(mkit)
    # Cc'd on a message: they get that message.
    first = sink.to("dock@wh.test")
    assert len(first) == 1
    assert "Looping in the warehouse" in first[0].get_body(("plain",)).get_content()
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Secret", audience="internal")
    mkit.messages.post(w.carrier_actor, case.number, "Ready at 3pm")
    deliver(mkit)
    to_dock = sink.to("dock@wh.test")
    assert len(to_dock) == 1
    assert "Ready at 3pm" in to_dock[0].get_body(("plain",)).get_content()
    assert all("Secret" not in m.get_body(("plain",)).get_content() for m in sink.received)


def test_a_carriers_cc_address_hears_what_the_carrier_reads(mkit, w, sink):
    """An address the carrier's staff Cc hears what the carrier reads: never the
    shipper's conversation with its customer, which an address the shipper Cc'd
    hears as before; its notifications are written for the carrier."""
    case = open_case(mkit, w, customer=w.customer.id)
    mkit.messages.post(w.carrier_actor, case.number, "Looping in ops", cc=["ops@carrier.test"])
    mkit.messages.post(w.shipper_actor, case.number, "Looping in the dock", cc=["dock@wh.test"])
    deliver(mkit)
    assert sink.to("dock@wh.test")
    assert sink.to("ops@carrier.test")
    sink.clear()
    refund = mkit.messages.post(
        w.shipper_actor, case.number, "Refund on its way", audience="customer"
    )
    phone = mkit.messages.post(w.customer_actor, case.number, "My phone is 555-0100")
    deliver(mkit)
    o = tables.outbox.c
    with mkit.sessions(write=False) as session:
        about = session.execute(
            select(o.email, o.event).where(o.entry_id.in_([refund.id, phone.id]))
        ).all()
    # Not told of either message, not even without its text.
    assert ("ops@carrier.test", "message_posted") not in about
    assert ("dock@wh.test", "message_posted") in about
    to_dock = " ".join(m.get_body(("plain",)).get_content() for m in sink.to("dock@wh.test"))
    assert "Refund on its way" in to_dock
    assert "555-0100" in to_dock
    # At most a status move it reads (new -> open), in the carrier's words.
    to_ops = [m.as_string() for m in sink.to("ops@carrier.test")]
    assert all("Refund" not in mail and "555-0100" not in mail for mail in to_ops), to_ops
    assert all("waiting" not in mail.lower() for mail in to_ops), to_ops
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Pickup at 3pm", audience="partners")
    deliver(mkit)
    (mail,) = sink.to("ops@carrier.test")
    assert "Pickup at 3pm" in mail.get_body(("plain",)).get_content()
    assert sink.to("dock@wh.test")

    with mkit.sessions(write=False) as session:
        written = set(
            session.execute(select(o.email, o.org_id).where(o.recipient_kind == "participant"))
        )
    assert written == {("ops@carrier.test", w.carrier.id), ("dock@wh.test", w.shipper.id)}
    with mkit.sessions(write=False) as session:
        p = tables.participants.c
        rows = session.execute(select(p.email, p.org_id).where(p.email.is_not(None)))
        added = {row.email: row.org_id for row in rows}
    assert added == {"ops@carrier.test": w.carrier.id, "dock@wh.test": w.shipper.id}
    # Each party's staff list the deliveries to the address Cc'd for it, not the other's.
    for actor, own, other in (
        (w.shipper_manager_actor, "dock@wh.test", "ops@carrier.test"),
        (w.carrier_manager_actor, "ops@carrier.test", "dock@wh.test"),
    ):
        seen = {d.email for d in mkit.notifications.deliveries(actor, case.number)}
        assert own in seen, seen
        assert other not in seen, seen
    everything = {d.email for d in mkit.notifications.deliveries(Actor.host(), case.number)}
    assert {"ops@carrier.test", "dock@wh.test"} <= everything


def test_a_customers_cc_address_is_the_shippers(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id)
    mkit.messages.post(w.customer_actor, case.number, "My neighbour", cc=["nb@home.test"])
    with mkit.sessions(write=False) as session:
        p = tables.participants.c
        (org_id,) = session.execute(select(p.org_id).where(p.email == "nb@home.test")).one()
    assert org_id is None
    deliver(mkit)
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Refund on its way", audience="customer")
    deliver(mkit)
    (mail,) = sink.to("nb@home.test")
    assert "Refund on its way" in mail.get_body(("plain",)).get_content()


def test_one_thread_per_case_and_recipient(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.messages.post(w.shipper_actor, case.number, "Second")
    mkit.messages.post(w.shipper_actor, case.number, "Third")
    deliver(mkit)
    mails = sink.to(CARRIER_DESK)
    assert len(mails) == 3
    root = mails[0]["Message-ID"]
    assert [m["References"] for m in mails[1:]] == [root, root]
    assert [m["In-Reply-To"] for m in mails[1:]] == [root, root]
    assert len({m["Message-ID"] for m in mails}) == 3
    assert all(case.number in m["Subject"] for m in mails)


# -- never lost -------------------------------------------------------------------------


def test_the_outbox_row_commits_with_the_change_and_rolls_back_with_it(mkit, w, sink):
    case = open_case(mkit, w)
    with pytest.raises(InvalidInput):
        mkit.messages.post(w.shipper_actor, case.number, "x" * 200_000)
    with mkit.sessions(write=False) as session:
        count = session.execute(select(func.count()).select_from(tables.outbox)).scalar_one()
    assert count == 1  # the opening's only


def test_smtp_down_for_a_while_then_everything_arrives_once(mkit, w, sink, clock):
    cases = [open_case(mkit, w, message=f"case {i}") for i in range(5)]
    sink.stop()
    deliver(mkit)
    views = mkit.notifications.deliveries(w.carrier_actor, cases[0].number)
    assert [(v.status, v.attempts) for v in views] == [("queued", 1)]
    assert views[0].history[0].ok is False
    assert views[0].last_error
    # Not due yet: nothing is tried again before the backoff has passed.
    assert mkit.notifications.worker().run_batch().claimed == 0
    clock.advance(seconds=61)
    deliver(mkit)  # still down: second attempt, then a wait of 120 s
    sink.start()
    clock.advance(seconds=60)
    deliver(mkit)
    assert sink.received == []
    clock.advance(seconds=61)
    deliver(mkit)
    assert sorted(m["Message-ID"] for m in sink.received) == sorted(
        {m["Message-ID"] for m in sink.received}
    )
    assert len(sink.to(CARRIER_DESK)) == 5
    clock.advance(hours=2)
    deliver(mkit)
    assert len(sink.received) == 5
    view = mkit.notifications.deliveries(w.carrier_actor, cases[0].number)[0]
    assert view.status == "sent"
    assert [a.ok for a in view.history] == [False, False, True]


def test_a_refused_mail_is_logged_without_the_addresses_and_its_give_up_as_a_warning(
    mkit, w, sink, clock, caplog
):
    """A mail server's refusal names the recipient: the log lines say what
    failed and whether it is retried (INFO) or given up (WARNING), with every
    address left out."""
    from aiosmtpd.controller import Controller

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"

    case = open_case(mkit, w)
    sink.stop()
    refusing = Controller(Refusing(), hostname=sink.host, port=sink.port)
    refusing.start()
    try:
        caplog.set_level(logging.INFO, logger="casekit")
        for _ in range(4):  # notify_max_attempts
            deliver(mkit)
            clock.advance(hours=7)
    finally:
        refusing.stop()
    failures = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert [(r.levelno, r.getMessage().split("(")[1].split(")")[0]) for r in failures] == [
        (logging.INFO, "attempt 1, will retry"),
        (logging.INFO, "attempt 2, will retry"),
        (logging.INFO, "attempt 3, will retry"),
        (logging.WARNING, "attempt 4, gave up"),
    ]
    for record in failures:
        message = record.getMessage()
        assert "(550, b'5.1.1 <address>: Recipient address rejected" in message
        assert "<address>" in message
        assert "@" not in message
    # The delivery log (the staff's, not the operator's) keeps the server's answer.
    view = mkit.notifications.deliveries(w.carrier_actor, case.number)[0]
    assert view.status == "failed"
    assert CARRIER_DESK in (view.history[0].error or "")


def test_after_the_last_attempt_it_fails_with_an_internal_event(mkit, w, sink, clock):
    case = open_case(mkit, w)
    sink.stop()
    with SignalRecorder(casekit_signals.NOTIFICATION_SIGNALS) as recorded:
        for _ in range(4):
            deliver(mkit)
            clock.advance(hours=7)
    view = mkit.notifications.deliveries(w.carrier_actor, case.number)[0]
    assert view.status == "failed"
    assert view.attempts == 4
    failed = recorded.of(casekit_signals.notification_failed)
    assert len(failed) == 1
    assert failed[0]["notification"].email == CARRIER_DESK
    assert failed[0]["case"].number == case.number
    # The event is the carrier's, whose desk it is, not the shipper's that caused it.
    events = [
        e for e in mkit.cases.timeline(w.carrier_actor, case.number) if e.kind is EntryKind.EVENT
    ]
    assert events[-1].event is EventKind.NOTIFICATION_FAILED
    assert events[-1].audience is Audience.INTERNAL
    assert events[-1].new_value == CARRIER_DESK
    shipper_events = [e.event for e in mkit.cases.timeline(w.shipper_actor, case.number)]
    assert EventKind.NOTIFICATION_FAILED not in shipper_events
    sink.start()
    clock.advance(days=2)
    deliver(mkit)
    assert sink.received == []  # failed is final


def test_a_failed_mail_to_the_customer_is_never_on_the_carriers_timeline(mkit, w, sink, clock):
    case = open_case(mkit, w, customer=w.customer.id)
    deliver(mkit)
    sink.stop()
    mkit.cases.solve(w.carrier_actor, case.number)  # the customer hears of it
    for _ in range(4):
        deliver(mkit)
        clock.advance(hours=7)
    failed = [
        e.new_value
        for e in mkit.cases.timeline(Actor.host(), case.number)
        if e.event is EventKind.NOTIFICATION_FAILED
    ]
    assert w.customer.email in failed
    carrier_timeline = mkit.cases.timeline(w.carrier_actor, case.number)
    assert all(w.customer.email not in repr(e) for e in carrier_timeline)
    shipper_failed = [
        e.new_value
        for e in mkit.cases.timeline(w.shipper_actor, case.number)
        if e.event is EventKind.NOTIFICATION_FAILED
    ]
    assert w.customer.email in shipper_failed


def test_a_carriers_mail_about_a_customers_message_does_not_name_the_customer(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id, audience="everyone")
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    mkit.messages.post(w.shipper_actor, case.number, "Any news?")  # open, for both sides
    deliver(mkit)
    sink.clear()
    # To the shipper (the customer's default): the carrier hears nothing of it.
    mkit.messages.post(w.customer_actor, case.number, "Still nothing")
    deliver(mkit)
    assert sink.to(CARRIER_DESK) == []
    assert (
        "Still nothing" in sink.to(w.shipper_manager.email)[-1].get_body(("plain",)).get_content()
    )
    # To everyone: the carrier reads it, without who the customer is.
    mkit.messages.post(w.customer_actor, case.number, "Ring twice", audience="everyone")
    deliver(mkit)
    to_carrier = sink.to(CARRIER_DESK)[-1]
    to_shipper = sink.to(w.shipper_manager.email)[-1]
    for mail in (to_carrier, to_shipper):
        assert "Ring twice" in mail.get_body(("plain",)).get_content()
    assert w.customer.name in to_shipper.get_body(("plain",)).get_content()
    raw = to_carrier.as_string()
    assert w.customer.name not in raw
    assert w.customer.email not in raw
    assert "Still nothing" not in raw


def test_the_carrier_hears_nothing_of_the_shippers_conversation_with_its_customer(mkit, w, sink):
    # The carrier has a watcher (subscribed to status moves too) and its desk
    # (no owner); the shipper's manager watches as well.
    case = open_case(
        mkit, w, customer=w.customer.id, audience="customer", message="Your order is delayed"
    )
    for watcher in (w.carrier_manager_actor, w.shipper_manager_actor):
        mkit.cases.watch(watcher, case.number)
        mkit.notifications.set_subscriptions(watcher, {"status_changed": True})
    deliver(mkit)
    # Opened with a message to the customer: the customer hears, the carrier not.
    assert sink.to(w.customer.email)
    assert not sink.to(CARRIER_DESK)
    carrier_side = [CARRIER_DESK, w.carrier_manager.email]
    # To the customer again: new -> waiting for the shipper; still new for the carrier.
    mkit.messages.post(w.shipper_actor, case.number, "We are on it", audience="customer")
    deliver(mkit)
    assert all(sink.to(address) == [] for address in carrier_side), recipients(sink)
    # For partners: new -> open for the carrier, its own move, which it hears of.
    mkit.messages.post(w.shipper_actor, case.number, "Please call them", audience="partners")
    deliver(mkit)
    for address in carrier_side:
        (mail,) = sink.to(address)
        assert "Please call them" in mail.get_body(("plain",)).get_content()
        assert "waiting" not in mail.as_string().lower()
    sink.clear()
    mkit.messages.post(w.customer_actor, case.number, "Can I have a refund?")
    mkit.messages.post(w.shipper_actor, case.number, "Refund sent", audience="customer")
    mkit.messages.post(w.customer_actor, case.number, "Thanks")
    deliver(mkit)
    assert all(sink.to(address) == [] for address in carrier_side), recipients(sink)
    to_shipper = [m.get_body(("plain",)).get_content() for m in sink.to(w.shipper_manager.email)]
    assert any("Can I have a refund?" in text for text in to_shipper)
    assert "Refund sent" in sink.to(w.customer.email)[-1].get_body(("plain",)).get_content()
    # A status move by hand the carrier sees as none: still nothing for it.
    mkit.cases.change_status(w.shipper_actor, case.number, "waiting")
    deliver(mkit)
    assert all(sink.to(address) == [] for address in carrier_side)
    assert "Waiting" in sink.to(w.shipper_manager.email)[-1]["Subject"].title()
    # Solving: the carrier hears of it, from the status it sees.
    sink.clear()
    mkit.cases.solve(w.shipper_actor, case.number)
    deliver(mkit)
    for address in carrier_side:
        (mail,) = sink.to(address)
        text = mail.get_body(("plain",)).get_content()
        assert "waiting" not in mail.as_string().lower()
        assert "Refund" not in text
        assert "refund" not in text
    assert len(sink.to(w.shipper_manager.email)) == 1
    # Reopened by the customer, for the shipper only: the carrier hears nothing.
    sink.clear()
    mkit.messages.post(w.customer_actor, case.number, "It broke again")
    deliver(mkit)
    assert all(sink.to(address) == [] for address in carrier_side), recipients(sink)
    assert (
        "It broke again" in sink.to(w.shipper_manager.email)[-1].get_body(("plain",)).get_content()
    )
    # Reopened by hand: the carrier reads it open again, from solved.
    mkit.cases.change_status(w.shipper_actor, case.number, "open")
    deliver(mkit)
    for address in carrier_side:
        (mail,) = sink.to(address)
        assert "its status is Open again" in mail.get_body(("plain",)).get_content()
        assert "broke" not in mail.as_string()
    # A carrier's new owner reads the status it sees.
    sink.clear()
    mkit.cases.set_owner(w.carrier_manager_actor, case.number, w.carrier_agent.id)
    deliver(mkit)
    (mail,) = sink.to(w.carrier_agent.email)
    assert "status Open." in mail.get_body(("plain",)).get_content()


def test_a_carriers_mail_carries_a_customers_message_only_once_shared(mkit, w, sink, clock):
    """The mail follows the timeline's rule at delivery: a notification about an
    entry for ``customer`` (had one been queued for the carrier's desk) carries
    its text only once the shipper has shared it."""
    case = open_case(mkit, w, customer=w.customer.id)
    entry = mkit.messages.post(w.customer_actor, case.number, "Cover torn on arrival")
    deliver(mkit)
    sink.clear()

    def mail_the_carrier_desk() -> str:
        with mkit.sessions(write=True) as session:
            o = tables.outbox.c
            row = dict(
                session.execute(select(tables.outbox).where(o.email == CARRIER_DESK))
                .mappings()
                .first()
            )
            del row["id"]
            row.update(entry_id=entry.id, event="message_posted", template="message_posted")
            row.update(status=QUEUED, attempts=0, sent_at=None, next_attempt_at=clock.now())
            session.execute(insert(tables.outbox), row)
            session.commit()
        deliver(mkit)
        return sink.to(CARRIER_DESK)[-1].as_string()

    assert "Cover torn" not in mail_the_carrier_desk()
    mkit.cases.share_with_carrier(w.shipper_actor, case.number, entry.id)
    assert "Cover torn" in mail_the_carrier_desk()


def test_signals_for_queued_and_sent(mkit, w, sink):
    with SignalRecorder(casekit_signals.NOTIFICATION_SIGNALS) as recorded:
        case = open_case(mkit, w)
        queued = recorded.of(casekit_signals.notification_queued)
        assert [q["notification"].email for q in queued] == [CARRIER_DESK]
        assert queued[0]["notification"].id is not None
        assert queued[0]["case"].number == case.number
        deliver(mkit)
    sent = recorded.of(casekit_signals.notification_sent)
    assert [s["notification"].status for s in sent] == ["sent"]
    assert sent[0]["notification"].id == queued[0]["notification"].id


def test_each_queued_notification_is_told_with_its_own_rows_id(mkit, w, sink):
    """Several recipients of one change, written in one statement: each signal's
    id is the row of that recipient."""
    case = open_case(mkit, w, customer=w.customer.id, audience="everyone")
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    with SignalRecorder([casekit_signals.notification_queued]) as recorded:
        mkit.messages.post(w.shipper_actor, case.number, "On its way", audience="everyone")
    told = [q["notification"] for q in recorded.of(casekit_signals.notification_queued)]
    assert len(told) >= 3
    o = tables.outbox.c
    with mkit.engine.connect() as conn:
        stored = dict(conn.execute(select(o.id, o.email).where(o.case_id == case.id)).all())
    assert {n.id: n.email for n in told}.items() <= stored.items()
    assert len({n.id for n in told}) == len(told)


def test_each_party_sees_only_the_deliveries_to_its_own_people(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id, audience="everyone")
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    mkit.messages.post(w.customer_actor, case.number, "Thanks", cc=["mum@home.test"])
    mkit.messages.post(w.shipper_actor, case.number, "Looping in the dock", cc=["dock@wh.test"])
    mkit.messages.post(w.carrier_actor, case.number, "Looping in the yard", cc=["yard@fast.test"])
    mkit.cases.solve(w.carrier_actor, case.number)
    deliver(mkit)
    everything = mkit.notifications.deliveries(Actor.host(), case.number)
    emails = {d.email for d in everything}
    assert {"dock@wh.test", "yard@fast.test", "mum@home.test"} <= emails
    # An address Cc'd for a side is that side's: the customer's Cc is the shipper's.
    carrier_side = {CARRIER_DESK, w.carrier_agent.email, w.carrier_manager.email}
    carrier_side.add("yard@fast.test")
    shipper_side = {SHIPPER_DESK, w.shipper_agent.email, w.shipper_manager.email}
    shipper_side |= {"dock@wh.test", "mum@home.test"}
    assert w.customer.email in emails
    assert emails & carrier_side
    assert emails & shipper_side

    def seen_by(actor):
        return {d.email for d in mkit.notifications.deliveries(actor, case.number)}

    # The carrier's solving told the customer and the shipper's people; it sees
    # only the deliveries to its own.
    assert seen_by(w.carrier_actor) == emails & carrier_side
    assert seen_by(w.carrier_manager_actor) == emails & carrier_side
    # The shipper caused the carrier desk's; it sees its own people and its customer.
    assert seen_by(w.shipper_manager_actor) == emails & (shipper_side | {w.customer.email})
    assert seen_by(w.customer_actor) == {w.customer.email}
    assert all(
        d.customer_id == w.customer.id
        for d in mkit.notifications.deliveries(w.customer_actor, case.number)
    )


def test_the_smtp_plugin_reuses_its_connection_across_a_batch(mkit, w, sink):
    for i in range(4):
        open_case(mkit, w, message=f"case {i}")
    deliver(mkit)
    assert len(sink.received) == 4
    smtp = mkit.plugin_manager.get_plugin("casekit.smtp")
    assert smtp.connections == 1


def test_casekit_worker_once_delivers_from_the_command_line(mkit, w, sink, database_url, tmp_path):
    open_case(mkit, w)
    env = {
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_LOAD_ENTRY_POINTS": "0",
        "CASEKIT_SMTP_HOST": sink.host,
        "CASEKIT_SMTP_PORT": str(sink.port),
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "a"),
    }
    result = CliRunner().invoke(cli, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 batch(es)" in result.output
    assert recipients(sink) == [CARRIER_DESK]
    result = CliRunner().invoke(cli, ["worker", "--max-batches", "1", "--once"], env=env)
    assert "0 batch(es)" in result.output
    assert len(sink.received) == 1


def test_casekit_worker_takes_its_lease_from_the_setting_or_the_option(
    database_url, tmp_path, caplog
):
    env = {
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_LOAD_ENTRY_POINTS": "0",
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "a"),
        "CASEKIT_WORKER_LEASE_SECONDS": "45",
    }
    with caplog.at_level(logging.INFO, logger="casekit.cli"):
        result = CliRunner().invoke(cli, ["worker", "--once"], env=env)
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(cli, ["worker", "--once", "--lease-seconds", "6"], env=env)
        assert result.exit_code == 0, result.output
    said = [r.getMessage() for r in caplog.records if r.name == "casekit.cli"]
    assert said == [
        "casekit worker: batches of 50, a lease of 45 s renewed every 15 s",
        "casekit worker: batches of 50, a lease of 6 s renewed every 2 s",
    ]
    result = CliRunner().invoke(cli, ["worker", "--once", "--lease-seconds", "0"], env=env)
    assert result.exit_code == 2
    assert "--lease-seconds" in result.output


def test_a_capturing_plugin_replaces_smtp(database_url, tmp_path, kit, clock):
    from casekit.testing import CapturedMail

    captured = CapturedMail()
    capturing = make_kit(
        database_url,
        attachment_dir=tmp_path / "a",
        clock=clock,
        create_schema=False,
        smtp_port=1,  # nothing listens there: SMTP would fail
        plugins=[captured],
    )
    try:
        world = World.build(capturing)
        capturing.cases.open(
            world.shipper_actor,
            type="lost",
            customer=world.customer.id,
            message="Hello",
            audience="everyone",
        )
        capturing.notifications.deliver()
        assert [n.email for n in captured.outbox] == [world.customer.email]
        assert captured.messages[0]["Auto-Submitted"] == "auto-generated"
        assert "Reply-To" not in captured.messages[0]  # no reply address configured
    finally:
        capturing.close()


# -- the services around it --------------------------------------------------------------


def test_collaborator_addresses_are_set_by_either_sides_managers(mkit, w):
    pair = {"shipper_org_id": w.shipper.id, "carrier_org_id": w.carrier.id}
    view = mkit.notifications.set_collaborator_address(
        w.carrier_manager_actor, side="carrier", email=" Desk@Fast.TEST ", **pair
    )
    assert view.email == "desk@fast.test"
    mkit.notifications.set_collaborator_address(
        w.shipper_manager_actor, side="carrier", email="ops@fast.test", **pair
    )
    listed = {(a.side, a.email) for a in mkit.notifications.collaborator_addresses(w.carrier_actor)}
    assert listed == {(Side.CARRIER, "ops@fast.test"), (Side.SHIPPER, SHIPPER_DESK)}
    with pytest.raises(PermissionDenied):
        mkit.notifications.set_collaborator_address(
            w.carrier_actor, side="carrier", email="x@fast.test", **pair
        )
    with pytest.raises(InvalidInput) as info:
        mkit.notifications.set_collaborator_address(
            w.carrier_manager_actor, side="middle", email="not-an-address", **pair
        )
    assert set(info.value.errors) == {"side", "email"}
    assert (
        mkit.notifications.set_collaborator_address(
            w.carrier_manager_actor, side="carrier", email=None, **pair
        )
        is None
    )
    assert {a.side for a in mkit.notifications.collaborator_addresses(w.carrier_actor)} == {
        Side.SHIPPER
    }


def test_subscriptions_belong_to_the_user_and_their_managers(mkit, w):
    with pytest.raises(PermissionDenied):
        mkit.notifications.set_subscriptions(
            w.shipper_actor, {"case_opened": False}, user_id=w.shipper_manager.id
        )
    with pytest.raises(NotFound):
        mkit.notifications.subscriptions(w.carrier_actor, w.shipper_agent.id)
    mkit.notifications.set_subscriptions(
        w.shipper_manager_actor, {"case_opened": False}, user_id=w.shipper_agent.id
    )
    subs = {s.event.value: s.enabled for s in mkit.notifications.subscriptions(w.shipper_actor)}
    assert subs["case_opened"] is False
    assert subs["customer_feedback"] is False  # an agent's default
    with pytest.raises(InvalidInput) as info:
        mkit.notifications.set_subscriptions(w.shipper_actor, {"everything": True})
    assert "event" in info.value.errors


def test_a_template_override_is_checked_previewed_used_and_reset(mkit, w, sink):
    n = mkit.notifications
    with pytest.raises(InvalidInput) as info:
        n.set_template(w.carrier_manager_actor, "case_opened", subject="{{ case.number", text="ok")
    assert "subject" in info.value.errors
    with pytest.raises(InvalidInput) as info:
        n.set_template(
            w.carrier_manager_actor, "case_opened", subject="x", text="{{ case.nubmer }}"
        )
    assert "text" in info.value.errors
    with pytest.raises(InvalidInput) as info:  # the sandbox refuses internals
        n.set_template(
            w.carrier_manager_actor,
            "case_opened",
            subject="x",
            text="{{ case.__class__.__mro__ }}",
        )
    assert "text" in info.value.errors
    with pytest.raises(PermissionDenied):
        n.set_template(w.carrier_actor, "case_opened", subject="x", text="y")

    preview = n.preview_template(
        w.carrier_manager_actor, "case_opened", text="New for {{ organization.name }}"
    )
    assert preview.text == "New for Fast Freight\n"
    n.set_template(
        w.carrier_manager_actor,
        "case_opened",
        subject="Fresh case {{ case.number }} <{{ actor.name }}>",
        text="Hi desk, {{ actor.name }} needs you.",
        html="<p>{{ message.body }}</p>",
    )
    assert n.template(w.carrier_actor, "case_opened").overridden
    case = open_case(mkit, w, message="<b>bold</b>")
    deliver(mkit)
    mail = sink.to(CARRIER_DESK)[0]
    assert mail["Subject"] == f"Fresh case {case.number} <Sam Shipper>"
    # The override leaves the reply marker out: the mail has it on top all the same.
    assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == (
        f"{REPLY_MARKER}\n\nHi desk, Sam Shipper needs you."
    )
    html = mail.get_body(("html",)).get_content()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert html.index(REPLY_MARKER) < html.index("&lt;b&gt;bold")
    # The shipper's own templates are untouched.
    assert not n.template(w.shipper_actor, "case_opened").overridden
    reset = n.reset_template(w.carrier_manager_actor, "case_opened")
    assert not reset.overridden
    with pytest.raises(InvalidInput):
        n.template(w.carrier_actor, "no_such_template")


def test_every_shipped_template_renders_its_sample(mkit, w):
    from casekit.mail.templates import TEMPLATE_NAMES

    for name in TEMPLATE_NAMES:
        preview = mkit.notifications.preview_template(w.shipper_actor, name)
        assert preview.subject
        assert "CV000123" in preview.text or "CV000123" in preview.subject
        assert preview.html.lstrip().startswith("<!doctype html>")


# -- several workers ----------------------------------------------------------------------

NOTIFICATIONS = 1000


@pytest.mark.backends("postgresql", "mysql")
def test_two_workers_deliver_a_thousand_notifications_exactly_once(
    mkit, w, sink, database_url, tmp_path, clock
):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import insert

    # 50 cases through the services, then their outbox rows copied to make 1,000.
    for i in range(50):
        open_case(mkit, w, message=f"case {i}")
    with mkit.sessions(write=True) as session:
        rows = [dict(r) for r in session.execute(select(tables.outbox)).mappings()]
        for row in rows:
            del row["id"]
        # Copies as messages: each has a Message-ID of its own (an opening's is its thread's).
        copies = [
            dict(rows[i % len(rows)], event="message_posted", template="message_posted")
            for i in range(NOTIFICATIONS - len(rows))
        ]
        session.execute(insert(tables.outbox), copies)
        session.commit()

    kits = [
        make_kit(
            database_url,
            attachment_dir=tmp_path / f"a{i}",
            clock=clock,
            create_schema=False,
            smtp_host=sink.host,
            smtp_port=sink.port,
            mail_from="cases@acme.test",
            worker_batch_size=25,
        )
        for i in range(2)
    ]
    start = threading.Barrier(2, timeout=60)

    def work(kit: CaseKit) -> int:
        start.wait()
        return kit.notifications.deliver()

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            batches = list(pool.map(work, kits))
    finally:
        for k in kits:
            k.close()
    ids = [m["Message-ID"] for m in sink.received]
    assert len(ids) == NOTIFICATIONS
    assert len(set(ids)) == NOTIFICATIONS, "a notification was sent twice"
    assert all(b > 0 for b in batches), f"one worker did all the work: {batches}"
    with mkit.sessions(write=False) as session:
        statuses = session.execute(
            select(tables.outbox.c.status, func.count()).group_by(tables.outbox.c.status)
        ).all()
        attempts = session.execute(
            select(func.count()).select_from(tables.delivery_attempts)
        ).scalar_one()
    assert dict(statuses) == {"sent": NOTIFICATIONS}
    assert attempts == NOTIFICATIONS


# -- how a worker claims its rows ------------------------------------------------------------
@attrs.frozen
class _Dialect:
    """What a claim reads of a SQLAlchemy dialect."""

    name: str
    server_version_info: tuple[int, ...] | None
    is_mariadb: bool = False


@pytest.mark.parametrize(
    ("dialect", "locking"),
    [
        (_Dialect("sqlite", (3, 45, 1)), None),
        (_Dialect("postgresql", (9, 5)), True),
        (_Dialect("postgresql", (17, 2)), True),
        (_Dialect("postgresql", None), True),  # whatever its version
        (_Dialect("mysql", (8, 0, 36)), True),
        (_Dialect("mysql", (5, 7, 44)), False),
        (_Dialect("mysql", None), False),  # the version is not known: plain FOR UPDATE
        (_Dialect("mariadb", (10, 6, 0), is_mariadb=True), True),
        (_Dialect("mysql", (11, 4, 2), is_mariadb=True), True),
        (_Dialect("mariadb", (10, 5, 27), is_mariadb=True), False),
        (_Dialect("mariadb", (8, 0), is_mariadb=True), False),
        # A MySQL dialect that does not say whether it is MariaDB: MySQL's versions.
        (SimpleNamespace(name="mysql", server_version_info=(8, 0, 36)), True),
        (SimpleNamespace(name="mysql", server_version_info=(5, 7, 44)), False),
    ],
)
def test_a_claim_skips_locked_rows_where_the_server_can(dialect, locking):
    assert Worker._locking(dialect) is locking


def test_a_claim_on_the_test_database_locks_as_its_server_can(kit):
    with kit.engine.connect() as conn:
        locking = Worker._locking(conn.dialect)
    if kit.engine.dialect.name == "sqlite":
        assert locking is None
    else:
        assert locking is True  # PostgreSQL; MySQL 8 or MariaDB 10.6 and newer


def test_a_claim_lasts_the_lease_setting_whatever_the_batch_and_the_mail_servers_timeout(
    kit, mailing_kit
):
    assert kit.settings.worker_lease_seconds == 60
    assert Worker(kit, batch_size=200).lease() == timedelta(seconds=60)
    # The heartbeat keeps a claim while one delivery waits for a slow server,
    # so the lease no longer grows with the batch and the SMTP timeout.
    short = mailing_kit(worker_lease_seconds=3, smtp_timeout=120)
    assert Worker(short, batch_size=500).lease() == timedelta(seconds=3)
    # A worker may be given its own.
    assert short.notifications.worker(lease_seconds=7).lease() == timedelta(seconds=7)


def test_a_claim_takes_due_rows_in_time_order_then_lapsed_claims_and_holds_them(mkit, w):
    open_case(mkit, w)
    now = mkit.clock.now()
    # Each row's name: its status and when it is due, in seconds from now. Ids
    # follow this order, so time order is not id order.
    plan = {
        "late": (QUEUED, -1),
        "early": (QUEUED, -3),
        "middle": (QUEUED, -2),
        "future": (QUEUED, 10),
        "lapsed": (SENDING, -5),
        "held": (SENDING, 100),
        "sent": (SENT, -50),
    }
    with mkit.sessions(write=True) as session:
        template = dict(session.execute(select(tables.outbox)).mappings().first())
        del template["id"]
        session.execute(delete(tables.outbox))
        for name, (status, due) in plan.items():
            session.execute(
                insert(tables.outbox).values(
                    {
                        **template,
                        "email": f"{name}@example.test",
                        "status": status,
                        "next_attempt_at": now + timedelta(seconds=due),
                    }
                )
            )
        session.commit()

    def state() -> dict[str, tuple[str, object]]:
        o = tables.outbox.c
        with mkit.sessions(write=False) as session:
            rows = session.execute(select(o.email, o.status, o.next_attempt_at)).all()
        return {email.partition("@")[0]: (status, at) for email, status, at in rows}

    statements: list[str] = []
    writing: list[bool] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def began(conn):  # type: ignore[no-untyped-def]
        writing.append(bool(conn.get_execution_options().get(WRITE_OPTION)))

    worker = Worker(mkit, batch_size=2)
    held = now + worker.lease()
    event.listen(mkit.engine, "before_cursor_execute", seen)
    event.listen(mkit.engine, "begin", began)
    try:
        first = worker.claim()
        after_first = state()
        second = worker.claim()
        third = worker.claim()
    finally:
        event.remove(mkit.engine, "before_cursor_execute", seen)
        event.remove(mkit.engine, "begin", began)

    def names(rows):  # type: ignore[no-untyped-def]
        return [r["email"].partition("@")[0] for r in rows]

    assert names(first) == ["early", "middle"]
    expected = {
        name: (status, now + timedelta(seconds=due)) for name, (status, due) in plan.items()
    }
    assert after_first == {**expected, "early": (SENDING, held), "middle": (SENDING, held)}
    assert names(second) == ["late", "lapsed"]  # the queued first, then a lapsed claim
    assert third == []
    assert state() == {
        **expected,
        **dict.fromkeys(("early", "middle", "late", "lapsed"), (SENDING, held)),
    }
    # Each claim is a writing transaction; its reads lock as the server can.
    assert writing == [True, False, True, True]  # the claims; the read between them does not
    reads = [s for s in statements if "ORDER BY" in s and s.lstrip().startswith("SELECT")]
    # The first claim fills its batch with queued rows; the others look for lapsed ones too.
    assert len(reads) == 5
    if mkit.engine.dialect.name == "sqlite":
        assert not any("FOR UPDATE" in s.upper() for s in reads)
    else:
        assert all(s.upper().rstrip().endswith("FOR UPDATE SKIP LOCKED") for s in reads)
