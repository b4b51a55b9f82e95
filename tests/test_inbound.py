"""Inbound mail: intake, matching and trust, content, attachments, triage, retention."""

from __future__ import annotations

import base64
import hashlib
import os
import resource
import tempfile
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from sqlalchemy import event, select

from casekit import Actor, CaseKit, InvalidInput, NotFound, PermissionDenied, Status
from casekit.clock import FrozenClock
from casekit.mail.parse import parse_mail
from casekit.mail.spool import split
from casekit.sample import World
from casekit.services.inbound import Outcome
from casekit.store import tables


def mail(
    sender: str,
    subject: str,
    body: str = "Hello",
    *,
    to: str = "support@acme.test",
    message_id: str | None = None,
    headers: str = "",
) -> bytes:
    mid = message_id or f"<{hashlib.sha1((sender + subject + body).encode()).hexdigest()}@t>"
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
        f"{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        customer=world.customer.id,
        carrier=world.carrier.id,
        message="We are on it.",
    )
    return case.number


def test_a_customer_reply_lands_once_for_the_shipper(
    kit: CaseKit, world: World, number: str
) -> None:
    raw = mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Still waiting.")
    first = kit.inbound.receive(raw)
    second = kit.inbound.receive(raw)
    assert first.outcome is Outcome.APPENDED
    assert first.case_number == number
    assert second.outcome is Outcome.DUPLICATE
    assert second.inbound_id == first.inbound_id
    messages = [e for e in kit.cases.timeline(world.customer_actor, number) if e.kind == "message"]
    assert [m.body for m in messages] == ["Still waiting."]
    assert messages[0].audience == "customer"
    assert messages[0].customer_id == world.customer.id
    assert kit.cases.get(world.shipper_actor, number).status is Status.REPLY_RECEIVED
    # The case's carrier reads none of it, and its own status did not move.
    carrier_sees = kit.cases.timeline(world.carrier_actor, number)
    assert all(e.body != "Still waiting." for e in carrier_sees)
    assert kit.cases.get(world.carrier_actor, number).status is Status.NEW


def test_a_customer_replying_by_mail_takes_part_once(
    kit: CaseKit, world: World, number: str
) -> None:
    for n in range(2):
        raw = mail("casey@example.test", f"Re: [{number}] parcel", f"Reply {n}")
        assert kit.inbound.receive(raw).outcome is Outcome.APPENDED
    p, c = tables.participants.c, tables.cases.c
    with kit.sessions(write=False) as session:
        customers = session.scalars(
            select(p.customer_id).join(tables.cases, c.id == p.case_id).where(c.number == number)
        ).all()
    assert [x for x in customers if x is not None] == [world.customer.id]


def test_a_carrier_user_reply_is_for_partners(kit: CaseKit, world: World, number: str) -> None:
    result = kit.inbound.receive(mail("cal@fast.test", f"RE: {number}", "Delivered."))
    assert result.outcome is Outcome.APPENDED
    entry = _last_message(kit, world.carrier_actor, number)
    assert entry.body == "Delivered."
    assert entry.audience == "partners"
    assert entry.user_id == world.carrier_agent.id
    assert all(e.body != "Delivered." for e in kit.cases.timeline(world.customer_actor, number))


def test_a_case_number_never_attaches_mail_from_a_stranger(
    kit: CaseKit, world: World, number: str
) -> None:
    result = kit.inbound.receive(
        mail("mallory@evil.test", f"Re: [{number}]", "Send it to me.", to="x@acme.test")
    )
    assert result.outcome is Outcome.TRIAGED
    assert result.reason == "sender does not match"
    assert all("Send it" not in e.body for e in kit.cases.timeline(Actor.host(), number))
    items = kit.inbound.triage(world.shipper_actor)
    assert [(i.id, i.case_number, i.reason) for i in items] == [
        (result.inbound_id, number, "sender does not match")
    ]
    assert kit.inbound.triage(world.carrier_actor) == []


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied\r\n",
        "Auto-Submitted: auto-generated; owner-email=x@y\r\n",
        "Precedence: bulk\r\n",
        "Precedence: junk\r\n",
        "Precedence: list\r\n",
        "Precedence: auto_reply\r\n",
        "X-Autoreply: yes\r\n",
        "X-Auto-Response-Suppress: All\r\n",
        "List-Id: <l.example>\r\n",
        "List-Unsubscribe: <mailto:u@l.example>\r\n",
    ],
)
def test_auto_replies_are_recorded_and_change_nothing(
    kit: CaseKit, world: World, number: str, header: str
) -> None:
    before = kit.cases.get(Actor.host(), number)
    raw = mail("casey@example.test", f"Away: Re: [{number}]", "Out of office", headers=header)
    result = kit.inbound.receive(raw)
    assert result.outcome is Outcome.AUTO_REPLY
    assert result.case_number == number
    after = kit.cases.get(Actor.host(), number)
    assert (after.status, after.version) == (before.status, before.version)


