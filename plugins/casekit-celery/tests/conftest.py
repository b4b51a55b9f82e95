"""casekit-celery's test fixtures: real brokers, a real database, real mail servers.

- ``redis_server``: a private ``redis-server`` (Debian's binary) on a free
  loopback port, started by the test, which may stop and start it again (a
  broker restart: it keeps nothing on disk, so its messages are lost);
- ``rabbitmq_url``: the machine's RabbitMQ (``CASEKIT_TEST_RABBITMQ_URL``,
  by default ``amqp://guest:guest@127.0.0.1:5672//``); each test has its own
  queue (``queue_name``), deleted after it;
- ``postgres_url``: a throwaway, migrated PostgreSQL database on the server
  of ``CASEKIT_TEST_POSTGRES_URL``, for the tests that run Celery workers;
- ``sink``: an SMTP server on loopback (:class:`casekit.testing.SmtpSink`).

Without a service the tests that need it are skipped, naming it, unless
``CASEKIT_REQUIRE_BROKERS`` is set (CI sets it): then they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from celery_helpers import RABBITMQ_URL, RedisServer, missing

if TYPE_CHECKING:
    from casekit.testing import SmtpSink

# casekit's fixtures for plugin authors: casekit_backend_url, casekit_clock, ...
pytest_plugins = ["casekit.testing"]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if binary is None:
        missing("no redis-server binary (Debian's package redis-server)")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(binary, folder)  # type: ignore[arg-type]
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue_name() -> str:
    """A queue of the test's own on a broker other tests share."""
    return f"casekit-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def rabbitmq_url(queue_name: str) -> Iterator[str]:
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as error:
        missing(f"RabbitMQ is not reachable at {RABBITMQ_URL}: {error}")
    yield RABBITMQ_URL
    with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
        conn.default_channel.queue_delete(queue_name)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    from casekit.store.database import create_casekit_engine, throwaway_database
    from casekit.store.migrate import upgrade

    server = os.environ.get("CASEKIT_TEST_POSTGRES_URL")
    if not server:
        missing("CASEKIT_TEST_POSTGRES_URL is not set")
    with throwaway_database(server, prefix="casekit_celery", durable=False) as url:  # type: ignore[arg-type]
        engine = create_casekit_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A mail server that accepts everything."""
    # Imported here: casekit.testing is a pytest plugin (pytest_plugins above),
    # which pytest must import first to rewrite its asserts.
    from casekit.testing import SmtpSink

    with SmtpSink() as running:
        yield running
