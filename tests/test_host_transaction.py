"""A kit bound to the host's transaction (``kit.bind``) commits and rolls back with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, registry

from casekit import CaseKit, signals
from casekit.errors import ConfigurationError, InvalidInput, NotFound
from casekit.sample import World
from casekit.store import tables
from casekit.store.uow import UnitOfWork
from casekit.testing import SignalRecorder, make_kit

DAMAGED = {
    "name": "Damaged",
    "exceptions": ["damaged"],
    "case_type": "osd_damaged",
    "message": "Shipment {reference} arrived damaged ({exception}).",
}

host_metadata = MetaData()
#: The host's own table, beside casekit's in the same database.
orders = Table(
    "host_orders",
    host_metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
)


class HostOrder:
    """The host's own mapped class (on the host's registry, not casekit's)."""

    def __init__(self, number: str) -> None:
        self.number = number


registry().map_imperatively(HostOrder, orders)

CASEKIT_ROWS = {
    "cases": tables.cases,
    "entries": tables.entries,
    "outbox": tables.outbox,
    "webhook_outbox": tables.webhook_outbox,
}


@pytest.fixture
def host_tables(kit: CaseKit) -> Iterator[None]:
    host_metadata.create_all(kit.engine)
    yield
    host_metadata.drop_all(kit.engine)


@pytest.fixture
def w(world: World, host_tables: None, database_url: str, tmp_path: Path) -> World:
    # A subscription, so that an opened case writes a webhook outbox row too.
    loopback = make_kit(
        database_url,
        attachment_dir=tmp_path / "subscribing",
        create_schema=False,
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
    )
    loopback.webhooks.subscribe(
        world.shipper_manager_actor, url="http://127.0.0.1:9/in", events=["case_opened"]
    )
    loopback.close()
    return world


@pytest.fixture
def seen(w: World) -> Iterator[list[int]]:
    """The number of cases a ``case_opened`` receiver finds on another connection:
    the case is there only once the host committed."""
    found: list[int] = []

    def count_cases(_sender: object, **_kwargs: object) -> None:
        with w.kit.engine.connect() as conn:
            found.append(conn.execute(select(func.count()).select_from(tables.cases)).scalar_one())

    signals.case_opened.connect(count_cases, weak=False)
    yield found
    signals.case_opened.disconnect(count_cases)


def counts(kit: CaseKit) -> dict[str, int]:
    with kit.engine.connect() as conn:
        found = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in CASEKIT_ROWS.items()
        }
        found["host_orders"] = conn.execute(select(func.count()).select_from(orders)).scalar_one()
    return found


def open_case(kit: CaseKit, w: World, message: str = "Where is order 1001?") -> str:
    """Open a case with the carrier; the carrier answers, which notifies the
    shipper's owner (an outbox row), and the subscription gets a webhook row."""
    view = kit.cases.open(
        w.shipper_actor, type="lost", carrier=w.carrier.id, subject="1001", message=message
    )
    kit.messages.post(w.carrier_actor, view.number, "On its way.", audience="partners")
    return view.number


def test_the_host_row_and_the_case_commit_together(w: World) -> None:
    kit = w.kit
    before = counts(kit)
    with Session(kit.engine) as session:
        session.execute(insert(orders).values(number="1001"))
        number = open_case(kit.bind(session), w)
        session.commit()
    after = counts(kit)
    assert after["host_orders"] == before["host_orders"] + 1
    assert after["cases"] == before["cases"] + 1
    assert after["entries"] > before["entries"]
    assert after["outbox"] > before["outbox"]
    assert after["webhook_outbox"] == before["webhook_outbox"] + 1
    assert kit.cases.get(w.shipper_actor, number).subject == "1001"


def test_a_host_rollback_drops_the_case_its_outbox_and_timeline_and_sends_nothing(
    w: World,
) -> None:
    kit = w.kit
    before = counts(kit)
    with SignalRecorder() as recorded, Session(kit.engine) as session:
        session.execute(insert(orders).values(number="1001"))
        number = open_case(kit.bind(session), w)
        session.rollback()
    assert counts(kit) == before
    assert recorded.names() == []
    with pytest.raises(NotFound):
        kit.cases.get(w.shipper_actor, number)


def test_a_host_session_closed_without_commit_drops_the_case(w: World) -> None:
    kit = w.kit
    before = counts(kit)
    with SignalRecorder() as recorded:
        with Session(kit.engine) as session:
            session.execute(insert(orders).values(number="1001"))
            open_case(kit.bind(session), w)
        # The next transaction of the same session commits none of it.
        session.execute(insert(orders).values(number="1002"))
        session.commit()
    assert counts(kit) == before | {"host_orders": before["host_orders"] + 1}
    assert recorded.names() == []