def test_auto_submitted_no_is_a_person(kit: CaseKit, world: World, number: str) -> None:
    raw = mail("casey@example.test", f"[{number}]", "Me", headers="Auto-Submitted: no\r\n")
    assert kit.inbound.receive(raw).outcome is Outcome.APPENDED


def test_mail_to_the_case_address_opens_a_case(kit: CaseKit, world: World) -> None:
    kit.inbound.set_case_address(Actor.host(), world.shipper.id, "Support@Acme.test")
    assert kit.inbound.case_addresses(world.shipper_actor, world.shipper.id) == [
        "support@acme.test"
    ]
    result = kit.inbound.receive(mail("casey@example.test", "My order", "Where is it?"))
    assert result.outcome is Outcome.CREATED
    case = kit.cases.get(world.shipper_actor, result.case_number or "")
    assert (case.source, case.customer_id, case.type) == (
        "email",
        world.customer.id,
        "general_status_update",
    )
    [opening] = [e for e in kit.cases.timeline(world.shipper_actor, case.number) if e.body]
    assert (opening.body, opening.audience, opening.customer_id) == (
        "Where is it?",
        "customer",
        None,
    )
    # The customer continues it by mail (its number in the subject): to the shipper.
    reply = mail("casey@example.test", f"Re: [{case.number}] My order", "Any news?")
    assert kit.inbound.receive(reply).outcome is Outcome.APPENDED
    latest = _last_message(kit, world.customer_actor, case.number)
    assert (latest.body, latest.audience, latest.customer_id) == (
        "Any news?",
        "customer",
        world.customer.id,
    )
    stranger = kit.inbound.receive(mail("nora@shop.test", "Hello", "Question"))
    assert stranger.outcome is Outcome.CREATED
    opened = kit.cases.timeline(world.shipper_actor, stranger.case_number or "")
    assert opened[-1].author_email == "nora@shop.test"
    assert opened[-1].audience == "partners"


def test_case_addresses_are_set_by_the_organizations_managers(kit: CaseKit, world: World) -> None:
    with pytest.raises(PermissionDenied):
        kit.inbound.set_case_address(world.shipper_actor, world.shipper.id, "a@acme.test")
    with pytest.raises(PermissionDenied):
        kit.inbound.set_case_address(world.shipper_manager_actor, world.carrier.id, "a@fast.test")
    # A carrier's address too (without a partner shipper, unknown senders are triaged).
    kit.inbound.set_case_address(world.carrier_manager_actor, world.carrier.id, "a@fast.test")
    assert kit.inbound.case_addresses(world.carrier_actor, world.carrier.id) == ["a@fast.test"]
    with pytest.raises(InvalidInput) as error:
        kit.inbound.set_case_address(world.shipper_manager_actor, world.shipper.id, "nope")
    assert "email" in error.value.errors


def test_a_bounce_marks_the_recipient(kit: CaseKit) -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.test\r\nTo: casekit@acme.test\r\nSubject: failed\r\n"
        b"Message-ID: <b1@mx.test>\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.test\r\n\r\n"
        b"Final-Recipient: rfc822; Gone@Fast.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--b--\r\n"
    )
    assert not kit.inbound.is_bouncing("gone@fast.test")
    result = kit.inbound.receive(raw)
    assert result.outcome is Outcome.BOUNCE
    assert "gone@fast.test" in (result.reason or "")
    assert kit.inbound.is_bouncing("gone@fast.test")


