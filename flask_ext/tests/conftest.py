"""Fixtures of casekit-flask's tests: an app on the database under test, actors, a client.

The same tests run on SQLite and, when ``CASEKIT_TEST_POSTGRES_URL`` /
``CASEKIT_TEST_MYSQL_URL`` are set, on PostgreSQL and MySQL/MariaDB
(``--casekit-backends`` picks some). Each backend gets a fresh database per
session, emptied after every test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session
from sqlalchemy.engine import make_url

from casekit import Actor, CaseKit, OrderFacts, ShipmentFacts
from casekit.testing import FakeShipments, FrozenClock, World, empty_tables, make_kit
from casekit_flask import CaseKitFlask
from casekit_flask.demo_screenshots import CHROMIUM, CHROMIUM_ARGS, serving
from casekit_flask.extension import State

ARTIFACTS = Path(__file__).parent / "artifacts"

__all__ = ["serving"]  # the browser tests serve their apps with the demo's helper


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright for the block (never a browser Playwright
    downloads). Where it is missing the test fails if CASEKIT_REQUIRE_BROWSER is set (CI
    installs it first), and is otherwise skipped with what to install."""
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        missing = f"the browser tests drive Chromium: apt-get install -y chromium ({CHROMIUM})"
        if os.environ.get("CASEKIT_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Debian Chromium for a module's browser tests; each opens its own contexts."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def live(kit: CaseKit, world: World, actors: dict[str, Actor]) -> Iterator[str]:
    """The host app with CSRF on, on a free loopback port; /login/<who> signs in."""
    with serving(signing_in_app(kit, dict(actors))) as base:
        yield base


def png(width: int = 24, height: int = 16) -> bytes:
    """A small PNG image, a photo's stand-in: a valid file a browser can show."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes((200, 80 + y * 8, 40)) * width for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sample_service_levels(kit: CaseKit, manager: Actor, partner_org_id: int) -> dict[str, int]:
    """A calendar (its own, and one for ``partner_org_id`` shown that partner), and two
    targets of ``manager``'s organization, as a manager sets them on the settings pages:
    for the pages' tests that need something to show. Answers the URL arguments of the
    pages of one of them: ``partner_org_id`` and ``target_id``."""
    service_levels = kit.service_levels
    own = {
        "time_zone": "America/Chicago",
        "hours": {d: [["08:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed")}
        | {"thu": [["08:00", "17:00"]], "fri": [["08:00", "16:00"]], "sat": [["09:00", "12:00"]]},
        "holidays": {"country": "US", "subdivision": "TX"},
        "closed_days": ["2026-12-24", "2026-12-31"],
    }
    service_levels.set_calendar(manager, own)
    night = {"time_zone": "America/Chicago", "hours": {"mon": [["22:00", "06:00"]]}}
    service_levels.set_calendar(manager, night, partner_org_id=partner_org_id, share_clocks=True)
    first = service_levels.save_target(
        manager,
        {
            "name": "Damaged freight: settle in three days",
            "conditions": {"types": ["osd_damaged"], "partners": [partner_org_id]},
            "first_response": 4 * 3600,
            "resolution": 3 * 8 * 3600,
            "pause_when_waiting": True,
            "warn_before": 30 * 60,
        },
    )
    service_levels.save_target(
        manager, {"name": "Everything else: answer the same day", "first_response": 8 * 3600}
    )
    assert first.id is not None
    return {"partner_org_id": partner_org_id, "target_id": first.id}


@pytest.fixture(scope="session")
def database_url(casekit_backend_url: str) -> str:
    """casekit.testing's migrated database for the session, on each backend under test."""
    return casekit_backend_url


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    """The database under test: ``sqlite``, ``postgresql`` or ``mysql``."""
    return make_url(database_url).get_backend_name()


@pytest.fixture
def shipments() -> FakeShipments:
    return sample_shipments()


def sample_shipments() -> FakeShipments:
    """The order feed of the tests' kits: three shipments of the shipper's with the carrier."""
    fake = FakeShipments()
    for i in range(1, 4):
        fake.add_shipment(
            ShipmentFacts(
                reference=f"SHP-{i}",
                shipper="acme",
                carrier="fast",
                tracking_number=f"1Z00{i}",
                destination_name=f"Casey {i}",
                brand="Acme Home" if i % 2 else "Acme Trail",
            )
        )
    return fake


@pytest.fixture
def customer_case(kit: CaseKit, world: World, shipments: FakeShipments) -> Any:
    """A case of the shipper's customer, on an order that names the customer, with the
    customer's own message: what a carrier on the case must never learn of the customer."""
    shipments.add_order(
        OrderFacts(
            number="O-7",
            shipper="acme",
            customer_email=world.customer.email,
            customer_name=world.customer.name,
        )
    )
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        order="O-7",
        customer=world.customer.id,
        message="Your parcel",
        audience="everyone",
    )
    kit.messages.post(world.customer_actor, case.number, "It never came")
    return case


