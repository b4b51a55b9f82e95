"""The inbound transports, run as an MTA would use them: SMTP, LMTP, a pipe, a maildir."""

from __future__ import annotations

import mailbox
import os
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from casekit import CaseKit
from casekit.mail.server import InboundServer
from casekit.sample import World
from casekit.services.inbound import Outcome


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        customer=world.customer.id,
        carrier=world.carrier.id,
        message="Please send a photo.",
    ).number


def photo_reply(number: str, sender: str = "cal@fast.test") -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Cal <{sender}>"
    message["To"] = "support@acme.test"
    message["Subject"] = f"RE: [{number}] damaged pallet"
    message["Message-ID"] = f"<photo-{number}-{sender}@fast.test>"
    message.set_content(
        "Photo of the corner attached.\n\n"
        "On Mon, Jan 5, 2026 at 9:00 AM Acme <support@acme.test> wrote:\n> Please send a photo.\n"
    )
    message.add_attachment(b"\xff\xd8\xff" + b"j" * 5000, "image", "jpeg", filename="corner.jpg")
    return message


def test_a_reply_over_smtp_lands_with_its_attachment(
    kit: CaseKit, world: World, number: str
) -> None:
    port = free_port()
    server = InboundServer(kit, port=port)
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            refused = client.send_message(photo_reply(number))
        assert refused == {}
    finally:
        server.stop()
    assert [r.outcome for r in server.handler.results] == [Outcome.APPENDED]
    message = [e for e in kit.cases.timeline(world.carrier_actor, number) if e.kind == "message"][
        -1
    ]
    assert message.body == "Photo of the corner attached."
    assert message.audience == "partners"
    assert [(a.filename, a.content_type, a.size) for a in message.attachments] == [
        ("corner.jpg", "image/jpeg", 5003)
    ]


def test_lmtp_answers_each_recipient(kit: CaseKit, world: World, number: str) -> None:
    port = free_port()
    server = InboundServer(kit, port=port, lmtp=True)
    server.start()
    try:
        with smtplib.LMTP("127.0.0.1", port) as client:
            client.ehlo_or_helo_if_needed()
            client.mail("cal@fast.test")
            client.rcpt("support@acme.test")
            client.rcpt("other@acme.test")
            first = client.data(photo_reply(number).as_bytes(policy=SMTP))
            second = client.getreply()  # RFC 2033: one reply per recipient
        assert first == (250, b"2.0.0 appended")
        assert second == (250, b"2.0.0 appended")
    finally:
        server.stop()
    assert [r.outcome for r in server.handler.results] == [Outcome.APPENDED]


def test_smtp_refuses_a_message_over_the_limit(kit: CaseKit, number: str) -> None:
    import attrs

    kit.settings = attrs.evolve(kit.settings, inbound_max_message_bytes=2000)
    port = free_port()
    server = InboundServer(kit, port=port)
    server.start()
    try:
        with (
            smtplib.SMTP("127.0.0.1", port) as client,
            pytest.raises(smtplib.SMTPResponseException) as error,
        ):
            client.send_message(photo_reply(number))
        assert error.value.smtp_code == 552
    finally:
        server.stop()


def write_stuffed_message(path: Path, number: str, photo: bytes) -> int:
    """A reply with ``photo`` attached, written to ``path`` as SMTP sends it (dot-stuffed)."""
    message = EmailMessage()
    message["From"] = "Cal <cal@fast.test>"
    message["To"] = "support@acme.test"
    message["Subject"] = f"RE: [{number}] damaged pallet"
    message["Message-ID"] = f"<large-{number}@fast.test>"
    message.set_content("Photo of the corner attached.\n.dot at the start\n..two dots\n.\nEnd.\n")
    message.add_attachment(photo, "image", "jpeg", filename="corner.jpg")
    raw = message.as_bytes(policy=SMTP)
    path.write_bytes(
        b"".join(
            b"." + line if line.startswith(b".") else line for line in raw.splitlines(keepends=True)
        )
    )
    return len(raw)


def send_file(port: int, path: Path) -> tuple[int, bytes]:
    """DATA straight from ``path`` in chunks: the client holds no copy of the message."""
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail("cal@fast.test")
        client.rcpt("support@acme.test")
        assert client.docmd("DATA")[0] == 354
        with path.open("rb") as source:
            while chunk := source.read(64 * 1024):
                client.send(chunk)
        client.send(b".\r\n")
        return client.getreply()


