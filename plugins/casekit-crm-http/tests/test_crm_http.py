"""casekit-crm-http against a real CRM stand-in: an HTTPS server on loopback.

Runs on SQLite, and on PostgreSQL and MySQL/MariaDB when
CASEKIT_TEST_POSTGRES_URL / CASEKIT_TEST_MYSQL_URL are set (casekit.testing).
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import casekit_crm_http
import click
import pytest
import trustme
from casekit_crm_http import MARKER, CrmHttp, parse_config, sync_subscriptions
from click.testing import CliRunner

from casekit import Actor, CaseKit, ConfigurationError, InvalidInput, NotFound
from casekit.plugins import make_plugin_manager
from casekit.settings import Settings
from casekit.testing import FrozenClock, World, empty_tables, make_kit
from casekit.webhooks import verify_signature


class Crm:
    """A CRM's HTTP side: numbers tickets, records events; ``down`` answers 503."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.tickets: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.down = 0
        #: Answer ``case_opened`` events with a ticket number (``open_on_create``).
        self.numbering = False
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = b""
                if crm.down:
                    crm.down -= 1
                    code = 503
                elif self.path.endswith("/tickets"):
                    crm.tickets.append(
                        {"auth": self.headers.get("Authorization"), "body": json.loads(body)}
                    )
                    code, answer = 201, json.dumps({"number": f"CRM-{len(crm.tickets)}"}).encode()
                else:
                    crm.events.append({"headers": dict(self.headers), "body": body})
                    code = 204
                    if crm.numbering and json.loads(body)["event"] == "case_opened":
                        crm.tickets.append({"auth": None, "body": json.loads(body)})
                        number = {"number": f"CRM-{len(crm.tickets)}"} if crm.numbering else {}
                        code, answer = 201, json.dumps(number).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.server.server_port}/acme-crm"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def crm(ca: trustme.CA) -> Iterator[Crm]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = Crm(context)
    yield server
    server.stop()


