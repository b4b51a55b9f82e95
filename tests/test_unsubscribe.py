"""Unsubscribing from a case's mail by the link in a notification, and Cc'd addresses.

Real mail through a loopback SMTP server (``SmtpSink``); the tokens are read
from the delivered mails' ``List-Unsubscribe`` headers.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage, Message

import pytest
from sqlalchemy import select

from casekit import Actor, CaseKit, EventKind, NotFound, Side
from casekit.mail.tokens import InvalidReplyToken, make_token, verify
from casekit.store import tables
from casekit.testing import SmtpSink, World, make_kit

SECRET = "reply-secret-0123456789abcdef"
CARRIER_DESK = "dispatch@fast.test"
UNSUBSCRIBE = "https://acme.test/unsubscribe/{token}"


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    """A kit that mails through ``sink`` with unsubscribe links."""
    return mailing_kit(
        reply_address="reply@inbound.acme.test",
        reply_secrets=(SECRET,),
        unsubscribe_url=UNSUBSCRIBE,
    )


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


def open_case(kit: CaseKit, w: World, **kwargs: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "type": "where_is_my_order",
        "carrier": w.carrier.id,
        "message": "Where is order 1001?",
    }
    args.update(kwargs)
    return kit.cases.open(w.shipper_actor, **args)


def mail_to(sink: SmtpSink, address: str) -> Message:
    found = sink.to(address)
    assert found, f"no mail to {address}"
    return found[-1]


def token_in(mail: Message) -> str:
    """The token of the mail's List-Unsubscribe link."""
    header = str(mail["List-Unsubscribe"]).strip()
    prefix = "<https://acme.test/unsubscribe/"
    assert header.startswith(prefix), header
    assert header.endswith(">"), header
    return header[len(prefix) : -1]


def events(kit: CaseKit, actor: Actor, number: str) -> list[tuple[str, str | None, str | None]]:
    return [
        (str(e.event), e.old_value, e.new_value)
        for e in kit.cases.timeline(actor, number)
        if e.event in (EventKind.UNSUBSCRIBED, EventKind.RESUBSCRIBED)
    ]


def outbox_emails(kit: CaseKit, entry_id: int | None) -> set[str]:
    o = tables.outbox.c
    with kit.sessions(write=False) as session:
        return set(session.execute(select(o.email).where(o.entry_id == entry_id)).scalars())


# -- the headers ---------------------------------------------------------------------------


def test_each_notification_has_a_one_click_unsubscribe_of_its_recipient(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id, audience="everyone")
    mkit.notifications.deliver()
    assert len(sink.received) >= 2
    for mail in sink.received:
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = token_in(mail)
        bound = verify(token, (SECRET,), purpose="unsubscribe")
        assert bound.case_id == case.id
        # The token is not a reply token, nor the other way round.
        with pytest.raises(InvalidReplyToken):
            verify(token, (SECRET,))
        text = mail.get_body(("plain",)).get_content()
        assert f"https://acme.test/unsubscribe/{token}" in text
        html = mail.get_body(("html",)).get_content()
        assert f'href="https://acme.test/unsubscribe/{token}"' in html
    customer = verify(token_in(mail_to(sink, w.customer.email)), (SECRET,), purpose="unsubscribe")
    assert customer.customer_id == w.customer.id
    desk = verify(token_in(mail_to(sink, CARRIER_DESK)), (SECRET,), purpose="unsubscribe")
    assert desk.matches_address(CARRIER_DESK)


def test_without_the_setting_no_header_and_no_link(database_url, tmp_path, clock, kit, sink):
    plain = make_kit(
        database_url,
        attachment_dir=tmp_path / "a",
        clock=clock,
        create_schema=False,
        smtp_host=sink.host,
        smtp_port=sink.port,
        reply_address="reply@inbound.acme.test",
        reply_secrets=(SECRET,),
    )
    try:
        world = World.build(plain)
        plain.notifications.set_collaborator_address(
            Actor.host(),
            shipper_org_id=world.shipper.id,
            carrier_org_id=world.carrier.id,
            side=Side.CARRIER,
            email=CARRIER_DESK,
        )
        open_case(plain, world)
        plain.notifications.deliver()
        assert sink.received
        for mail in sink.received:
            assert mail["List-Unsubscribe"] is None
            assert "unsubscribe" not in mail.get_body(("plain",)).get_content().lower()
    finally:
        plain.close()


# -- unsubscribing ---------------------------------------------------------------------------