def test_attachments_are_stored_or_reported(kit: CaseKit, world: World, number: str) -> None:
    kit.settings = attrs.evolve(kit.settings, max_attachment_bytes=1000)
    png = base64.b64encode(b"\x89PNG\r\n" + b"x" * 100).decode()
    big = base64.b64encode(b"%PDF" + b"y" * 2000).decode()
    raw = (
        f"From: casey@example.test\r\nTo: s@acme.test\r\nSubject: [{number}] photos\r\n"
        'Message-ID: <att@t>\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
        "--m\r\nContent-Type: text/plain\r\n\r\nSee photos.\r\n"
        '--m\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="a.png"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n"
        "--m\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="big.pdf"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{big}\r\n"
        "--m\r\nContent-Type: application/x-sh\r\n"
        'Content-Disposition: attachment; filename="run.sh"\r\n'
        "\r\necho hi\r\n--m--\r\n"
    ).encode()
    assert kit.inbound.receive(raw).outcome is Outcome.APPENDED
    entry = _last_message(kit, world.shipper_actor, number)
    assert [a.filename for a in entry.attachments] == ["a.png"]
    assert entry.attachments[0].size == 106
    assert "big.pdf" in entry.body
    assert "larger than the limit of 1000 bytes" in entry.body
    assert "run.sh (application/x-sh" in entry.body
    assert "type not accepted" in entry.body


@pytest.mark.parametrize("attachment", [False, True])
def test_a_reply_received_twice_is_stored_once(
    kit: CaseKit, world: World, number: str, attachment: bool
) -> None:
    # A reply's row is written last, with its outcome: the second copy fails
    # on its key and leaves no file behind (its raw mail and photo go with the
    # rollback); the stored files are the first copy's raw mail (and photo).
    raw = (
        _with_attachment(b"JPEG" * 50, subject=f"Re: [{number}] photo")
        if attachment
        else mail("casey@example.test", f"Re: [{number}] parcel", "Still waiting.")
    )
    first = kit.inbound.receive(raw)
    files = sorted(p for p in kit.settings.attachment_dir.rglob("*") if p.is_file())
    second = kit.inbound.receive(raw)
    assert (first.outcome, second.outcome) == (Outcome.APPENDED, Outcome.DUPLICATE)
    assert second.inbound_id == first.inbound_id
    assert second.case_number == number
    assert len(files) == (2 if attachment else 1)
    assert sorted(p for p in kit.settings.attachment_dir.rglob("*") if p.is_file()) == files
    bodies = [
        e.body for e in kit.cases.timeline(world.shipper_actor, number) if e.kind == "message"
    ]
    assert len(bodies) == 2  # the opening message and the reply, once


def test_html_only_mail_becomes_clean_text(tmp_path: Path) -> None:
    raw = (
        b"From: a@b.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Hello <b>there</b></p><script>steal()</script><img src=x onerror=alert(1)>"
    )
    with _file(tmp_path, raw) as source:
        parsed = parse_mail(split(source, tmp_path))
    assert parsed.text == "Hello there"
    assert parsed.html is not None
    assert "script" not in parsed.html
    assert "onerror" not in parsed.html


def test_a_large_attachment_is_streamed_to_disk_not_memory(tmp_path: Path) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    raw = _with_attachment(payload)
    with _file(tmp_path, raw) as source:
        parsed = parse_mail(split(source, tmp_path, spill_bytes=64 * 1024))
    [attachment] = parsed.attachments
    assert attachment.path is not None
    assert attachment.size == len(payload)
    with attachment.open() as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(payload).digest()
    assert parsed.reply_text == "Photo attached."


def test_a_25_mb_attachment_lands_on_the_case(
    kit: CaseKit, world: World, number: str, tmp_path: Path
) -> None:
    payload = os.urandom(25 * 1024 * 1024 - 4096)
    source = tmp_path / "big.eml"
    source.write_bytes(_with_attachment(payload, subject=f"[{number}] photo"))
    del payload
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with source.open("rb") as f:
        result = kit.inbound.receive(f)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert result.outcome is Outcome.APPENDED
    [attachment] = _last_message(kit, world.shipper_actor, number).attachments
    assert attachment.size == 25 * 1024 * 1024 - 4096
    # Peak memory did not grow by anything near the attachment's size.
    assert grown_kb < 25 * 1024


def test_bad_mail_never_raises(kit: CaseKit) -> None:
    for raw in (b"", b"\x00\xff" * 1000, b"From: <>\r\n\r\n", b"Subject: x\r\n" * 5000):
        result = kit.inbound.receive(raw)
        assert result.outcome in (Outcome.REJECTED, Outcome.AUTO_REPLY, Outcome.BOUNCE)


