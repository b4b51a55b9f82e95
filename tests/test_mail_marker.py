"""Mails people can answer: the reply marker and the case link, out and back in.

casekit's worker delivers notifications to an aiosmtpd sink; each recipient
kind's mail is read as it arrived. The answers are written as Gmail, Outlook
and Apple Mail write them (top-posted, the notification quoted below, in the
client's language) and sent with smtplib into ``casekit inbound serve``'s
server; the case gets the answer only.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import parseaddr

import pytest

from casekit import Actor, CaseKit, Side
from casekit.mail.marker import REPLY_MARKER, cut_at_marker
from casekit.mail.server import InboundServer
from casekit.services.inbound import Outcome
from casekit.testing import SmtpSink, World

SECRET = "reply-secret-0123456789abcdef"
CARRIER_DESK = "dispatch@fast.test"
STAFF = "https://shop.test/cases/{number}"
PORTAL = "https://shop.test/my-account/cases/{number}"


def world(kit: CaseKit) -> World:
    w = World.build(kit)
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=w.shipper.id,
        carrier_org_id=w.carrier.id,
        side=Side.CARRIER,
        email=CARRIER_DESK,
    )
    return w


def parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def everyone_hears(kit: CaseKit, w: World, sink: SmtpSink) -> tuple[str, dict[str, EmailMessage]]:
    """A message for everyone on a case with a carrier (no owner: its desk) and a customer,
    the shipper's manager watching; each recipient kind's mail of it."""
    case = kit.cases.open(
        w.shipper_actor,
        type="where_is_my_order",
        carrier=w.carrier.id,
        customer=w.customer.id,
        message="Where is it?",
    )
    kit.cases.watch(w.shipper_manager_actor, case.number)
    kit.notifications.deliver()
    sink.clear()
    kit.messages.post(w.shipper_actor, case.number, "It left today.", audience="everyone")
    kit.notifications.deliver()
    (user,) = sink.to(w.shipper_manager.email)
    (address,) = sink.to(CARRIER_DESK)
    (customer,) = sink.to(w.customer.email)
    return case.number, {"user": user, "address": address, "customer": customer}


@pytest.mark.parametrize("replies", [True, False], ids=["replies", "no-replies"])
def test_each_recipient_gets_its_own_link_and_the_marker_when_replies_count(
    mailing_kit, sink, replies
):
    reply = {"reply_address": "reply@inbound.acme.test", "reply_secrets": (SECRET,)}
    mkit = mailing_kit(case_url=STAFF, portal_case_url=PORTAL, **(reply if replies else {}))
    number, mails = everyone_hears(mkit, world(mkit), sink)
    staff_link = STAFF.replace("{number}", number)
    portal_link = PORTAL.replace("{number}", number)
    for kind, mail in mails.items():
        text, html = parts(mail)
        assert "do not reply" not in (text + html).lower(), kind
        assert "It left today." in text, kind
        if replies:
            assert text.startswith(REPLY_MARKER + "\n\n"), kind
            assert html.index(REPLY_MARKER) < html.index("It left today."), kind
            assert f"Reply to this email to answer on case {number}" in text, kind
            assert "not read" not in text + html, kind
            assert "reply+" in str(mail["Reply-To"]), kind
        else:
            assert REPLY_MARKER not in text + html, kind
            assert "Replies to this email are not read: answer on the case's page." in text
            assert "Replies to this email are not read" in html, kind
            assert mail["Reply-To"] is None, kind
        link = portal_link if kind == "customer" else staff_link
        assert f"Open the case: {link}\n" in text, kind
        assert f'<a href="{link}">' in html, kind
    # The customer's mail never links to the staff pages.
    customer = "".join(parts(mails["customer"]))
    assert "shop.test/cases/" not in customer
    assert staff_link not in customer


def test_without_links_the_mail_says_plainly_that_replies_are_not_read(mailing_kit, sink):
    mkit = mailing_kit(case_url=STAFF)
    _number, mails = everyone_hears(mkit, world(mkit), sink)
    text, html = parts(mails["customer"])
    # No portal link set: the customer gets no link at all, never the staff one.
    assert "https://" not in text
    assert "href=" not in html
    assert text.rstrip().endswith("\nReplies to this email are not read.")
    assert "Open the case: https://shop.test/cases/" in parts(mails["user"])[0]


# -- back in: the answer, without the quoted notification ----------------------------------


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def gmail_german(notification: str) -> str:
    return (
        "Donnerstag passt, danke.\n\n"
        "Am Mo., 5. Jan. 2026 um 10:02 Uhr schrieb Acme Cases <cases@acme.test>:\n\n"
        f"{_quoted(notification)}\n"
    )


def outlook_german(notification: str) -> str:
    return (
        "Donnerstag passt, danke.\n\n"
        "________________________________\n"
        "Von: Acme Cases <cases@acme.test>\n"
        "Gesendet: Montag, 5. Januar 2026 10:02\n"
        "An: Casey Customer <casey@home.test>\n"
        "Betreff: [CV000001] Where Is My Order\n\n"
        f"{notification}\n"
    )


def apple_mail_french(notification: str) -> str:
    return (
        "Donnerstag passt, danke.\n\n"
        "> Le 5 janv. 2026 à 10:02, Acme Cases <cases@acme.test> a écrit :\n"
        ">\n"
        f"{_quoted(notification)}\n"
    )


SHAPES = {"gmail": gmail_german, "outlook": outlook_german, "apple-mail": apple_mail_french}


@pytest.fixture
def replying_kit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    return mailing_kit(
        reply_address="reply@inbound.acme.test",
        reply_secrets=(SECRET,),
        case_url=STAFF,
        portal_case_url=PORTAL,
    )


@pytest.fixture
def inbound(replying_kit: CaseKit) -> Iterator[InboundServer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = InboundServer(replying_kit, port=port)
    server.start()
    yield server
    server.stop()


def send(server: InboundServer, reply: EmailMessage) -> None:
    before = len(server.handler.results)
    with smtplib.SMTP(server.hostname, server.port) as client:
        client.send_message(reply, to_addrs=[parseaddr(str(reply["To"]))[1]])
    assert len(server.handler.results) == before + 1
    assert server.handler.results[-1].outcome is Outcome.APPENDED


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_answer_above_the_marker_is_all_the_case_gets(replying_kit, sink, inbound, shape):
    w = world(replying_kit)
    number, mails = everyone_hears(replying_kit, w, sink)
    for sender, mail in ((w.customer.email, mails["customer"]), (CARRIER_DESK, mails["address"])):
        text, _html = parts(mail)
        assert text.startswith(REPLY_MARKER)
        answer = EmailMessage()
        answer["From"] = sender
        answer["To"] = str(mail["Reply-To"])
        answer["Subject"] = f"AW: {mail['Subject']}"
        answer["Message-ID"] = f"<{shape}-{sender}@client.test>"
        answer["In-Reply-To"] = answer["References"] = str(mail["Message-ID"])
        answer.set_content(SHAPES[shape](text))
        send(inbound, answer)
        latest = [
            e for e in replying_kit.cases.timeline(Actor.host(), number) if e.kind == "message"
        ][-1]
        assert latest.body == "Donnerstag passt, danke.", (shape, sender)


def test_an_html_only_answer_is_cut_at_the_quoted_marker(replying_kit, sink, inbound):
    w = world(replying_kit)
    number, mails = everyone_hears(replying_kit, w, sink)
    mail = mails["customer"]
    _text, html = parts(mail)
    body = html.split("<body", 1)[1].split(">", 1)[1].split("</body>")[0]
    answer = EmailMessage()
    answer["From"] = w.customer.email
    answer["To"] = str(mail["Reply-To"])
    answer["Subject"] = f"AW: {mail['Subject']}"
    answer["Message-ID"] = "<html-answer@client.test>"
    answer.set_content(
        '<html><body><div dir="ltr">Donnerstag passt, danke.</div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">Am Mo., 5. Jan. 2026 um '
        "10:02 Uhr schrieb Acme Cases &lt;cases@acme.test&gt;:<br></div>"
        f'<blockquote class="gmail_quote">{body}</blockquote></div></body></html>',
        subtype="html",
    )
    send(inbound, answer)
    latest = [e for e in replying_kit.cases.timeline(Actor.host(), number) if e.kind == "message"]
    assert latest[-1].body == "Donnerstag passt, danke."


# -- the cut itself -------------------------------------------------------------------------


def test_the_cut_keeps_what_is_above_the_first_marker_line():
    assert cut_at_marker("no marker here\n> quoted") is None
    assert cut_at_marker(f"Yes.\n\n>> > {REPLY_MARKER}\n>> rest") == "Yes."
    # Worded in another language by an organization's template.
    assert cut_at_marker("Ja.\n\n##- Bitte oberhalb dieser Zeile antworten -##\nRest") == "Ja."
    # The answer's own last lines are kept when they are no quote header.
    kept = "Order: NW-5001\nCartons: 3"
    assert cut_at_marker(f"{kept}\n\n> {REPLY_MARKER}\n> rest") == kept
    assert cut_at_marker(f"Here is the list:\n\n> {REPLY_MARKER}") == "Here is the list:"
    # A marker inside a line is not a marker line.
    assert cut_at_marker(f"The mail said {REPLY_MARKER} at the top") is None
    # Nothing above it: the answer is below (read as mail without a marker).
    assert cut_at_marker(f"> {REPLY_MARKER}\n> history\n\nMy answer") == ""