def test_an_address_unsubscribes_from_the_case_and_back(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.cases.watch(w.shipper_manager_actor, case.number)
    mkit.notifications.deliver()
    token = token_in(mail_to(sink, CARRIER_DESK))
    before = mkit.unsubscribe.state(token)
    assert (before.case_number, before.email, before.subscribed) == (
        case.number,
        CARRIER_DESK,
        True,
    )
    assert before.offers_all_cases

    after = mkit.unsubscribe.unsubscribe(token)
    assert not after.subscribed
    assert not after.all_cases
    mkit.unsubscribe.unsubscribe(token)  # twice changes nothing
    sink.clear()
    entry = mkit.messages.post(w.shipper_actor, case.number, "Pickup at 3pm")
    mkit.notifications.deliver()
    assert CARRIER_DESK not in outbox_emails(mkit, entry.id)
    assert sink.to(CARRIER_DESK) == []
    assert outbox_emails(mkit, entry.id)  # the others still hear of it
    # Audited on the carrier's side only (the address is the carrier's).
    assert events(mkit, w.carrier_actor, case.number) == [("unsubscribed", None, CARRIER_DESK)]
    assert events(mkit, w.shipper_actor, case.number) == []

    again = mkit.unsubscribe.resubscribe(token)
    assert again.subscribed
    sink.clear()
    mkit.messages.post(w.shipper_actor, case.number, "Pickup moved to 4pm")
    mkit.notifications.deliver()
    assert "4pm" in mail_to(sink, CARRIER_DESK).get_body(("plain",)).get_content()
    assert events(mkit, w.carrier_actor, case.number) == [
        ("unsubscribed", None, CARRIER_DESK),
        ("resubscribed", None, CARRIER_DESK),
    ]


def test_a_customer_leaves_every_case_of_the_shipper_and_comes_back(mkit, w, sink):
    first = open_case(mkit, w, customer=w.customer.id, audience="everyone")
    second = open_case(mkit, w, customer=w.customer.id, audience="everyone")
    mkit.notifications.deliver()
    token = token_in(mail_to(sink, w.customer.email))
    state = mkit.unsubscribe.unsubscribe(token, all_cases=True)
    assert state.all_cases
    assert not state.subscribed
    assert state.organization == w.shipper.name
    sink.clear()
    for case in (first, second):
        mkit.messages.post(w.shipper_actor, case.number, "Refund sent", audience="customer")
    mkit.notifications.deliver()
    assert sink.to(w.customer.email) == []
    # On the case of the mail: the shipper and the customer read it; the carrier does not.
    assert state.case_number in (first.number, second.number)
    assert events(mkit, w.customer_actor, state.case_number) == [
        ("unsubscribed", "all_cases", "customer")
    ]
    assert events(mkit, w.shipper_actor, state.case_number) == [
        ("unsubscribed", "all_cases", "customer")
    ]
    assert events(mkit, w.carrier_actor, state.case_number) == []

    assert mkit.unsubscribe.resubscribe(token).subscribed
    sink.clear()
    mkit.messages.post(w.shipper_actor, second.number, "Refund arrived?", audience="customer")
    mkit.notifications.deliver()
    assert sink.to(w.customer.email)


def test_a_user_unsubscribes_from_one_case_only(mkit, w, sink):
    case = open_case(mkit, w)
    other = open_case(mkit, w)
    mkit.cases.set_owner(w.carrier_manager_actor, case.number, w.carrier_agent.id)
    mkit.cases.set_owner(w.carrier_manager_actor, other.number, w.carrier_agent.id)
    mkit.notifications.deliver()
    (mail,) = [m for m in sink.to(w.carrier_agent.email) if m["X-Casekit-Case"] == case.number]
    token = token_in(mail)
    bound = verify(token, (SECRET,), purpose="unsubscribe")
    assert bound.user_id == w.carrier_agent.id
    # A user's all-cases choice is their subscriptions page: here it is this case only.
    state = mkit.unsubscribe.unsubscribe(token, all_cases=True)
    assert not state.offers_all_cases
    assert not state.all_cases
    assert not state.subscribed
    sink.clear()
    for number in (case.number, other.number):
        mkit.messages.post(w.shipper_actor, number, f"News on {number}")
    mkit.notifications.deliver()
    told = [m.get_body(("plain",)).get_content() for m in sink.to(w.carrier_agent.email)]
    assert len(told) == 1
    assert other.number in told[0]
    assert events(mkit, w.carrier_actor, case.number) == [
        ("unsubscribed", None, str(w.carrier_agent.id))
    ]
    assert events(mkit, w.shipper_actor, case.number) == []


def test_a_tampered_or_foreign_token_unsubscribes_nobody(mkit, w, sink):
    case = open_case(mkit, w)
    mkit.notifications.deliver()
    token = token_in(mail_to(sink, CARRIER_DESK))
    tampered = token[:-1] + ("a" if token[-1] != "a" else "b")
    for bad in (tampered, "nonsense", "", token.replace("-", "")):
        with pytest.raises(InvalidReplyToken):
            mkit.unsubscribe.unsubscribe(bad)
    # A reply token (from the Reply-To) is no unsubscribe token.
    reply = make_token(SECRET, case.id, f"a:{CARRIER_DESK}")
    with pytest.raises(InvalidReplyToken):
        mkit.unsubscribe.unsubscribe(reply)
    # Signed, but for an address this case never mailed, or a case that is not there.
    stranger = make_token(SECRET, case.id, "a:someone@else.test", purpose="unsubscribe")
    with pytest.raises(NotFound):
        mkit.unsubscribe.unsubscribe(stranger)
    with pytest.raises(NotFound):
        mkit.unsubscribe.state(make_token(SECRET, 10**9, "u1", purpose="unsubscribe"))
    assert mkit.unsubscribe.state(token).subscribed
    assert events(mkit, Actor.host(), case.number) == []


# -- Cc'd addresses --------------------------------------------------------------------------


def test_a_cc_on_a_customer_message_never_hears_the_partners(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id)
    mkit.messages.post(
        w.shipper_actor, case.number, "Refund on its way", audience="customer", cc=["mum@home.test"]
    )
    mkit.messages.post(
        w.shipper_actor, case.number, "For all of you", audience="everyone", cc=["all@home.test"]
    )
    mkit.notifications.deliver()
    assert sink.to("mum@home.test")
    sink.clear()
    partners = mkit.messages.post(w.shipper_actor, case.number, "Carrier: where is it?")
    customer = mkit.messages.post(
        w.shipper_actor, case.number, "Still looking", audience="customer"
    )
    everyone = mkit.messages.post(w.shipper_actor, case.number, "Found it", audience="everyone")
    mkit.notifications.deliver()
    assert "mum@home.test" not in outbox_emails(mkit, partners.id)
    assert "mum@home.test" in outbox_emails(mkit, customer.id)
    assert "mum@home.test" in outbox_emails(mkit, everyone.id)
    # Cc'd on a message for everyone: only what is for everyone.
    assert "all@home.test" not in outbox_emails(mkit, partners.id)
    assert "all@home.test" not in outbox_emails(mkit, customer.id)
    assert "all@home.test" in outbox_emails(mkit, everyone.id)
    p = tables.participants.c
    with mkit.sessions(write=False) as session:
        rows = session.execute(select(p.email, p.audience).where(p.email.is_not(None))).all()
    assert {row.email: str(row.audience) for row in rows} == {
        "mum@home.test": "customer",
        "all@home.test": "everyone",
    }


def test_a_bad_cc_is_refused_naming_the_field(mkit, w):
    from casekit import InvalidInput

    case = open_case(mkit, w)
    for bad in (["not-an-address"], ["a@b"], ["two@a.test three@b.test"], ["x@y.test"] * 21):
        with pytest.raises(InvalidInput) as error:
            mkit.messages.post(w.shipper_actor, case.number, "hi", cc=bad)
        assert list(error.value.errors) == ["cc"], bad


def _reply(notification: Message, sender: str, cc: str, text: str) -> bytes:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = str(notification["Reply-To"])
    reply["Cc"] = cc
    reply["Subject"] = f"RE: {notification['Subject']}"
    reply["Message-ID"] = f"<{text.replace(' ', '-')}@client.test>"
    reply["In-Reply-To"] = str(notification["Message-ID"])
    reply.set_content(f"{text}\n")
    return bytes(reply)


def test_addresses_cc_d_on_an_inbound_reply_become_participants(mkit, w, sink):
    case = open_case(mkit, w, customer=w.customer.id, audience="customer")
    mkit.notifications.deliver()
    to_customer = mail_to(sink, w.customer.email)
    cc = ", ".join(
        [
            "Neighbour <Neighbour@Home.test>",
            str(to_customer["Reply-To"]),  # casekit's own reply address
            "cases@acme.test",  # casekit's From
            w.carrier_agent.email,  # a user: hears of the case as one
            CARRIER_DESK,  # a collaborator address
            "not an address",
        ]
    )
    result = mkit.inbound.receive(_reply(to_customer, w.customer.email, cc, "Is it here yet"))
    assert result.outcome.value == "appended"
    p = tables.participants.c
    with mkit.sessions(write=False) as session:
        rows = session.execute(
            select(p.email, p.audience, p.org_id).where(p.case_id == case.id, p.email.is_not(None))
        ).all()
    assert [(r.email, str(r.audience), r.org_id) for r in rows] == [
        ("neighbour@home.test", "customer", None)
    ]
    sink.clear()
    partners = mkit.messages.post(w.shipper_actor, case.number, "Carrier, please check")
    answer = mkit.messages.post(w.shipper_actor, case.number, "On its way", audience="customer")
    mkit.notifications.deliver()
    assert "neighbour@home.test" not in outbox_emails(mkit, partners.id)
    assert "neighbour@home.test" in outbox_emails(mkit, answer.id)