def new_kit(database_url: str, attachment_dir: Path, shipments: FakeShipments) -> CaseKit:
    """A kit on the session's database, as the tests' ``kit`` fixture makes it."""
    return make_kit(
        database_url,
        attachment_dir=attachment_dir,
        clock=FrozenClock(),
        plugins=[shipments],
        create_schema=False,
        webhook_allow_private_addresses=True,  # subscriptions to names that do not resolve
        network_benchmarks=True,  # the Benchmarks page and API are routes of every app
    )


@pytest.fixture
def kit(database_url: str, tmp_path: Path, shipments: FakeShipments) -> Iterator[CaseKit]:
    kit = new_kit(database_url, tmp_path / "attachments", shipments)
    yield kit
    empty_tables(kit)
    kit.close()


@dataclass
class Shared:
    """A kit, its world, every kind of visitor and an app, for a class of tests."""

    kit: CaseKit
    world: World
    actors: dict[str, Actor]
    app: Flask


@pytest.fixture(scope="class")
def shared(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One kit, world, visitors and app for the tests of a class, emptied after its last.

    For the many checks of an access matrix that change nothing (reads and
    refused writes): building a world and a scene for each costs a server
    more than the check itself. Only the class's tests run while it lives
    (pytest leaves a class before it runs another test of the worker).
    """
    kit = new_kit(database_url, tmp_path_factory.mktemp("attachments"), sample_shipments())
    world = World.build(kit)
    app = make_app(kit, WTF_CSRF_ENABLED=False)
    yield Shared(kit, world, visitors(kit, world), app)
    empty_tables(kit)
    kit.close()


@pytest.fixture
def world(kit: CaseKit) -> World:
    return World.build(kit)


def strangers(kit: CaseKit, world: World) -> dict[str, Actor]:
    """Another shipper's and another carrier's manager, and another customer of the shipper."""
    host = Actor.host()
    other_shipper = kit.directory.add_organization(
        host, name="Other Goods", role="shipper", external_id="other"
    )
    other_carrier = kit.directory.add_organization(
        host, name="Slow Freight", role="carrier", external_id="slow"
    )
    assert other_shipper.id is not None
    assert other_carrier.id is not None
    return {
        "other_shipper": Actor.of_user(
            kit.directory.add_user(
                host, org_id=other_shipper.id, name="Olga", email="olga@other.test", role="manager"
            )
        ),
        "other_carrier": Actor.of_user(
            kit.directory.add_user(
                host, org_id=other_carrier.id, name="Sid", email="sid@slow.test", role="manager"
            )
        ),
        "other_customer": Actor.of_customer(
            kit.directory.add_customer(
                host, shipper_org_id=world.shipper.id, email="other@example.test", name="Other"
            )
        ),
    }


@pytest.fixture
def actors(kit: CaseKit, world: World) -> dict[str, Actor]:
    """Every kind of visitor the access rules know, by name."""
    return visitors(kit, world)


def visitors(kit: CaseKit, world: World) -> dict[str, Actor]:
    """Every kind of visitor the access rules know, by name."""
    return {
        "own_org": world.shipper_manager_actor,
        "case_carrier": world.carrier_manager_actor,
        "case_customer": world.customer_actor,
        **strangers(kit, world),
    }


ACTOR_KEY = "casekit_test_actor"


def make_app(kit: CaseKit, **config: object) -> Flask:
    """A host app whose identity is whatever the test put in the session."""
    app = Flask("casekit_flask_tests")
    app.config.update(SECRET_KEY="test", TESTING=True, **config)
    ext = CaseKitFlask(kit=kit)

    @ext.identity_loader
    def load() -> Actor | None:
        raw = session.get(ACTOR_KEY)
        if raw is None:
            return None
        from casekit.domain.actor import ActorKind

        return Actor(
            ActorKind(raw["kind"]),
            user_id=raw["user_id"],
            customer_id=raw["customer_id"],
            org_id=raw["org_id"],
            is_manager=raw["is_manager"],
        )

    ext.init_app(app)
    return app


@pytest.fixture(scope="session")
def _apps() -> dict[str, Flask]:
    return {}


@pytest.fixture
def app(kit: CaseKit, backend: str, _apps: dict[str, Flask]) -> Flask:
    """The test host's app on this test's kit, its extension state fresh.

    Mounting the API builds its OpenAPI document, a fifth of a second per
    app; the app is built once per backend and each test gets a new
    :class:`~casekit_flask.extension.State` (counts cache, rate limiter,
    page size) on its own kit. A test that needs other config calls
    :func:`make_app`.
    """
    built = _apps.get(backend)
    if built is None:
        built = _apps[backend] = make_app(kit, WTF_CSRF_ENABLED=False)
        return built
    old = built.extensions["casekit"]
    fresh = State(old.extension, kit, built)
    fresh.api, fresh.api_prefix = old.api, old.api_prefix
    built.extensions["casekit"] = fresh
    return built


def signing_in_app(kit: CaseKit, people: dict[str, Actor]) -> Flask:
    """The host app (CSRF on) with a home page and ``/login/<who>``, the host's own
    sign-in as a test shortcut: for the browser tests."""
    from flask import redirect

    app = make_app(kit)

    @app.get("/login/<who>")
    def test_login(who: str) -> Any:
        login_actor_key(session, people[who])
        return redirect("/")

    @app.get("/")
    def home() -> str:
        return "host home"

    return app


def login_actor_key(sess: Any, actor: Actor | None) -> None:
    """Put ``actor`` (or nobody) in a session, as the test host's sign-in does."""
    if actor is None:
        sess.pop(ACTOR_KEY, None)
    else:
        sess[ACTOR_KEY] = {
            "kind": actor.kind.value,
            "user_id": actor.user_id,
            "customer_id": actor.customer_id,
            "org_id": actor.org_id,
            "is_manager": actor.is_manager,
        }


def login(client: Any, actor: Actor | None) -> None:
    with client.session_transaction() as sess:
        login_actor_key(sess, actor)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run only on these backends")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("casekit_backend_url") if callspec is not None else None
        if marker is not None and backend is not None and backend not in marker.args:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


def allowed_writes(expected: dict[Any, Any], personas: tuple[str, ...]) -> list[Any]:
    """The (route, persona) pairs of an access matrix (``expected[route] = (body,
    {persona: status})``, a route being (endpoint, method)) expected to change what
    is stored: a write the persona is allowed. Each gets a scene of its own; every
    other request of a route (its reads, and the writes it refuses) shares one."""
    return [
        (route, persona)
        for route in sorted(expected)
        for persona in personas
        if route[1] != "GET" and expected[route][1][persona] < 400
    ]


def build_url(app: Flask, endpoint: str, values: dict[str, object]) -> str:
    """``endpoint``'s URL with its arguments taken from ``values`` (a scene)."""
    from flask import url_for

    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **{k: values[k] for k in rule.arguments})


def refusals_and_reads(
    shared: Shared,
    scene: dict[str, Any],
    route: Any,
    personas: tuple[str, ...],
    writes: list[Any],
    check: Any,
) -> list[str]:
    """What ``check`` finds wrong with each persona's request of ``route`` that
    changes nothing (a read, a refused write: not in ``writes``) on a shared scene."""
    client = shared.app.test_client()
    return [
        found
        for persona in personas
        if (route, persona) not in writes
        and (found := check(shared.app, client, shared.actors, scene, route, persona))
    ]
