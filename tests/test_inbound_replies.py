"""Replies to notifications, end to end over real SMTP both ways.

casekit's worker delivers notifications to an aiosmtpd sink; the tests answer
them as mail clients do and send the answers with smtplib into
``casekit inbound serve``'s server. Tokens, Message-IDs, sender checks and
audiences decide where each answer lands.
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from casekit import Actor, CaseKit, NotFound, PermissionDenied, Side
from casekit.domain.directory import User
from casekit.mail.server import InboundServer
from casekit.mail.tokens import make_token
from casekit.services.inbound import InboundResult, Outcome
from casekit.store import tables
from casekit.testing import FrozenClock, SmtpSink, World, make_kit

SECRET = "reply-secret-0123456789abcdef"
CARRIER_DESK = "dispatch@fast.test"


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    return mailing_kit(reply_address="reply@inbound.acme.test", reply_secrets=(SECRET,))


@pytest.fixture
def w(mkit: CaseKit) -> World:
    world = World.build(mkit)
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=world.shipper.id,
        carrier_org_id=world.carrier.id,
        side=Side.CARRIER,
        email=CARRIER_DESK,
    )
    return world


@pytest.fixture
def inbound(mkit: CaseKit) -> Iterator[InboundServer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = InboundServer(mkit, port=port)
    server.start()
    yield server
    server.stop()


def answer(
    notification: EmailMessage,
    sender: str,
    text: str,
    *,
    attachment: bytes | None = None,
    to: str | None = None,
) -> EmailMessage:
    """A reply as a mail client writes it: Reply-To, In-Reply-To, quoted text."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = to or str(notification["Reply-To"] or notification["From"])
    reply["Subject"] = f"RE: {notification['Subject']}"
    reply["Message-ID"] = f"<answer-{abs(hash((sender, text)))}@client.test>"
    reply["In-Reply-To"] = str(notification["Message-ID"])
    reply["References"] = str(notification["Message-ID"])
    quoted = "\n".join(
        "> " + line for line in notification.get_body(("plain",)).get_content().splitlines()
    )  # type: ignore[union-attr]
    reply.set_content(f"{text}\n\nOn Mon, Jan 5, 2026 at 9:00 AM casekit wrote:\n{quoted}\n")
    if attachment is not None:
        reply.add_attachment(attachment, "image", "jpeg", filename="damage.jpg")
    return reply


def send(server: InboundServer, message: EmailMessage) -> InboundResult:
    before = len(server.handler.results)
    with smtplib.SMTP(server.hostname, server.port) as client:
        client.send_message(message, to_addrs=[parseaddr(str(message["To"]))[1]])
    assert len(server.handler.results) == before + 1
    return server.handler.results[-1]


def messages(kit: CaseKit, number: str):  # type: ignore[no-untyped-def]
    return [e for e in kit.cases.timeline(Actor.host(), number) if e.kind == "message"]


