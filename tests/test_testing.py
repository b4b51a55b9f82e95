"""casekit.testing: the fakes and the opt-in pytest fixtures plugin authors use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select

from casekit import (
    Actor,
    FrozenClock,
    InvalidInput,
    NotFound,
    OrderFacts,
    OrgRole,
    ShipmentFacts,
    Status,
    UserRole,
    signals,
)
from casekit.domain.directory import Organization
from casekit.store import tables
from casekit.testing import FakeShipments, SignalRecorder, World, empty_tables, make_kit

# -- the pytest fixtures, as a plugin author's test suite uses them ------------------

PLUGIN_AUTHOR_TESTS = """
    from datetime import UTC, datetime, timedelta

    from casekit import CaseKit, FrozenClock, Status
    from casekit.testing import World

    def test_clock(casekit_clock):
        assert isinstance(casekit_clock, FrozenClock)
        assert casekit_clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def test_kit(casekit_kit, casekit_clock, tmp_path):
        assert isinstance(casekit_kit, CaseKit)
        assert casekit_kit.clock is casekit_clock
        assert casekit_kit.settings.load_entry_points is False
        assert casekit_kit.engine.url.get_backend_name() == "sqlite"
        assert str(tmp_path) in casekit_kit.settings.database_url
        assert casekit_kit.settings.attachment_dir == tmp_path / "attachments"

    def test_world_opens_and_solves_a_case(casekit_world, casekit_kit, casekit_clock):
        world = casekit_world
        assert isinstance(world, World)
        assert world.kit is casekit_kit
        case = casekit_kit.cases.open(
            world.shipper_actor, type="where_is_my_order", carrier=world.carrier.id,
            message="Where is it?",
        )
        assert case.created_at == casekit_clock.now()
        casekit_clock.advance(timedelta(hours=1))
        solved = casekit_kit.cases.solve(world.carrier_actor, case.number)
        assert solved.status is Status.SOLVED
        assert solved.solved_at == casekit_clock.now()

    def test_every_test_gets_a_fresh_kit(casekit_world, casekit_kit):
        # the case opened by the test above is gone
        assert casekit_kit.cases.list(casekit_world.shipper_actor) == []
"""


def test_the_fixtures_work_for_a_plugin_author(pytester):
    pytester.makeconftest('pytest_plugins = ["casekit.testing"]\n')
    pytester.makepyfile(test_plugin=PLUGIN_AUTHOR_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_the_fixtures_are_opt_in(pytester):
    pytester.makepyfile(
        test_plugin="""
            def test_kit(casekit_kit):
                pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'casekit_kit' not found*"])


