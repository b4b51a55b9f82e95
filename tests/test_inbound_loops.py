"""Mail that never loops or stalls: auto-replies without their headers, a
damper for bursts, mail the parser cannot read, and bounces in plain words.

The loop test runs the whole pipeline: casekit's worker delivers to an
aiosmtpd sink, and two responders answer every mail they get through the
real inbound server.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casekit import Actor, CaseKit, Side
from casekit.mail.server import InboundServer
from casekit.sample import World
from casekit.services.inbound import InboundResult, Outcome
from casekit.store import tables
from casekit.testing import FrozenClock, SmtpSink

CARRIER_DESK = "dispatch@fast.test"


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        message="Please send a photo.",
    ).number


def reply(number: str, *, sender: str, subject: str | None = None, text: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@acme.test"
    message["Subject"] = subject if subject is not None else f"RE: [{number}] damaged pallet"
    message["Message-ID"] = f"<{abs(hash((sender, subject, text)))}@client.test>"
    message.set_content(text or "The pallet is in the depot.")
    return message.as_bytes()


def messages(kit: CaseKit, number: str) -> list[str]:
    return [e.body for e in kit.cases.timeline(Actor.host(), number) if e.kind == "message"]


def outbox_rows(kit: CaseKit) -> int:
    with kit.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.outbox)).scalar_one())


# -- auto-replies without RFC 3834's headers -------------------------------------------


def test_a_normal_reply_from_the_carrier_is_posted(kit: CaseKit, world: World, number: str) -> None:
    """The control of the tests below: the same mail with a person's subject is posted."""
    result = kit.inbound.receive(reply(number, sender="cal@fast.test"))
    assert result.outcome is Outcome.APPENDED
    assert messages(kit, number)[-1] == "The pallet is in the depot."


@pytest.mark.backends("sqlite")  # reading the mail; the database path is the same
@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: RE: [{n}] damaged pallet",
        "Out of Office: RE: [{n}] damaged pallet",
        "Auto: [{n}] damaged pallet",
        "AutoReply: [{n}]",
        "Auto-Response: [{n}]",
        "Abwesenheitsnotiz: AW: [{n}] damaged pallet",
        "Automatische Antwort: [{n}]",
        "Réponse automatique : [{n}] damaged pallet",
        "Respuesta automática: [{n}]",
        "Afwezig: [{n}]",
        "Risposta automatica: [{n}]",
        "Resposta automática: [{n}]",
    ],
)
def test_an_out_of_office_subject_is_an_auto_reply(
    kit: CaseKit, world: World, number: str, subject: str
) -> None:
    before = (messages(kit, number), outbox_rows(kit))
    result = kit.inbound.receive(
        reply(number, sender="cal@fast.test", subject=subject.format(n=number))
    )
    assert result.outcome is Outcome.AUTO_REPLY
    assert result.case_number == number
    assert result.reason is not None
    assert "subject" in result.reason
    assert (messages(kit, number), outbox_rows(kit)) == before


@pytest.mark.backends("sqlite")  # reading the mail; the database path is the same
@pytest.mark.parametrize(
    "subject",
    ["RE: [{n}] out of office until Monday?", "Autumn delivery [{n}]", "Auto parts [{n}]"],
)
def test_a_person_writing_about_absence_is_posted(
    kit: CaseKit, world: World, number: str, subject: str
) -> None:
    result = kit.inbound.receive(
        reply(number, sender="cal@fast.test", subject=subject.format(n=number))
    )
    assert result.outcome is Outcome.APPENDED


@pytest.mark.backends("sqlite")  # reading the mail; the database path is the same
@pytest.mark.parametrize(
    "sender",
    [
        "noreply@fast.test",
        "no-reply+tracking@fast.test",
        "donotreply@fast.test",
        "autoresponder@fast.test",
        "vacation@fast.test",
    ],
)
def test_an_autoresponder_sender_is_an_auto_reply(
    kit: CaseKit, world: World, number: str, sender: str
) -> None:
    result = kit.inbound.receive(reply(number, sender=sender))
    assert result.outcome is Outcome.AUTO_REPLY
    assert result.reason == f"automatic reply (sender {sender})"


# -- the damper ---------------------------------------------------------------------


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    return mailing_kit(
        reply_address="reply@inbound.acme.test",
        reply_secrets=("reply-secret-0123456789abcdef",),
    )


@pytest.fixture
def inbound(mkit: CaseKit) -> Iterator[InboundServer]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = InboundServer(mkit, port=port)
    server.start()
    yield server
    server.stop()