def test_a_large_message_over_smtp_arrives_whole_without_a_copy_in_memory(
    kit: CaseKit, world: World, number: str, tmp_path: Path
) -> None:
    import tracemalloc

    photo = os.urandom(3 * 1024 * 1024)
    source = tmp_path / "large.eml"
    size = write_stuffed_message(source, number, photo)
    port = free_port()
    server = InboundServer(kit, port=port)
    server.start()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        reply = send_file(port, source)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
        server.stop()
    assert reply == (250, b"2.0.0 appended")
    message = [e for e in kit.cases.timeline(world.carrier_actor, number) if e.kind == "message"][
        -1
    ]
    assert message.body == "Photo of the corner attached.\n.dot at the start\n..two dots\n.\nEnd."
    [attachment] = message.attachments
    _view, stored = kit.open_attachment(world.carrier_actor, number, attachment.id)
    with stored:
        assert stored.read() == photo
    # aiosmtpd alone holds the message two or three times over; the spool holds none.
    assert peak < 2 * size, f"{peak / 2**20:.1f} MB for a {size / 2**20:.1f} MB message"


def run_cli(database_url: str, attachment_dir: Path, *args: str, stdin: bytes = b""):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "casekit", "--database-url", database_url, "inbound", *args],
        input=stdin,
        capture_output=True,
        env={
            **os.environ,
            "CASEKIT_LOAD_ENTRY_POINTS": "false",
            "CASEKIT_ATTACHMENT_DIR": str(attachment_dir),
        },
        timeout=120,
        check=False,
    )


def test_read_from_stdin_a_file_and_a_maildir(
    kit: CaseKit, world: World, number: str, database_url: str, tmp_path: Path
) -> None:
    attachments = Path(kit.settings.attachment_dir)
    piped = run_cli(
        database_url,
        attachments,
        "read",
        "-",
        "--sender",
        "cal@fast.test",
        "--recipient",
        "support@acme.test",
        stdin=photo_reply(number).as_bytes(),
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode().strip() == f"appended {number}"

    again = tmp_path / "again.eml"
    again.write_bytes(photo_reply(number).as_bytes())
    duplicate = run_cli(database_url, attachments, "read", str(again))
    assert duplicate.returncode == 0
    assert duplicate.stdout.decode().startswith(f"duplicate {number}")

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(photo_reply(number, sender="sam@acme.test").as_bytes())
    box.add(b"From: stranger@else.test\r\nSubject: hi\r\n\r\nhello\r\n")
    imported = run_cli(database_url, attachments, "read", "--maildir", str(tmp_path / "Maildir"))
    assert imported.returncode == 0, imported.stderr
    outcomes = sorted(line.split(": ", 1)[1] for line in imported.stdout.decode().splitlines())
    assert outcomes == [f"appended {number}", "triaged (no case matched)"]


def test_read_exits_69_for_a_message_over_the_limit(
    kit: CaseKit, database_url: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "casekit", "--database-url", database_url, "inbound", "read"],
        input=b"From: a@b.test\r\n\r\n" + b"x" * 3000,
        capture_output=True,
        env={
            **os.environ,
            "CASEKIT_LOAD_ENTRY_POINTS": "false",
            "CASEKIT_INBOUND_MAX_MESSAGE_BYTES": "1000",
            "CASEKIT_ATTACHMENT_DIR": str(tmp_path),
        },
        timeout=120,
        check=False,
    )
    assert result.returncode == 69
    assert b"larger than the limit" in result.stdout


def test_read_names_a_missing_source(database_url: str, tmp_path: Path) -> None:
    missing = run_cli(database_url, tmp_path, "read", str(tmp_path / "nope.eml"))
    assert missing.returncode == 2
    assert b"does not exist" in missing.stderr
    not_a_maildir = run_cli(database_url, tmp_path, "read", "--maildir", str(tmp_path))
    assert not_a_maildir.returncode == 2
    assert b"is not a maildir" in not_a_maildir.stderr


def test_purge_deletes_the_stale_webhook_tokens(
    kit: CaseKit, database_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from casekit.store import tables

    kit.inbound.claim_token("mailgun", "stale", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    kit.inbound.claim_token("mailgun", "fresh", expires_at=datetime(2999, 1, 1, tzinfo=UTC))
    purged = run_cli(database_url, tmp_path, "purge")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.decode().splitlines()[-1] == "purged 1 stale webhook tokens"
    with kit.engine.connect() as conn:
        left = conn.execute(select(tables.inbound_tokens.c.token)).scalars().all()
    assert left == ["fresh"]