def test_an_email_only_carrier_answers_with_a_photo(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(
        w.shipper_actor, type="osd_damaged", carrier=w.carrier.id, message="Pallet crushed?"
    )
    mkit.notifications.deliver()
    [notification] = sink.to(CARRIER_DESK)
    assert "reply+" in str(notification["Reply-To"])
    photo = b"\xff\xd8\xff" + bytes(range(256)) * 40
    result = send(inbound, answer(notification, CARRIER_DESK, "Yes, see photo.", attachment=photo))
    assert result.outcome is Outcome.APPENDED
    assert result.case_number == case.number
    latest = messages(mkit, case.number)[-1]
    assert latest.body == "Yes, see photo."
    assert latest.audience == "partners"
    assert latest.author_email == CARRIER_DESK
    assert latest.org_id == w.carrier.id
    assert [(a.filename, a.size) for a in latest.attachments] == [("damage.jpg", len(photo))]
    _view, stream = mkit.open_attachment(w.carrier_actor, case.number, latest.attachments[0].id)
    with stream:
        assert stream.read() == photo


def test_a_customer_answer_is_for_everyone(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(
        w.shipper_actor, type="where_is_my_order", customer=w.customer.id, message="Hi"
    )
    mkit.messages.post(w.shipper_actor, case.number, "It left today.", audience="everyone")
    mkit.notifications.deliver()
    mail = sink.to(w.customer.email)[-1]
    result = send(inbound, answer(mail, w.customer.email, "Thanks!"))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.customer_id) == (
        "Thanks!",
        "everyone",
        w.customer.id,
    )


def test_staff_answering_an_internal_note_stay_internal(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    mkit.notifications.deliver()
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Claim it?", audience="internal")
    mkit.notifications.deliver()
    [note] = sink.to(w.shipper_manager.email)
    result = send(inbound, answer(note, w.shipper_manager.email, "Yes, file the claim."))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.user_id) == (
        "Yes, file the claim.",
        "internal",
        w.shipper_manager.id,
    )
    assert all(
        "file the claim" not in e.body for e in mkit.cases.timeline(w.carrier_actor, case.number)
    )


def test_a_token_does_not_let_someone_else_in(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    stranger = send(inbound, answer(mail, "mallory@evil.test", "Send it to me"))
    assert (stranger.outcome, stranger.reason) == (Outcome.TRIAGED, "sender does not match")
    assert stranger.case_number == case.number
    token_address = str(mail["Reply-To"])
    forged = token_address.replace("reply+", "reply+1").replace("@", "x@")
    bad = send(inbound, answer(mail, CARRIER_DESK, "forged", to=forged))
    assert (bad.outcome, bad.reason) == (Outcome.TRIAGED, "the reply token is not valid")
    assert [m.body for m in messages(mkit, case.number)] == ["Hi"]


def test_in_reply_to_matches_without_a_token_for_known_senders_only(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    del mail["Reply-To"]  # answered to the From address, a plain mailbox
    known = answer(mail, CARRIER_DESK, "On it.", to="cases@acme.test")
    known.replace_header("Subject", "RE: no number here")
    assert send(inbound, known).outcome is Outcome.APPENDED
    unknown = answer(mail, "someone@else.test", "Me too.", to="cases@acme.test")
    result = send(inbound, unknown)
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [m.body for m in messages(mkit, case.number)] == ["Hi", "On it."]


def test_a_bounced_notification_marks_its_recipient(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    dsn = (
        "From: MAILER-DAEMON@mx.fast.test\r\nTo: cases@acme.test\r\nSubject: Undelivered\r\n"
        "Message-ID: <dsn-1@mx.fast.test>\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/plain\r\n\r\nMailbox unknown.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.fast.test\r\n\r\n"
        "Final-Recipient: rfc822; dispatch@fast.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {mail['Message-ID']}\r\nTo: {CARRIER_DESK}\r\n"
        "--r--\r\n"
    ).encode()
    result = mkit.inbound.receive(dsn)
    assert result.outcome is Outcome.BOUNCE
    assert mkit.inbound.is_bouncing(CARRIER_DESK)


def test_casekit_own_mail_coming_back_is_an_auto_reply(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    del mail["Auto-Submitted"]
    del mail["X-Auto-Response-Suppress"]
    result = mkit.inbound.receive(mail.as_bytes())
    assert (result.outcome, result.reason) == (Outcome.AUTO_REPLY, "casekit's own mail")


# -- the sender check of a user's reply token ------------------------------------------------
def notified(
    mkit: CaseKit,
    w: World,
    sink: SmtpSink,
    watcher: User,
    author: Actor,
    text: str,
    audience: str = "partners",
) -> tuple[str, EmailMessage]:
    """A case ``watcher`` follows, and the mail telling them of ``author``'s message."""
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id, message="Hi"
    )
    mkit.cases.watch(Actor.of_user(watcher), case.number)
    mkit.notifications.deliver()
    sink.clear()
    mkit.messages.post(author, case.number, text, audience=audience)
    mkit.notifications.deliver()
    [mail] = sink.to(watcher.email)
    assert "reply+" in str(mail["Reply-To"])
    return case.number, mail


def test_a_user_token_answered_by_its_user_is_appended_as_them(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = notified(mkit, w, sink, w.shipper_manager, w.carrier_actor, "Found it.")
    result = send(inbound, answer(mail, w.shipper_manager.email, "Good, send it on."))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, number)[-1]
    assert (latest.body, latest.user_id) == ("Good, send it on.", w.shipper_manager.id)


def test_a_user_token_answered_from_another_address_is_triaged_for_its_organization(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = notified(mkit, w, sink, w.shipper_manager, w.carrier_actor, "Found it.")
    result = send(inbound, answer(mail, "mallory@evil.test", "Send it to me instead."))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [m.body for m in messages(mkit, number)] == ["Hi", "Found it."]
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [result.inbound_id]
    assert mkit.inbound.triage(w.carrier_actor) == []


def test_a_user_token_answered_by_the_customer_is_not_posted_as_the_user(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = notified(mkit, w, sink, w.shipper_manager, w.carrier_actor, "Found it.")
    result = send(inbound, answer(mail, w.customer.email, "Is it coming?"))
    # The customer is a known sender of the case: it writes as itself.
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, number)[-1]
    # To the shipper: the message it answers was for partners, not for it.
    assert (latest.body, latest.user_id, latest.customer_id, latest.audience) == (
        "Is it coming?",
        None,
        w.customer.id,
        "customer",
    )
    assert all(e.body != "Is it coming?" for e in mkit.cases.timeline(w.carrier_actor, number))


@pytest.mark.parametrize("audience", ["partners", "internal", "customer"])
def test_a_user_token_answered_by_a_colleague_is_posted_as_the_colleague(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer, audience: str
) -> None:
    number, mail = notified(
        mkit, w, sink, w.shipper_manager, w.shipper_actor, "Claim it?", audience=audience
    )
    result = send(inbound, answer(mail, w.shipper_agent.email, "Claim filed."))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, number)[-1]
    # As the colleague who wrote it, for the audience of the message it answers.
    assert (latest.body, latest.user_id, latest.audience) == (
        "Claim filed.",
        w.shipper_agent.id,
        audience,
    )
    carrier_sees = [e.body for e in mkit.cases.timeline(w.carrier_actor, number)]
    assert ("Claim filed." in carrier_sees) is (audience == "partners")


# -- whose triage a reply that fails the sender check is in ---------------------------------
def test_a_carrier_users_reply_from_another_address_is_in_the_carriers_triage_alone(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    secret = "Driver dropped the pallet; do not tell Acme."
    number, mail = notified(
        mkit, w, sink, w.carrier_manager, w.carrier_actor, secret, audience="internal"
    )
    result = send(inbound, answer(mail, "cm.home@private.test", "We will pay for it."))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    item = result.inbound_id or 0

    for shipper in (w.shipper_actor, w.shipper_manager_actor):
        assert mkit.inbound.triage(shipper, include_handled=True) == []
        with pytest.raises(NotFound):
            mkit.inbound.triage_item(shipper, item)
        with pytest.raises(NotFound):
            mkit.inbound.original(shipper, item)
        with pytest.raises(NotFound):
            mkit.inbound.file(shipper, item, number)
        with pytest.raises(NotFound):
            mkit.inbound.discard(shipper, item)

    assert [i.id for i in mkit.inbound.triage(w.carrier_actor)] == [item]
    assert mkit.inbound.triage_item(w.carrier_actor, item).org_id == w.carrier.id
    with mkit.inbound.original(w.carrier_manager_actor, item) as raw:
        assert secret in raw.read().decode()
    assert [i.id for i in mkit.inbound.triage(Actor.host())] == [item]

    # The carrier's own staff file it, for themselves; the shipper never sees it.
    filed = mkit.inbound.file(w.carrier_actor, item, number, audience="internal")
    assert filed.outcome is Outcome.FILED
    shipper_sees = [e.body for e in mkit.cases.timeline(w.shipper_actor, number)]
    assert all("pay for it" not in body for body in shipper_sees)
    assert "We will pay for it." in [e.body for e in messages(mkit, number)]


def test_a_reply_to_the_carrier_desk_without_its_token_is_triaged_for_the_carrier(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    del mail["Reply-To"]  # answered to the From address: In-Reply-To names the notification
    result = send(inbound, answer(mail, "temp@fast-agency.test", "Ours.", to="cases@acme.test"))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [i.id for i in mkit.inbound.triage(w.carrier_actor)] == [result.inbound_id]
    assert mkit.inbound.triage(w.shipper_actor) == []


def test_a_customer_token_answered_from_another_address_is_the_shippers(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id, message="Hi"
    )
    mkit.messages.post(w.shipper_actor, case.number, "It left today.", audience="everyone")
    mkit.notifications.deliver()
    mail = sink.to(w.customer.email)[-1]
    result = send(inbound, answer(mail, "casey.work@office.test", "Thanks!"))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [result.inbound_id]
    assert mkit.inbound.triage(w.carrier_actor) == []


def test_a_token_that_does_not_verify_is_for_the_host_alone(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    forged = str(mail["Reply-To"]).replace("reply+", "reply+1").replace("@", "x@")
    result = send(inbound, answer(mail, CARRIER_DESK, "forged", to=forged))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "the reply token is not valid")
    assert mkit.inbound.triage(w.shipper_actor) == []
    assert mkit.inbound.triage(w.carrier_actor) == []
    assert [i.id for i in mkit.inbound.triage(Actor.host())] == [result.inbound_id]


# -- a reply to an internal note from outside the note's organization ------------------------
NOTE = "Carrier is at fault; do not tell them we know."


@pytest.mark.parametrize("way", ["token", "in-reply-to"])
@pytest.mark.parametrize("who", ["customer", "carrier"])
def test_an_internal_note_answered_from_outside_its_organization_is_in_its_triage_alone(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer, way: str, who: str
) -> None:
    number, mail = notified(
        mkit, w, sink, w.shipper_manager, w.shipper_actor, NOTE, audience="internal"
    )
    sender = w.customer.email if who == "customer" else w.carrier_manager.email
    if way == "in-reply-to":
        del mail["Reply-To"]  # answered to the From address: In-Reply-To names the note's mail
    reply = answer(mail, sender, "What do you know?")
    if way == "in-reply-to":
        assert "reply+" not in str(reply["To"])
    result = send(inbound, reply)
    assert (result.outcome, result.reason) == (
        Outcome.TRIAGED,
        "a reply to an internal note from outside the note's organization",
    )
    assert result.case_number == number
    assert [m.body for m in messages(mkit, number)] == ["Hi", NOTE]
    item = result.inbound_id or 0
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [item]
    with mkit.inbound.original(w.shipper_manager_actor, item) as raw:
        assert NOTE in raw.read().decode()
    for outsider in (w.carrier_actor, w.carrier_manager_actor):
        assert mkit.inbound.triage(outsider, include_handled=True) == []
        with pytest.raises(NotFound):
            mkit.inbound.original(outsider, item)


def test_an_internal_note_answered_from_outside_opens_no_case_at_a_case_address(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    mkit.inbound.set_case_address(Actor.host(), w.shipper.id, "support@acme.test")
    number, mail = notified(
        mkit, w, sink, w.shipper_manager, w.shipper_actor, NOTE, audience="internal"
    )
    reply = answer(mail, w.customer.email, "What do you know?")
    reply["Cc"] = "support@acme.test"
    result = mkit.inbound.receive(reply.as_bytes())
    assert (result.outcome, result.case_number) == (Outcome.TRIAGED, number)
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [result.inbound_id]
    with mkit.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.cases)).scalar() == 1


def test_the_notes_own_collaborator_address_answering_it_stays_internal(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    sink.clear()
    mkit.messages.post(w.carrier_actor, case.number, "Driver dropped it.", audience="internal")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    result = send(inbound, answer(mail, CARRIER_DESK, "We will pay."))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.org_id) == (
        "We will pay.",
        "internal",
        w.carrier.id,
    )
    shipper_sees = [e.body for e in mkit.cases.timeline(w.shipper_actor, case.number)]
    assert "We will pay." not in shipper_sees


@pytest.mark.parametrize("way", ["token", "in-reply-to"])
def test_a_case_opened_with_an_internal_note_is_that_note_to_a_reply(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer, way: str
) -> None:
    """The opening mail's Message-ID is the thread's, not the notification's: a
    reply to it answers the note the case was opened with all the same."""
    shipper_desk = "desk@acme.test"
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.SHIPPER,
        email=shipper_desk,
    )
    api = Actor.system_actor("api", org_id=w.shipper.id)  # the shipper's API key
    case = mkit.cases.open(
        api, type="lost", carrier=w.carrier.id, message=NOTE, audience="internal"
    )
    mkit.notifications.deliver()
    [own] = sink.to(shipper_desk)
    [other] = sink.to(CARRIER_DESK)
    assert own["In-Reply-To"] is None  # the opening mail: its Message-ID is the thread's
    if way == "in-reply-to":
        del own["Reply-To"], other["Reply-To"]
    result = send(inbound, answer(own, shipper_desk, "Keep it quiet."))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.org_id) == (
        "Keep it quiet.",
        "internal",
        w.shipper.id,
    )
    # The mail forwarded: answered from outside, it is sealed in the note's triage.
    outsider = send(inbound, answer(own, w.carrier_manager.email, "What do you know?"))
    assert (outsider.outcome, outsider.reason) == (
        Outcome.TRIAGED,
        "a reply to an internal note from outside the note's organization",
    )
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [outsider.inbound_id]
    assert mkit.inbound.triage(w.carrier_actor, include_handled=True) == []
    # The carrier's own mail told it a case was opened, not the note: its answer
    # is an answer like any other.
    assert NOTE not in str(other)
    theirs = send(inbound, answer(other, CARRIER_DESK, "Which shipment?"))
    assert theirs.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.org_id) == (
        "Which shipment?",
        "partners",
        w.carrier.id,
    )


# -- what a reply's headers and the directory decide -----------------------------------------
def _desk_message(mkit: CaseKit, w: World, sink: SmtpSink) -> tuple[str, EmailMessage]:
    """A case, and the carrier desk's mail of a message on it (not of its opening)."""
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Any news?")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    del mail["Reply-To"]  # answered to the From address: no token
    return case.number, mail


def _plain(mail: EmailMessage, sender: str) -> EmailMessage:
    """An answer to ``mail`` without its number in the subject, whose References
    name the client's own earlier message first."""
    reply = answer(mail, sender, "Still looking.", to="cases@acme.test")
    reply.replace_header("Subject", "RE: your question")
    reply.replace_header("References", f"<earlier@client.test> {mail['Message-ID']}")
    return reply


def test_a_messages_notification_answered_without_a_token_finds_its_case(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = _desk_message(mkit, w, sink)
    assert ".n" in str(mail["Message-ID"])  # a notification's own id, not the thread's
    result = send(inbound, _plain(mail, CARRIER_DESK))
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)
    assert messages(mkit, number)[-1].body == "Still looking."


def test_a_messages_notification_answered_by_a_stranger_is_in_its_recipients_triage(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = _desk_message(mkit, w, sink)
    result = send(inbound, _plain(mail, "temp@fast-agency.test"))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert result.case_number == number
    assert [i.id for i in mkit.inbound.triage(w.carrier_actor)] == [result.inbound_id]
    assert mkit.inbound.triage(w.shipper_actor) == []


def test_a_deactivated_user_answering_its_token_is_not_posted(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = notified(mkit, w, sink, w.shipper_manager, w.carrier_actor, "Found it.")
    with mkit.sessions(write=True) as session:
        u = tables.users.c
        session.execute(
            update(tables.users).where(u.id == w.shipper_manager.id).values(active=False)
        )
        session.commit()
    result = send(inbound, answer(mail, w.shipper_manager.email, "I left last week."))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [m.body for m in messages(mkit, number)] == ["Hi", "Found it."]
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [result.inbound_id]


def test_a_user_token_of_an_organization_no_longer_on_the_case_is_not_posted(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, mail = notified(mkit, w, sink, w.carrier_manager, w.shipper_actor, "Where is it?")
    with mkit.sessions(write=True) as session:  # the carrier is no party of the case any more
        c = tables.cases.c
        session.execute(update(tables.cases).where(c.number == number).values(carrier_org_id=None))
        session.commit()
    result = send(inbound, answer(mail, w.carrier_manager.email, "Delivered."))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [m.body for m in messages(mkit, number)] == ["Hi", "Where is it?"]


def test_a_stranger_answering_an_internal_note_opens_no_case_at_a_case_address(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    mkit.inbound.set_case_address(Actor.host(), w.shipper.id, "support@acme.test")
    number, mail = notified(
        mkit, w, sink, w.shipper_manager, w.shipper_actor, NOTE, audience="internal"
    )
    reply = answer(mail, "mallory@evil.test", "Tell me more.")
    reply["Cc"] = "support@acme.test"
    result = mkit.inbound.receive(reply.as_bytes())
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert result.case_number == number
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [result.inbound_id]
    with mkit.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.cases)).scalar() == 1


def test_a_carrier_desk_token_answered_by_a_stranger_is_in_the_carriers_triage(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    result = send(inbound, answer(mail, "temp@fast-agency.test", "Ours."))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [i.id for i in mkit.inbound.triage(w.carrier_actor)] == [result.inbound_id]
    assert mkit.inbound.triage(w.shipper_actor) == []


def test_the_shipper_desk_answers_for_the_shipper_and_its_token_is_the_shippers(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    desk = "claims@acme.test"
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.SHIPPER,
        email=desk,
    )
    # Opened by the carrier: the shipper has no owner, so its desk is mailed.
    case = mkit.cases.open(
        w.carrier_actor, type="delivery_scheduling", shipper=w.shipper.id, message="A slot?"
    )
    mkit.notifications.deliver()
    [mail] = sink.to(desk)
    result = send(inbound, answer(mail, desk, "Tuesday."))
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.org_id) == ("Tuesday.", "partners", w.shipper.id)
    stranger = send(inbound, answer(mail, "temp@acme-agency.test", "Wednesday."))
    assert (stranger.outcome, stranger.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [i.id for i in mkit.inbound.triage(w.shipper_actor)] == [stranger.inbound_id]
    assert mkit.inbound.triage(w.carrier_actor) == []


@pytest.mark.parametrize("token", [True, False])
@pytest.mark.parametrize("carrier", [True, False])
def test_a_cc_address_answers_for_no_organization(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer, carrier: bool, token: bool
) -> None:
    case = mkit.cases.open(
        w.shipper_actor,
        type="lost",
        carrier=w.carrier.id if carrier else None,
        message="Hi",
    )
    mkit.messages.post(w.shipper_actor, case.number, "Looping in the dock", cc=["dock@wh.test"])
    mkit.notifications.deliver()
    [mail] = sink.to("dock@wh.test")
    if not token:
        del mail["Reply-To"]  # answered to the From address: a participant by In-Reply-To
    result = send(
        inbound,
        answer(mail, "dock@wh.test", "It is here.", to=None if token else "cases@acme.test"),
    )
    assert result.outcome is Outcome.APPENDED
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.org_id, latest.author_email) == (
        "It is here.",
        "partners",
        None,
        "dock@wh.test",
    )


def test_a_collaborator_address_never_mailed_on_the_case_writes_for_its_side(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    desk = "claims@acme.test"
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.SHIPPER,
        email=desk,
    )
    # Opened by the shipper's staff: the shipper has an owner, its desk is never mailed.
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    assert sink.to(desk) == []
    reply = EmailMessage()
    reply["From"] = desk
    reply["To"] = "cases@acme.test"
    reply["Subject"] = f"[{case.number}] the claim form"
    reply["Message-ID"] = "<desk-1@acme.test>"
    reply.set_content("Attached next.")
    result = mkit.inbound.receive(reply.as_bytes())
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, case.number)
    latest = messages(mkit, case.number)[-1]
    assert (latest.body, latest.audience, latest.org_id) == (
        "Attached next.",
        "partners",
        w.shipper.id,
    )


def test_an_answer_to_a_shared_message_is_posted_though_the_case_has_internal_notes(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    number, _note = notified(
        mkit, w, sink, w.shipper_manager, w.shipper_actor, NOTE, audience="internal"
    )
    mkit.messages.post(w.shipper_actor, number, "It left today.", audience="everyone")
    mkit.notifications.deliver()
    mail = sink.to(w.customer.email)[-1]
    result = send(inbound, answer(mail, w.customer.email, "Thanks!"))
    assert result.outcome is Outcome.APPENDED
    assert messages(mkit, number)[-1].body == "Thanks!"


# -- what only the matching decides ---------------------------------------------------------
def test_a_notification_id_naming_another_case_tells_no_organization(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    _number, mail = _desk_message(mkit, w, sink)  # the carrier desk's notification
    hit = re.fullmatch(r"<casekit\.n(\d+)\.case\d+@acme\.test>", str(mail["Message-ID"]))
    assert hit is not None
    other = mkit.cases.open(w.shipper_actor, type="lost", message="Hello")
    # The desk's notification id, named as if it were sent on the other case.
    forged = f"<casekit.n{hit.group(1)}.case{other.id}@acme.test>"
    reply = answer(mail, "temp@fast-agency.test", "Mine?", to="cases@acme.test")
    reply.replace_header("Subject", "RE: your question")
    reply.replace_header("In-Reply-To", forged)
    reply.replace_header("References", forged)
    result = mkit.inbound.receive(reply.as_bytes())
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert result.case_number == other.number
    # No notification of the other case was sent to the carrier: the host's alone.
    assert mkit.inbound.triage(w.carrier_actor) == []
    assert mkit.inbound.triage(w.shipper_actor) == []
    assert [i.id for i in mkit.inbound.triage(Actor.host())] == [result.inbound_id]


@pytest.mark.parametrize("way", ["token", "in-reply-to"])
def test_a_reply_locks_its_case_row_on_every_way_it_is_matched(
    mkit: CaseKit, w: World, sink: SmtpSink, way: str
) -> None:
    number, mail = _desk_message(mkit, w, sink)
    if way == "token":
        reply = answer(mail, CARRIER_DESK, "Still looking.", to=_token_address(mkit, number))
        del reply["In-Reply-To"], reply["References"]
    else:
        reply = _plain(mail, CARRIER_DESK)
    reply.replace_header("Subject", "RE: your question")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()).upper())

    event.listen(mkit.engine, "before_cursor_execute", seen)
    try:
        result = mkit.inbound.receive(reply.as_bytes())
    finally:
        event.remove(mkit.engine, "before_cursor_execute", seen)
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)
    case_reads = [s for s in statements if s.startswith("SELECT") and "FROM CASEKIT_CASES" in s]
    assert case_reads
    locked = [s for s in case_reads if s.endswith("FOR UPDATE")]
    if mkit.engine.dialect.name == "sqlite":
        assert locked == []  # its writing transactions run one at a time
    else:
        assert locked  # matched under the row lock, then filed in the same transaction


def _token_address(mkit: CaseKit, number: str, case_id: int | None = None) -> str:
    """The carrier desk's reply address on case ``number`` (or on the id ``case_id``)."""
    if case_id is None:
        case_id = mkit.cases.get(Actor.host(), number).id
    assert case_id is not None
    token = make_token(SECRET, case_id, f"a:{CARRIER_DESK}")
    return f"reply+{token}@inbound.acme.test"


def test_a_token_of_no_case_is_for_the_host_alone(mkit: CaseKit, w: World, sink: SmtpSink) -> None:
    number, mail = _desk_message(mkit, w, sink)
    case_id = mkit.cases.get(Actor.host(), number).id
    assert case_id is not None
    # Signed with the right secret, for a case that does not exist; the
    # In-Reply-To naming a real notification does not make up for it.
    gone = _token_address(mkit, number, case_id=case_id + 1000)
    result = mkit.inbound.receive(answer(mail, CARRIER_DESK, "Here.", to=gone).as_bytes())
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "the reply token names no case")
    assert result.case_number is None
    assert [m.body for m in messages(mkit, number)] == ["Hi", "Any news?"]
    assert mkit.inbound.triage(w.carrier_actor) == []
    assert [i.id for i in mkit.inbound.triage(Actor.host())] == [result.inbound_id]


def test_a_token_in_cc_behind_another_recipient_matches(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    number, _mail = _desk_message(mkit, w, sink)
    reply = EmailMessage()
    reply["From"] = CARRIER_DESK
    reply["To"] = "ops@fast.test"
    reply["Cc"] = _token_address(mkit, number)
    reply["Subject"] = "the pallet"  # no case number, no In-Reply-To: the token alone
    reply["Message-ID"] = "<cc-1@fast.test>"
    reply.set_content("Found it at the dock.")
    result = mkit.inbound.receive(reply.as_bytes())
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)
    latest = messages(mkit, number)[-1]
    assert (latest.body, latest.org_id) == ("Found it at the dock.", w.carrier.id)


def test_without_reply_secrets_a_token_is_not_read_and_in_reply_to_matches(
    database_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    mkit: CaseKit,
    w: World,
    sink: SmtpSink,
) -> None:
    number, mail = _desk_message(mkit, w, sink)
    unsigned = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        mail_from="cases@acme.test",
        reply_address="reply@inbound.acme.test",
    )
    try:
        # Answered to a token sent while secrets were set: no secret verifies
        # it now, so it is not read at all, and In-Reply-To finds the case.
        reply = answer(mail, CARRIER_DESK, "Still looking.", to=_token_address(mkit, number))
        reply.replace_header("Subject", "RE: your question")
        result = unsigned.inbound.receive(reply.as_bytes())
    finally:
        unsigned.close()
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)
    assert messages(mkit, number)[-1].body == "Still looking."


