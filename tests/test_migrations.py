"""casekit's Alembic migrations build exactly the schema its metadata declares.

Each test gets a new, empty database of the backend under test (a new SQLite
file, or a new database on the PostgreSQL / MariaDB server), so the
migrations run from nothing, as they do in a host's database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from subprocess import CompletedProcess
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)

from casekit.domain.workflow import Status
from casekit.errors import DatabaseUnavailable
from casekit.store import fulltext, migrate
from casekit.store.database import check_database, create_casekit_engine
from casekit.store.migrate import VERSION_TABLE
from casekit.store.tables import metadata
from casekit.store.types import EnumText, UTCDateTime

CASEKIT_TABLES = frozenset(metadata.tables)


def fulltext_tables(engine: Engine) -> set[str]:
    """The full-text tables migration 0036 makes (SQLite's FTS5 tables; none elsewhere)."""
    if engine.dialect.name != "sqlite":
        return set()
    made = set(fulltext.SQLITE_TABLES.values())
    return made | {f"{t}{s}" for t in made for s in ("_data", "_idx", "_docsize", "_config")}


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = create_casekit_engine(empty_database_url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def schema_differences(engine: Engine, target: MetaData = metadata) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match ``target``.

    Types, nullability and server defaults are compared as well as tables,
    columns, indexes, unique constraints and foreign keys. Tables that are
    not casekit's (the host's) are left out, as casekit's env.py does.
    """

    def only_casekit(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if name is not None and fulltext.is_fulltext(name):
            return False  # made by migration 0036 alone (tested in test_search.py)
        if type_ == "table":
            return name is not None and name.startswith("casekit_")
        return True

    with engine.connect() as conn, warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "compare_server_default": True,
                "include_object": only_casekit,
            },
        )
        differences = list(compare_metadata(context, target))
    for warning in warned:
        _same_computed_expression(engine, target, warning.message)
    return differences


def _same_computed_expression(engine: Engine, target: MetaData, warning: Warning | str) -> None:
    """Alembic tells that it cannot compare a generated column's expression when the
    server spelled it its own way (MariaDB: ``lower(x)`` is ``(lcase(`x`))``): compare
    it here, with MariaDB's spelling read back. Any other warning is raised."""
    found = re.fullmatch(r"Computed default on (\w+)\.(\w+) cannot be modified", str(warning))
    if found is None:
        raise AssertionError(f"schema comparison warned: {warning}")
    table, column = found.groups()
    reflected = {c["name"]: c for c in inspect(engine).get_columns(table)}[column]["computed"]
    declared = target.tables[table].c[column].computed
    assert declared is not None, (table, column)
    assert reflected is not None, (table, column)

    def plain(sql: object) -> str:
        # SQLAlchemy reads SQLite's expression to the table's last parenthesis:
        # with two generated columns, the rest of the table comes with it.
        own = re.split(r"\)\s*(?:VIRTUAL|STORED)\b", str(sql), maxsplit=1, flags=re.I)[0]
        return re.sub(r"[`()\s]|::text", "", own).replace("lcase", "lower")

    assert plain(reflected["sqltext"]) == plain(declared.sqltext), (table, column)


def columns_of(engine: Engine, table: str) -> list[tuple[str, str, bool]]:
    return [(c["name"], str(c["type"]), c["nullable"]) for c in inspect(engine).get_columns(table)]


def add_host_table(engine: Engine) -> Table:
    """A table of the host's own, with a row, living beside casekit's."""
    host = MetaData()
    things = Table(
        "host_things",
        host,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
    )
    host.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(things).values(id=1, name="kept"))
    return things


def test_upgrade_builds_exactly_the_declared_schema(engine: Engine) -> None:
    assert migrate.current(engine) is None
    assert table_names(engine) == set()

    migrate.upgrade(engine)

    head = migrate.head(engine)
    assert head is not None
    assert migrate.current(engine) == head
    assert table_names(engine) == CASEKIT_TABLES | {VERSION_TABLE} | fulltext_tables(engine)
    inspector = inspect(engine)
    for name, table in metadata.tables.items():
        assert {c["name"] for c in inspector.get_columns(name)} == set(table.columns.keys()), name
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    assert versions == [head]


