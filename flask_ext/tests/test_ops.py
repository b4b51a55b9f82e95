"""The operators' endpoints: health for load balancers, Prometheus metrics; refusals logged."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import login, make_app
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from test_triage_and_webhook import KEY, mailgun_form, raw_mail

from casekit import Actor, CaseKit
from casekit.store import migrate
from casekit.store.database import create_casekit_engine, throwaway_database
from casekit.testing import SERVER_ENV, SmtpSink, World, make_kit

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Endpoint:
    """A webhook receiver on loopback that answers every request with ``code``."""

    def __init__(self, code: int) -> None:
        self.hits = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint.hits += 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def failing() -> Iterator[Endpoint]:
    running = Endpoint(503)
    yield running
    running.stop()


@pytest.fixture
def okit(database_url: str, tmp_path: Path, kit: CaseKit, sink: SmtpSink) -> Iterator[CaseKit]:
    """A kit that mails through ``sink`` and posts webhooks to loopback (``kit`` empties
    the tables afterwards); its clock is ``kit``'s."""
    mailing = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=kit.clock,
        create_schema=False,
        smtp_host=sink.host,
        smtp_port=sink.port,
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
    )
    yield mailing
    mailing.close()


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def open_talk(kit: CaseKit, world: World) -> str:
    """A case the carrier answers: the shipper's owner gets a mail."""
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
    ).number
    kit.messages.post(world.carrier_actor, number, "Looking into it", audience="partners")
    return number


# -- metrics --------------------------------------------------------------------------------


def test_the_metrics_endpoint_counts_real_traffic(okit, sink, failing):
    world = World.build(okit)
    app = make_app(
        okit, CASEKIT_METRICS=True, CASEKIT_MAILGUN_SIGNING_KEY=KEY, WTF_CSRF_ENABLED=False
    )
    client = app.test_client()
    okit.webhooks.subscribe(world.shipper_manager_actor, url=failing.url, events=["case_opened"])
    number = open_talk(okit, world)
    okit.clock.advance(seconds=45)  # type: ignore[attr-defined]

    queued = parse(client.get("/casekit/metrics").text)
    mails = value(queued, "casekit_outbox_depth", channel="mail")
    assert mails >= 1
    assert value(queued, "casekit_outbox_depth", channel="webhook") == 1
    assert value(queued, "casekit_outbox_oldest_age_seconds", channel="mail") == 45
    assert value(queued, "casekit_outbox_lag_seconds", channel="mail") == 45
    assert value(queued, "casekit_cases_opened_total", source="user") == 1

    okit.notifications.deliver()
    assert len(sink.envelopes) == mails
    assert failing.hits == 1
    reply = raw_mail("someone@else.test", f"Re: [{number}] parcel", "Any news?", "o1")
    posted = client.post("/casekit/inbound/mailgun/mime", data=mailgun_form(reply))
    assert posted.status_code == 200
    login(client, world.shipper_actor)
    assert client.get("/api/v1/cases").status_code == 200
    assert client.get(f"/api/v1/cases/{number}").status_code == 200
    assert client.get("/api/v1/cases/CV999999").status_code == 404

    response = client.get("/casekit/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.text)
    assert value(samples, "casekit_deliveries_total", channel="mail", outcome="sent") == mails
    assert value(samples, "casekit_deliveries_total", channel="webhook", outcome="retried") == 1
    assert value(samples, "casekit_webhook_failures_total", reason="http_5xx") == 1
    assert value(samples, "casekit_inbound_messages_total", outcome="triaged") == 1
    assert value(samples, "casekit_outbox_depth", channel="mail") == 0
    assert value(samples, "casekit_outbox_depth", channel="webhook") == 1  # to be retried
    timed = {
        labels: count
        for (name, labels), count in samples.items()
        if name == "casekit_http_request_duration_seconds_count"
    }
    endpoints = {dict(labels)["endpoint"] for labels in timed}
    assert all(name.startswith("casekit") for name in endpoints), endpoints
    one_case = next(e for e in endpoints if e.startswith("casekit_api_cases") and "list" not in e)
    assert timed[(("endpoint", one_case), ("method", "GET"), ("status", "2xx"))] == 1
    assert timed[(("endpoint", one_case), ("method", "GET"), ("status", "4xx"))] == 1
    assert (("endpoint", "casekit_inbound.mailgun"), ("method", "POST"), ("status", "2xx")) in timed
    assert number not in response.text  # the labels name endpoints, never URLs


def test_metrics_are_off_by_default_and_the_token_guards_them(kit, caplog):
    assert make_app(kit).test_client().get("/casekit/metrics").status_code == 404
    token = "scrape-token-0123456789"
    client = make_app(kit, CASEKIT_METRICS=True, CASEKIT_METRICS_TOKEN=token).test_client()
    caplog.set_level(logging.WARNING, logger="casekit_flask")
    assert client.get("/casekit/metrics").status_code == 401
    wrong = client.get("/casekit/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    refused = [r.getMessage() for r in caplog.records if r.name == "casekit_flask.ops"]
    assert len(refused) == 2
    assert "no bearer token" in refused[0]
    assert "wrong bearer token" in refused[1]
    assert not any("not-the-token" in m or token in m for m in refused)
    right = client.get("/casekit/metrics", headers={"Authorization": f"Bearer {token}"})
    assert right.status_code == 200
    assert "casekit_outbox_depth" in right.text


def test_the_hosts_registry_gets_them(kit):
    registry = CollectorRegistry()
    app = make_app(kit, CASEKIT_METRICS=True, CASEKIT_METRICS_REGISTRY=registry)
    app.test_client().get("/casekit/health")
    assert registry.get_sample_value("casekit_outbox_depth", {"channel": "mail"}) == 0
    labels = {"endpoint": "casekit_health.check", "method": "GET", "status": "2xx"}
    assert registry.get_sample_value("casekit_http_request_duration_seconds_count", labels) == 1


# -- health ---------------------------------------------------------------------------------


def test_health_is_200_with_its_checks(client):
    response = client.get("/casekit/health")  # anonymous: a load balancer signs in nowhere
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "schema": True,
        "outbox": True,
    }


def test_health_is_503_when_the_outbox_waits_too_long(kit, world, client):
    open_talk(kit, world)
    kit.clock.advance(seconds=kit.settings.health_max_outbox_lag_seconds)  # type: ignore[attr-defined]
    assert client.get("/casekit/health").status_code == 200
    kit.clock.advance(seconds=1)  # type: ignore[attr-defined]
    late = client.get("/casekit/health")
    assert late.status_code == 503
    assert late.json["status"] == "unhealthy"
    assert late.json["failed"] == ["outbox"]
    kit.notifications.deliver()  # the mail plugin of the test kit takes it
    assert client.get("/casekit/health").status_code == 200


@pytest.fixture
def unmigrated_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'behind.sqlite3'}"
        return
    with throwaway_database(os.environ[SERVER_ENV[backend]], prefix="casekit_ops") as url:
        yield url


