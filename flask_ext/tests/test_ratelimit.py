"""Rate limits: the moving window, its settings, the API key's limit, a storage
that fails, and counts shared by two web processes through Redis.

The Redis tests use the server at ``CASEKIT_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``), each under a key prefix of its own that it
deletes afterwards. Without a reachable Redis they are skipped, saying why,
unless ``CASEKIT_REQUIRE_REDIS`` is set (CI sets it): then they fail.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from conftest import login, login_actor_key, make_app

from casekit import Actor
from casekit.errors import ConfigurationError
from casekit_flask import RateLimiter

REDIS_URL = os.environ.get("CASEKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVER = Path(__file__).with_name("ratelimit_server.py")


@pytest.fixture
def redis_url() -> str:
    """The test Redis, reachable; skipped (or failed under CASEKIT_REQUIRE_REDIS) otherwise."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = (
            f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server or set "
            "CASEKIT_TEST_REDIS_URL"
        )
        if os.environ.get("CASEKIT_REQUIRE_REDIS"):
            pytest.fail(reason + " (CASEKIT_REQUIRE_REDIS is set)")
        pytest.skip(reason)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix for this test alone; its keys are deleted afterwards."""
    prefix = f"casekit-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def redis_keys(redis_url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return list(client.scan_iter(match=f"*{prefix}*"))
    finally:
        client.close()


@pytest.fixture
def portal_on(kit, world):
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)


def feedback_statuses(client: Any, count: int) -> list[int]:
    return [
        client.post("/my-account/cases/feedback", data={"message": f"m{i}"}).status_code
        for i in range(count)
    ]


# -- the limiter ---------------------------------------------------------------------


def test_the_window_moves_with_each_event():
    # Two events in any two seconds: each event leaves the window two seconds
    # after it came (a fixed window would let two more through at once).
    limiter = RateLimiter(2, 2)
    start = time.time()
    assert [limiter.hit("a"), limiter.hit("b")] == [True, True]
    time.sleep(max(0.0, start + 1.0 - time.time()))
    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("b")] == [True, False, True]
    time.sleep(max(0.0, start + 2.1 - time.time()))
    assert limiter.hit("a") is True  # the first has left the window
    assert limiter.hit("a") is False  # the second came within the last two seconds
    assert 1 <= limiter.retry_after("a") <= 2


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CASEKIT_PORTAL_RATE_WINDOW", 0.5),
        ("CASEKIT_PORTAL_RATE_WINDOW", 0),
        ("CASEKIT_PORTAL_RATE_LIMIT", "five"),
        ("CASEKIT_API_RATE_LIMIT", 0),
        ("CASEKIT_API_RATE_WINDOW", -1),
    ],
)
def test_a_bad_limit_setting_is_named(kit, key, value):
    config: dict[str, object] = {"CASEKIT_API_RATE_LIMIT": 10, key: value}
    with pytest.raises(ConfigurationError, match=key):
        make_app(kit, **config)


@pytest.mark.parametrize("uri", ["nosuch://here", "memcached://127.0.0.1:11211"])
def test_a_storage_that_cannot_count_is_named(kit, uri):
    with pytest.raises(ConfigurationError, match="CASEKIT_RATE_LIMIT_STORAGE_URI"):
        make_app(kit, CASEKIT_RATE_LIMIT_STORAGE_URI=uri)


# -- the portal ----------------------------------------------------------------------


def test_the_portal_limit_is_kept_per_customer(kit, world, actors, portal_on, key_prefix):
    app = make_app(
        kit,
        WTF_CSRF_ENABLED=False,
        CASEKIT_PORTAL_RATE_LIMIT=1,
        CASEKIT_RATE_LIMIT_STORAGE_URI=REDIS_URL,
        CASEKIT_RATE_LIMIT_KEY_PREFIX=key_prefix,
    )
    first, second = app.test_client(), app.test_client()
    login(first, world.customer_actor)
    login(second, actors["other_customer"])
    assert feedback_statuses(first, 2) == [302, 429]
    assert feedback_statuses(second, 1) == [302]
    refused = first.post("/my-account/cases/feedback", data={"message": "again"})
    assert "Too many messages" in refused.data.decode()
    assert len(redis_keys(REDIS_URL, key_prefix)) == 2  # one window per customer


def test_a_storage_that_is_down_lets_the_portal_through_and_says_so(kit, world, portal_on, caplog):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(
        kit,
        WTF_CSRF_ENABLED=False,
        CASEKIT_PORTAL_RATE_LIMIT=1,
        CASEKIT_RATE_LIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
    )
    client = app.test_client()
    login(client, world.customer_actor)
    with caplog.at_level(logging.WARNING, logger="casekit_flask.ratelimit"):
        assert feedback_statuses(client, 2) == [302, 302]
    assert len(kit.views.list(world.customer_actor, {"view": "all_cases"}).rows) == 2
    warnings = [r for r in caplog.records if r.name == "casekit_flask.ratelimit"]
    assert len(warnings) == 2
    assert "portal" in warnings[0].getMessage()
    assert "let through" in warnings[0].getMessage()


def test_a_storage_that_never_answers_does_not_hold_the_request(kit, world, portal_on, caplog):
    # A Redis behind a firewall that drops packets: the connection is
    # accepted here but never answered. The request goes on after the
    # storage's timeout instead of waiting for ever.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    app = make_app(
        kit,
        WTF_CSRF_ENABLED=False,
        CASEKIT_PORTAL_RATE_LIMIT=1,
        CASEKIT_RATE_LIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
    )
    client = app.test_client()
    login(client, world.customer_actor)
    answers: list[int] = []
    thread = threading.Thread(target=lambda: answers.extend(feedback_statuses(client, 1)))
    try:
        with caplog.at_level(logging.WARNING, logger="casekit_flask.ratelimit"):
            thread.start()
            thread.join(30)
        assert not thread.is_alive(), "the request waited for a storage that never answers"
        assert answers == [302]
        assert any("let through" in r.getMessage() for r in caplog.records)
    finally:
        silent.close()
        thread.join(30)


# -- the API -------------------------------------------------------------------------


def test_an_api_key_is_limited_when_the_host_asks(kit, world):
    app = make_app(kit, CASEKIT_API_RATE_LIMIT=2, CASEKIT_API_RATE_WINDOW=120)
    client = app.test_client()
    host = Actor.host()
    first = kit.api_keys.create(host, org_id=world.shipper.id, name="a", scope="read").token
    second = kit.api_keys.create(host, org_id=world.shipper.id, name="b", scope="read").token

    def get(token: str) -> Any:
        return client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})

    assert [get(first).status_code for _ in range(2)] == [200, 200]
    refused = get(first)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.json["title"] == "Too many requests"
    assert "2 requests in 120 seconds" in refused.json["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 120
    assert get(second).status_code == 200  # each key counts its own
    login(client, world.shipper_actor)  # the host's session is not an API key
    assert [client.get("/api/v1/cases").status_code for _ in range(3)] == [200, 200, 200]


def test_api_keys_are_not_limited_by_default(kit, world, app):
    token = kit.api_keys.create(Actor.host(), org_id=world.shipper.id, name="a").token
    client = app.test_client()
    answers = {
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code
        for _ in range(30)
    }
    assert answers == {200}
    assert app.extensions["casekit"].api_limiter is None


# -- Redis -----------------------------------------------------------------------------


def test_apps_on_one_redis_share_a_count_under_one_prefix(kit, world, portal_on, key_prefix):
    def app(prefix: str) -> Any:
        built = make_app(
            kit,
            WTF_CSRF_ENABLED=False,
            CASEKIT_PORTAL_RATE_LIMIT=2,
            CASEKIT_RATE_LIMIT_STORAGE_URI=REDIS_URL,
            CASEKIT_RATE_LIMIT_KEY_PREFIX=prefix,
        )
        client = built.test_client()
        login(client, world.customer_actor)
        return client

    one, two, other = app(key_prefix), app(key_prefix), app(key_prefix + "-staging")
    assert feedback_statuses(one, 1) + feedback_statuses(two, 2) == [302, 302, 429]
    assert feedback_statuses(other, 2) == [302, 302]  # another prefix, another count
    keys = redis_keys(REDIS_URL, key_prefix)
    assert len(keys) == 2
    assert all(b"/portal/" in key for key in keys)


def session_cookie(app: Any, actor: Actor) -> str:
    """The signed session cookie of ``actor`` signed in to the test host."""
    data: dict[str, Any] = {}
    login_actor_key(data, actor)
    serializer = app.session_interface.get_signing_serializer(app)
    value: str = serializer.dumps(data)
    return value


class WebProcess:
    """The test host served by werkzeug in a process of its own."""

    def __init__(self, database_url: str, storage_uri: str, prefix: str, limit: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(SERVER.parent))
        # Its request log goes to a file: a full pipe would stop the server.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), database_url, storage_uri, prefix, str(limit)],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
        )
        self.url = ""
        self.errors = ""

    def wait_ready(self) -> None:
        """Read the port the process serves on (its first line)."""
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 120)
        line = self.process.stdout.readline() if ready else "(nothing in 120 s)"
        if not line.strip().isdigit():
            self.stop()
            raise AssertionError(f"the web process did not start: {line!r} {self.errors}")
        self.url = f"http://127.0.0.1:{int(line)}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        self.log.seek(0)
        self.errors = self.log.read()
        self.log.close()


@pytest.fixture
def web_processes(kit, database_url):
    """Start the test host in two processes on this test's database (the
    session's SQLite file: the tests that use it run on SQLite only)."""
    started: list[WebProcess] = []

    def start(storage_uri: str, prefix: str, limit: int) -> tuple[WebProcess, WebProcess]:
        pair = [WebProcess(database_url, storage_uri, prefix, limit) for _ in range(2)]
        started.extend(pair)
        for process in pair:
            process.wait_ready()
        return pair[0], pair[1]

    yield start
    for process in started:
        process.stop()