def test_signals_are_sent_after_the_host_commits_and_see_the_case(
    w: World, seen: list[int]
) -> None:
    kit = w.kit
    with SignalRecorder() as unbound:
        kit.cases.solve(w.shipper_actor, open_case(kit, w))
    assert "case-solved" in unbound.names()
    assert seen == [1]
    with SignalRecorder() as recorded, Session(kit.engine) as session:
        bound = kit.bind(session)
        number = open_case(bound, w)
        bound.cases.solve(w.shipper_actor, number)
        assert recorded.names() == []
        session.commit()
        assert recorded.names() == unbound.names()
    assert seen == [1, 2]


def test_the_signals_of_a_bound_view_come_from_the_kit(w: World) -> None:
    kit = w.kit
    heard: list[object] = []

    def receive(sender: object, **_kwargs: object) -> None:
        heard.append(sender)

    signals.case_opened.connect_via(kit)(receive)
    try:
        with Session(kit.engine) as session:
            open_case(kit.bind(session), w)
            session.commit()
    finally:
        signals.case_opened.disconnect(receive)
    assert heard == [kit]


def test_a_casekit_error_leaves_the_host_transaction_usable(w: World) -> None:
    kit = w.kit
    with SignalRecorder() as recorded, Session(kit.engine) as session:
        bound = kit.bind(session)
        session.execute(insert(orders).values(number="1001"))
        kept = open_case(bound, w)
        with pytest.raises(InvalidInput):
            bound.cases.open(w.shipper_actor, type="no such type")
        with pytest.raises(InvalidInput):  # fails in the database's transaction, mid-way
            bound.rules.create(w.shipper_manager_actor, {"name": "x", "case_type": "nope"})
        with pytest.raises(NotFound):
            bound.cases.solve(w.shipper_actor, "CV999999")
        session.execute(insert(orders).values(number="1002"))
        session.commit()
    assert counts(kit)["host_orders"] == 2
    assert kit.cases.get(w.shipper_actor, kept).number == kept
    assert recorded.names().count("case-opened") == 1


def test_a_failing_statement_of_casekit_rolls_back_to_its_savepoint_only(w: World) -> None:
    """A unit of work whose statement fails in the database (on PostgreSQL that
    aborts the whole transaction) undoes only its own work."""
    kit = w.kit
    with Session(kit.engine) as session:
        bound = kit.bind(session)
        session.execute(insert(orders).values(number="1001"))
        with UnitOfWork(bound.sessions) as uow:
            conn = uow.connection()
            at = kit.clock.now()
            conn.execute(
                insert(tables.organizations).values(name="Mine", role="shipper", created_at=at)
            )
            mine = select(tables.organizations.c.id).where(tables.organizations.c.name == "Mine")
            assert conn.execute(mine).first() is not None
            taken = insert(tables.organizations).values(
                name="Taken", role="shipper", external_id=w.shipper.external_id, created_at=at
            )
            with pytest.raises(IntegrityError):
                conn.execute(taken)
        bound.rules.create(w.shipper_manager_actor, DAMAGED)
        with pytest.raises(InvalidInput, match="exists"):
            bound.rules.create(w.shipper_manager_actor, DAMAGED)
        session.execute(insert(orders).values(number="1002"))
        session.commit()
    assert counts(kit)["host_orders"] == 2
    assert [r.name for r in kit.rules.list(w.shipper_manager_actor)] == ["Damaged"]
    with kit.engine.connect() as conn:
        names = conn.execute(select(tables.organizations.c.name)).scalars().all()
    assert "Mine" not in names


def test_reads_in_the_bound_kit_see_the_host_and_casekit_uncommitted_writes(w: World) -> None:
    kit = w.kit
    with Session(kit.engine) as session:
        bound = kit.bind(session)
        number = open_case(bound, w)
        assert bound.cases.get(w.shipper_actor, number).number == number
        assert [e.body for e in bound.cases.timeline(w.shipper_actor, number) if e.body] == [
            "Where is order 1001?",
            "On its way.",
        ]
        session.execute(insert(orders).values(number="1001"))
        session.add(HostOrder(number="1002"))  # not flushed yet
        with bound.sessions(write=False) as own:
            assert own.execute(select(orders.c.number)).scalars().all() == ["1001", "1002"]
        with pytest.raises(NotFound):  # not committed: another transaction does not see it
            kit.cases.get(w.shipper_actor, number)
        session.rollback()