def test_the_comparison_sees_a_schema_that_differs(engine: Engine) -> None:
    # The check above is only worth something if the comparison notices a
    # difference, custom column types included, on this backend.
    migrate.upgrade(engine)
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        if table.name != "casekit_watchers":
            table.to_metadata(changed)
    cases = changed.tables["casekit_cases"]
    cases.c.created_at.type = String(40)  # was UTCDateTime
    cases.c.solved_by.type = UTCDateTime()  # was String(64)
    cases.c.status.type = EnumText(Status, 24)  # was EnumText(Status, 16)
    cases.c.subject.nullable = True
    orders = changed.tables["casekit_orders"]
    orders.append_column(Column("extra", Integer()))
    Index("ix_casekit_orders_brand", orders.c.brand)

    changes = {
        _describe(op)
        for change in schema_differences(engine, changed)
        for op in (change if isinstance(change, list) else [change])
    }
    assert changes == {
        ("modify_type", "casekit_cases", "created_at"),
        ("modify_type", "casekit_cases", "solved_by"),
        ("modify_type", "casekit_cases", "status"),
        ("modify_nullable", "casekit_cases", "subject"),
        ("add_column", "casekit_orders", "extra"),
        ("add_index", "casekit_orders", "ix_casekit_orders_brand"),
        ("remove_table", "casekit_watchers", None),
        ("remove_index", "casekit_watchers", "ix_casekit_watchers_user"),
    }


def _describe(op: tuple[Any, ...]) -> tuple[str, str, str | None]:
    kind = op[0]
    if kind in ("modify_type", "modify_nullable"):
        return kind, op[2], op[3]
    if kind == "add_column":
        return kind, op[2], op[3].name
    if kind in ("add_index", "remove_index"):
        return kind, op[1].table.name, op[1].name
    if kind == "remove_table":
        return kind, op[1].name, None
    return kind, repr(op[1:]), None


def test_downgrade_to_base_removes_casekit_and_leaves_the_host_alone(engine: Engine) -> None:
    things = add_host_table(engine)
    host_columns = columns_of(engine, "host_things")

    migrate.upgrade(engine)
    made = fulltext_tables(engine)
    assert table_names(engine) == CASEKIT_TABLES | {VERSION_TABLE, "host_things"} | made
    assert schema_differences(engine) == []  # the host's table is not casekit's business

    migrate.downgrade(engine, "base")

    assert migrate.current(engine) is None
    left = table_names(engine)
    # Alembic keeps its (now empty) version table on a downgrade to base.
    assert left - {VERSION_TABLE} == {"host_things"}
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT COUNT(*) FROM {VERSION_TABLE}")).scalar_one() == 0
        assert conn.execute(select(things)).all() == [(1, "kept")]
    assert columns_of(engine, "host_things") == host_columns

    # ... and the way back up works again.
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head(engine)
    assert schema_differences(engine) == []


def test_check_database_wants_casekit_tables_at_this_casekits_revision(engine: Engine) -> None:
    with pytest.raises(DatabaseUnavailable, match="has no casekit tables: run `casekit db upgr"):
        check_database(engine)
    check_database(engine, tables=False)  # connecting is enough
    migrate.upgrade(engine)
    check_database(engine)
    migrate.downgrade(engine, "-1")
    older, newest = migrate.current(engine), migrate.head(engine)
    with pytest.raises(DatabaseUnavailable, match=f"{older}, this casekit's are at {newest}: run"):
        check_database(engine)
    migrate.upgrade(engine)
    with engine.begin() as conn:  # as a newer casekit would leave it
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    check_database(engine)


def test_upgrade_twice_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head(engine)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT COUNT(*) FROM {VERSION_TABLE}")).scalar_one() == 1
    assert schema_differences(engine) == []


def casekit_command(*args: str, env: dict[str, str] | None = None) -> CompletedProcess[str]:
    """Run the ``casekit`` command in its own process, as an operator would."""
    return subprocess.run(
        [sys.executable, "-c", "from casekit.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CASEKIT_LOAD_ENTRY_POINTS": "false", **(env or {})},
        timeout=120,
        check=False,
    )