def test_a_collaborator_address_of_another_pair_is_no_sender_on_the_case(
    mkit: CaseKit, w: World
) -> None:
    other = World.build(mkit, tag="2")
    for shipper, carrier, side, desk in [
        (w.shipper, other.carrier, Side.CARRIER, "dispatch@other-carrier.test"),
        (other.shipper, w.carrier, Side.SHIPPER, "claims@other-shipper.test"),
    ]:
        mkit.notifications.set_collaborator_address(
            Actor.host(),
            shipper_org_id=shipper.id,
            carrier_org_id=carrier.id,
            side=side,
            email=desk,
        )
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    for desk in ("dispatch@other-carrier.test", "claims@other-shipper.test"):
        reply = EmailMessage()
        reply["From"] = desk
        reply["To"] = "cases@acme.test"
        reply["Subject"] = f"[{case.number}] ours?"
        reply["Message-ID"] = f"<{desk}>"
        reply.set_content("We will take it.")
        result = mkit.inbound.receive(reply.as_bytes())
        assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert [m.body for m in messages(mkit, case.number)] == ["Hi"]


def test_a_desk_taking_part_answers_without_a_token_for_its_side(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    number, mail = _desk_message(mkit, w, sink)
    first = _plain(mail, CARRIER_DESK)
    assert mkit.inbound.receive(first.as_bytes()).outcome is Outcome.APPENDED
    p, c = tables.participants.c, tables.cases.c
    with mkit.sessions(write=False) as session:
        desks = session.scalars(
            select(p.email).join(tables.cases, c.id == p.case_id).where(c.number == number)
        ).all()
    assert CARRIER_DESK in desks  # a participant of the case now
    second = answer(mail, CARRIER_DESK, "Found it.", to="cases@acme.test")
    second.replace_header("Subject", "RE: your question")
    result = mkit.inbound.receive(second.as_bytes())
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)
    latest = messages(mkit, number)[-1]
    assert (latest.body, latest.audience, latest.org_id, latest.author_email) == (
        "Found it.",
        "partners",
        w.carrier.id,
        CARRIER_DESK,
    )