def feedback_over_http(process: WebProcess, cookie: str, text: str) -> int:
    response = requests.post(
        process.url + "/my-account/cases/feedback",
        data={"message": text},
        cookies={"session": cookie},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


@pytest.mark.backends("sqlite")
def test_two_web_processes_count_one_limit_in_redis_and_their_own_in_memory(
    kit, world, portal_on, key_prefix, web_processes
):
    cookie = session_cookie(make_app(kit), world.customer_actor)

    def send(processes: list[WebProcess]) -> list[int]:
        return [feedback_over_http(process, cookie, f"m{i}") for i, process in enumerate(processes)]

    one, two = web_processes("memory://", key_prefix + "-memory", 1)
    assert send([one, two, one, two]) == [302, 302, 429, 429]  # 1 each
    assert len(kit.views.list(world.customer_actor, {"view": "all_cases"}).rows) == 2
    assert redis_keys(REDIS_URL, key_prefix) == []

    one, two = web_processes(REDIS_URL, key_prefix, 3)
    # 3 in all, whichever process takes the 4th and the 5th
    assert send([one, two, one, two, one]) == [302, 302, 302, 429, 429]
    assert len(kit.views.list(world.customer_actor, {"view": "all_cases"}).rows) == 2 + 3
    assert len(redis_keys(REDIS_URL, key_prefix)) == 1