def test_nul_characters_are_removed_not_refused(
    kit: CaseKit, world: World, number: str, tmp_path: Path
) -> None:
    # No database's text column takes NUL (PostgreSQL refuses it outright):
    # a reply with NULs in its headers and body still lands, without them.
    raw = mail("Casey\x00 <casey@example.test>", f"Re: [{number}] par\x00cel", "Still\x00 waiting.")
    result = kit.inbound.receive(raw, envelope_from="casey@example.test\x00")
    assert result.outcome is Outcome.APPENDED, result.reason
    messages = [e for e in kit.cases.timeline(world.customer_actor, number) if e.kind == "message"]
    assert messages[-1].body == "Still waiting."
    with _file(tmp_path, raw) as source:
        problems = parse_mail(split(source, tmp_path)).problems
    assert "header Subject had NUL characters (removed)" in problems
    assert "a text/plain part had NUL characters (removed)" in problems


def test_too_large_is_rejected(kit: CaseKit) -> None:
    kit.settings = attrs.evolve(kit.settings, inbound_max_message_bytes=100)
    result = kit.inbound.receive(mail("casey@example.test", "x", "y" * 200))
    assert result.outcome is Outcome.REJECTED
    assert "larger than the limit of 100 bytes" in (result.reason or "")


def test_triage_file_open_and_discard_are_audited(kit: CaseKit, world: World, number: str) -> None:
    kit.cases.open(world.shipper_actor, type="lost")  # a case the mails below do not name
    ids = [
        kit.inbound.receive(mail(f"s{n}@else.test", f"Re: [{number}] {n}", f"text {n}")).inbound_id
        for n in range(3)
    ]
    triaged = kit.inbound.triage(world.shipper_actor)
    assert [(i.id, i.case_number) for i in triaged] == [(i, number) for i in ids[::-1]]
    with pytest.raises(PermissionDenied):
        kit.inbound.triage(world.customer_actor)
    with pytest.raises(NotFound):
        kit.inbound.discard(world.carrier_actor, ids[0] or 0)

    filed = kit.inbound.file(world.shipper_actor, ids[0] or 0, number, audience="partners")
    assert filed.outcome is Outcome.FILED
    timeline = kit.cases.timeline(world.shipper_actor, number)
    message = next(e for e in timeline if e.id == filed.entry_id)
    assert (message.body, message.author_email, message.audience) == (
        "text 0",
        "s0@else.test",
        "partners",
    )
    assert timeline[-1].event == "mail_filed"
    assert timeline[-1].user_id == world.shipper_agent.id
    with pytest.raises(InvalidInput):
        kit.inbound.file(world.shipper_actor, ids[0] or 0, number)

    view = kit.inbound.open_case(world.shipper_actor, ids[1] or 0, type="lost")
    assert (view.source, view.type) == ("email", "lost")

    kit.inbound.discard(world.shipper_manager_actor, ids[2] or 0)
    assert kit.inbound.triage(world.shipper_actor) == []
    handled = {i.id: i for i in kit.inbound.triage(world.shipper_actor, include_handled=True)}
    assert handled[ids[0] or 0].outcome is Outcome.FILED
    assert handled[ids[0] or 0].handled_by == f"user:{world.shipper_agent.id}"
    assert handled[ids[1] or 0].outcome is Outcome.OPENED
    assert handled[ids[2] or 0].outcome is Outcome.DISCARDED
    assert handled[ids[2] or 0].handled_by == f"user:{world.shipper_manager.id}"


