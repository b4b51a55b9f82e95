"""casekit's engines (casekit.store.database): pooled connections on the servers."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from sqlalchemy import Engine, exc, text

from casekit.store.database import create_casekit_engine, throwaway_database

pytestmark = pytest.mark.backends("postgresql", "mysql")


def _server_pid(engine: Engine) -> int:
    query = (
        "SELECT pg_backend_pid()"
        if engine.dialect.name == "postgresql"
        else "SELECT CONNECTION_ID()"
    )
    with engine.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def _counting_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_in_use_is_not_pinged_an_idle_one_is(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_casekit_engine(database_url, ping_after_idle=0.3)
    try:
        pings = _counting_pings(engine, monkeypatch)
        first = _server_pid(engine)  # a new connection: nothing to ping
        for _ in range(5):
            assert _server_pid(engine) == first  # back within 0.3 s: no round trip
        assert pings == []
        time.sleep(0.4)
        assert _server_pid(engine) == first
        assert len(pings) == 1
    finally:
        engine.dispose()


def _kill_pooled_connection(engine: Engine, admin: Engine) -> int:
    """End the server side of ``engine``'s pooled connection; returns its server pid."""
    dead = _server_pid(engine)
    with admin.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
        else:
            conn.execute(text(f"KILL {dead:d}"))
    time.sleep(0.05)
    return dead


def test_an_idle_connection_the_server_closed_is_replaced(database_url: str) -> None:
    engine = create_casekit_engine(database_url, ping_after_idle=0.0)
    admin = create_casekit_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        dead = _kill_pooled_connection(engine, admin)
        # The pooled connection is gone; the ping finds out and the pool connects again.
        assert _server_pid(engine) != dead
    finally:
        admin.dispose()
        engine.dispose()


def test_without_the_idle_ping_a_closed_connection_fails_once(database_url: str) -> None:
    # What the ping is for: without it the next statement meets the dead connection.
    engine = create_casekit_engine(database_url, ping_after_idle=None)
    admin = create_casekit_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        dead = _kill_pooled_connection(engine, admin)
        with pytest.raises(exc.DBAPIError) as failed:
            _server_pid(engine)
        assert failed.value.connection_invalidated
        assert _server_pid(engine) != dead  # the pool threw it away
    finally:
        admin.dispose()
        engine.dispose()


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize(("durable", "expected"), [(True, "on"), (False, "off")])
def test_a_throwaway_database_for_tests_need_not_wait_for_the_disk(
    backend: str, durable: bool, expected: str
) -> None:
    server = os.environ["CASEKIT_TEST_POSTGRES_URL"]
    with throwaway_database(server, prefix="casekit_test", durable=durable) as url:
        engine = create_casekit_engine(url)
        try:
            with engine.connect() as conn:
                setting = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        finally:
            engine.dispose()
    assert setting == expected


@pytest.mark.backends("postgresql")
def test_postgresql_sessions_speak_utc_unless_the_url_names_a_time_zone(
    database_url: str,
) -> None:
    """A casekit session reads ``timestamptz`` in UTC (``datetime.UTC``, which the column
    type passes through unconverted); a URL's own options are kept, its time zone too."""
    from datetime import UTC

    from sqlalchemy import make_url

    url = make_url(database_url)
    berlin = url.update_query_dict({"options": "-c TimeZone=Europe/Berlin"})
    timeout = url.update_query_dict({"options": "-c statement_timeout=5000"})
    found = {}
    for name, given in (("plain", url), ("berlin", berlin), ("timeout", timeout)):
        engine = create_casekit_engine(given)
        try:
            with engine.connect() as conn:
                zone = conn.execute(text("SHOW TimeZone")).scalar_one()
                moment = conn.execute(text("SELECT now()")).scalar_one()
                limit = conn.execute(text("SHOW statement_timeout")).scalar_one()
                found[name] = (zone, moment.tzinfo is UTC, limit)
        finally:
            engine.dispose()
    assert found["plain"][:2] == ("UTC", True)
    assert found["berlin"][:2] == ("Europe/Berlin", False)
    assert found["timeout"] == ("UTC", True, "5s")
