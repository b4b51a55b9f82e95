"""The health check: the database, the schema, the outbox's lag; and `casekit health`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import attrs
from click.testing import CliRunner
from sqlalchemy import event, update

from casekit import CaseKit
from casekit.cli import cli
from casekit.health import check_health, outbox_stats
from casekit.store import migrate, tables
from casekit.store.database import create_casekit_engine
from casekit.testing import World


def open_case(kit: CaseKit, world: World) -> str:
    """A case with a carrier and a webhook subscription: mail and a webhook request queued."""
    kit.settings = attrs.evolve(kit.settings, webhook_allow_private_addresses=True)
    kit.webhooks.subscribe(
        world.shipper_manager_actor, url="https://127.0.0.1/cases", events=["case_opened"]
    )
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
    ).number
    kit.messages.post(world.carrier_actor, number, "Looking into it", audience="partners")
    return number


def test_a_migrated_database_with_an_empty_outbox_is_healthy(kit):
    health = kit.health()
    assert health.ok
    assert health.failed == ()
    body = health.as_dict()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "schema", "outbox"}
    assert body["checks"]["schema"] == {"ok": True, "detail": f"at {migrate.head(kit.engine)}"}


def test_the_outbox_fails_when_a_due_delivery_waits_longer_than_the_limit(kit, world, clock):
    open_case(kit, world)
    with kit.engine.connect() as conn:
        stats = outbox_stats(conn, clock.now())
    assert stats["mail"].depth > 0
    assert stats["webhook"].depth == 1
    assert stats["mail"].oldest_due_at == clock.now()
    limit = kit.settings.health_max_outbox_lag_seconds
    clock.advance(seconds=limit)
    assert kit.health().ok  # waited exactly the limit
    clock.advance(seconds=1)
    late = kit.health()
    assert late.failed == ("outbox",)
    assert f"longer than {limit} s" in late.as_dict()["checks"]["outbox"]["detail"]
    assert kit.health(max_outbox_lag_seconds=limit + 1).ok
    assert kit.health(max_outbox_lag_seconds=0).ok  # 0: the outbox is not checked
    assert "not checked" in kit.health(max_outbox_lag_seconds=0).checks[2].detail


def test_a_delivery_waiting_for_its_retry_is_no_lag(kit, world, clock):
    """A row retried later is not due: only rows whose time has come count."""
    open_case(kit, world)
    with kit.engine.begin() as conn:
        for table in (tables.outbox, tables.webhook_outbox):
            conn.execute(update(table).values(next_attempt_at=clock.now() + timedelta(hours=6)))
    clock.advance(hours=1)
    assert kit.health(max_outbox_lag_seconds=60).ok
    with kit.engine.connect() as conn:
        stats = outbox_stats(conn, clock.now())
    assert stats["webhook"].oldest_due_at is None
    assert stats["webhook"].oldest_created_at == clock.now() - timedelta(hours=1)


def test_a_schema_behind_this_casekit_fails(empty_database_url, tmp_path):
    engine = create_casekit_engine(empty_database_url)
    try:
        kit = CaseKit(engine=engine, load_entry_points=False, attachment_dir=tmp_path)
        none = kit.health()
        assert none.failed == ("schema", "outbox")
        assert "casekit db upgrade" in none.checks[1].detail
        head = migrate.head(engine)
        assert head is not None
        previous = f"{int(head) - 1:04d}"
        migrate.upgrade(engine, previous)
        behind = kit.health()
        assert not behind.ok
        assert behind.failed[0] == "schema"
        assert behind.checks[0].ok  # the database answers
        assert behind.as_dict()["checks"]["schema"]["detail"] == (
            f"at {previous}, behind {head}: run `casekit db upgrade`"
        )
        migrate.upgrade(engine)
        assert kit.health().ok
    finally:
        engine.dispose()


def test_an_unreachable_database_fails_every_check_and_raises_nothing(tmp_path, caplog):
    kit = CaseKit(
        f"sqlite:///{tmp_path / 'missing' / 'casekit.sqlite3'}",
        load_entry_points=False,
        attachment_dir=tmp_path,
    )
    with kit:
        health = check_health(kit)
    assert health.failed == ("database", "schema", "outbox")
    assert health.checks[0].detail == "not reachable (OperationalError)"
    assert any(r.name == "casekit.health" and r.levelname == "WARNING" for r in caplog.records)


def test_the_command_exits_1_when_a_check_fails(database_url, tmp_path, kit, world):
    env = {
        "CASEKIT_LOAD_ENTRY_POINTS": "false",
        "CASEKIT_DATABASE_URL": database_url,
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path),
    }
    runner = CliRunner()
    healthy = runner.invoke(cli, ["health"], env=env)
    assert healthy.exit_code == 0, healthy.output
    assert healthy.output.splitlines()[0] == "ok     database: reachable"
    open_case(kit, world)
    # The command's kit reads the system clock: make the rows due a day before it.
    with kit.engine.begin() as conn:
        conn.execute(
            update(tables.outbox).values(next_attempt_at=datetime.now(UTC) - timedelta(days=1))
        )
    late = runner.invoke(cli, ["health", "--json"], env=env)
    assert late.exit_code == 1, late.output
    body = json.loads(late.output)
    assert body["status"] == "unhealthy"
    assert body["failed"] == ["outbox"]
    text = runner.invoke(cli, ["health"], env=env)
    assert text.exit_code == 1
    assert "FAILED outbox: due deliveries wait longer than 900 s" in text.output
    unchecked = {**env, "CASEKIT_HEALTH_MAX_OUTBOX_LAG_SECONDS": "0"}
    assert runner.invoke(cli, ["health"], env=unchecked).exit_code == 0


def test_the_check_takes_few_statements(kit, world):
    """Cheap: one connection, the version table and one outbox statement."""
    open_case(kit, world)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(kit.engine, "before_cursor_execute", count)
    try:
        assert kit.health().ok
    finally:
        event.remove(kit.engine, "before_cursor_execute", count)
    assert len([s for s in statements if "casekit_outbox" in s]) == 1
    assert len(statements) <= 3, statements


def test_head_is_read_once(kit):
    from casekit import health

    health._migrations.cache_clear()
    kit.health()
    kit.health()
    assert health._migrations.cache_info().misses == 1


def test_a_claim_that_lapsed_is_lag_and_a_live_one_is_not(kit, world, clock):
    """A row a worker took is due again when its claim lapses (the worker died)."""
    open_case(kit, world)
    with kit.engine.begin() as conn:
        for table in (tables.outbox, tables.webhook_outbox):
            conn.execute(
                update(table).values(
                    status="sending", next_attempt_at=clock.now() + timedelta(minutes=5)
                )
            )
    clock.advance(minutes=4)
    assert kit.health(max_outbox_lag_seconds=60).ok  # the claim holds
    clock.advance(minutes=3)
    lapsed = kit.health(max_outbox_lag_seconds=60)
    assert lapsed.failed == ("outbox",)
    assert "mail 120 s, webhook 120 s" in lapsed.checks[2].detail