@pytest.mark.parametrize("which", ["opening", "message"])
def test_casekit_own_notification_looped_back_is_not_posted(
    mkit: CaseKit, w: World, sink: SmtpSink, which: str
) -> None:
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    mkit.notifications.deliver()
    if which == "message":
        sink.clear()
        mkit.messages.post(w.shipper_actor, case.number, "Any news?")
        mkit.notifications.deliver()
    [mail] = sink.to(CARRIER_DESK)
    # A thread id (the opening's) or a notification's own id: casekit's either way.
    kind = r"case\d+\.[0-9a-f]{16}" if which == "opening" else r"n\d+\.case\d+"
    assert re.fullmatch(rf"<casekit\.{kind}@acme\.test>", str(mail["Message-ID"]))
    del mail["Auto-Submitted"]
    del mail["X-Auto-Response-Suppress"]
    # Looped back by the desk's mail system as if the desk had sent it.
    mail.replace_header("From", CARRIER_DESK)
    result = mkit.inbound.receive(mail.as_bytes())
    assert (result.outcome, result.reason) == (Outcome.AUTO_REPLY, "casekit's own mail")
    expected = ["Hi", "Any news?"] if which == "message" else ["Hi"]
    assert [m.body for m in messages(mkit, case.number)] == expected


SHIPPER_DESK = "claims@acme.test"


