"""The core's test fixtures: the same tests on SQLite, PostgreSQL and MySQL/MariaDB.

Without configuration the suite runs on SQLite. ``CASEKIT_TEST_POSTGRES_URL``
and ``CASEKIT_TEST_MYSQL_URL`` name a server (any database on it) and switch
on those backends; ``--casekit-backends=postgresql`` picks backends for one
run. Each backend gets a fresh database for the session, migrated once, and
emptied after every test.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.engine import make_url

from casekit import CaseKit
from casekit.clock import FrozenClock
from casekit.store.database import create_casekit_engine, throwaway_database
from casekit.store.migrate import upgrade

if TYPE_CHECKING:
    from casekit.testing import SmtpSink, World

pytest_plugins = ["casekit.testing", "pytester"]

# casekit.testing's, by name: importing it at the top would keep pytest from
# rewriting its asserts (it is loaded as a plugin, above).
SERVER_ENV = {"postgresql": "CASEKIT_TEST_POSTGRES_URL", "mysql": "CASEKIT_TEST_MYSQL_URL"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        from casekit.testing import enabled_backends

        backends = enabled_backends(metafunc.config)
        marker = metafunc.definition.get_closest_marker("backends")
        if marker is not None:
            backends = [b for b in backends if b in marker.args]
        metafunc.parametrize("backend", backends, scope="session")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--only-database-tests",
        action="store_true",
        help="run only the tests that take a database under test (tox's server runs: "
        "the others do not depend on the database and run in the SQLite run)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run this database test only on these backends"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test limited to backends that are not enabled has no parameter at all;
    # deselect it rather than report an empty parameter set.
    only_database = config.getoption("--only-database-tests")
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        wants_backend = "backend" in getattr(item, "fixturenames", ())
        # pytest turns an empty parameter set into one skipped item whose
        # parameter is a placeholder, not a backend name.
        backend = callspec.params.get("backend") if callspec is not None else None
        if (wants_backend and not isinstance(backend, str)) or (
            only_database and not wants_backend
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database of ``backend``, dropped afterwards.

    SQLite gets a new, empty file in ``directory`` (casekit creates no file
    it only reads); a server gets a new database named
    ``casekit_test_<random>`` beside the one its URL names.
    """
    if backend == "sqlite":
        path = directory / f"casekit-{uuid.uuid4().hex[:10]}.sqlite3"
        path.touch()
        yield f"sqlite:///{path}"
        return
    with throwaway_database(
        os.environ[SERVER_ENV[backend]], prefix="casekit_test", durable=False
    ) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database of ``backend`` for this test session."""
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        engine = create_casekit_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database of ``backend`` with no tables at all, for this test only."""
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture(autouse=True)
def _statements_built_anew_under_mutation_testing() -> None:
    """Under mutation testing, each test builds casekit's cached statements anew.

    mutmut (which sets ``MUTANT_UNDER_TEST``) runs each mutant in a process
    forked after a clean run of the tests, and notes which tests reach each
    function by running them in one process: a statement kept by
    ``functools.cache`` (the list's columns, a case read by number) would be
    the one the first test built, with the unmutated code. Elsewhere a no-op.
    """
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    for name, module in list(sys.modules.items()):
        if name.startswith("casekit"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def kit(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[CaseKit]:
    """A kit on the backend under test, with empty tables."""
    from casekit.testing import make_kit

    kit = make_kit(
        database_url, attachment_dir=tmp_path / "attachments", clock=clock, create_schema=False
    )
    yield kit
    from casekit.testing import empty_tables

    empty_tables(kit)
    kit.close()


@pytest.fixture
def world(kit: CaseKit) -> World:
    from casekit.testing import World

    return World.build(kit)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    from casekit.testing import SmtpSink

    with SmtpSink() as running:
        yield running


@pytest.fixture
def mailing_kit(
    database_url: str, tmp_path: Path, clock: FrozenClock, kit: CaseKit, sink: SmtpSink
) -> Iterator[Callable[..., CaseKit]]:
    """Makes kits that mail through ``sink``, on the test's database and clock
    (``kit`` empties the tables after the test); each closed after the test.

    ``mailing_kit(reply_secrets=(...), ...)``: the settings given win over the
    defaults here (From ``cases@acme.test``).
    """
    from casekit.testing import make_kit

    made: list[CaseKit] = []

    def make(**settings: Any) -> CaseKit:
        defaults: dict[str, Any] = {
            "attachment_dir": tmp_path / "attachments",
            "clock": clock,
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "mail_from": "cases@acme.test",
        }
        mailing = make_kit(database_url, create_schema=False, **{**defaults, **settings})
        made.append(mailing)
        return mailing

    yield make
    for mailing in made:
        mailing.close()


def backend_name(url: str) -> str:
    return make_url(url).get_backend_name()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The steps the access property test ran on each database, and in how long."""
    lines = [
        f"{report.nodeid}: {props['access steps']} steps in {props['access seconds']} s"
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        and "access steps" in (props := dict(getattr(report, "user_properties", ())))
    ]
    if lines:
        terminalreporter.section("access property")
        for line in lines:
            terminalreporter.line(line)


@pytest.fixture
def admin(kit, world):
    """An admin of the world's shipper."""
    from casekit import Actor

    user = kit.directory.add_user(
        Actor.host(), org_id=world.shipper.id, name="Ada Admin", email="ada@acme.test", role="admin"
    )
    return Actor.of_user(user)