def test_health_is_503_when_the_schema_is_behind(unmigrated_url, tmp_path):
    engine = create_casekit_engine(unmigrated_url)
    head = migrate.head(engine)
    assert head is not None
    migrate.upgrade(engine, f"{int(head) - 1:04d}")
    kit = CaseKit(engine=engine, load_entry_points=False, attachment_dir=tmp_path)
    try:
        client = make_app(kit).test_client()
        behind = client.get("/casekit/health")
        assert behind.status_code == 503
        assert behind.json["failed"][0] == "schema"
        assert "casekit db upgrade" in behind.json["checks"]["schema"]["detail"]
        migrate.upgrade(engine)
        assert client.get("/casekit/health").status_code == 200
    finally:
        kit.close()


def test_the_prefix_moves_it_and_a_host_can_turn_it_off(kit):
    moved = make_app(kit, CASEKIT_OPS_URL_PREFIX="/ops/").test_client()
    assert moved.get("/ops/health").status_code == 200
    assert moved.get("/casekit/health").status_code == 404
    off = make_app(kit, CASEKIT_HEALTH=False).test_client()
    assert off.get("/casekit/health").status_code == 404


# -- refusals, logged -----------------------------------------------------------------------


def test_refused_callers_are_logged_without_their_secrets(kit, world, caplog):
    app = make_app(kit, CASEKIT_MAILGUN_SIGNING_KEY=KEY)
    client = app.test_client()
    created = kit.api_keys.create(Actor.host(), org_id=world.shipper.id, name="TMS")
    public, secret = created.token.split("_", 2)[1:]
    revoked_token = created.token
    kit.api_keys.revoke(Actor.host(), created.key.id)
    caplog.set_level(logging.WARNING, logger="casekit_flask")

    headers = {"Authorization": f"Bearer {revoked_token}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 401
    assert (
        client.get("/api/v1/cases", headers={"Authorization": "Basic dXNlcg=="}).status_code == 401
    )
    assert client.get("/api/v1/cases").status_code == 401
    assert client.get("/cases/").status_code == 401
    raw = raw_mail("casey@example.test", "Hello", "Is it there?", "x1")
    form = mailgun_form(raw, key="not-the-signing-key")
    assert client.post("/casekit/inbound/mailgun/mime", data=form).status_code == 403

    warned = [(r.name, r.getMessage()) for r in caplog.records if r.levelno == logging.WARNING]
    api = [m for name, m in warned if name == "casekit_flask.api"]
    assert len(api) == 3
    assert f"invalid or revoked (key {public})" in api[0]
    assert "not 'Bearer <api key>'" in api[1]
    assert "no API key and no signed-in user" in api[2]
    assert all("casekit_api_cases" in m for m in api)
    pages = [m for name, m in warned if name == "casekit_flask.extension"]
    assert len(pages) == 1
    assert "anonymous request refused (casekit_staff." in pages[0]
    inbound = [m for name, m in warned if name == "casekit_flask.inbound"]
    assert inbound == [
        "casekit: inbound Mailgun post refused from 127.0.0.1: "
        "its signature is missing, wrong or too old"
    ]
    shown = json.dumps(warned)
    for secret_value in (secret, KEY, form["signature"], form["token"], "dXNlcg=="):
        assert secret_value not in shown


def test_an_unset_signing_key_is_named_in_the_log(kit, client, caplog):
    caplog.set_level(logging.WARNING, logger="casekit_flask")
    raw = raw_mail("casey@example.test", "Hello", "Is it there?", "x2")
    assert client.post("/casekit/inbound/mailgun/mime", data=mailgun_form(raw)).status_code == 403
    assert "CASEKIT_MAILGUN_SIGNING_KEY is not set" in caplog.text