def test_cli_db_upgrade_and_current(empty_database_url: str, engine: Engine) -> None:
    url = ["--database-url", empty_database_url]
    head = migrate.head(engine)

    before = casekit_command(*url, "db", "current")
    assert before.returncode == 1, before.stderr
    assert "empty" in before.stdout

    up = casekit_command(*url, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert f"casekit schema at {head}" in up.stdout
    assert migrate.current(engine) == head
    assert table_names(engine) == CASEKIT_TABLES | {VERSION_TABLE} | fulltext_tables(engine)
    assert schema_differences(engine) == []

    now = casekit_command("db", "current", env={"CASEKIT_DATABASE_URL": empty_database_url})
    assert now.returncode == 0, now.stderr
    assert now.stdout.startswith(f"{head} ")
    assert "up to date" in now.stdout


def _report_story(kit: Any, clock: Any) -> None:
    """Cases with every report column set (and some left empty), through the services."""
    from datetime import timedelta

    from casekit import Actor, ShipmentFacts
    from casekit.testing import World

    world = World.build(kit)
    sam, cal, mia = world.shipper_actor, world.carrier_actor, world.shipper_manager_actor
    for n in range(5):
        number = kit.cases.open(
            sam,
            type="where_is_my_order",
            carrier=world.carrier.id if n % 2 == 0 else None,
            customer=world.customer.id,
            message="Where is it?",
            shipment=ShipmentFacts(
                reference=f"S-{n % 3}",
                brand=f"Brand {n % 2}",
                customer_segment=f"Segment {n % 2}",
                region=f"Region {n}",
            ),
        ).number
        clock.advance(timedelta(minutes=7))
        kit.messages.post(cal if n % 2 == 0 else sam, number, "note", audience="internal")
        clock.advance(timedelta(minutes=7))
        if n % 2 == 0:
            kit.messages.post(cal, number, "On its way")
        clock.advance(timedelta(minutes=7))
        kit.messages.post(sam, number, "Thanks", audience="everyone")
        if n % 3 == 0:
            kit.cases.solve(sam, number)
            clock.advance(timedelta(minutes=7))
            # For everyone: the round trip below goes through revision 0010,
            # which knows no customer audience (see the 0014 test).
            kit.messages.post(world.customer_actor, number, "Still not here", audience="everyone")
        if n == 3:
            kit.cases.solve(sam, number)
            clock.advance(timedelta(minutes=7))
            kit.cases.reopen(mia, number)
    kit.cases.open(cal, type="lost", shipper=world.shipper.id, message="Gone")
    kit.shipments.upsert_shipments(
        Actor.host(),
        [ShipmentFacts(reference="S-1", shipper=world.shipper.external_id, brand="Renamed")],
    )


def _report_values(engine: Engine) -> list[tuple[Any, ...]]:
    from casekit.store.report_columns import REPORT_COLUMNS
    from casekit.store.tables import cases

    stmt = select(cases.c.id, *(cases.c[name] for name in REPORT_COLUMNS)).order_by(cases.c.id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(stmt)]


def _stored_report_story(database_url: str, engine: Engine, tmp_path: Any) -> list[tuple[Any, ...]]:
    """Upgrade to head, tell the report story through a kit, return the kept columns."""
    from casekit.clock import FrozenClock
    from casekit.testing import make_kit

    migrate.upgrade(engine)
    clock = FrozenClock()
    kit = make_kit(
        database_url, attachment_dir=tmp_path / "files", clock=clock, create_schema=False
    )
    try:
        _report_story(kit, clock)
    finally:
        kit.close()
    return _report_values(engine)


def test_0011_fills_the_report_columns_as_the_services_keep_them(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    from casekit.store.report_columns import REPORT_COLUMNS

    kept = _stored_report_story(empty_database_url, engine, tmp_path)
    assert len(kept) == 6
    for i in range(len(REPORT_COLUMNS)):
        # Every column has cases with a value and, but for the brand, without.
        assert any(row[1 + i] is not None for row in kept), REPORT_COLUMNS[i]
    assert any(row[1 + REPORT_COLUMNS.index("reopened_at")] is None for row in kept)

    migrate.downgrade(engine, "0010")
    names = {c["name"] for c in inspect(engine).get_columns("casekit_cases")}
    assert not names & set(REPORT_COLUMNS)
    migrate.upgrade(engine)
    assert _report_values(engine) == kept
    assert schema_differences(engine) == []


def test_0011_backfill_goes_by_id_ranges(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    import importlib.util
    from importlib.resources import files

    from sqlalchemy import update

    from casekit.store.report_columns import REPORT_COLUMNS
    from casekit.store.tables import cases

    kept = _stored_report_story(empty_database_url, engine, tmp_path)
    for name in ("0011_report_columns", "0027_known_values"):
        path = files("casekit.store") / "migrations" / "versions" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"casekit_migration_{name}", str(path))
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with engine.begin() as conn:
            conn.execute(update(cases).values(dict.fromkeys(REPORT_COLUMNS)))
        assert all(set(row[1:]) == {None} for row in _report_values(engine))
        with engine.begin() as conn:
            module.backfill(conn, batch=4)  # 6 cases: two ranges
        own = {column for column, _type in module.COLUMNS}
        filled = [i for i, column in enumerate(REPORT_COLUMNS, 1) if column in own]
        assert [[row[i] for i in filled] for row in _report_values(engine)] == [
            [row[i] for i in filled] for row in kept
        ], name


def test_0014_keeps_the_customer_conversation_from_the_carrier_both_ways(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """Upgrading gives the carrier the latest message it read before; downgrading
    turns the shipper's conversation with its customer into what revision 0013
    keeps from the carrier: a shared entry for everyone, any other one an
    internal note of the shipper. The organization a participant address was
    added for goes with the downgrade; upgraded again, it reads as the
    shipper's, as every address before the revision."""
    from casekit.clock import FrozenClock
    from casekit.store.tables import cases, entries, participants
    from casekit.testing import World, make_kit

    migrate.upgrade(engine)
    kit = make_kit(
        empty_database_url,
        attachment_dir=tmp_path / "files",
        clock=FrozenClock(),
        create_schema=False,
    )
    try:
        world = World.build(kit)
        sam, cal = world.shipper_actor, world.carrier_actor
        number = kit.cases.open(
            sam,
            type="osd_damaged",
            carrier=world.carrier.id,
            customer=world.customer.id,
            message="Torn cover",
        ).number
        kit.messages.post(cal, number, "Photos please", cc=["ops@carrier.test"])
        private = kit.messages.post(world.customer_actor, number, "My phone is 555-0100")
        shared = kit.messages.post(world.customer_actor, number, "Photos attached")
        kit.cases.share_with_carrier(sam, number, shared.id)
        partners = kit.messages.post(sam, number, "Carrier: see the shared photos")
    finally:
        kit.close()

    def audiences() -> dict[int, tuple[str, int | None]]:
        stmt = select(entries.c.id, entries.c.audience, entries.c.org_id)
        with engine.connect() as conn:
            return {row.id: (row.audience, row.org_id) for row in conn.execute(stmt)}

    assert audiences()[private.id] == ("customer", None)

    def cc_org() -> object:
        p = participants.c
        with engine.connect() as conn:
            return conn.execute(select(p.org_id).where(p.email == "ops@carrier.test")).scalar_one()

    assert cc_org() == world.carrier.id
    migrate.downgrade(engine, "0013")
    columns = {column["name"] for column in inspect(engine).get_columns("casekit_participants")}
    assert "org_id" not in columns
    after = audiences()
    assert after[private.id] == ("internal", world.shipper.id)
    assert after[shared.id] == ("everyone", None)
    assert after[partners.id] == ("partners", world.shipper.id)

    migrate.upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.number == number)).mappings().one()
    # The latest message that was not internal is the one the carrier reads.
    assert row["carrier_latest_message_at"] == row["latest_message_at"] == partners.created_at
    assert row["carrier_latest_message_org_id"] == world.shipper.id
    # An address Cc'd before the revision is read as the shipper's, as it was.
    assert cc_org() is None
    assert schema_differences(engine) == []


def test_0019_keeps_an_existing_case_address_opening_cases(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """An address stored before revision 0019 (a shipper's, with nothing but its
    organization) opens cases from any sender after it, as before."""
    from datetime import UTC, datetime

    from casekit import Actor
    from casekit.domain.case_address import UnknownSenders
    from casekit.store.tables import case_addresses, organizations
    from casekit.testing import make_kit

    migrate.upgrade(engine, "0018")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        org_id = conn.execute(
            organizations.insert().values(
                name="Acme", role="shipper", created_at=now, feedback_portal=False
            )
        ).inserted_primary_key[0]
        # The columns of revision 0018 only.
        conn.execute(
            case_addresses.insert().values(email="support@acme.test", org_id=org_id, created_at=now)
        )
    migrate.upgrade(engine)
    assert schema_differences(engine) == []
    kit = make_kit(empty_database_url, attachment_dir=tmp_path / "files", create_schema=False)
    try:
        [address] = kit.case_addresses.list(Actor.host())
        assert (address.org_id, address.unknown_senders, address.partner_id) == (
            org_id,
            UnknownSenders.OPEN,
            None,
        )
        raw = (
            b"From: nora@shop.test\r\nTo: support@acme.test\r\nSubject: Hello\r\n"
            b"Message-ID: <m18@t>\r\n\r\nHi\r\n"
        )
        assert kit.inbound.receive(raw).outcome == "created"
    finally:
        kit.close()
    migrate.downgrade(engine, "0018")
    columns = {c["name"] for c in inspect(engine).get_columns(case_addresses.name)}
    assert columns == {"email", "org_id", "created_at"}


def test_0020_gives_the_carrier_the_status_and_last_update_it_read(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """Upgrading fills the carrier's status with the status as the carrier read
    it before (``reply_received`` and ``waiting`` as ``open``) and its last
    update with the case's; the carrier's indexes hold its status; an address
    the carrier's staff Cc'd before revision 0014 becomes the carrier's."""
    from casekit.clock import FrozenClock
    from casekit.domain.workflow import status_for_carrier
    from casekit.store.tables import cases, participants
    from casekit.testing import World, make_kit

    migrate.upgrade(engine)
    clock = FrozenClock()
    kit = make_kit(
        empty_database_url, attachment_dir=tmp_path / "files", clock=clock, create_schema=False
    )
    try:
        world = World.build(kit)
        sam = world.shipper_actor
        for said in (None, "partners", "customer", "customer_reply", "solve"):
            clock.advance(minutes=1)
            number = kit.cases.open(
                sam, type="lost", carrier=world.carrier.id, customer=world.customer.id
            ).number
            if said in ("partners", "customer"):
                kit.messages.post(sam, number, "Hello", audience=said)
            elif said == "customer_reply":
                kit.messages.post(world.customer_actor, number, "Hello")
            elif said == "solve":
                kit.cases.solve(sam, number)
        # Cc'd addresses: by the carrier, by the shipper, and by the carrier at
        # the very instant the shipper posted too (which cannot be told apart).
        cal = world.carrier_actor
        clock.advance(minutes=1)
        kit.messages.post(cal, number, "Our yard", cc=["yard@fast.test"])
        clock.advance(minutes=1)
        kit.messages.post(sam, number, "Our dock", cc=["dock@acme.test"])
        clock.advance(minutes=1)
        kit.messages.post(cal, number, "Same time", cc=["both@fast.test"])
        kit.messages.post(sam, number, "Same time")
    finally:
        kit.close()
    p = participants.c
    with engine.begin() as conn:  # as every address was before revision 0014
        conn.execute(update(participants).values(org_id=None))
    c = cases.c
    stmt = select(c.status, c.updated_at, c.carrier_status, c.carrier_updated_at).order_by(c.id)
    migrate.downgrade(engine, "0019")
    names = {column["name"] for column in inspect(engine).get_columns("casekit_cases")}
    assert not names & {"carrier_status", "carrier_updated_at"}
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    assert {row.status for row in rows} == set(Status)
    for row in rows:
        assert row.carrier_status is status_for_carrier(row.status), row
        assert row.carrier_updated_at == row.updated_at, row
    with engine.connect() as conn:
        cc = dict(conn.execute(select(p.email, p.org_id).where(p.email.is_not(None))).all())
    assert cc == {
        "yard@fast.test": world.carrier.id,
        "dock@acme.test": None,
        "both@fast.test": None,
    }
    assert schema_differences(engine) == []
    carrier_list = next(
        index
        for index in inspect(engine).get_indexes("casekit_cases")
        if index["name"] == "ix_casekit_cases_carrier_list"
    )
    assert "carrier_status" in carrier_list["column_names"]
    assert "status" not in carrier_list["column_names"]


def test_0025_gives_the_carrier_the_solved_time_it_read(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """Upgrading gives a case the carrier reads solved its ``solved_at``; a case
    the carrier reads active keeps none; the carrier's solved index reads it."""
    from casekit.clock import FrozenClock
    from casekit.store.tables import cases
    from casekit.testing import World, make_kit

    migrate.upgrade(engine)
    clock = FrozenClock()
    kit = make_kit(
        empty_database_url, attachment_dir=tmp_path / "files", clock=clock, create_schema=False
    )
    try:
        world = World.build(kit)
        sam = world.shipper_actor
        for solve in (False, True):
            clock.advance(minutes=1)
            number = kit.cases.open(sam, type="lost", carrier=world.carrier.id).number
            if solve:
                kit.cases.solve(sam, number)
    finally:
        kit.close()
    c = cases.c
    migrate.downgrade(engine, "0024")
    names = {column["name"] for column in inspect(engine).get_columns("casekit_cases")}
    assert "carrier_solved_at" not in names
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(c.solved_at, c.carrier_solved_at).order_by(c.id)).all()
    assert rows[0] == (None, None)
    assert rows[1].solved_at is not None
    assert rows[1].carrier_solved_at == rows[1].solved_at
    assert schema_differences(engine) == []


def test_0029_makes_a_stored_rule_a_tier_2_rule_and_lists_by_tier(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """A rule stored before revision 0029 (its definition names no tier) is a Tier 2
    rule after it, reads and works as before; the rules list Tier 1 first; the
    downgrade keeps the rules and the cases they hold."""
    import json
    from datetime import UTC, datetime

    from casekit import Actor
    from casekit.domain.rules import Tier
    from casekit.store.tables import organizations, rules
    from casekit.testing import make_kit

    migrate.upgrade(engine, "0028")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    definition = {"name": "Old", "case_type": "lost", "exceptions": ["lost"], "hours": 0}
    with engine.begin() as conn:
        org_id = conn.execute(
            organizations.insert().values(
                name="Acme", role="shipper", created_at=now, feedback_portal=False
            )
        ).inserted_primary_key[0]
        # The columns of revision 0028 only.
        conn.execute(
            rules.insert().values(
                org_id=org_id,
                name="Old",
                enabled=True,
                definition=json.dumps(definition),
                assigned=0,
                created_at=now,
                updated_at=now,
            )
        )
    migrate.upgrade(engine)
    assert schema_differences(engine) == []
    kit = make_kit(empty_database_url, attachment_dir=tmp_path / "files", create_schema=False)
    try:
        host = Actor.host()
        [old] = kit.rules.list(host, org_id=org_id)
        assert (old.name, old.tier, old.enabled) == ("Old", Tier.WATCH, True)
        assert old.spec.exceptions == ("lost",)
        kit.rules.create(
            host, {**definition, "name": "Zebra", "tier": 1}, org_id=org_id, enabled=False
        )
        assert [(r.name, r.tier) for r in kit.rules.list(host, org_id=org_id)] == [
            ("Zebra", Tier.ACT_NOW),
            ("Old", Tier.WATCH),
        ]
    finally:
        kit.close()
    with engine.connect() as conn:
        stored = dict(conn.execute(select(rules.c.name, rules.c.tier)).all())
    assert stored == {"Old": 2, "Zebra": 1}
    migrate.downgrade(engine, "0028")
    assert "tier" not in {c["name"] for c in inspect(engine).get_columns(rules.name)}
    with engine.connect() as conn:
        assert sorted(conn.execute(select(rules.c.name)).scalars()) == ["Old", "Zebra"]


def test_0030_a_row_claimed_before_the_upgrade_lapses_and_is_claimed_anew(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """A notification a worker of the older casekit was sending when the upgrade ran
    has no claim token: its lease lapses as before and the next claim gives it
    one, under which it is delivered and recorded."""
    from datetime import timedelta

    from casekit.clock import FrozenClock
    from casekit.services.worker import Worker
    from casekit.store.tables import outbox
    from casekit.testing import CapturedMail, World, make_kit

    migrate.upgrade(engine)
    clock = FrozenClock()
    captured = CapturedMail()
    kit = make_kit(
        empty_database_url,
        attachment_dir=tmp_path / "files",
        clock=clock,
        create_schema=False,
        plugins=[captured],
    )
    try:
        world = World.build(kit)
        kit.cases.open(
            world.shipper_actor,
            type="lost",
            customer=world.customer.id,
            message="Hi",
            audience="everyone",
        )
        migrate.downgrade(engine, "0029")
        for table in ("casekit_outbox", "casekit_webhook_outbox"):
            names = {column["name"] for column in inspect(engine).get_columns(table)}
            assert "claim_token" not in names, table
        with engine.begin() as conn:  # as the older worker's claim left it
            conn.execute(
                text("UPDATE casekit_outbox SET status = 'sending', next_attempt_at = :at"),
                {"at": (clock.now() + timedelta(minutes=5)).replace(tzinfo=None)},
            )
        migrate.upgrade(engine)
        assert schema_differences(engine) == []
        with engine.connect() as conn:
            assert conn.execute(select(outbox.c.status, outbox.c.claim_token)).all() == [
                ("sending", None)
            ]
        assert kit.notifications.deliver() == 0  # the older claim still holds
        clock.advance(minutes=6)
        (row,) = Worker(kit).claim()  # a worker that took it, then died
        assert row["claim_token"] is not None
        clock.advance(minutes=2)
        assert kit.notifications.deliver() == 1
        assert [n.email for n in captured.outbox] == [world.customer.email]
        with engine.connect() as conn:
            assert conn.execute(select(outbox.c.status, outbox.c.claim_token)).all() == [
                ("sent", None)
            ]
    finally:
        kit.close()


def test_0032_turns_report_targets_into_service_levels_and_back(
    empty_database_url: str, engine: Engine, tmp_path: Any
) -> None:
    """Upgrading makes each report target a service level of its case type (named
    after it, warning an hour before, tried before the organization's others);
    downgrading moves back the targets the old table holds in full, and their
    clocks go with the due times they gave their cases."""
    import json
    from datetime import UTC, datetime

    from sqlalchemy import table as sql_table

    from casekit.clock import FrozenClock
    from casekit.store.tables import cases, clocks, sla_targets
    from casekit.testing import World, make_kit

    migrate.upgrade(engine)
    kit = make_kit(
        empty_database_url,
        attachment_dir=tmp_path / "files",
        clock=FrozenClock(),
        create_schema=False,
    )
    try:
        world = World.build(kit)
        mia, levels = world.shipper_manager_actor, kit.service_levels
        lost = levels.save_target(
            mia,
            {
                "name": "Lost",
                "conditions": {"types": ["lost"]},
                "first_response": 60,
                "resolution": 7200,
            },
        )
        levels.save_target(mia, {"name": "All", "resolution": 7 * 86400})
        levels.save_target(
            mia,
            {"name": "Asked", "conditions": {"types": ["cancel"]}, "next_response": 600},
        )
        number = kit.cases.open(world.carrier_actor, type="lost", shipper=world.shipper.id).number
    finally:
        kit.close()
    t, k, c = sla_targets.c, clocks.c, cases.c

    def due() -> Any:
        with engine.connect() as conn:
            return conn.execute(select(c.shipper_due_at).where(c.number == number)).scalar_one()

    assert due() is not None
    migrate.downgrade(engine, "0031")
    old = sql_table(
        "casekit_report_targets",
        Column("org_id", Integer()),
        Column("case_type", String(64)),
        Column("first_response_seconds", Integer()),
        Column("resolution_seconds", Integer()),
        Column("updated_at", UTCDateTime()),
        Column("updated_by", String(64)),
    )
    with engine.begin() as conn:
        back = conn.execute(
            select(
                old.c.org_id,
                old.c.case_type,
                old.c.first_response_seconds,
                old.c.resolution_seconds,
            )
        ).all()
        assert [tuple(row) for row in back] == [(world.shipper.id, "lost", 60, 7200)]
        assert set(conn.execute(select(t.name)).scalars()) == {"All", "Asked"}
        assert conn.execute(select(k.id).where(k.target_id == lost.id)).first() is None
        conn.execute(
            insert(old).values(
                org_id=world.carrier.id,
                case_type="osd_damaged",
                first_response_seconds=3600,
                resolution_seconds=None,
                updated_at=datetime(2026, 1, 5, tzinfo=UTC),
                updated_by="user:7",
            )
        )
    assert due() is None
    migrate.upgrade(engine)
    assert "casekit_report_targets" not in table_names(engine)
    assert schema_differences(engine) == []
    with engine.connect() as conn:
        rows = conn.execute(select(sla_targets).order_by(t.org_id, t.position)).mappings().all()
    found = {
        (row["org_id"], row["name"]): (
            row["position"],
            json.loads(row["conditions"]),
            row["first_response_seconds"],
            row["resolution_seconds"],
            row["warn_before_seconds"],
            row["enabled"],
        )
        for row in rows
    }
    # Tried first again: the shipper's two others move down.
    assert found[(world.shipper.id, "Lost")] == (0, {"types": ["lost"]}, 60, 7200, 3600, True)
    assert found[(world.shipper.id, "All")][0] == 2
    assert found[(world.carrier.id, "OS&D – Damaged")] == (  # noqa: RUF001
        0,
        {"types": ["osd_damaged"]},
        3600,
        None,
        3600,
        True,
    )
    assert len(found) == 4