@pytest.mark.parametrize(
    ("who", "audience"),
    [
        ("the notified user", "customer"),
        ("a shipper colleague", "customer"),
        ("the shipper's desk", "customer"),
        ("a cc address", "customer"),
        ("a carrier user", "partners"),
        ("the carrier's desk", "partners"),
    ],
)
@pytest.mark.parametrize("shared", [False, True])
def test_an_answer_to_a_customers_message_is_to_the_customer_from_the_shipper_alone(
    mkit: CaseKit,
    w: World,
    sink: SmtpSink,
    inbound: InboundServer,
    who: str,
    audience: str,
    shared: bool,
) -> None:
    """The shipper's side answering a ``customer`` entry writes to the customer;
    the carrier's side, even answering a shared one, never does."""
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.SHIPPER,
        email=SHIPPER_DESK,
    )
    number, mail = notified(
        mkit,
        w,
        sink,
        w.shipper_manager,
        w.customer_actor,
        "The cover is torn.",
        audience="customer",
    )
    mkit.messages.post(w.shipper_actor, number, "Adding the dock.", cc=["dock@wh.test"])
    customer_entry = messages(mkit, number)[1]
    assert (customer_entry.body, customer_entry.audience) == ("The cover is torn.", "customer")
    if shared:
        mkit.cases.share_with_carrier(w.shipper_actor, number, customer_entry.id)
    sender = {
        "the notified user": w.shipper_manager.email,
        "a shipper colleague": w.shipper_agent.email,
        "the shipper's desk": SHIPPER_DESK,
        "a cc address": "dock@wh.test",
        "a carrier user": w.carrier_agent.email,
        "the carrier's desk": CARRIER_DESK,
    }[who]
    result = send(inbound, answer(mail, sender, "A new cover ships tomorrow."))
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)
    latest = messages(mkit, number)[-1]
    assert (latest.body, latest.audience) == ("A new cover ships tomorrow.", audience)
    customer_reads = [e.body for e in mkit.cases.timeline(w.customer_actor, number)]
    carrier_reads = [e.body for e in mkit.cases.timeline(w.carrier_actor, number)]
    assert ("A new cover ships tomorrow." in customer_reads) is (audience == "customer")
    assert ("A new cover ships tomorrow." in carrier_reads) is (audience == "partners")
    assert ("The cover is torn." in carrier_reads) is shared