def test_purge_keeps_the_row_and_drops_the_raw_mail(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    result = kit.inbound.receive(mail("x@else.test", "hello", "hi", to="n@else.test"))
    item = result.inbound_id or 0
    with kit.inbound.original(Actor.host(), item) as raw:
        assert b"hi" in raw.read()
    assert kit.inbound.purge() == 0
    clock.advance(timedelta(days=31))
    assert kit.inbound.purge() == 1
    assert not kit.inbound.triage_item(Actor.host(), item).raw_available
    with pytest.raises(InvalidInput):
        kit.inbound.original(Actor.host(), item)


def test_a_provider_token_is_claimed_once_even_at_the_same_moment(
    kit: CaseKit, clock: FrozenClock
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    expires_at = clock.now() + timedelta(minutes=15)
    start = threading.Barrier(4, timeout=30)

    def claim(_: int) -> bool:
        start.wait()
        return kit.inbound.claim_token("mailgun", "tok-1", expires_at=expires_at)

    with ThreadPoolExecutor(max_workers=4) as pool:
        claimed = list(pool.map(claim, range(4)))
    assert sorted(claimed) == [False, False, False, True]
    # Another provider's token of the same text is its own.
    assert kit.inbound.claim_token("other", "tok-1", expires_at=expires_at)
    # Case matters, on MySQL and MariaDB too.
    assert kit.inbound.claim_token("mailgun", "TOK-1", expires_at=expires_at)
    # A token released (its post was not taken) may come again, once.
    kit.inbound.release_token("mailgun", "tok-1")
    assert kit.inbound.claim_token("mailgun", "tok-1", expires_at=expires_at)
    assert not kit.inbound.claim_token("mailgun", "tok-1", expires_at=expires_at)
    with pytest.raises(InvalidInput) as error:
        kit.inbound.claim_token("mailgun", "x" * 201, expires_at=expires_at)
    assert "token" in error.value.errors
    clock.advance(timedelta(minutes=15, seconds=1))
    assert kit.inbound.purge_tokens() == 3


def test_replay_files_a_message_after_its_address_exists(kit: CaseKit, world: World) -> None:
    result = kit.inbound.receive(mail("nora@shop.test", "Help", "Please help"))
    assert result.outcome is Outcome.TRIAGED
    kit.inbound.set_case_address(Actor.host(), world.shipper.id, "support@acme.test")
    with pytest.raises(PermissionDenied):
        kit.inbound.replay(world.shipper_actor, result.inbound_id or 0)
    again = kit.inbound.replay(Actor.host(), result.inbound_id or 0)
    assert again.outcome is Outcome.CREATED


def test_mail_no_organization_can_be_told_is_the_hosts_alone(kit: CaseKit, world: World) -> None:
    result = kit.inbound.receive(mail("nora@shop.test", "Help", "Please", to="n@else.test"))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "no case matched")
    item = result.inbound_id or 0
    for staff in (world.shipper_manager_actor, world.carrier_manager_actor):
        assert kit.inbound.triage(staff) == []
        with pytest.raises(NotFound):
            kit.inbound.triage_item(staff, item)
        with pytest.raises(NotFound):
            kit.inbound.original(staff, item)
    assert kit.inbound.triage_item(Actor.host(), item).org_id is None
    assert [i.id for i in kit.inbound.triage(Actor.host())] == [item]


def test_a_thread_id_casekit_never_sent_tells_no_organization(
    kit: CaseKit, world: World, number: str
) -> None:
    case_id = kit.cases.get(Actor.host(), number).id
    forged = f"<casekit.case{case_id}.0123456789abcdef@localhost>"
    raw = mail("x@else.test", "Re: parcel", "Mine?", headers=f"In-Reply-To: {forged}\r\n")
    result = kit.inbound.receive(raw)
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "sender does not match")
    assert result.case_number == number
    assert kit.inbound.triage(world.shipper_actor) == []
    assert kit.inbound.triage(world.carrier_actor) == []
    assert [i.id for i in kit.inbound.triage(Actor.host())] == [result.inbound_id]


def test_mail_to_a_case_address_that_opens_no_case_is_in_that_shippers_triage(
    database_url: str, tmp_path: Path, clock: FrozenClock, kit: CaseKit, world: World
) -> None:
    from casekit.testing import make_kit

    misconfigured = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        inbound_case_type="no_such_type",
    )
    try:
        kit.inbound.set_case_address(Actor.host(), world.shipper.id, "support@acme.test")
        result = misconfigured.inbound.receive(mail("nora@shop.test", "Help", "Please"))
    finally:
        misconfigured.close()
    assert result.outcome is Outcome.TRIAGED
    assert (result.reason or "").startswith("could not be filed")
    assert [i.id for i in kit.inbound.triage(world.shipper_actor)] == [result.inbound_id]
    assert kit.inbound.triage(world.carrier_actor) == []


def _last_message(kit: CaseKit, actor: Actor, number: str):  # type: ignore[no-untyped-def]
    return [e for e in kit.cases.timeline(actor, number) if e.kind == "message"][-1]


def _file(tmp_path: Path, raw: bytes):  # type: ignore[no-untyped-def]
    path = Path(tempfile.mktemp(dir=tmp_path))
    path.write_bytes(raw)
    return path.open("rb")