def test_a_failing_plugin_test_fails(pytester):
    """The fixtures do not swallow failures: a wrong expectation is reported."""
    pytester.makeconftest('pytest_plugins = ["casekit.testing"]\n')
    pytester.makepyfile(
        test_plugin="""
            from casekit import Status

            def test_wrong(casekit_world, casekit_kit):
                case = casekit_kit.cases.open(casekit_world.shipper_actor, type="lost")
                assert case.status is Status.SOLVED
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)


BACKEND_TESTS = """
    def test_world(casekit_backend_world, casekit_backend_kit):
        assert casekit_backend_kit.cases.list(casekit_backend_world.shipper_actor) == []
"""


def test_the_backend_fixtures_run_once_per_database(pytester, monkeypatch):
    monkeypatch.delenv("CASEKIT_TEST_POSTGRES_URL", raising=False)
    monkeypatch.delenv("CASEKIT_TEST_MYSQL_URL", raising=False)
    pytester.makeconftest('pytest_plugins = ["casekit.testing"]\n')
    pytester.makepyfile(test_plugin=BACKEND_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_world?sqlite? PASSED*"])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--casekit-backends=oracle", "*oracle is not sqlite, postgresql or mysql*"),
        ("--casekit-backends=postgresql", "*postgresql needs CASEKIT_TEST_POSTGRES_URL*"),
    ],
)
def test_a_backend_the_run_cannot_use_is_a_usage_error(pytester, monkeypatch, option, message):
    monkeypatch.delenv("CASEKIT_TEST_POSTGRES_URL", raising=False)
    pytester.makeconftest('pytest_plugins = ["casekit.testing"]\n')
    pytester.makepyfile(test_plugin=BACKEND_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


# -- make_kit and World --------------------------------------------------------------------


def test_make_kit_builds_a_ready_kit(tmp_path):
    clock = FrozenClock(datetime(2030, 2, 3, tzinfo=UTC))
    kit = make_kit(
        f"sqlite:///{tmp_path / 'k.sqlite3'}",
        attachment_dir=tmp_path / "files",
        clock=clock,
        case_number_prefix="TK",
    )
    try:
        assert kit.clock is clock
        assert kit.settings.load_entry_points is False
        assert kit.settings.case_number_prefix == "TK"
        assert kit.settings.attachment_dir == tmp_path / "files"
        world = World.build(kit)
        case = kit.cases.open(world.shipper_actor, type="lost")
        assert case.number.startswith("TK")
        assert case.created_at == clock.now()
    finally:
        kit.close()


def test_make_kit_can_leave_the_schema_alone(tmp_path):
    kit = make_kit(
        f"sqlite:///{tmp_path / 'k.sqlite3'}", attachment_dir=tmp_path, create_schema=False
    )
    try:
        assert inspect(kit.engine).get_table_names() == []
        assert isinstance(kit.clock, FrozenClock)
    finally:
        kit.close()


def test_make_kit_registers_plugins(tmp_path):
    fake = FakeShipments()
    kit = make_kit(
        f"sqlite:///{tmp_path / 'k.sqlite3'}",
        attachment_dir=tmp_path,
        plugins=[fake],
        create_schema=False,
    )
    try:
        assert kit.plugin_manager.is_registered(fake)
    finally:
        kit.close()


def test_world_has_a_shipper_a_carrier_their_people_and_a_customer(kit, world):
    assert world.shipper.role is OrgRole.SHIPPER
    assert world.carrier.role is OrgRole.CARRIER
    assert world.shipper_agent.org_id == world.shipper_manager.org_id == world.shipper.id
    assert world.carrier_agent.org_id == world.carrier_manager.org_id == world.carrier.id
    assert world.shipper_agent.role is UserRole.AGENT
    assert world.shipper_manager.role is UserRole.MANAGER
    assert world.carrier_manager.role is UserRole.MANAGER
    assert world.customer.shipper_org_id == world.shipper.id
    assert world.shipper_actor.user_id == world.shipper_agent.id
    assert world.shipper_manager_actor.is_manager
    assert world.carrier_actor.org_id == world.carrier.id
    assert world.customer_actor.customer_id == world.customer.id


def test_tagged_worlds_stay_apart(kit, world):
    other = World.build(kit, tag="-2")
    assert other.shipper.external_id == "acme-2"
    assert other.shipper.id != world.shipper.id
    case = kit.cases.open(world.shipper_actor, type="lost")
    with pytest.raises(NotFound):
        kit.cases.get(other.shipper_actor, case.number)


def test_empty_tables_leaves_nothing_and_restarts_the_ids(kit, world):
    case = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
    )
    kit.messages.post(world.carrier_actor, case.number, "On its way")
    # An id taken by a transaction that rolled back leaves its table empty.
    with kit.engine.connect() as conn:
        conn.execute(tables.rules.insert(), rule_row(world.shipper.id))
        conn.rollback()
    empty_tables(kit)
    with kit.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, table
    again = World.build(kit)
    assert again.shipper.id == 1
    assert kit.cases.open(again.shipper_actor, type="lost").number == "CV000001"
    with kit.engine.begin() as conn:
        inserted = conn.execute(tables.rules.insert(), rule_row(again.shipper.id))
    assert inserted.inserted_primary_key[0] == 1


def test_empty_tables_keeps_the_tables_named(kit, world):
    """``keep``: those tables keep their rows and ids; the others are emptied, ids restarted."""
    kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id, message="Hello")
    kept = {"casekit_organizations", "casekit_users", "casekit_customers"}
    with kit.engine.connect() as conn:
        before = {
            name: conn.execute(select(tables.metadata.tables[name])).all() for name in sorted(kept)
        }
    empty_tables(kit, keep=kept)
    with kit.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            assert rows == (before[table.name] if table.name in kept else []), table
    assert all(before.values())
    assert kit.cases.open(world.shipper_actor, type="lost").number == "CV000001"
    user = kit.directory.add_user(
        Actor.host(), org_id=world.shipper.id, name="New", email="new@acme.test"
    )
    assert user.id == 1 + max(row.id for row in before["casekit_users"])


def rule_row(org_id):
    at = datetime(2026, 1, 5, tzinfo=UTC)
    return {"org_id": org_id, "name": "r", "definition": "{}", "created_at": at, "updated_at": at}


# -- FakeShipments -------------------------------------------------------------------------


def org(external_id: str, role: OrgRole = OrgRole.SHIPPER) -> Organization:
    return Organization(name=external_id, role=role, external_id=external_id, id=1)


@pytest.fixture
def fake():
    fake = FakeShipments()
    fake.add_shipment(ShipmentFacts(reference="SHP-1", shipper="acme", carrier="fast"))
    fake.add_order(OrderFacts(number="ORD-1", shipper="acme"))
    return fake


def test_fake_answers_the_shipper_and_the_carrier_of_a_shipment(fake):
    for asking in (org("acme"), org("fast", OrgRole.CARRIER)):
        facts = fake.casekit_lookup_shipment(organization=asking, reference="SHP-1")
        assert facts == ShipmentFacts(reference="SHP-1", shipper="acme", carrier="fast")


def test_fake_answers_nobody_else(fake):
    assert fake.casekit_lookup_shipment(organization=org("rival"), reference="SHP-1") is None
    slow = org("slow", OrgRole.CARRIER)
    assert fake.casekit_lookup_shipment(organization=slow, reference="SHP-1") is None
    assert fake.casekit_lookup_shipment(organization=org("acme"), reference="SHP-404") is None


def test_fake_orders_belong_to_their_shipper(fake):
    assert fake.casekit_lookup_order(organization=org("acme"), number="ORD-1") == OrderFacts(
        number="ORD-1", shipper="acme"
    )
    assert fake.casekit_lookup_order(organization=org("rival"), number="ORD-1") is None
    carrier = org("fast", OrgRole.CARRIER)
    assert fake.casekit_lookup_order(organization=carrier, number="ORD-1") is None
    assert fake.casekit_lookup_order(organization=org("acme"), number="ORD-404") is None


def test_fake_records_every_lookup(fake):
    fake.casekit_lookup_shipment(organization=org("acme"), reference="SHP-1")
    fake.casekit_lookup_shipment(organization=org("rival"), reference="SHP-1")
    fake.casekit_lookup_order(organization=org("acme"), number="ORD-9")
    assert fake.lookups == [("shipment", "SHP-1"), ("shipment", "SHP-1"), ("order", "ORD-9")]


def test_a_newer_fact_replaces_the_older_one(fake):
    fake.add_shipment(ShipmentFacts(reference="SHP-1", shipper="acme", status="delivered"))
    facts = fake.casekit_lookup_shipment(organization=org("acme"), reference="SHP-1")
    assert facts is not None
    assert facts.status == "delivered"


def test_fake_answers_through_a_kit(kit, world, database_url, tmp_path, clock, fake):
    faked = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        plugins=[fake],
        create_schema=False,
    )
    try:
        case = faked.cases.open(world.shipper_actor, type="lost", shipment="SHP-1", order="ORD-1")
        assert case.carrier_org_id == world.carrier.id
        assert case.shipment_id is not None
        assert case.order_id is not None
        assert ("shipment", "SHP-1") in fake.lookups
        assert ("order", "ORD-1") in fake.lookups
    finally:
        faked.close()


# -- SignalRecorder -------------------------------------------------------------------------


@pytest.fixture
def case(kit, world):
    return kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)


def test_recorder_records_while_active(kit, world, case):
    with SignalRecorder() as recorded:
        kit.cases.solve(world.shipper_actor, case.number)
    assert recorded.names() == ["status-changed", "case-solved", "case-updated"]
    [solved] = recorded.of(signals.case_solved)
    assert solved["actor"] == world.shipper_actor
    assert solved["case"].number == case.number
    [changed] = recorded.of(signals.status_changed)
    assert (changed["old"], changed["new"]) == (Status.NEW, Status.SOLVED)
    assert recorded.of(signals.case_opened) == []


def test_recorder_disconnects_on_exit(kit, world, case):
    before = {s.name: len(s.receivers) for s in signals.ALL_SIGNALS}
    with SignalRecorder() as recorded:
        assert all(len(s.receivers) == before[s.name] + 1 for s in signals.ALL_SIGNALS)
    assert {s.name: len(s.receivers) for s in signals.ALL_SIGNALS} == before
    kit.cases.solve(world.shipper_actor, case.number)
    assert recorded.calls == []


def test_recorder_disconnects_when_the_block_raises(kit, world, case):
    before = {s.name: len(s.receivers) for s in signals.ALL_SIGNALS}
    recorder = SignalRecorder()

    def solve_then_fail():
        with recorder:
            kit.cases.solve(world.shipper_actor, case.number)
            kit.cases.reopen(world.carrier_actor, case.number, status="new")

    with pytest.raises(InvalidInput):
        solve_then_fail()
    assert recorder.names() == ["status-changed", "case-solved", "case-updated"]
    assert {s.name: len(s.receivers) for s in signals.ALL_SIGNALS} == before


def test_recorder_watches_only_what_it_is_told(kit, world, case):
    with SignalRecorder([signals.case_solved]) as recorded:
        kit.cases.solve(world.shipper_actor, case.number)
        kit.cases.reopen(world.shipper_actor, case.number)
    assert recorded.names() == ["case-solved"]


def test_two_recorders_both_record(kit, world, case):
    with SignalRecorder() as outer:
        with SignalRecorder([signals.case_updated]) as inner:
            kit.cases.change_type(world.shipper_actor, case.number, "cancel")
        kit.cases.solve(world.shipper_actor, case.number)
    assert inner.names() == ["case-updated"]
    assert outer.names() == ["case-updated", "status-changed", "case-solved", "case-updated"]


def test_testing_exports():
    import casekit.testing as testing

    for name in testing.__all__:
        assert hasattr(testing, name), name
    assert testing.FrozenClock is FrozenClock