def test_a_customer_answering_an_everyone_message_stays_for_everyone_else_writes_to_the_shipper(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id, message="Hi"
    )
    mkit.messages.post(w.shipper_actor, case.number, "Tuesday 9-12?", audience="everyone")
    mkit.notifications.deliver()
    mail = sink.to(w.customer.email)[-1]
    assert send(inbound, answer(mail, w.customer.email, "Tuesday works.")).outcome is (
        Outcome.APPENDED
    )
    # The same customer, not answering a notification (its case number in the subject).
    later = EmailMessage()
    later["From"] = w.customer.email
    later["To"] = "cases@acme.test"
    later["Subject"] = f"[{case.number}] one more thing"
    later["Message-ID"] = "<later-1@client.test>"
    later.set_content("Please ring twice.")
    assert send(inbound, later).outcome is Outcome.APPENDED
    assert [(m.body, m.audience, m.customer_id) for m in messages(mkit, case.number)[-2:]] == [
        ("Tuesday works.", "everyone", w.customer.id),
        ("Please ring twice.", "customer", w.customer.id),
    ]
    carrier_reads = [e.body for e in mkit.cases.timeline(w.carrier_actor, case.number)]
    assert "Tuesday works." in carrier_reads
    assert "Please ring twice." not in carrier_reads


