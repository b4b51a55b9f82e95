"""casekit's pytest plugin: the fixtures of :mod:`casekit.testing` and ``--casekit-backends``.

Loaded by ``pytest_plugins = ["casekit.testing"]`` (or ``-p casekit.testing``);
kept apart from :mod:`casekit.testing` so that its fakes import without pytest.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from casekit.clock import FrozenClock
from casekit.kit import CaseKit
from casekit.sample import World
from casekit.testing import SERVER_ENV, empty_tables, enabled_backends, make_kit

__all__ = [
    "casekit_backend_kit",
    "casekit_backend_url",
    "casekit_backend_world",
    "casekit_clock",
    "casekit_kit",
    "casekit_world",
]


@pytest.fixture
def casekit_clock() -> FrozenClock:
    """A :class:`FrozenClock` at 2026-01-05 09:00 UTC."""
    return FrozenClock()


@pytest.fixture
def casekit_kit(tmp_path: Path, casekit_clock: FrozenClock) -> Iterator[CaseKit]:
    """A :class:`CaseKit` on a fresh SQLite file, schema created."""
    kit = make_kit(
        f"sqlite:///{tmp_path / 'casekit.sqlite3'}",
        attachment_dir=tmp_path / "attachments",
        clock=casekit_clock,
    )
    yield kit
    kit.close()


@pytest.fixture
def casekit_world(casekit_kit: CaseKit) -> World:
    """A :class:`World` in ``casekit_kit``."""
    return World.build(casekit_kit)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--casekit-backends",
        default=None,
        help="comma-separated databases to run the casekit_backend_* fixtures on "
        "(sqlite, postgresql, mysql); default: sqlite plus each server whose "
        "CASEKIT_TEST_*_URL is set",
    )


def pytest_configure(config: pytest.Config) -> None:
    enabled_backends(config)  # a backend the run cannot use stops it before collection


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "casekit_backend_url" in metafunc.fixturenames:
        metafunc.parametrize(
            "casekit_backend_url", enabled_backends(metafunc.config), indirect=True, scope="session"
        )


@pytest.fixture(scope="session")
def casekit_backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for the session, once per backend under test."""
    from casekit.store.database import create_casekit_engine, throwaway_database
    from casekit.store.migrate import upgrade

    backend = request.param
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('casekit') / 'casekit.sqlite3'}"
        else:
            url = stack.enter_context(
                throwaway_database(
                    os.environ[SERVER_ENV[backend]], prefix="casekit_test", durable=False
                )
            )
        engine = create_casekit_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def casekit_backend_kit(
    casekit_backend_url: str, tmp_path: Path, casekit_clock: FrozenClock
) -> Iterator[CaseKit]:
    """A :class:`CaseKit` on each backend under test, its tables emptied afterwards."""
    kit = make_kit(
        casekit_backend_url,
        attachment_dir=tmp_path / "attachments",
        clock=casekit_clock,
        create_schema=False,
    )
    yield kit
    empty_tables(kit)
    kit.close()


@pytest.fixture
def casekit_backend_world(casekit_backend_kit: CaseKit) -> World:
    """A :class:`World` in ``casekit_backend_kit``."""
    return World.build(casekit_backend_kit)
