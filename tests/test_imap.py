"""``casekit inbound poll`` against a real IMAP server: a Dovecot the tests start on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casekit import CaseKit, testing_imap
from casekit.mail import imap
from casekit.mail.imap import ImapPoller, Mailbox
from casekit.mail.oauth import OAuthTokens
from casekit.sample import World
from casekit.store import tables
from casekit.testing_imap import PASSWORD, Dovecot, OAuthServer, dovecot_or_skip

pytest.importorskip("imapclient")
FERNET_KEY = "0sZ7Wl3iH3DqYq8oVw2l0m7w4j8Xh1c2b3n4m5k6j7A="


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    dovecot_or_skip()
    with Dovecot() as server:
        yield server


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        message="Please send a photo.",
    ).number


def reply(number: str, n: int, sender: str = "cal@fast.test") -> bytes:
    return (
        f"From: Cal <{sender}>\r\nTo: support@acme.test\r\n"
        f"Subject: RE: [{number}] damaged pallet\r\n"
        f"Message-ID: <imap-{n}-{number}@fast.test>\r\n"
        "Date: Mon, 5 Jan 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nThe photo, take {n}.\r\n"
    ).encode()


def mailbox(server: Dovecot, **overrides: object) -> Mailbox:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": server.users[0],
        "password": PASSWORD,
        "poll_seconds": 0.2,
        "timeout": 5,
    }
    values.update(overrides)
    return Mailbox(**values)  # type: ignore[arg-type]


def bodies(kit: CaseKit, world: World, number: str) -> list[str]:
    """The texts of the messages on case ``number`` that came by mail."""
    entries = kit.cases.timeline(world.shipper_actor, number)
    return sorted(e.body for e in entries if getattr(e, "author_email", None) == "cal@fast.test")


def recorded(kit: CaseKit) -> list[tuple[int, int]]:
    u = tables.imap_uids.c
    with kit.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(u.uidvalidity, u.uid).order_by(u.uid))]


def wait_for(condition: Callable[[], object], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def running(kit: CaseKit) -> Iterator[Callable[[ImapPoller], threading.Thread]]:
    """Runs pollers in threads; each is stopped (and must stop) after the test."""
    started: list[tuple[ImapPoller, threading.Thread]] = []

    def run(poller: ImapPoller) -> threading.Thread:
        thread = threading.Thread(target=poller.run, daemon=True)
        thread.start()
        started.append((poller, thread))
        return thread

    yield run
    for poller, thread in started:
        poller.stop.set()
        thread.join(5)
        assert not thread.is_alive(), "the poller did not stop within 5 s"


def test_a_missing_dovecot_skips_or_fails_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing_imap, "DOVECOT", "/nonexistent/dovecot")
    monkeypatch.delenv("CASEKIT_REQUIRE_DOVECOT", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install dovecot-imapd"):
        testing_imap.dovecot_or_skip()
    monkeypatch.setenv("CASEKIT_REQUIRE_DOVECOT", "1")
    with pytest.raises(pytest.fail.Exception, match="CASEKIT_REQUIRE_DOVECOT=1"):
        testing_imap.dovecot_or_skip()


def test_password_login_takes_each_message_once_and_flags_it_seen(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "FETCH_BYTES", 300)  # each message fetched alone
    dovecot.append(*(reply(number, n) for n in range(3)))
    poller = ImapPoller(kit, mailbox(dovecot))
    poller.run(once=True)
    assert poller.taken == 3
    assert bodies(kit, world, number) == [f"The photo, take {n}." for n in range(3)]
    assert dovecot.seen() == dovecot.uids() == [1, 2, 3]
    assert [uid for _, uid in recorded(kit)] == [1, 2, 3]

    # A message a person marks unread again is casekit's already: flagged, not taken twice.
    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.remove_flags([2], [b"\\Seen"])
    dovecot.append(reply(number, 3))
    again = ImapPoller(kit, mailbox(dovecot))
    again.run(once=True)
    assert again.taken == 2
    assert bodies(kit, world, number) == [f"The photo, take {n}." for n in range(4)]
    assert dovecot.seen() == [1, 2, 3, 4]


@pytest.mark.parametrize("move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_taken_mail_is_moved_with_or_without_the_move_extension(
    kit: CaseKit, world: World, number: str, move: bool
) -> None:
    dovecot_or_skip()
    with Dovecot(move=move) as server:
        server.append(*(reply(number, n) for n in range(4)))
        with server.client() as client:
            client.select_folder("INBOX")
            assert client.has_capability("MOVE") is move
            # A message a person deleted (not yet expunged) is not casekit's to take.
            client.add_flags([4], [b"\\Deleted"])
        poller = ImapPoller(kit, mailbox(server, move_to="Cases/Taken"))
        poller.run(once=True)
        assert poller.taken == 3
        assert bodies(kit, world, number) == [f"The photo, take {n}." for n in range(3)]
        assert server.uids() == [4]
        assert len(server.uids(None, "Cases/Taken")) == 3


def test_xoauth2_refreshes_and_keeps_the_token_encrypted(
    kit: CaseKit, world: World, number: str, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot_or_skip()
    with OAuthServer() as oauth, Dovecot(oauth=oauth) as server:
        refresh = oauth.grant(server.users[0])
        settings = kit.settings.__class__(
            database_url=kit.settings.database_url,
            oauth_token_url=oauth.token_url,
            oauth_client_id=oauth.client_id,
            oauth_client_secret=oauth.client_secret,
            oauth_refresh_token=refresh,
            oauth_token_keys=(FERNET_KEY,),
        )
        tokens = OAuthTokens(settings, kit.engine, kit.clock)
        box = mailbox(server, auth="xoauth2", password="")
        server.append(reply(number, 0))
        caplog.set_level("DEBUG")
        ImapPoller(kit, box, tokens=tokens).run(once=True)
        assert oauth.grants == 1
        assert bodies(kit, world, number) == ["The photo, take 0."]

        # Kept in the database, encrypted: a second poller (a restart) asks for none.
        (access,) = oauth.access_tokens
        with kit.engine.connect() as conn:
            (row,) = conn.execute(select(tables.oauth_tokens)).all()
        assert access not in row.access_token
        assert refresh not in row.account
        assert access not in caplog.text
        assert refresh not in caplog.text
        server.append(reply(number, 1))
        ImapPoller(kit, box, tokens=OAuthTokens(settings, kit.engine, kit.clock)).run(once=True)
        assert oauth.grants == 1

        # Refreshed before it expires...
        kit.clock.advance(minutes=56)  # type: ignore[attr-defined]
        oauth.rotate = True
        server.append(reply(number, 2))
        ImapPoller(kit, box, tokens=tokens).run(once=True)
        assert oauth.grants == 2
        # ...and once when the server refuses it (revoked); the rotated refresh token is used.
        oauth.revoke()
        server.append(reply(number, 3))
        ImapPoller(kit, box, tokens=tokens).run(once=True)
        assert oauth.grants == 3
        assert bodies(kit, world, number) == [f"The photo, take {n}." for n in range(4)]


def test_idle_takes_mail_appended_while_idling_and_stop_is_prompt(
    kit: CaseKit,
    world: World,
    number: str,
    dovecot: Dovecot,
    running: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # IDLE is issued again in time: every 25 minutes, here every half second.
    monkeypatch.setattr(imap, "IDLE_RENEW_SECONDS", 0.5)
    poller = ImapPoller(kit, mailbox(dovecot, poll_seconds=3600))
    thread = running(poller)
    wait_for(lambda: poller.idles == 1)
    # In IDLE now: only IDLE can see the next message (the pause is an hour).
    dovecot.append(reply(number, 0))
    wait_for(lambda: poller.taken == 1)
    wait_for(lambda: poller.idles >= 4)  # renewed, on the same connection
    dovecot.append(reply(number, 1))
    wait_for(lambda: poller.taken == 2)
    assert poller.connections == 1
    assert bodies(kit, world, number) == ["The photo, take 0.", "The photo, take 1."]
    started = time.monotonic()
    poller.stop.set()
    thread.join(5)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 2.5


def test_a_dropped_connection_is_opened_again(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, running: Callable[..., object]
) -> None:
    poller = ImapPoller(kit, mailbox(dovecot))
    running(poller)
    wait_for(lambda: poller.connections == 1)
    dovecot.kick(dovecot.users[0])
    dovecot.append(reply(number, 0))
    wait_for(lambda: poller.taken == 1)
    dovecot.restart()  # the server itself goes away and comes back
    dovecot.append(reply(number, 1))
    wait_for(lambda: poller.taken == 2, seconds=15)
    assert poller.connections >= 3
    assert bodies(kit, world, number) == ["The photo, take 0.", "The photo, take 1."]


def test_a_new_uidvalidity_reads_the_folder_again_without_second_copies(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append(*(reply(number, n) for n in range(2)))
    ImapPoller(kit, mailbox(dovecot)).run(once=True)
    before = dovecot.uidvalidity()
    # The folder is rebuilt: new UIDVALIDITY, and its messages look unread again.
    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.remove_flags([1, 2], [b"\\Seen"])
    dovecot.doveadm("mailbox", "update", "-u", "casekit", "--uid-validity", "7", "INBOX")
    assert dovecot.uidvalidity() == 7 != before
    dovecot.append(reply(number, 2))
    poller = ImapPoller(kit, mailbox(dovecot))
    poller.run(once=True)
    assert poller.taken == 3
    assert "UIDVALIDITY is now 7" in caplog.text
    assert bodies(kit, world, number) == [f"The photo, take {n}." for n in range(3)]
    assert sorted(recorded(kit)) == [(7, 1), (7, 2), (7, 3), (before, 1), (before, 2)]


def _poll(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as errors:
        return subprocess.Popen(
            [sys.executable, "-m", "casekit", "inbound", "poll", *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def stored_count(kit: CaseKit) -> int:
    with kit.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(tables.inbound_messages)).scalar_one()
        )


def test_exactly_once_when_the_poller_is_killed_in_the_middle_of_a_batch(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, database_url: str, tmp_path: Path
) -> None:
    count = 60
    dovecot.append(*(reply(number, n) for n in range(count)))
    env = {
        **os.environ,
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "CASEKIT_LOAD_ENTRY_POINTS": "0",
        "CASEKIT_IMAP_HOST": "127.0.0.1",
        "CASEKIT_IMAP_PORT": str(dovecot.port),
        "CASEKIT_IMAP_SECURITY": "none",
        "CASEKIT_IMAP_USERNAME": dovecot.users[0],
        "CASEKIT_IMAP_PASSWORD": PASSWORD,
        "CASEKIT_IMAP_MOVE_TO": "Archive",
        "CASEKIT_IMAP_BATCH_SIZE": "30",
    }
    log = tmp_path / "poll.log"
    first = _poll(env, log)
    try:
        wait_for(lambda: stored_count(kit) >= 10 or first.poll() is not None, seconds=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL, log.read_text()
    taken_at_kill = len(recorded(kit))
    # Killed mid-batch: stored and recorded, but not all of it moved yet.
    assert 10 <= taken_at_kill < count
    assert len(dovecot.uids(None, "Archive")) < taken_at_kill

    second = _poll(env, log, "--once")
    assert second.wait(60) == 0, log.read_text()
    assert dovecot.uids() == []
    assert len(dovecot.uids(None, "Archive")) == count
    assert bodies(kit, world, number) == sorted(f"The photo, take {n}." for n in range(count))
    assert len(recorded(kit)) == count


def test_sigterm_stops_after_the_current_message(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, database_url: str, tmp_path: Path
) -> None:
    dovecot.append(reply(number, 0))
    env = {
        **os.environ,
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "CASEKIT_LOAD_ENTRY_POINTS": "0",
        "CASEKIT_IMAP_HOST": "127.0.0.1",
        "CASEKIT_IMAP_PORT": str(dovecot.port),
        "CASEKIT_IMAP_SECURITY": "none",
        "CASEKIT_IMAP_USERNAME": dovecot.users[0],
        "CASEKIT_IMAP_PASSWORD": PASSWORD,
    }
    log = tmp_path / "poll.log"
    poller = _poll(env, log)
    try:
        wait_for(lambda: dovecot.seen() == [1] or poller.poll() is not None, seconds=60)
    finally:
        poller.send_signal(signal.SIGTERM)
    assert poller.wait(10) == 0, log.read_text()
    assert "1 messages taken" in log.read_text()
    assert bodies(kit, world, number) == ["The photo, take 0."]


def test_a_mailbox_without_its_settings_is_refused_with_their_names() -> None:
    from casekit.errors import ConfigurationError
    from casekit.settings import Settings

    with pytest.raises(ConfigurationError, match="imap_host and imap_username"):
        Mailbox.from_settings(Settings(imap_username="cases@acme.test"))
    with pytest.raises(ConfigurationError, match="imap_password"):
        Mailbox.from_settings(Settings(imap_host="imap.acme.test", imap_username="cases@acme.test"))
    box = Mailbox.from_settings(
        Settings(imap_host="imap.acme.test", imap_username="c@acme.test", imap_auth="xoauth2"),
        folder="Support",
        move_to=None,
    )
    assert (box.name, box.real_port, box.move_to) == ("c@acme.test@imap.acme.test/Support", 993, "")
