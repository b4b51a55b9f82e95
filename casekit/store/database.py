"""Engines for SQLite, PostgreSQL and MySQL/MariaDB, set up the way casekit needs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    any_,
    bindparam,
    create_engine,
    event,
    exc,
    make_url,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL

from casekit.errors import DatabaseUnavailable

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


def in_list(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the values of the list parameter ``name``.

    On PostgreSQL one array parameter (``= ANY(:name)``), so the statement's
    text is the same whatever the list's length: hundreds of ids as as many
    parameters cost more to render and send than the statement's own run.
    Elsewhere an expanding ``IN``.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True, type_=column.type))  # type: ignore[no-any-return]


#: A pooled connection idle for longer than this (seconds) is pinged when taken.
PING_AFTER_IDLE = 10.0


def create_casekit_engine(
    url: str | URL, *, ping_after_idle: float | None = PING_AFTER_IDLE, **options: Any
) -> Engine:
    """An engine for ``url``; ``options`` go to SQLAlchemy's ``create_engine``.

    SQLite gets WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for
    writing transactions so two writers queue instead of failing mid-way.
    MySQL/MariaDB run at READ COMMITTED like PostgreSQL, and their connections
    are replaced after an hour (``pool_recycle``), before the server's
    ``wait_timeout`` closes them.

    On a server, a pooled connection that sat idle for more than
    ``ping_after_idle`` seconds is pinged when it is taken, and replaced if
    the server no longer answers; one used more recently is not (a busy
    process reuses its connections within milliseconds, and a ping is a
    round trip per transaction). ``ping_after_idle=None`` turns that off;
    ``pool_pre_ping=True`` pings on every checkout instead.

    A URL SQLAlchemy cannot read, or whose database or driver is unknown or
    not installed, raises :class:`~casekit.errors.DatabaseUnavailable`.
    """
    try:
        parsed = normalize_url(url)
    except (exc.ArgumentError, ValueError) as error:  # the message may quote the password
        raise DatabaseUnavailable(
            "not a database URL: write dialect://user:password@host:port/database, "
            "e.g. postgresql://casekit@db.example/casekit"
        ) from error
    backend = parsed.get_backend_name()
    parsed = _prepare_threshold(parsed, options)
    if backend in ("mysql", "mariadb"):
        options.setdefault("isolation_level", "READ COMMITTED")
        options.setdefault("pool_recycle", 3600)
    elif backend == "postgresql":
        _utc_sessions(parsed, options)
    try:
        engine = create_engine(parsed, **options)
    except exc.NoSuchModuleError as error:
        raise DatabaseUnavailable(
            f"SQLAlchemy knows no database {parsed.drivername!r}: use sqlite, postgresql, "
            "mysql or mariadb, e.g. postgresql://casekit@db.example/casekit"
        ) from error
    except ImportError as error:
        raise DatabaseUnavailable(
            f"{parsed.drivername} needs the Python package {error.name!r}: pip install it, "
            "or leave the driver out (postgresql://, mysql://) for the one "
            "casekit's extras install (pip install 'casekit[postgresql]' or 'casekit[mysql]')"
        ) from error
    if backend == "sqlite":
        _setup_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
    elif ping_after_idle is not None and not options.get("pool_pre_ping"):
        _ping_idle_connections(engine, ping_after_idle)
    return engine


#: The URL query parameter that sets psycopg's ``prepare_threshold``.
PREPARE_THRESHOLD = "prepare_threshold"


def _prepare_threshold(url: URL, options: dict[str, Any]) -> URL:
    """Take ``?prepare_threshold=`` out of a PostgreSQL URL and hand it to psycopg.

    psycopg 3 prepares a statement on the server once a connection has run
    it a few times (5, its ``prepare_threshold``). Behind PgBouncer in
    transaction mode (1.20 and older, or ``max_prepared_statements = 0``)
    the next transaction may run on another server connection, which has
    no such statement: ``prepare_threshold=none`` prepares nothing.
    """
    raw = url.query.get(PREPARE_THRESHOLD)
    if raw is None:
        return url
    value = raw[-1] if isinstance(raw, tuple) else raw
    if url.get_backend_name() != "postgresql" or url.get_driver_name() != "psycopg":
        raise DatabaseUnavailable(
            f"{PREPARE_THRESHOLD} is a setting of psycopg, PostgreSQL's driver: "
            "leave it out of this URL"
        )
    if value.strip().lower() in ("none", "off", ""):
        threshold: int | None = None
    elif value.strip().isdigit():
        threshold = int(value)
    else:
        raise DatabaseUnavailable(
            f"{PREPARE_THRESHOLD}={value!r}: none (prepare nothing, behind PgBouncer in "
            "transaction mode) or a whole number of runs"
        )
    options["connect_args"] = {**options.get("connect_args", {}), PREPARE_THRESHOLD: threshold}
    return url.difference_update_query([PREPARE_THRESHOLD])


def _utc_sessions(url: URL, options: dict[str, Any]) -> None:
    """Have PostgreSQL sessions speak UTC (``-c TimeZone=UTC`` among the connection's
    ``options``) unless the URL or ``connect_args`` already name a time zone.

    A ``timestamptz`` read in a session in UTC arrives with
    :data:`datetime.UTC` as its time zone, which
    :class:`~casekit.store.types.UTCDateTime` passes through as it is: in
    another zone (``Etc/UTC`` included) each value is converted, about a
    microsecond a value, which a report reading thousands of rows feels.
    What is stored and read is the same instant either way.
    """
    connect_args = dict(options.get("connect_args") or {})
    given = connect_args.get("options", url.query.get("options", ""))
    if not isinstance(given, str):  # a URL may repeat a key: the last one counts
        given = given[-1] if given else ""
    if "timezone" in given.lower():
        return
    connect_args["options"] = f"{given} -c TimeZone=UTC".strip()
    options["connect_args"] = connect_args


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for another database or one in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or "mode" in parsed.query:
        return None
    return Path(database)


def make_default_folder(url: str | URL) -> None:
    """Create the per-user data folder when ``url`` is a SQLite file in it.

    Only that folder, the default's (:func:`casekit.settings.user_data_dir`):
    the folder of a file someone chose is theirs to make.
    """
    path = sqlite_file(url)
    if path is not None and _in_default_folder(path):
        path.parent.mkdir(parents=True, exist_ok=True)


def _in_default_folder(path: Path) -> bool:
    from casekit.settings import user_data_dir

    return path.parent.absolute() == user_data_dir().absolute()


def check_database(engine: Engine, *, tables: bool = True, create: bool = False) -> None:
    """Connect to ``engine``'s database; with ``tables``, check casekit's are up to date.

    Raises :class:`~casekit.errors.DatabaseUnavailable` saying what is wrong
    and how to fix it: the server cannot be reached, refuses the login, has
    no such database, or (with ``tables``) the database has no casekit
    tables or older ones than this casekit's. A database at a revision this
    casekit does not know passes: a newer casekit migrated it.

    A SQLite file that does not exist is such a database too, and the check
    does not create it, unless ``create`` (for a caller about to make the
    tables).
    """
    shown = engine.url.render_as_string(hide_password=True)
    path = sqlite_file(engine.url)
    if create:
        make_default_folder(engine.url)
    elif (
        path is not None
        and not path.exists()
        # A folder that is missing (not the default's) the connection reports below.
        and (path.parent.is_dir() or _in_default_folder(path))
    ):
        raise DatabaseUnavailable(
            f"{shown}: no such file (casekit creates nothing here): "
            "run `casekit db upgrade` to create it, or check the URL"
        )
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        lines = str(error.orig).strip().splitlines()
        said = lines[0] if lines else type(error.orig).__name__
        if engine.url.password:  # no driver is known to quote it; should one ever
            said = said.replace(str(engine.url.password), "***")
        if engine.url.get_backend_name() == "sqlite":
            fix = "check that the file's folder exists and casekit may write in it"
        else:
            fix = "check that the server runs and the URL's host, port, user, password and database"
        raise DatabaseUnavailable(f"cannot connect to {shown}: {said}; {fix}") from error
    if not tables:
        return
    from casekit.store import migrate

    now, newest = migrate.current(engine), migrate.head(engine)
    if now == newest:
        return
    if now is None:
        raise DatabaseUnavailable(f"{shown} has no casekit tables: run `casekit db upgrade`")
    if now in migrate.revisions(engine):
        raise DatabaseUnavailable(
            f"casekit's tables in {shown} are at revision {now}, this casekit's are at "
            f"{newest}: run `casekit db upgrade`"
        )


_IDLE_SINCE = "casekit_idle_since"


def _ping_idle_connections(engine: Engine, after: float) -> None:
    """Ping a connection taken from the pool after more than ``after`` idle seconds.

    A connection that does not answer raises ``DisconnectionError`` here,
    which makes the pool throw it away and connect again (SQLAlchemy's
    pessimistic disconnect handling, for idle connections only).
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # A new connection has no mark: it was just opened.
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= after:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"a pooled connection did not answer: {error}") from error


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
def throwaway_database(
    server_url: str | URL, *, prefix: str = "casekit_tmp", durable: bool = True
) -> Iterator[str]:
    """A new, empty database on a PostgreSQL or MySQL/MariaDB server; dropped afterwards.

    ``server_url`` names the server (any database on it). Yields the new
    database's URL, password included. For tests and benchmarks.

    ``durable=False`` (for tests) lets a commit on PostgreSQL return before
    its WAL reaches the disk (``synchronous_commit = off`` for the new
    database): a crash could lose the last commits, never consistency, and
    a commit no longer waits for a flush. MySQL/MariaDB have no setting of
    a database's own for it; their commits stay durable.
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
            if not durable and backend == "postgresql":
                conn.execute(text(f"ALTER DATABASE {quoted} SET synchronous_commit = off"))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
    finally:
        admin.dispose()
