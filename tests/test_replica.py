"""A read replica (a real PostgreSQL hot standby) and PgBouncer in transaction mode.

The replica test makes its own primary and standby (:mod:`pg_servers`) and
counts the statements each server runs: lists, counts, search and reports
go to the standby; the case page and every write stay on the primary; the
actor who just wrote reads their write even with the standby's replay
paused, while another actor may read behind; a standby too far behind or
down leaves every read to the primary, logged, never an error.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_servers import free_port, pgbouncer, stop, streaming_pair
from sqlalchemy import Engine, create_engine, event, make_url, text

from casekit.errors import ConfigurationError, DatabaseUnavailable
from casekit.services.worker import due_count
from casekit.settings import Settings
from casekit.store.database import create_casekit_engine, normalize_url, throwaway_database
from casekit.store.migrate import upgrade
from casekit.store.replica import lsn
from casekit.testing import SmtpSink, World, empty_tables, make_kit

pytestmark = pytest.mark.backends("postgresql")

#: Statements the replica's bookkeeping runs (not the reads it serves).
RANGE = {"from": "2026-01-01", "to": "2026-12-31"}
#: Statements the replica's bookkeeping runs (not the reads it serves).
BOOKKEEPING = ("pg_is_in_recovery", "pg_current_wal_insert_lsn", "casekit_write_positions")


class Statements:
    """The statements each engine runs, by server: ``primary`` and ``replica``."""

    def __init__(self, **engines: Engine) -> None:
        self.counts: Counter[str] = Counter()
        for name, engine in engines.items():
            event.listen(engine, "before_cursor_execute", self._counter(name))

    def _counter(self, name: str) -> Any:
        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            kind = "bookkeeping" if any(b in statement for b in BOOKKEEPING) else "reads"
            self.counts[f"{name} {kind}"] += 1

        return count

    def during(self, call: Any) -> tuple[Any, dict[str, int]]:
        """``call()``'s result and the statements it ran, by server."""
        self.counts.clear()
        result = call()
        return result, {k: v for k, v in self.counts.items() if v}


def _superuser(url: str) -> Engine:
    return create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")


def _wait_for_replay(primary: Engine, standby: Engine) -> None:
    """Until the standby has replayed all the primary has written (polled, 10 s at most)."""
    with primary.connect() as conn:
        wanted = lsn(str(conn.scalar(text("SELECT pg_current_wal_insert_lsn()::text"))))
    deadline = time.monotonic() + 10
    with standby.connect() as conn:
        while lsn(str(conn.scalar(text("SELECT pg_last_wal_replay_lsn()::text")))) < wanted:
            assert time.monotonic() < deadline, "the standby did not catch up in 10 s"
            time.sleep(0.01)


@pytest.fixture
def pair(backend: str) -> Iterator[tuple[str, str, Path]]:
    """A migrated casekit database on a private primary, and its hot standby."""
    with streaming_pair() as (primary, standby, standby_data):
        admin = _superuser(primary)
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE casekit"))
        admin.dispose()
        primary_url = make_url(primary).set(database="casekit").render_as_string(False)
        standby_url = make_url(standby).set(database="casekit").render_as_string(False)
        engine = create_casekit_engine(primary_url)
        upgrade(engine)
        engine.dispose()
        yield primary_url, standby_url, standby_data