@pytest.fixture
def make(
    casekit_backend_url: str, tmp_path: Path, casekit_clock: FrozenClock, ca: trustme.CA
) -> Iterator[Any]:
    """Builds a kit with the plugin configured as given; empties the tables afterwards."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    kits: list[CaseKit] = []

    def build(config: dict[str, Any]) -> tuple[CaseKit, CrmHttp]:
        plugin = CrmHttp(config)
        kit = make_kit(
            casekit_backend_url,
            attachment_dir=tmp_path / "files",
            clock=casekit_clock,
            create_schema=False,
            plugins=[plugin],
            webhook_ca_file=str(bundle),
            webhook_allow_private_addresses=True,  # the CRM stand-in is on loopback
        )
        kits.append(kit)
        return kit, plugin

    yield build
    empty_tables(kits[0])
    for kit in kits:
        kit.close()


def _config(url: str, **extra: Any) -> dict[str, Any]:
    return {"organizations": {"acme": {"url": url, "token": "t0ken", **extra}}}


def test_linking_creates_a_ticket_and_only_the_shipper_sees_its_number(make, crm) -> None:
    kit, _ = make(_config(crm.url))
    w = World.build(kit)
    case = kit.cases.open(w.shipper_actor, type="osd_damaged", carrier=w.carrier.id)
    assert crm.tickets == []  # no ticket until asked
    linked = kit.cases.link_crm(w.shipper_actor, case.number)
    assert linked.crm_number == "CRM-1"
    (ticket,) = crm.tickets
    assert ticket["auth"] == "Bearer t0ken"
    assert ticket["body"]["organization"] == "acme"
    assert ticket["body"]["case"]["number"] == case.number
    assert kit.cases.get(w.carrier_actor, case.number).crm_number is None
    # The carrier has no CRM configured: linking is refused, naming the field.
    with pytest.raises(InvalidInput) as caught:
        kit.cases.link_crm(w.carrier_actor, case.number)
    assert "crm" in caught.value.errors


def test_a_crm_that_is_down_is_a_clear_error_and_nothing_is_recorded(make, crm) -> None:
    kit, _ = make(_config(crm.url))
    w = World.build(kit)
    case = kit.cases.open(w.shipper_actor, type="osd_damaged")
    crm.down = 1
    with pytest.raises(InvalidInput) as caught:
        kit.cases.link_crm(w.shipper_actor, case.number)
    assert caught.value.errors["crm"] == ["the CRM answered HTTP 503"]
    assert kit.cases.get(w.shipper_actor, case.number).crm_number is None


def test_a_ticket_is_created_when_a_case_opens_through_the_retrying_outbox(
    make, crm, casekit_clock
) -> None:
    kit, plugin = make(_config(crm.url, open_on_create=True, push_updates=False))
    w = World.build(kit)
    ((_, hook_id, _secret),) = sync_subscriptions(kit, plugin)
    (hook,) = kit.webhooks.list(Actor.host(), org_id=w.shipper.id)
    assert [e.value for e in hook.events] == ["case_opened"]  # no updates asked for
    crm.numbering = True
    crm.down = 1
    case = kit.cases.open(w.carrier_actor, type="osd_damaged", shipper=w.shipper.id)
    kit.messages.post(w.carrier_actor, case.number, "Any news?", audience="partners")
    assert crm.tickets == []  # opening never waits for the CRM
    kit.notifications.deliver()  # the CRM is down: nothing recorded, retried later
    assert crm.tickets == []
    assert kit.cases.get(w.shipper_actor, case.number).crm_number is None
    (first,) = kit.webhooks.deliveries(w.shipper_manager_actor, hook_id)
    assert (first.status, first.attempts, first.last_error) == ("queued", 1, "HTTP 503")
    casekit_clock.advance(seconds=3600)
    kit.notifications.deliver()
    (ticket,) = crm.tickets
    assert ticket["body"]["case"]["number"] == case.number
    assert kit.cases.get(w.shipper_actor, case.number).crm_number == "CRM-1"
    assert kit.cases.get(w.carrier_actor, case.number).crm_number is None
    (done,) = kit.webhooks.deliveries(w.shipper_manager_actor, hook_id)
    assert done.status == "sent"
    assert [a.status_code for a in done.history] == [503, 201]
    # The log is the shipper's: the carrier's manager cannot read it.
    with pytest.raises(NotFound):
        kit.webhooks.deliveries(w.carrier_manager_actor, hook_id)
    # A number someone recorded before the CRM answered is not replaced.
    later = kit.cases.open(w.shipper_actor, type="osd_damaged")
    kit.cases.set_crm_number(w.shipper_actor, later.number, "CRM-MANUAL")
    kit.notifications.deliver()
    assert len(crm.tickets) == 2
    assert kit.cases.get(w.shipper_actor, later.number).crm_number == "CRM-MANUAL"


def test_an_answer_without_a_number_is_a_failed_attempt_sent_again(
    make, crm, casekit_clock
) -> None:
    kit, plugin = make(_config(crm.url, open_on_create=True))
    w = World.build(kit)
    ((_, hook_id, _secret),) = sync_subscriptions(kit, plugin)
    case = kit.cases.open(w.shipper_actor, type="osd_damaged")
    kit.notifications.deliver()  # the CRM answers 204, no number
    opened = [
        d
        for d in kit.webhooks.deliveries(w.shipper_manager_actor, hook_id)
        if d.event.value == "case_opened"
    ]
    assert [(d.status, d.last_error) for d in opened] == [
        ("queued", "the CRM's answer to case_opened has no 'number'")
    ]
    crm.numbering = True
    casekit_clock.advance(seconds=3600)
    kit.notifications.deliver()
    assert kit.cases.get(w.shipper_actor, case.number).crm_number == "CRM-1"


def test_updates_reach_the_crm_signed_through_the_retrying_outbox(make, crm, casekit_clock) -> None:
    kit, plugin = make(_config(crm.url))
    w = World.build(kit)
    ((org, hook_id, secret),) = sync_subscriptions(kit, plugin)
    assert org == "acme"
    assert secret is not None
    # Syncing again changes nothing and shows no secret.
    assert sync_subscriptions(kit, plugin) == [("acme", hook_id, None)]
    (hook,) = kit.webhooks.list(Actor.host(), org_id=w.shipper.id)
    assert hook.description == MARKER
    assert hook.url == crm.url + "/events"

    case = kit.cases.open(w.shipper_actor, type="osd_damaged", carrier=w.carrier.id)
    kit.messages.post(w.carrier_actor, case.number, "Carrier-only note", audience="internal")
    kit.messages.post(w.carrier_actor, case.number, "We are on it", audience="partners")
    crm.down = 1
    kit.notifications.deliver()
    # Each request verifies, at the time it arrives, with the secret sync showed.
    signed = [verify(e, secret, casekit_clock) for e in crm.events]
    casekit_clock.advance(seconds=3600)
    kit.notifications.deliver()
    signed += [verify(e, secret, casekit_clock) for e in crm.events[len(signed) :]]
    assert signed == [True, True, True]
    bodies = {json.loads(e["body"])["event"]: json.loads(e["body"]) for e in crm.events}
    # The first request met the CRM down: it came again later, once.
    assert len(crm.events) == 3
    assert sorted(bodies) == ["case_opened", "message_posted", "status_changed"]
    assert bodies["message_posted"]["message"]["body"] == "We are on it"
    assert all(b"Carrier-only" not in e["body"] for e in crm.events)
    log = kit.webhooks.deliveries(w.shipper_manager_actor, hook_id)
    assert sorted(d.status for d in log) == ["sent", "sent", "sent"]
    retried = [d for d in log if d.attempts == 2]
    assert len(retried) == 1
    assert [a.status_code for a in retried[0].history] == [503, 204]


def verify(event: dict[str, Any], secret: str, clock: FrozenClock) -> bool:
    header = event["headers"]["X-Casekit-Signature"]
    return verify_signature(secret, event["body"], header, now=clock.now().timestamp())


def test_an_organization_that_stops_pushing_updates_loses_its_subscription(make, crm) -> None:
    kit, plugin = make(_config(crm.url))
    w = World.build(kit)
    sync_subscriptions(kit, plugin)
    quiet = CrmHttp(_config(crm.url, push_updates=False))
    assert sync_subscriptions(kit, quiet) == []
    assert kit.webhooks.list(Actor.host(), org_id=w.shipper.id) == []


def test_the_sync_command(make, crm, tmp_path, monkeypatch, casekit_backend_url) -> None:
    kit, _ = make({"organizations": {}})
    World.build(kit)
    config = tmp_path / "crm.json"
    config.write_text(json.dumps(_config(crm.url)))
    monkeypatch.setenv("CASEKIT_CRM_HTTP_CONFIG", str(config))
    monkeypatch.setenv("CASEKIT_LOAD_ENTRY_POINTS", "0")
    monkeypatch.setenv("CASEKIT_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")  # a loopback CRM
    monkeypatch.setattr(casekit_crm_http, "plugin", CrmHttp())
    group = click.Group("casekit")
    pm = make_plugin_manager(Settings(load_entry_points=False), [casekit_crm_http.plugin])
    pm.hook.casekit_add_cli_commands(cli=group)
    run = CliRunner().invoke(group, ["crm-http", "sync"], obj={"database_url": casekit_backend_url})
    assert run.exit_code == 0, run.output
    assert "acme: webhook" in run.output
    assert "signing secret whsec_" in run.output
    again = CliRunner().invoke(
        group, ["crm-http", "sync"], obj={"database_url": casekit_backend_url}
    )
    assert "up to date" in again.output


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({}, "'organizations'"),
        ({"organizations": {"acme": "x"}}, "organizations.acme"),
        ({"organizations": {"acme": {}}}, "organizations.acme.url"),
        (
            {"organizations": {"acme": {"url": "https://x", "open_on_create": "yes"}}},
            "open_on_create",
        ),
        ({"organizations": {"acme": {"url": "https://x", "colour": 1}}}, "unknown keys"),
    ],
)
def test_a_bad_configuration_names_the_entry(config, named) -> None:
    with pytest.raises(ConfigurationError, match=named):
        parse_config(config)


def test_the_command_on_a_database_without_casekit_tables_is_one_line(tmp_path, monkeypatch):
    from casekit.cli import build_cli

    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{empty}")
    result = CliRunner().invoke(build_cli(), ["crm-http", "sync"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: CASEKIT_DATABASE_URL: sqlite:///{empty} has no casekit tables: "
        "run `casekit db upgrade`"
    ]
