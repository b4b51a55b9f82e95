"""``casekit inbound poll --workers N`` against a real Dovecot: worker processes that die,
a server that restarts in the middle of a batch, and every message filed once all the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_imap import reply, wait_for

from casekit import CaseKit
from casekit.mail.imap import ImapPoller, Mailbox
from casekit.mail.imap_workers import Workers, can_fork, default_workers
from casekit.sample import World
from casekit.store import tables
from casekit.testing_imap import PASSWORD, Dovecot, dovecot_or_skip

pytest.importorskip("imapclient")


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


def filed(kit: CaseKit, world: World, number: str) -> Counter[str]:
    """How many times each text that came by mail is on case ``number``."""
    entries = kit.cases.timeline(world.shipper_actor, number)
    return Counter(e.body for e in entries if getattr(e, "author_email", None) == "cal@fast.test")


def expected(count: int) -> Counter[str]:
    return Counter(f"The photo, take {n}." for n in range(count))


def count_of(kit: CaseKit, table: object) -> int:
    with kit.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def recorded(kit: CaseKit) -> int:
    return count_of(kit, tables.imap_uids)


def test_workers_take_each_message_once_in_processes_of_their_own(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot
) -> None:
    count = 24
    dovecot.append(*(reply(number, n) for n in range(count)))
    box = Mailbox(
        host="127.0.0.1",
        port=dovecot.port,
        security="none",
        username=dovecot.users[0],
        password=PASSWORD,
        move_to="Archive",
        batch_size=10,
        timeout=5,
    )
    poller = ImapPoller(kit, box, workers=2)
    assert poller.workers is not None
    poller.run(once=True)
    assert poller.taken == count
    assert poller.workers.starts == 1
    assert poller.workers.pids == []  # stopped when the pass ended
    assert filed(kit, world, number) == expected(count)
    assert recorded(kit) == count
    assert dovecot.uids() == []
    assert len(dovecot.uids(None, "Archive")) == count
    # The messages were stored by the workers, not the poller.
    i = tables.inbound_messages.c
    with kit.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(i.outcome == "appended")).scalar() == count


def test_workers_are_refused_below_two_and_default_to_the_cpus(kit: CaseKit) -> None:
    with pytest.raises(ValueError, match="two or more"):
        Workers(kit, 1)
    assert default_workers() == len(os.sched_getaffinity(0))
    assert can_fork(kit) is (kit.engine.url.database not in (None, "", ":memory:"))
    memory = CaseKit("sqlite://", load_entry_points=False)
    try:
        assert not can_fork(memory)
        box = Mailbox(host="127.0.0.1", username="u", password="p")
        assert ImapPoller(memory, box, workers=4).workers is None  # one process, logged
    finally:
        memory.close()
    with pytest.raises(ValueError, match="at least 1"):
        ImapPoller(kit, Mailbox(host="h", username="u", password="p"), workers=0)


def _environment(dovecot: Dovecot, database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
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
        "CASEKIT_IMAP_BATCH_SIZE": "40",
        "CASEKIT_IMAP_POLL_SECONDS": "1",
        "CASEKIT_IMAP_TIMEOUT": "5",
    }


def _poll(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as errors:
        return subprocess.Popen(
            [sys.executable, "-m", "casekit", "inbound", "poll", "--workers", "2", *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def _workers_of(pid: int) -> list[int]:
    """The worker processes of poller ``pid``: its children forked with its command line."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    mine = Path(f"/proc/{pid}/cmdline").read_bytes()
    found = []
    for child in map(int, children):
        try:
            if Path(f"/proc/{child}/cmdline").read_bytes() == mine:
                found.append(child)
        except FileNotFoundError:
            pass
    return found


def _stop(poller: subprocess.Popen[bytes], log: Path) -> None:
    poller.send_signal(signal.SIGTERM)
    try:
        assert poller.wait(30) == 0, log.read_text()
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.wait(10)


def test_a_killed_worker_loses_no_message_and_files_none_twice(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, database_url: str, tmp_path: Path
) -> None:
    count = 120
    dovecot.append(*(reply(number, n) for n in range(count)))
    log = tmp_path / "poll.log"
    poller = _poll(_environment(dovecot, database_url, tmp_path), log)
    try:
        wait_for(lambda: len(_workers_of(poller.pid)) == 2 or poller.poll() is not None, 60)
        wait_for(lambda: recorded(kit) >= 10 or poller.poll() is not None, seconds=60)
        victim = _workers_of(poller.pid)[0]
        os.kill(victim, signal.SIGKILL)
        at_kill = recorded(kit)
        assert at_kill < count, "the batch was over before the worker was killed"
        # A new worker takes its place; the messages it had are taken again.
        wait_for(lambda: recorded(kit) == count and dovecot.uids() == [], seconds=90)
        assert victim not in _workers_of(poller.pid)
        assert len(_workers_of(poller.pid)) == 2
    finally:
        _stop(poller, log)
    assert "a worker process died" in log.read_text()
    assert filed(kit, world, number) == expected(count)
    assert count_of(kit, tables.inbound_messages) == count
    assert len(dovecot.uids(None, "Archive")) == count


def test_dovecot_restarting_in_the_middle_of_a_batch_loses_no_message_and_files_none_twice(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, database_url: str, tmp_path: Path
) -> None:
    count = 120
    dovecot.append(*(reply(number, n) for n in range(count)))
    log = tmp_path / "poll.log"
    poller = _poll(_environment(dovecot, database_url, tmp_path), log)
    try:
        wait_for(lambda: recorded(kit) >= 10 or poller.poll() is not None, seconds=60)
        dovecot.restart()
        at_restart = recorded(kit)
        assert at_restart < count, "the batch was over before the server restarted"
        wait_for(lambda: recorded(kit) == count and dovecot.uids() == [], seconds=90)
    finally:
        _stop(poller, log)
    assert "connecting again" in log.read_text()
    assert filed(kit, world, number) == expected(count)
    assert count_of(kit, tables.inbound_messages) == count
    assert len(dovecot.uids(None, "Archive")) == count


def test_a_bad_worker_count_is_refused_naming_the_option() -> None:
    from click.testing import CliRunner

    from casekit.cli import cli

    for bad in ("0", "-1", "two"):
        result = CliRunner().invoke(cli, ["inbound", "poll", "--workers", bad])
        assert result.exit_code == 2, result.output
        assert "--workers" in result.output


def test_the_workers_of_a_poller_killed_outright_end_too(
    kit: CaseKit, world: World, number: str, dovecot: Dovecot, database_url: str, tmp_path: Path
) -> None:
    dovecot.append(reply(number, 0))
    log = tmp_path / "poll.log"
    poller = _poll(_environment(dovecot, database_url, tmp_path), log)
    try:
        wait_for(lambda: len(_workers_of(poller.pid)) == 2 or poller.poll() is not None, 60)
        workers = _workers_of(poller.pid)
        wait_for(lambda: recorded(kit) == 1, seconds=60)
    finally:
        poller.kill()
        poller.wait(10)

    def gone(pid: int) -> bool:
        stat = Path(f"/proc/{pid}/stat")
        # Ended (and reaped by init), or ended and not reaped yet (a zombie).
        return not stat.exists() or stat.read_text().rpartition(")")[2].split()[0] == "Z"

    wait_for(lambda: all(map(gone, workers)), seconds=10)