def test_reads_go_to_the_replica_and_the_writer_reads_their_writes(
    pair: tuple[str, str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    primary_url, standby_url, standby_data = pair
    kit = make_kit(
        primary_url, replica_url=standby_url, attachment_dir=tmp_path, create_schema=False
    )
    replica = kit.sessions.replica
    assert replica is not None
    primary_admin, standby_admin = _superuser(primary_url), _superuser(standby_url)
    try:
        world = World.build(kit)
        shipper, carrier = world.shipper_actor, world.carrier_actor
        first = kit.cases.open(
            shipper, type="where_is_my_order", carrier=world.carrier.id, message="Where?"
        )
        _wait_for_replay(primary_admin, standby_admin)
        counted = Statements(primary=kit.engine, replica=replica.engine)

        # Lists, counts, search and reports: the replica serves them, the primary runs nothing.
        reads: dict[str, Any] = {
            "view list": lambda: kit.views.list(carrier),
            "view count": lambda: kit.views.count(carrier),
            "badge counts": lambda: kit.views.counts(carrier),
            "search": lambda: kit.views.search(carrier, first.number),
            "case list": lambda: kit.cases.list(carrier),
            "dashboard": lambda: kit.reports.dashboard(carrier, RANGE),
            "export": lambda: "".join(kit.views.export_csv(carrier)),
            "unread marks": lambda: kit.live.unread(carrier, [first.id]),
            "saved views": lambda: kit.views.saved(carrier),
            "list columns": lambda: kit.views.columns(carrier),
        }
        figures = {}
        for name, read in reads.items():
            _result, figures[name] = counted.during(read)
            assert figures[name].get("replica reads", 0) > 0, (name, figures[name])
            assert "primary reads" not in figures[name], (name, figures[name])
        # The case page stays on the primary: its version is what a change compares.
        case, figures["case page"] = counted.during(lambda: kit.cases.get(carrier, first.number))
        assert case.number == first.number
        assert figures["case page"].get("primary reads", 0) > 0
        assert "replica reads" not in figures["case page"]
        print("statements per server:", figures)

        # The shipper's write replayed: the replica serves them too.
        page, seen = counted.during(lambda: kit.views.list(shipper))
        assert [c.number for c in page.rows] == [first.number]
        assert "primary reads" not in seen
        assert seen["replica reads"] > 0

        # Replay paused: the writer reads their write from the primary,
        # another actor reads the replica, which does not have it yet.
        with standby_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        second = kit.cases.open(
            shipper, type="where_is_my_order", carrier=world.carrier.id, message="And this?"
        )
        page, seen = counted.during(lambda: kit.views.list(shipper))
        assert {c.number for c in page.rows} == {first.number, second.number}
        assert seen.get("primary reads", 0) > 0
        assert "replica reads" not in seen
        assert replica.last_reason == "own write"
        assert kit.views.count(shipper) == 2
        page, seen = counted.during(lambda: kit.views.list(carrier))
        assert [c.number for c in page.rows] == [first.number]  # behind, as allowed
        assert seen.get("replica reads", 0) > 0
        assert "primary reads" not in seen
        # The writer's change reached the case page at once (the primary's).
        assert kit.cases.get(carrier, second.number).number == second.number

        # A replica further behind than the kit allows serves nobody.
        strict = make_kit(
            primary_url,
            replica_url=standby_url,
            replica_max_lag_seconds=0,
            attachment_dir=tmp_path,
            create_schema=False,
        )
        try:
            with caplog.at_level(logging.WARNING, logger="casekit.store.replica"):
                page = strict.views.list(carrier)
            assert {c.number for c in page.rows} == {first.number, second.number}
            assert strict.sessions.replica is not None
            assert strict.sessions.replica.last_reason == "behind"
            assert "behind" in caplog.text
        finally:
            strict.close()

        # Replay resumed and caught up: the writer is served by the replica again.
        with standby_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        _wait_for_replay(primary_admin, standby_admin)
        page, seen = counted.during(lambda: kit.views.list(shipper))
        assert {c.number for c in page.rows} == {first.number, second.number}
        assert "primary reads" not in seen
        assert seen["replica reads"] > 0

        # The replica goes down: reads go to the primary, logged, no error.
        standby_admin.dispose()
        stop(standby_data)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            for _ in range(2):  # the second read leaves the replica alone at once
                page, seen = counted.during(lambda: kit.views.list(carrier))
                assert {c.number for c in page.rows} == {first.number, second.number}
                assert seen.get("primary reads", 0) > 0
                assert "replica reads" not in seen
        assert replica.last_reason == "away"
        assert "read replica" in caplog.text
    finally:
        primary_admin.dispose()
        standby_admin.dispose()
        kit.close()


def test_the_writer_reads_their_write_in_every_process(
    pair: tuple[str, str, Path], tmp_path: Path
) -> None:
    """Read-your-writes across web processes: each kit below has its own replica
    bookkeeping, as a process has; the positions kept in the database
    (``replica_read_your_writes = "database"``, the default) reach them all, the
    ones kept per process (``"process"``) only the process that wrote."""
    primary_url, standby_url, _standby_data = pair

    def kit_of_a_process(**settings: Any) -> Any:
        return make_kit(
            primary_url,
            replica_url=standby_url,
            attachment_dir=tmp_path,
            create_schema=False,
            **settings,
        )

    one, two = kit_of_a_process(), kit_of_a_process()
    alone = kit_of_a_process(replica_read_your_writes="process")
    primary_admin, standby_admin = _superuser(primary_url), _superuser(standby_url)

    def listed(kit: Any, actor: Any) -> set[str]:
        return {c.number for c in kit.views.list(actor).rows}

    try:
        world = World.build(one)
        shipper, carrier = world.shipper_actor, world.carrier_actor
        first = one.cases.open(shipper, type="lost", carrier=world.carrier.id).number
        _wait_for_replay(primary_admin, standby_admin)
        with standby_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        second = one.cases.open(shipper, type="lost", carrier=world.carrier.id).number
        counted = Statements(primary=two.engine, replica=two.sessions.replica.engine)
        # Another process: the writer's list comes from the primary, with the write.
        seen, statements = counted.during(lambda: listed(two, shipper))
        assert seen == {first, second}
        assert two.sessions.replica.last_reason == "own write"
        assert statements.get("primary reads", 0) > 0
        assert "replica reads" not in statements
        # Anyone else is served by the replica there, behind as allowed.
        seen, statements = counted.during(lambda: listed(two, carrier))
        assert seen == {first}
        assert statements.get("replica reads", 0) > 0
        assert "primary reads" not in statements
        # Positions kept per process: a process that did not see the write serves the
        # writer from the replica, without it.
        assert listed(alone, shipper) == {first}
        assert alone.sessions.replica.last_reason == ""
        with standby_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        _wait_for_replay(primary_admin, standby_admin)
        seen, statements = counted.during(lambda: listed(two, shipper))
        assert seen == {first, second}
        assert statements.get("replica reads", 0) > 0
        assert "primary reads" not in statements
    finally:
        with standby_admin.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        primary_admin.dispose()
        standby_admin.dispose()
        for kit in (one, two, alone):
            kit.close()


def test_a_replica_that_cannot_be_reached_leaves_reads_to_the_database(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = make_url(database_url).set(host="127.0.0.1", port=free_port())
    kit = make_kit(
        database_url,
        replica_url=nowhere.render_as_string(False),
        attachment_dir=tmp_path,
        create_schema=False,
    )
    try:
        world = World.build(kit)
        kit.cases.open(world.shipper_actor, type="where_is_my_order", message="Where?")
        with caplog.at_level(logging.WARNING, logger="casekit.store.replica"):
            assert kit.views.count(world.carrier_manager_actor) == 0
            assert kit.views.count(world.shipper_actor) == 1
        assert "cannot be reached" in caplog.text
        assert caplog.text.count("cannot be reached") == 1  # then left alone for a while
    finally:
        empty_tables(kit)
        kit.close()
    # Only PostgreSQL streams to a standby casekit knows how to follow.
    with pytest.raises(ConfigurationError, match="replica_url: a read replica needs PostgreSQL"):
        make_kit(
            f"sqlite:///{tmp_path / 'x.sqlite3'}",
            replica_url=database_url,
            attachment_dir=tmp_path,
        )
    settings = Settings.from_env({"CASEKIT_REPLICA_URL": database_url})
    assert settings.replica_url == database_url
    assert settings.replica_max_lag_seconds == 30
    with pytest.raises(ConfigurationError, match="CASEKIT_REPLICA_MAX_LAG_SECONDS"):
        Settings.from_env({"CASEKIT_REPLICA_MAX_LAG_SECONDS": "-1"})


@pytest.fixture
def bouncer(backend: str) -> Iterator[str]:
    """A new database on the test server and a PgBouncer (transaction mode) in
    front of it: the URL of the database through PgBouncer."""
    server = make_url(os.environ["CASEKIT_TEST_POSTGRES_URL"])
    with (
        throwaway_database(server, prefix="casekit_bouncer", durable=False) as url,
        pgbouncer(server.host or "127.0.0.1", server.port or 5432) as port,
    ):
        yield make_url(url).set(host="127.0.0.1", port=port).render_as_string(False)


def test_through_pgbouncer_in_transaction_mode(bouncer: str, tmp_path: Path) -> None:
    """Migrations, cases opened, changed and listed, a report and the worker's
    SKIP LOCKED claim, all through PgBouncer in transaction mode with a pool of
    two server connections that the kits' transactions share: nothing relies
    on a server session outliving its transaction."""
    url = f"{bouncer}?prepare_threshold=none"
    engine = create_casekit_engine(url)
    upgrade(engine)  # migrations go through it too
    engine.dispose()
    with SmtpSink() as sink:
        kit = make_kit(
            url,
            attachment_dir=tmp_path,
            create_schema=False,
            smtp_host=sink.host,
            smtp_port=sink.port,
        )
        try:
            world = World.build(kit)
            shipper = world.shipper_actor
            # Two kits (two web processes) write and read in turn, their
            # transactions on whichever of the two server connections is free,
            # past psycopg's threshold of 5 runs of one statement.
            other = make_kit(url, attachment_dir=tmp_path, create_schema=False)
            numbers: list[str] = []
            try:
                for n in range(4):
                    for either in (kit, other):
                        number = either.cases.open(
                            shipper,
                            type="where_is_my_order",
                            carrier=world.carrier.id,
                            message=f"Where is order {n}?",
                        ).number
                        numbers.append(number)
                        either.cases.change_status(shipper, number, "waiting")
                        either.messages.post(
                            world.carrier_actor, number, "On its way", audience="partners"
                        )
                        assert either.views.count(shipper) == len(numbers)
                        listed = either.views.list(shipper).rows
                        assert {c.number for c in listed} == set(numbers)
            finally:
                other.close()
            assert kit.reports.dashboard(shipper, RANGE).sections
            assert due_count(kit) > 0
            assert kit.notifications.worker().run(once=True) >= 1  # claims FOR UPDATE SKIP LOCKED
            assert due_count(kit) == 0
            assert sink.count() > 0
        finally:
            kit.close()
    with pytest.raises(DatabaseUnavailable, match="prepare_threshold"):
        create_casekit_engine(f"{bouncer}?prepare_threshold=sometimes")