def test_a_bound_connection_commits_and_rolls_back_with_the_host(w: World, seen: list[int]) -> None:
    kit = w.kit
    before = counts(kit)
    with SignalRecorder() as recorded:
        with kit.engine.connect() as conn, conn.begin():
            conn.execute(insert(orders).values(number="1001"))
            open_case(kit.bind(conn), w)
            assert recorded.names() == []
        assert recorded.names()[0] == "case-opened"
        assert seen == [before["cases"] + 1]  # sent after the COMMIT
        recorded.calls.clear()
        with kit.engine.connect() as conn:
            conn.begin()
            conn.execute(insert(orders).values(number="1002"))
            open_case(kit.bind(conn), w)
            conn.rollback()
            conn.begin()
            conn.execute(insert(orders).values(number="1003"))
            conn.commit()
        assert recorded.names() == []
    after = counts(kit)
    assert after["host_orders"] == before["host_orders"] + 2
    assert after["cases"] == before["cases"] + 1


def test_a_bound_connection_needs_its_transaction_begun(w: World) -> None:
    with w.kit.engine.connect() as conn, pytest.raises(ConfigurationError, match="begin one"):
        w.kit.bind(conn).cases.get(w.shipper_actor, "CV000001")


def test_a_host_savepoint_rolled_back_drops_the_case_inside_it(w: World) -> None:
    kit = w.kit
    with SignalRecorder() as recorded, Session(kit.engine) as session:
        bound = kit.bind(session)
        kept = open_case(bound, w)
        with session.begin_nested():  # released: no commit yet
            released = open_case(bound, w, "released")
        assert recorded.names() == []
        with session.begin_nested() as nested:
            dropped = open_case(bound, w, "dropped")
            nested.rollback()
        session.commit()
    assert kit.cases.get(w.shipper_actor, kept).number == kept
    assert kit.cases.get(w.shipper_actor, released).number == released
    with pytest.raises(NotFound):
        kit.cases.get(w.shipper_actor, dropped)
    assert [kw["case"].number for kw in recorded.of(signals.case_opened)] == [kept, released]


@pytest.mark.backends("sqlite")
def test_a_case_opens_while_the_host_holds_a_pending_write_on_sqlite(
    database_url: str, w: World
) -> None:
    """The host's own engine (pysqlite's defaults, no BEGIN of its own; a short
    busy timeout instead of its 5 s), shared with casekit: unbound, the case
    waits for the host's write lock and fails "database is locked"."""
    engine = create_engine(database_url, connect_args={"timeout": 0.2})
    kit = CaseKit(settings=w.kit.settings, engine=engine, clock=w.kit.clock)
    try:
        with Session(engine) as session:
            session.execute(insert(orders).values(number="1001"))  # the write lock
            with pytest.raises(OperationalError, match="database is locked"):
                open_case(kit, w)
            number = open_case(kit.bind(session), w)
            session.commit()
        with Session(engine) as session:
            assert session.execute(select(orders.c.number)).scalars().all() == ["1001"]
        assert w.kit.cases.get(w.shipper_actor, number).number == number
    finally:
        engine.dispose()


@pytest.mark.backends("sqlite")
def test_a_bound_call_first_in_a_pysqlite_transaction_still_rolls_back(
    database_url: str, w: World
) -> None:
    """pysqlite opens no transaction before a SAVEPOINT: casekit opens the host's,
    or releasing its savepoint would commit the case on its own."""
    engine = create_engine(database_url)
    kit = CaseKit(settings=w.kit.settings, engine=engine, clock=w.kit.clock)
    before = counts(w.kit)
    try:
        with Session(engine) as session:
            open_case(kit.bind(session), w)
            session.execute(insert(orders).values(number="1001"))
            session.rollback()
        assert counts(w.kit) == before
    finally:
        engine.dispose()


def test_a_session_without_an_engine_is_refused_with_the_fix(w: World) -> None:
    with Session() as session, pytest.raises(ConfigurationError, match="one default engine"):
        w.kit.bind(session).cases.get(w.shipper_actor, "CV000001")


def test_binding_something_else_is_a_type_error(w: World) -> None:
    with pytest.raises(TypeError, match="Session, scoped_session or Connection"):
        w.kit.bind(w.kit.engine)  # type: ignore[arg-type]