def answer(notification: EmailMessage, sender: str, round_: int) -> EmailMessage:
    """What a responder with no auto-reply headers sends back: a plain reply."""
    out = EmailMessage()
    out["From"] = sender
    out["To"] = str(notification["Reply-To"] or notification["From"])
    out["Subject"] = f"RE: {notification['Subject']}"
    out["Message-ID"] = f"<loop-{round_}-{sender}@client.test>"
    out["In-Reply-To"] = str(notification["Message-ID"])
    out.set_content(f"Thanks for your message ({round_}); I will look at it.")
    return out


def send(server: InboundServer, message: EmailMessage) -> InboundResult:
    with smtplib.SMTP(server.hostname, server.port) as client:
        client.send_message(message, to_addrs=[parseaddr(str(message["To"]))[1]])
    return server.handler.results[-1]


def test_two_responders_answering_each_other_stop_mailing(
    mkit: CaseKit, sink: SmtpSink, inbound: InboundServer
) -> None:
    """The carrier's desk and the shipper's owner both answer every mail they
    get, with no auto-reply header: casekit posts their messages, and after
    ``inbound_burst_limit`` of them from each the mail between them stops."""
    w = World.build(mkit)
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.CARRIER,
        email=CARRIER_DESK,
    )
    owner = w.shipper_agent.email
    number = mkit.cases.open(
        w.shipper_actor,
        type="lost",
        carrier=w.carrier.id,
        message="Where is the pallet?",
    ).number
    limit = mkit.settings.inbound_burst_limit
    answered: set[tuple[str, str]] = set()
    held: list[InboundResult] = []
    for round_ in range(4 * limit):
        mkit.notifications.deliver()
        new = [
            (recipient, mail)
            for recipient in (CARRIER_DESK, owner)
            for mail in sink.to(recipient)
            if (recipient, str(mail["Message-ID"])) not in answered
        ]
        if not new:
            break
        for recipient, mail in new:
            answered.add((recipient, str(mail["Message-ID"])))
            result = send(inbound, answer(mail, recipient, round_))
            assert result.outcome is Outcome.APPENDED, result
            if result.reason:
                held.append(result)
    else:
        pytest.fail("the responders were still mailing each other")
    posted = [m for m in messages(mkit, number) if m.startswith("Thanks for your message")]
    # The desk and the owner took turns: `limit` messages each notified the
    # other; the desk's next one was posted, and held, so the owner's
    # responder had nothing more to answer.
    assert len(posted) == 2 * limit + 1
    assert [r.reason for r in held] == [
        f"notifications held: {limit + 1} messages from {CARRIER_DESK} on this case "
        f"within {mkit.settings.inbound_burst_minutes} minutes"
    ]
    with mkit.engine.connect() as conn:
        reasons = (
            conn.execute(
                select(tables.inbound_messages.c.reason).where(
                    tables.inbound_messages.c.reason.like("notifications held%")
                )
            )
            .scalars()
            .all()
        )
    assert len(reasons) == len(held)


def test_the_damper_lets_mail_through_again_after_its_window(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    limit = kit.settings.inbound_burst_limit
    results = [
        kit.inbound.receive(reply(number, sender="cal@fast.test", text=f"update {i}"))
        for i in range(limit + 1)
    ]
    assert [r.reason for r in results[:limit]] == [None] * limit
    assert results[limit].reason == (
        f"notifications held: {limit + 1} messages from cal@fast.test on this case "
        f"within {kit.settings.inbound_burst_minutes} minutes"
    )
    # Another sender on the same case is not held.
    other = kit.inbound.receive(reply(number, sender="max@fast.test", text="mine"))
    assert other.outcome is Outcome.APPENDED
    assert other.reason is None
    clock.advance(minutes=kit.settings.inbound_burst_minutes + 1)
    later = kit.inbound.receive(reply(number, sender="cal@fast.test", text="next day"))
    assert later.outcome is Outcome.APPENDED
    assert later.reason is None
    assert len([m for m in messages(kit, number) if m.startswith("update")]) == limit + 1


def test_a_held_message_queues_no_notification(kit: CaseKit, world: World, number: str) -> None:
    limit = kit.settings.inbound_burst_limit
    for i in range(limit):
        kit.inbound.receive(reply(number, sender="cal@fast.test", text=f"update {i}"))
    before = outbox_rows(kit)
    kit.inbound.receive(reply(number, sender="cal@fast.test", text="one more"))
    assert outbox_rows(kit) == before
    assert messages(kit, number)[-1] == "one more"


# -- mail the parser cannot read --------------------------------------------------------


def nested(depth: int, *, to: str = "support@acme.test") -> bytes:
    head = (
        f"From: Cal <cal@fast.test>\r\nTo: {to}\r\nSubject: deeply nested\r\n"
        f"Message-ID: <nested-{depth}-{to}@fast.test>\r\nMIME-Version: 1.0\r\n"
    )
    body = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)
    )
    body += "Content-Type: text/plain\r\n\r\nhello\r\n"
    body += "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    return (head + body).encode()