def test_triaged_mail_is_filed_for_the_audiences_its_filer_may_write_to(
    mkit: CaseKit, w: World, sink: SmtpSink, inbound: InboundServer
) -> None:
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id, message="Hi"
    )
    mkit.notifications.deliver()
    [desk_mail] = sink.to(CARRIER_DESK)
    carriers = send(inbound, answer(desk_mail, "temp@fast-agency.test", "Ours."))
    # A case number in the subject from an unknown sender: the shipper's triage.
    unknown = EmailMessage()
    unknown["From"] = "casey.work@office.test"
    unknown["To"] = "cases@acme.test"
    unknown["Subject"] = f"[{case.number}] from my office"
    unknown["Message-ID"] = "<office-1@client.test>"
    unknown.set_content("Mine.")
    shippers = send(inbound, unknown)
    assert carriers.outcome is shippers.outcome is Outcome.TRIAGED
    assert carriers.inbound_id is not None
    assert shippers.inbound_id is not None
    # The carrier's staff never write to the shipper's customer: the item stays in triage.
    for audience in ("customer", "everyone"):
        with pytest.raises(PermissionDenied):
            mkit.inbound.file(w.carrier_actor, carriers.inbound_id, case.number, audience=audience)
    assert [i.id for i in mkit.inbound.triage(w.carrier_actor)] == [carriers.inbound_id]
    filed = mkit.inbound.file(
        w.carrier_actor, carriers.inbound_id, case.number, audience="partners"
    )
    # The shipper's staff may write to the customer alone.
    mine = mkit.inbound.file(w.shipper_actor, shippers.inbound_id, case.number, audience="customer")
    audiences = {m.id: m.audience for m in messages(mkit, case.number)}
    assert (audiences[filed.entry_id], audiences[mine.entry_id]) == ("partners", "customer")
    carrier_reads = [e.body for e in mkit.cases.timeline(w.carrier_actor, case.number)]
    customer_reads = [e.body for e in mkit.cases.timeline(w.customer_actor, case.number)]
    assert ("Ours." in carrier_reads, "Mine." in carrier_reads) == (True, False)
    assert ("Ours." in customer_reads, "Mine." in customer_reads) == (False, True)


