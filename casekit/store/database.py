"""Engines for SQLite, PostgreSQL and MySQL/MariaDB, set up the way casekit needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}

WRITE_OPTION = "casekit_write"


def normalize_url(url: str | URL) -> URL:
    """Pick the drivers casekit ships extras for when the URL names none."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def create_casekit_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url``.

    SQLite gets WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for
    writing transactions so two writers queue instead of failing mid-way.
    MySQL/MariaDB run at READ COMMITTED like PostgreSQL.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb"):
        options.setdefault("isolation_level", "READ COMMITTED")
        options.setdefault("pool_recycle", 3600)
    if backend != "sqlite":
        options.setdefault("pool_pre_ping", True)
    engine = create_engine(parsed, **options)
    if backend == "sqlite":
        _setup_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
    return engine


def _setup_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, below, issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: BEGIN is no statement worth SQLAlchemy's
        # compile-and-execute path, and writers begin once per use case.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def throwaway_database(server_url: str | URL, *, prefix: str = "casekit_tmp") -> Iterator[str]:
    """A new, empty database on a PostgreSQL or MySQL/MariaDB server; dropped afterwards.

    ``server_url`` names the server (any database on it). Yields the new
    database's URL, password included. For tests and benchmarks.
    """
    server = normalize_url(server_url)
    backend = server.get_backend_name()
    if backend not in ("postgresql", "mysql", "mariadb"):
        raise ValueError(f"{backend}: a throwaway database needs PostgreSQL or MySQL/MariaDB")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
    admin = create_casekit_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {quoted}"))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
    finally:
        admin.dispose()