def _with_attachment(payload: bytes, subject: str = "photo") -> bytes:
    encoded = base64.encodebytes(payload)
    return (
        (
            f"From: casey@example.test\r\nTo: s@acme.test\r\nSubject: {subject}\r\n"
            'Message-ID: <big@t>\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
            "--m\r\nContent-Type: text/plain\r\n\r\nPhoto attached.\r\n"
            "--m\r\nContent-Type: image/jpeg\r\n"
            'Content-Disposition: attachment; filename="p.jpg"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + encoded
        + b"--m--\r\n"
    )


def test_the_full_original_stays_available_to_readers_of_the_entry(
    kit: CaseKit, world: World, number: str
) -> None:
    raw = mail(
        "cal@fast.test",
        f"RE: [{number}]",
        "Short answer.\r\n\r\nOn Mon, Jan 5, 2026 at 9:00 AM Sam <sam@acme.test> wrote:\r\n> Long",
    )
    result = kit.inbound.receive(raw)
    entry = result.entry_id or 0
    with kit.inbound.original_of_entry(world.shipper_actor, number, entry) as original:
        assert original.read() == raw
    with pytest.raises(NotFound):  # a partners message: not the customer's to read
        kit.inbound.original_of_entry(world.customer_actor, number, entry)


def test_a_removed_case_address_opens_no_more_cases(kit: CaseKit, world: World) -> None:
    kit.inbound.set_case_address(Actor.host(), world.shipper.id, "support@acme.test")
    assert kit.inbound.remove_case_address(
        world.shipper_manager_actor, world.shipper.id, "SUPPORT@acme.test"
    )
    assert kit.inbound.case_addresses(Actor.host(), world.shipper.id) == []
    result = kit.inbound.receive(mail("nora@shop.test", "Help", "Please"))
    assert (result.outcome, result.reason) == (Outcome.TRIAGED, "no case matched")


def test_triage_actions_name_the_bad_field(kit: CaseKit, world: World, number: str) -> None:
    item = kit.inbound.receive(mail("x@else.test", f"[{number}]", "hi", to="n@acme.test"))
    item_id = item.inbound_id or 0
    with pytest.raises(InvalidInput) as error:
        kit.inbound.open_case(world.shipper_actor, item_id, audience="nobody")
    assert "audience" in error.value.errors
    with pytest.raises(InvalidInput) as error:
        kit.inbound.open_case(world.shipper_actor, item_id, type="no_such_type")
    assert "type" in error.value.errors
    with pytest.raises(InvalidInput) as error:
        kit.inbound.file(world.shipper_actor, item_id, number, audience="nobody")
    assert "audience" in error.value.errors
    with pytest.raises(NotFound):
        kit.inbound.file(world.shipper_actor, item_id, "CV999999")
    with pytest.raises(InvalidInput) as error:
        kit.inbound.triage(world.shipper_actor, limit=0)
    assert "limit" in error.value.errors
    # Nothing was lost on the way: the item is still in triage.
    assert [i.id for i in kit.inbound.triage(world.shipper_actor)] == [item_id]


def test_a_reply_locks_its_case_row_while_it_is_matched_and_filed(
    kit: CaseKit, world: World, number: str
) -> None:
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()).upper())

    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        raw = mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Still waiting.")
        assert kit.inbound.receive(raw).outcome is Outcome.APPENDED
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)
    case_reads = [s for s in statements if s.startswith("SELECT") and "FROM CASEKIT_CASES" in s]
    assert case_reads
    locked = [s for s in case_reads if s.endswith("FOR UPDATE")]
    if kit.engine.dialect.name == "sqlite":
        assert locked == []  # its writing transactions run one at a time
    else:
        assert locked  # matched under the row lock, then filed in the same transaction


def test_a_reply_without_a_message_id_is_a_person_s(
    kit: CaseKit, world: World, number: str
) -> None:
    raw = mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "No id here.")
    raw = b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"Message-ID:"))
    result = kit.inbound.receive(raw)
    assert (result.outcome, result.case_number) == (Outcome.APPENDED, number)


def test_triage_pages_newest_first_and_names_a_missing_item(kit: CaseKit, world: World) -> None:
    ids = [
        kit.inbound.receive(mail(f"n{k}@shop.test", "Help", "Please", to="n@else.test")).inbound_id
        for k in range(3)
    ]
    host = Actor.host()
    first = [i.id for i in kit.inbound.triage(host, limit=2)]
    assert first == [ids[2], ids[1]]
    assert [i.id for i in kit.inbound.triage(host, limit=2, before_id=first[-1])] == [ids[0]]
    with pytest.raises(NotFound) as caught:
        kit.inbound.triage_item(world.shipper_actor, ids[0] or 0)
    assert str(caught.value) == f"inbound message {ids[0]!r} not found"