def test_a_carrier_desk_writing_in_takes_part_as_the_carrier(
    mkit: CaseKit, w: World, sink: SmtpSink
) -> None:
    """The carrier's collaborator address that writes in becomes a participant
    of the carrier: it is not told of the shipper's conversation with its
    customer, as a participant or otherwise."""
    case = mkit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, customer=w.customer.id, message="Hi"
    )
    mail = EmailMessage()
    mail["From"] = CARRIER_DESK
    mail["To"] = "cases@acme.test"
    mail["Subject"] = f"[{case.number}] tracing"
    mail["Message-ID"] = "<desk-trace@fast.test>"
    mail.set_content("Tracing it now.")
    assert mkit.inbound.receive(mail.as_bytes()).outcome is Outcome.APPENDED
    p = tables.participants.c
    with mkit.sessions(write=False) as session:
        org_id = session.execute(
            select(p.org_id).where(p.case_id == case.id, p.email == CARRIER_DESK)
        ).scalar_one()
    assert org_id == w.carrier.id
    refund = mkit.messages.post(w.shipper_actor, case.number, "Refund sent", audience="customer")
    thanks = mkit.messages.post(w.customer_actor, case.number, "Thanks")
    mkit.notifications.deliver()
    o = tables.outbox.c
    with mkit.sessions(write=False) as session:
        told = session.scalars(
            select(o.email).where(
                o.entry_id.in_([refund.id, thanks.id]), o.event == "message_posted"
            )
        ).all()
    assert w.customer.email in told
    assert CARRIER_DESK not in told
    assert all("Refund sent" not in m.as_string() for m in sink.to(CARRIER_DESK))