def test_a_message_the_parser_cannot_read_is_kept_and_triaged(kit: CaseKit, world: World) -> None:
    raw = nested(1000)
    result = kit.inbound.receive(raw, envelope_from="cal@fast.test")
    assert result.outcome is Outcome.TRIAGED
    assert result.reason is not None
    assert result.reason.startswith("malformed: the message could not be read (RecursionError")
    [item] = [i for i in kit.inbound.triage(Actor.host()) if i.id == result.inbound_id]
    assert item.subject == "deeply nested"
    assert item.from_address == "cal@fast.test"
    assert item.org_id is None
    with kit.inbound.original(Actor.host(), item.id) as original:
        assert original.read() == raw
    again = kit.inbound.receive(raw)
    assert again.outcome is Outcome.DUPLICATE
    assert again.inbound_id == result.inbound_id


def test_an_unreadable_message_to_a_case_address_is_that_organizations(
    kit: CaseKit, world: World
) -> None:
    kit.inbound.set_case_address(Actor.host(), world.shipper.id, "cases@acme.test")
    result = kit.inbound.receive(nested(1000, to="cases@acme.test"))
    assert result.outcome is Outcome.TRIAGED
    [item] = [i for i in kit.inbound.triage(world.shipper_actor) if i.id == result.inbound_id]
    assert item.org_id == world.shipper.id


@pytest.mark.backends("sqlite")  # reading the mail; the database path is the same
def test_the_cli_and_the_smtp_server_take_an_unreadable_message(
    kit: CaseKit, database_url: str, tmp_path: Path
) -> None:
    piped = subprocess.run(
        [sys.executable, "-m", "casekit", "--database-url", database_url, "inbound", "read", "-"],
        input=nested(1000),
        capture_output=True,
        env={
            **os.environ,
            "CASEKIT_LOAD_ENTRY_POINTS": "false",
            "CASEKIT_ATTACHMENT_DIR": str(tmp_path),
        },
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode().startswith("triaged (malformed: the message could not be read")

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = InboundServer(kit, port=port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            client.mail("cal@fast.test")
            client.rcpt("support@acme.test")
            code, text = client.data(nested(999))
    finally:
        server.stop()
    assert (code, text) == (250, b"2.0.0 triaged")


# -- bounces in plain words ----------------------------------------------------------------

POSTFIX = (
    "From: MAILER-DAEMON@mx.acme.test (Mail Delivery System)\r\nTo: cases@acme.test\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <pf-{tag}@mx.acme.test>\r\n\r\n"
    "This is the mail system at host mx.acme.test.\r\n\r\n"
    "I'm sorry to have to inform you that your message could not\r\n"
    "be delivered to one or more recipients.\r\n\r\n"
    "<{address}>: host mx.fast.test[192.0.2.1] said: {code} User unknown\r\n"
)
EXCHANGE = (
    "From: postmaster@acme.test\r\nTo: cases@acme.test\r\nSubject: Undeliverable: [CV1]\r\n"
    "Message-ID: <ex-{tag}@acme.test>\r\n\r\n"
    "Delivery has failed to these recipients or groups:\r\n\r\n{address}\r\n"
    "The email address you entered couldn't be found.\r\n\r\n"
    "Diagnostic information for administrators:\r\nGenerating server: acme.test\r\n"
    "cal@fast.test\r\n"
)
GMAIL = (
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: cases@acme.test\r\n"
    "Subject: Delivery Status Notification (Failure)\r\nMessage-ID: <gm-{tag}@google.test>\r\n\r\n"
    "** Address not found **\r\n\r\n"
    "Your message wasn't delivered to {address} because the address couldn't be found, "
    "or is unable to receive mail.\r\n"
)


@pytest.mark.backends("sqlite")  # reading the mail; the database path is the same
@pytest.mark.parametrize(
    "template", [POSTFIX, EXCHANGE, GMAIL], ids=["postfix", "exchange", "gmail"]
)
def test_a_bounce_in_plain_words_marks_its_address(kit: CaseKit, template: str) -> None:
    address = "gone@fast.test"
    raw = template.format(address=address, code="550 5.1.1", tag="perm").encode()
    result = kit.inbound.receive(raw)
    assert result.outcome is Outcome.BOUNCE
    assert result.reason == f"delivery failed: {address}"
    assert kit.inbound.is_bouncing(address)
    assert not kit.inbound.is_bouncing("cal@fast.test")


@pytest.mark.backends("sqlite")  # reading the mail; the database path is the same
def test_a_temporary_failure_in_plain_words_marks_nobody(kit: CaseKit) -> None:
    raw = POSTFIX.format(address="full@fast.test", code="452 4.2.2", tag="temp").encode()
    result = kit.inbound.receive(raw)
    assert result.outcome is Outcome.BOUNCE
    assert not kit.inbound.is_bouncing("full@fast.test")
