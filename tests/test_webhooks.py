"""Outgoing webhooks end to end: subscriptions, the outbox, the worker, and a
real HTTP(S) server on loopback.

Each test changes cases through the services, runs the worker, and reads
what the server received: signed requests, each cut to what the
subscribing organization may see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from casekit import Actor, CaseKit, InvalidInput, NotFound, PermissionDenied
from casekit import signals as casekit_signals
from casekit.store import tables
from casekit.testing import FrozenClock, World, make_kit
from casekit.webhooks import (
    DEFAULT_TOLERANCE,
    SECRET_BYTES,
    SIGNATURE_HEADER,
    STANDARD_ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    WebhookEvent,
    address_problem,
    new_secret,
    pinned_request,
    resolve_public,
    sign,
    signature_header,
    signing_key,
    standard_headers,
    standard_secret,
    standard_signature,
    url_problem,
    verify_signature,
)

ALL = [e.value for e in WebhookEvent]


class Endpoint:
    """A webhook receiver on loopback: records each request, answers from ``codes``."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.codes: list[int] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                endpoint.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                code = endpoint.codes.pop(0) if endpoint.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_port}{path}"

    def to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def payloads(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.to(path)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https(ca: trustme.CA) -> Iterator[Endpoint]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    endpoint = Endpoint(context)
    yield endpoint
    endpoint.stop()


@pytest.fixture
def http() -> Iterator[Endpoint]:
    endpoint = Endpoint()
    yield endpoint
    endpoint.stop()


def _trusting_kit(
    database_url: str, tmp_path: Path, clock: FrozenClock, ca: trustme.CA, **settings: Any
) -> CaseKit:
    """A kit on the test's database that trusts the throwaway CA, with ``settings``."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        webhook_ca_file=str(bundle),
        **settings,
    )


@pytest.fixture
def hkit(
    database_url: str, tmp_path: Path, clock: FrozenClock, kit: CaseKit, ca: trustme.CA
) -> Iterator[CaseKit]:
    """A kit that trusts the throwaway CA, on the test's database (``kit`` empties it)."""
    hooking = _trusting_kit(
        database_url,
        tmp_path,
        clock,
        ca,
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
        notify_retry_seconds=60,
        notify_max_attempts=3,
    )
    yield hooking
    hooking.close()


@pytest.fixture
def w(hkit: CaseKit) -> World:
    return World.build(hkit)


def _verified(kit: CaseKit, request: dict[str, Any], secret: str) -> bool:
    return verify_signature(
        secret,
        request["body"],
        request["headers"][SIGNATURE_HEADER],
        now=kit.clock.now().timestamp(),
    )


# -- signing -----------------------------------------------------------------------------


def test_a_signature_verifies_only_with_its_secret_body_and_time() -> None:
    body = b'{"event":"case_opened"}'
    header = signature_header("whsec_one", body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature("whsec_one", body, header, now=1_700_000_100)
    assert verify_signature(["whsec_old", "whsec_one"], body.decode(), header, now=1_700_000_000)
    assert not verify_signature("whsec_two", body, header, now=1_700_000_100)
    assert not verify_signature("whsec_one", body + b" ", header, now=1_700_000_100)
    # A replay outside the window is refused, and so is a signature from the future.
    assert not verify_signature("whsec_one", body, header, now=1_700_000_301)
    assert not verify_signature("whsec_one", body, header, now=1_699_999_600, tolerance=60)
    assert not verify_signature("whsec_one", body, None)
    assert not verify_signature("whsec_one", body, "v1=abc")
    assert not verify_signature("whsec_one", body, "t=1700000000")


def test_a_sent_signature_is_the_documented_hmac_of_its_time_and_body(
    hkit: CaseKit, w: World, https: Endpoint
) -> None:
    """Computed here as docs/webhooks.rst states it, with hmac alone: the
    signature binds the time in its header, so it cannot be moved to another."""
    sub = hkit.webhooks.subscribe(w.shipper_manager_actor, url=https.url(), events=ALL)
    hkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    hkit.notifications.deliver()
    [request] = https.to("/hook")
    body: bytes = request["body"]
    fields = dict(part.split("=", 1) for part in request["headers"][SIGNATURE_HEADER].split(","))
    assert sorted(fields) == ["t", "v1"]
    sent_at = int(fields["t"])
    assert sent_at == int(hkit.clock.now().timestamp())
    expected = hmac.new(
        sub.secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert fields["v1"] == expected
    header = f"t={sent_at},v1={fields['v1']}"
    assert verify_signature(sub.secret, body, header, now=sent_at)

    # The same signature under a fresh time, as a replay would send it: refused.
    for later in (sent_at + 1, sent_at + 3600):
        moved = f"t={later},v1={fields['v1']}"
        assert not verify_signature(sub.secret, body, moved, now=later)
    # The original header, replayed once the window has passed: refused.
    assert not verify_signature(sub.secret, body, header, now=sent_at + DEFAULT_TOLERANCE + 1)
    assert verify_signature(sub.secret, body, header, now=sent_at + DEFAULT_TOLERANCE)


def test_urls_must_be_https_except_loopback_when_allowed() -> None:
    assert url_problem("https://crm.example.com/hooks") is None
    assert url_problem("http://crm.example.com/hooks") == "an https:// URL is required"
    assert url_problem("http://127.0.0.1:8000/h") is not None
    assert url_problem("http://127.0.0.1:8000/h", allow_http_loopback=True) is None
    assert url_problem("http://[::1]:8000/h", allow_http_loopback=True) is None
    assert url_problem("http://10.0.0.1/h", allow_http_loopback=True) is not None
    assert url_problem("ftp://example.com/") is not None
    assert url_problem("https://user:pw@example.com/") is not None
    assert url_problem("https://example.com:99999/") is not None
    assert url_problem("/relative") == "an absolute https:// URL is required"
    assert url_problem("http://localhost:8000/h", allow_http_loopback=True) is None
    assert url_problem("http://localhost:8000/h") == (
        "plain http is allowed only to loopback addresses with webhook_allow_http_loopback"
    )
    for credentials in ("user:pw@", "user@", ":pw@"):
        assert url_problem(f"https://{credentials}example.com/") == (
            "a URL with credentials in it is refused; send them another way"
        )


def test_a_signature_is_read_from_its_t_and_v1_fields_alone() -> None:
    body, at = b'{"event":"case_opened"}', 1_700_000_000
    good = sign("whsec_one", body, at)
    # Fields of later versions are ignored: a number is no time, a v0 no signature.
    assert verify_signature("whsec_one", body, f"t={at},v1={good},n=5", now=at)
    assert verify_signature("whsec_one", body, f"t={at},v0=abc,v1={good}", now=at)
    assert not verify_signature("whsec_one", body, f"t={at},v0={good}", now=at)
    # Without ``now``, the system clock.
    fresh = int(time.time())
    assert verify_signature("whsec_one", body, signature_header("whsec_one", body, fresh))


PRIVATE = "is a loopback, private, link-local or reserved address"


def test_a_private_address_is_named_with_the_setting_that_allows_it() -> None:
    expected = f"10.0.0.1 {PRIVATE} (allowed only with webhook_allow_private_addresses)"
    assert address_problem(ipaddress.ip_address("10.0.0.1")) == expected
    assert address_problem(ipaddress.ip_address("93.184.216.34")) is None


def test_an_address_in_the_url_is_checked_without_resolving_it() -> None:
    assert resolve_public("https://93.184.216.34/h") == ("93.184.216.34", None)
    address, problem = resolve_public("https://10.0.0.1:8443/h")
    assert address is None
    assert (problem or "").startswith(f"10.0.0.1 {PRIVATE}")


@pytest.mark.parametrize(
    ("url", "address", "pinned"),
    [
        ("https://hooks.example.com/h?x=1", "93.184.216.34", "https://93.184.216.34/h?x=1"),
        ("https://hooks.example.com:8443/h", "2606:2800::1", "https://[2606:2800::1]:8443/h"),
        ("https://[2606:4700::1]/h", "2606:4700::1", "https://[2606:4700::1]/h"),
        ("https://[2606:4700::1]:8443/h", "2606:4700::1", "https://[2606:4700::1]:8443/h"),
    ],
)
def test_a_pinned_request_names_the_address_and_keeps_the_host(
    url: str, address: str, pinned: str
) -> None:
    # Host is the URL's host and port as written (an IPv6 literal in brackets);
    # TLS names the host alone.
    parts = urlsplit(url)
    assert pinned_request(url, address) == (
        pinned,
        {"Host": parts.netloc},
        {"sni_hostname": parts.hostname},
    )


# -- subscriptions -----------------------------------------------------------------------


def test_managers_subscribe_and_see_the_secret_once(hkit: CaseKit, w: World) -> None:
    created = hkit.webhooks.subscribe(
        w.shipper_manager_actor, url="https://crm.acme.test/in", events=["case_opened"]
    )
    assert created.secret.startswith("whsec_")
    assert created.webhook.org_id == w.shipper.id
    assert created.webhook.events == (WebhookEvent.CASE_OPENED,)
    listed = hkit.webhooks.list(w.shipper_manager_actor)
    assert [h.id for h in listed] == [created.webhook.id]
    assert "secret" not in repr(listed[0])
    assert created.secret not in repr(created)
    rotated = hkit.webhooks.rotate_secret(w.shipper_manager_actor, created.webhook.id)
    assert rotated.secret != created.secret
    # The host names the organization.
    hosted = hkit.webhooks.subscribe(
        Actor.host(), org_id=w.carrier.id, url="https://fast.test/in", events=ALL
    )
    assert hosted.webhook.org_id == w.carrier.id
    assert len(hkit.webhooks.list(Actor.host())) == 2


def test_bad_subscriptions_name_the_field(hkit: CaseKit, w: World) -> None:
    manager = w.shipper_manager_actor
    with pytest.raises(InvalidInput) as caught:
        hkit.webhooks.subscribe(manager, url="http://crm.acme.test/in", events=["nope"])
    assert set(caught.value.errors) == {"url", "events"}
    with pytest.raises(InvalidInput) as caught:
        hkit.webhooks.subscribe(manager, url="https://crm.acme.test/in", events=[])
    assert set(caught.value.errors) == {"events"}
    with pytest.raises(InvalidInput) as caught:
        hkit.webhooks.subscribe(Actor.host(), url="https://crm.acme.test/in", events=ALL)
    assert set(caught.value.errors) == {"org_id"}
    assert hkit.webhooks.list(Actor.host()) == []


def test_only_the_organizations_managers_manage_its_webhooks(hkit: CaseKit, w: World) -> None:
    created = hkit.webhooks.subscribe(
        w.shipper_manager_actor, url="https://crm.acme.test/in", events=ALL
    )
    hook_id = created.webhook.id
    with pytest.raises(PermissionDenied):
        hkit.webhooks.subscribe(w.shipper_actor, url="https://x.test/", events=ALL)
    with pytest.raises(PermissionDenied):
        hkit.webhooks.list(w.shipper_actor)
    for other in (w.carrier_manager_actor, w.customer_actor):
        with pytest.raises((NotFound, PermissionDenied)):
            hkit.webhooks.get(other, hook_id)
        with pytest.raises((NotFound, PermissionDenied)):
            hkit.webhooks.deliveries(other, hook_id)
        with pytest.raises((NotFound, PermissionDenied)):
            hkit.webhooks.delete(other, hook_id)
    assert hkit.webhooks.get(w.shipper_manager_actor, hook_id).active
    hkit.webhooks.delete(w.shipper_manager_actor, hook_id)
    assert hkit.webhooks.list(w.shipper_manager_actor) == []


# -- delivery ----------------------------------------------------------------------------


def _queued(kit: CaseKit) -> list[tuple[int, str]]:
    o = tables.webhook_outbox.c
    with kit.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(o.webhook_id, o.event).order_by(o.id))]


def test_a_subscription_made_elsewhere_hears_the_very_next_change(
    hkit: CaseKit, w: World, database_url: str, tmp_path: Path, clock: FrozenClock, ca: trustme.CA
) -> None:
    # Subscriptions are read with each change, never cached: one made (or
    # turned off) by another kit, as by another process, counts at once.
    (tmp_path / "elsewhere").mkdir()
    elsewhere = _trusting_kit(
        database_url,
        tmp_path / "elsewhere",
        clock,
        ca,
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
    )
    try:
        number = hkit.cases.open(
            w.shipper_actor, type="lost", carrier=w.carrier.id, message="Gone"
        ).number
        assert _queued(hkit) == []
        hook = elsewhere.webhooks.subscribe(
            w.carrier_manager_actor, url="http://127.0.0.1:9/hook", events=ALL
        )
        hkit.messages.post(w.carrier_actor, number, "On its way")
        assert _queued(hkit) == [
            (hook.webhook.id, "message_posted"),
            (hook.webhook.id, "status_changed"),
        ]
        elsewhere.webhooks.update(w.carrier_manager_actor, hook.webhook.id, active=False)
        hkit.messages.post(w.shipper_actor, number, "Thanks", audience="partners")
        assert len(_queued(hkit)) == 2
    finally:
        elsewhere.close()


def test_each_request_queued_is_told_after_the_commit_with_its_id(hkit: CaseKit, w: World) -> None:
    """What a task queue needs: the row's id, once the row is there for any connection."""
    shipper = hkit.webhooks.subscribe(
        w.shipper_manager_actor, url="http://127.0.0.1:9/acme", events=ALL
    )
    carrier = hkit.webhooks.subscribe(
        w.carrier_manager_actor, url="http://127.0.0.1:9/fast", events=ALL
    )
    o = tables.webhook_outbox.c
    seen: list[tuple[Any, Any]] = []

    def receiver(sender: Any, *, delivery: Any, case: Any, actor: Any, **extra: Any) -> None:
        with hkit.engine.connect() as conn:  # another connection: committed rows only
            row = conn.execute(
                select(o.webhook_id, o.event, o.case_id).where(o.id == delivery.id)
            ).first()
        seen.append((delivery, row))
        assert case.id == delivery.case_id
        assert actor == w.carrier_actor

    casekit_signals.webhook_queued.connect(receiver, sender=hkit)
    try:
        number = hkit.cases.open(
            w.shipper_actor, type="lost", carrier=w.carrier.id, message="Gone"
        ).number
        seen.clear()
        hkit.messages.post(w.carrier_actor, number, "On its way")
    finally:
        casekit_signals.webhook_queued.disconnect(receiver, sender=hkit)
    queued = {(d.webhook_id, d.event.value) for d, _row in seen}
    assert len(seen) == len(queued) >= 3
    assert queued >= {
        (carrier.webhook.id, "message_posted"),
        (carrier.webhook.id, "status_changed"),
        (shipper.webhook.id, "message_posted"),
    }
    for delivery, row in seen:
        assert row is not None, f"request {delivery.id} was told before it was committed"
        assert (row.webhook_id, row.event, row.case_id) == (
            delivery.webhook_id,
            delivery.event.value,
            delivery.case_id,
        )
        assert delivery.status == "queued"
        assert delivery.payload["event"] == delivery.event.value


def test_each_party_receives_what_it_may_see_signed(
    hkit: CaseKit, w: World, https: Endpoint
) -> None:
    shipper = hkit.webhooks.subscribe(w.shipper_manager_actor, url=https.url("/acme"), events=ALL)
    carrier = hkit.webhooks.subscribe(w.carrier_manager_actor, url=https.url("/fast"), events=ALL)
    other = World.build(hkit, tag="-other")
    stranger = hkit.webhooks.subscribe(
        other.carrier_manager_actor, url=https.url("/stranger"), events=ALL
    )
    case = hkit.cases.open(
        w.shipper_actor,
        type="where_is_my_order",
        carrier=w.carrier.id,
        message="Where is pallet 7?",
    )
    hkit.messages.post(
        w.shipper_actor, case.number, "Internal: customer is furious", audience="internal"
    )
    hkit.cases.set_crm_number(w.shipper_actor, case.number, "ACME-CRM-991")
    hkit.messages.post(w.carrier_actor, case.number, "Delivered today", audience="partners")
    hkit.cases.watch(w.carrier_actor, case.number)
    hkit.cases.solve(w.shipper_actor, case.number)
    hkit.notifications.deliver()

    acme, fast = https.payloads("/acme"), https.payloads("/fast")
    assert https.to("/stranger") == []
    assert [p["event"] for p in acme] == [
        "case_opened",
        "message_posted",
        "message_posted",
        "status_changed",
        "status_changed",
        "case_solved",
    ]
    assert [p["event"] for p in fast] == [
        "case_opened",
        "message_posted",
        "status_changed",
        "watcher_changed",
        "status_changed",
        "case_solved",
    ]
    for request in https.to("/acme"):
        assert _verified(hkit, request, shipper.secret)
        assert not _verified(hkit, request, carrier.secret)
    for request in https.to("/fast"):
        assert _verified(hkit, request, carrier.secret)
        assert request["headers"]["X-Casekit-Event"] in ALL
        assert request["headers"]["Content-Type"] == "application/json"
    assert acme[0]["message"]["body"] == "Where is pallet 7?"
    assert acme[0]["case"]["number"] == case.number
    assert acme[1]["message"]["body"] == "Internal: customer is furious"
    # The shipper's own CRM number reaches the shipper, once it is set.
    assert acme[-1]["case"]["crm_number"] == "ACME-CRM-991"
    # The carrier never receives the shipper's internal note nor its CRM number.
    raw_fast = b"".join(r["body"] for r in https.to("/fast"))
    assert b"furious" not in raw_fast
    assert b"ACME-CRM-991" not in raw_fast
    assert all(p["case"]["crm_number"] is None for p in fast)
    assert fast[1]["message"]["body"] == "Delivered today"
    assert fast[3] | {"case": None} == fast[3] | {
        "case": None,
        "user_id": w.carrier_agent.id,
        "watching": True,
    }
    log = hkit.webhooks.deliveries(w.shipper_manager_actor, shipper.webhook.id)
    assert len(log) == 6
    assert all(d.status == "sent" and d.attempts == 1 for d in log)
    assert all(d.history[0].status_code == 200 for d in log)
    assert hkit.webhooks.deliveries(other.carrier_manager_actor, stranger.webhook.id) == []


def _both_subscribed(hkit: CaseKit, w: World, https: Endpoint, audience: str) -> Any:
    """Both parties' managers subscribed to every event, at ``/acme`` and ``/fast``,
    and a case of both parties and the customer opened for ``audience``."""
    hkit.webhooks.subscribe(w.shipper_manager_actor, url=https.url("/acme"), events=ALL)
    hkit.webhooks.subscribe(w.carrier_manager_actor, url=https.url("/fast"), events=ALL)
    return hkit.cases.open(
        w.shipper_actor,
        type="where_is_my_order",
        carrier=w.carrier.id,
        customer=w.customer.id,
        message="Your parcel is late",
        audience=audience,
    )


def test_the_carriers_requests_never_carry_the_customers_account(
    hkit: CaseKit, w: World, https: Endpoint
) -> None:
    case = _both_subscribed(hkit, w, https, "everyone")
    # To the shipper (a customer's default): not for the carrier's endpoint.
    to_shipper = hkit.messages.post(w.customer_actor, case.number, "Still nothing")
    hkit.messages.post(w.customer_actor, case.number, "Ring twice", audience="everyone")
    hkit.notifications.deliver()
    fast = https.payloads("/fast")
    bodies = [(p.get("message") or {}).get("body") for p in fast]
    assert "Still nothing" not in bodies
    said = [p for p in fast if (p.get("message") or {}).get("body") == "Ring twice"]
    assert len(said) == 1
    assert said[0]["message"]["actor_kind"] == "customer"
    assert said[0]["message"]["customer_id"] is None
    assert all(p["case"]["customer_id"] is None for p in fast)
    raw_fast = b"".join(r["body"] for r in https.to("/fast"))
    assert w.customer.email.encode() not in raw_fast
    assert f"customer:{w.customer.id}".encode() not in raw_fast
    assert b"Still nothing" not in raw_fast
    acme = https.payloads("/acme")
    assert all(p["case"]["customer_id"] == w.customer.id for p in acme)
    assert "Still nothing" in [(p.get("message") or {}).get("body") for p in acme]
    # Shared, it is the carrier's to read from then on: on the timeline.
    hkit.cases.share_with_carrier(w.shipper_actor, case.number, to_shipper.id)
    carrier_reads = [e.body for e in hkit.cases.timeline(w.carrier_actor, case.number)]
    assert "Still nothing" in carrier_reads


def test_the_carrier_receives_the_statuses_it_sees(
    hkit: CaseKit, w: World, https: Endpoint
) -> None:
    case = _both_subscribed(hkit, w, https, "customer")
    n = case.number
    hkit.messages.post(w.shipper_actor, n, "A new one ships today", audience="customer")
    hkit.messages.post(w.customer_actor, n, "Thanks")
    hkit.cases.solve(w.shipper_actor, n)
    hkit.notifications.deliver()

    def moves(path: str) -> list[tuple[str, str, str]]:
        return [
            (p["event"], p["old"], p["new"])
            for p in https.payloads(path)
            if p["event"] in ("status_changed", "case_solved")
        ]

    # new -> waiting -> reply_received -> solved, as each side reads it.
    assert moves("/acme") == [
        ("status_changed", "new", "waiting"),
        ("status_changed", "waiting", "reply_received"),
        ("status_changed", "reply_received", "solved"),
        ("case_solved", "reply_received", "solved"),
    ]
    # The carrier's own status: the shipper's conversation with its customer
    # left it new; solving by hand moved it, new -> solved.
    assert moves("/fast") == [
        ("status_changed", "new", "solved"),
        ("case_solved", "new", "solved"),
    ]
    fast = https.payloads("/fast")
    assert {p["case"]["status"] for p in fast} <= {"new", "open", "solved"}
    # The case was opened with a message to the customer: the carrier hears
    # of the case, not of the message; no message of that talk reaches it.
    opened = [p for p in fast if p["event"] == "case_opened"]
    assert [p["message"] for p in opened] == [None]
    assert [p for p in fast if p["event"] == "message_posted"] == []
    raw_fast = b"".join(r["body"] for r in https.to("/fast"))
    assert b"waiting" not in raw_fast
    assert b"reply_received" not in raw_fast


def test_an_endpoint_that_is_down_is_retried_then_delivered_once(
    hkit: CaseKit, w: World, clock: FrozenClock, ca: trustme.CA
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    endpoint = Endpoint(context)
    url = endpoint.url("/acme")
    endpoint.stop()  # nobody listens there now
    hook = hkit.webhooks.subscribe(w.shipper_manager_actor, url=url, events=["case_opened"])
    hkit.cases.open(w.shipper_actor, type="osd_damaged", message="Lost parcel")
    hkit.notifications.deliver()
    (delivery,) = hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
    assert delivery.status == "queued"
    assert delivery.attempts == 1
    assert delivery.last_error
    assert "Connect" in delivery.last_error
    # The first wait is drawn between half of notify_retry_seconds and all of it.
    assert delivery.next_attempt_at is not None
    assert 30 <= (delivery.next_attempt_at - clock.now()).total_seconds() <= 60
    # Not due yet: nothing is attempted.
    hkit.notifications.deliver()
    assert hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)[0].attempts == 1
    # The endpoint answers 500, then comes back.
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    again = Endpoint(context, port)
    try:
        again.codes = [500]
        clock.advance(seconds=61)
        hkit.notifications.deliver()
        clock.advance(seconds=121)
        hkit.notifications.deliver()
        clock.advance(seconds=3600)
        hkit.notifications.deliver()
        assert len(again.requests) == 2
        assert [r["headers"]["X-Casekit-Delivery"] for r in again.requests] == [
            str(delivery.id)
        ] * 2
        (done,) = hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
        assert done.status == "sent"
        assert done.attempts == 3
        assert [(a.ok, a.status_code) for a in done.history] == [
            (False, None),
            (False, 500),
            (True, 200),
        ]
    finally:
        again.stop()


def test_a_410_disables_the_subscription(hkit: CaseKit, w: World, http: Endpoint) -> None:
    hook = hkit.webhooks.subscribe(w.shipper_manager_actor, url=http.url(), events=ALL)
    http.codes = [410]
    case = hkit.cases.open(w.shipper_actor, type="osd_damaged", message="Damaged")
    hkit.notifications.deliver()
    view = hkit.webhooks.get(w.shipper_manager_actor, hook.webhook.id)
    assert not view.active
    assert view.disabled_reason
    assert "410" in view.disabled_reason
    (delivery,) = hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    # A disabled subscription queues nothing more and receives nothing more.
    hkit.messages.post(w.shipper_actor, case.number, "Anyone?")
    hkit.notifications.deliver()
    assert len(http.requests) == 1
    assert len(hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)) == 1
    # Turned back on, it receives again.
    hkit.webhooks.update(w.shipper_manager_actor, hook.webhook.id, active=True)
    hkit.messages.post(w.shipper_actor, case.number, "Back?")
    hkit.notifications.deliver()
    assert [json.loads(r["body"])["message"]["body"] for r in http.requests[1:]] == ["Back?"]


def test_a_late_outcome_never_overwrites_the_claim_another_worker_took(
    hkit: CaseKit, w: World, http: Endpoint, clock: FrozenClock
) -> None:
    """The first worker's request is answered after its lease lapsed and another
    worker took the row, tried it and queued it again: the first one's 200 is
    kept in the log, the row stays the other worker's."""
    from casekit import hookimpl
    from casekit.services.webhooks import deliver_webhooks
    from casekit.services.worker import Worker

    hook = hkit.webhooks.subscribe(w.shipper_manager_actor, url=http.url(), events=ALL)
    http.codes = [200, 503]  # the first worker's answer, then the other's
    hkit.cases.open(w.shipper_actor, type="osd_damaged", message="Crushed")
    first, other = Worker(hkit), Worker(hkit)
    meanwhile: list[Any] = []

    class Slow:
        @hookimpl
        def casekit_webhook_answered(self) -> None:
            if not meanwhile:  # while the first worker reads its answer
                clock.advance(seconds=61)  # ... its lease lapses, and the other takes the row
                meanwhile.append(deliver_webhooks(other))

    hkit.plugin_manager.register(Slow())
    assert deliver_webhooks(first) == (1, 0, 0, 0, 1)  # claimed, then abandoned
    assert meanwhile == [(1, 0, 1, 0, 0)]  # the other worker's attempt: retried
    (delivery,) = hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("queued", 1, "HTTP 503")
    assert [(a.ok, a.status_code) for a in delivery.history] == [(False, 503), (True, 200)]
    assert len(http.requests) == 2


def test_a_request_fails_after_the_last_attempt(
    hkit: CaseKit, w: World, http: Endpoint, clock: FrozenClock
) -> None:
    hook = hkit.webhooks.subscribe(w.shipper_manager_actor, url=http.url(), events=ALL)
    http.codes = [503, 503, 503, 200]
    hkit.cases.open(w.shipper_actor, type="osd_damaged", message="Stuck")
    for _ in range(4):
        hkit.notifications.deliver()
        clock.advance(seconds=3600)
    (delivery,) = hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
    assert delivery.status == "failed"
    assert delivery.attempts == 3
    assert delivery.last_error == "HTTP 503"
    assert len(http.requests) == 3


def test_rotating_the_secret_signs_later_requests_with_the_new_one(
    hkit: CaseKit, w: World, http: Endpoint
) -> None:
    first = hkit.webhooks.subscribe(
        w.shipper_manager_actor, url=http.url(), events=["case_opened", "message_posted"]
    )
    case = hkit.cases.open(w.shipper_actor, type="osd_damaged", message="One")
    hkit.notifications.deliver()
    second = hkit.webhooks.rotate_secret(w.shipper_manager_actor, first.webhook.id)
    hkit.messages.post(w.shipper_actor, case.number, "Two")
    hkit.notifications.deliver()
    one, two = http.requests
    assert _verified(hkit, one, first.secret)
    assert not _verified(hkit, one, second.secret)
    assert _verified(hkit, two, second.secret)
    assert not _verified(hkit, two, first.secret)


def test_a_url_not_https_is_refused_at_delivery_when_loopback_http_is_off(
    hkit: CaseKit, w: World, http: Endpoint, database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    hook = hkit.webhooks.subscribe(w.shipper_manager_actor, url=http.url(), events=ALL)
    hkit.cases.open(w.shipper_actor, type="osd_damaged", message="Plain")
    strict = make_kit(database_url, attachment_dir=tmp_path / "a", clock=clock, create_schema=False)
    try:
        strict.notifications.deliver()
    finally:
        strict.close()
    assert http.requests == []
    (delivery,) = hkit.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
    assert delivery.status == "failed"
    assert "plain http is allowed only" in (delivery.last_error or "")


# -- private addresses (SSRF) ----------------------------------------------------------

NAME = "crm.example.test"


class FakeDns:
    """``socket.getaddrinfo`` that answers ``NAME`` from ``answers`` and counts the
    lookups; any other host (the IP literals a connection resolves) as usual."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *answers: str) -> None:
        import socket

        self.real = socket.getaddrinfo
        self.answers = list(answers)
        self.lookups = 0
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return self.real(host, port, *args, **kwargs)
        self.lookups += 1
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return self.real(address, port, *args, **kwargs)


@pytest.fixture
def strict(
    database_url: str, tmp_path: Path, clock: FrozenClock, kit: CaseKit, ca: trustme.CA
) -> Iterator[CaseKit]:
    """A kit with the default: no webhooks to private addresses."""
    checking = _trusting_kit(database_url, tmp_path, clock, ca)
    yield checking
    checking.close()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/h",
        "https://10.0.0.1/h",
        "https://192.168.1.10/h",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/h",
        "https://[::ffff:127.0.0.1]/h",
        "https://[fd00::1]/h",
        "https://0.0.0.0/h",
        "https://240.0.0.1/h",
    ],
)
def test_subscribing_a_private_address_is_refused(strict: CaseKit, url: str) -> None:
    w = World.build(strict)
    with pytest.raises(InvalidInput) as caught:
        strict.webhooks.subscribe(w.shipper_manager_actor, url=url, events=ALL)
    assert "url" in caught.value.errors
    assert strict.webhooks.list(w.shipper_manager_actor) == []


def test_a_name_is_checked_by_every_address_it_resolves_to(
    strict: CaseKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = World.build(strict)
    FakeDns(monkeypatch, "10.1.2.3")
    with pytest.raises(InvalidInput) as caught:
        strict.webhooks.subscribe(w.shipper_manager_actor, url=f"https://{NAME}/h", events=ALL)
    assert "resolves to 10.1.2.3" in caught.value.errors["url"][0]
    with pytest.raises(InvalidInput) as caught:
        strict.webhooks.subscribe(
            w.shipper_manager_actor, url="https://no-such-host.invalid/h", events=ALL
        )
    assert "does not resolve" in caught.value.errors["url"][0]
    FakeDns(monkeypatch, "93.184.216.34")
    strict.webhooks.subscribe(w.shipper_manager_actor, url=f"https://{NAME}/h", events=ALL)


def test_delivery_checks_again_and_connects_to_the_address_it_checked(
    strict: CaseKit, monkeypatch: pytest.MonkeyPatch, ca: trustme.CA, clock: FrozenClock
) -> None:
    import casekit.webhooks

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(context)  # only the name: TLS checks it, not the IP
    endpoint = Endpoint(context)
    try:
        w = World.build(strict)
        dns = FakeDns(monkeypatch, "93.184.216.34")
        url = f"https://{NAME}:{endpoint.server.server_port}/h"
        hook = strict.webhooks.subscribe(w.shipper_manager_actor, url=url, events=ALL)
        strict.cases.open(w.shipper_actor, type="lost")
        # The name now points at loopback (DNS rebinding): nothing is sent.
        dns.answers = ["127.0.0.1"]
        strict.notifications.deliver()
        assert endpoint.requests == []
        (queued,) = strict.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
        assert queued.status == "queued"
        assert "127.0.0.1 is a loopback" in (queued.last_error or "")
        # Let loopback pass the check (the endpoint lives there); the name then
        # resolves elsewhere: the request still goes to the address checked, once.
        real = casekit.webhooks.address_problem
        monkeypatch.setattr(
            casekit.webhooks,
            "address_problem",
            lambda a: None if str(a) == "127.0.0.1" else real(a),
        )
        dns.answers, dns.lookups = ["127.0.0.1", "10.9.9.9"], 0
        clock.advance(seconds=3600)
        strict.notifications.deliver()
        assert dns.lookups == 1
        (request,) = endpoint.requests
        assert request["headers"]["Host"] == f"{NAME}:{endpoint.server.server_port}"
        (sent,) = strict.webhooks.deliveries(w.shipper_manager_actor, hook.webhook.id)
        assert sent.status == "sent"
    finally:
        endpoint.stop()


# -- Standard Webhooks -----------------------------------------------------------------

#: A secret as casekit made them before it signed per Standard Webhooks: URL-safe
#: base64, unpadded, here with both ``-`` and ``_`` in it.
LEGACY = "whsec_" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")


def _hmac_b64(key: bytes, signed: bytes) -> str:
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_a_new_secret_is_a_standard_webhooks_secret_of_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :], validate=True)
    assert len(key) == SECRET_BYTES == 32
    assert signing_key(secret) == key
    assert standard_secret(secret) == secret
    assert new_secret() != secret


def test_the_signing_key_is_what_a_secrets_base64_stands_for() -> None:
    assert "-" in LEGACY
    assert "_" in LEGACY[len("whsec_") :]
    # An older secret: the same key in the URL-safe alphabet, without padding.
    assert signing_key(LEGACY) == bytes(range(200, 232))
    standard = standard_secret(LEGACY)
    assert standard == "whsec_" + base64.b64encode(bytes(range(200, 232))).decode()
    assert standard != LEGACY
    assert standard_secret(standard) == standard
    # Unpadded standard base64, and base64 without the prefix, as the libraries read them.
    assert signing_key("whsec_YWJjZA") == b"abcd"
    assert signing_key("YWJjZA==") == b"abcd"
    # Not base64 (a space, a "!"): the secret's own UTF-8 bytes.
    assert signing_key("whsec_ab cd!") == b"whsec_ab cd!"
    assert signing_key("whsec_a") == b"whsec_a"
    assert signing_key("whsec_") == b"whsec_"
    assert standard_secret("whsec_ab cd!") == "whsec_" + base64.b64encode(b"whsec_ab cd!").decode()


def test_a_standard_signature_is_the_hmac_of_id_time_and_body() -> None:
    """Computed here as the specification states it, with hmac alone, and
    checked by the specification's own library."""
    secret = new_secret()
    key = base64.b64decode(secret[len("whsec_") :])
    body = b'{"event":"case_opened"}'
    expected = "v1," + _hmac_b64(key, b"42.1700000000." + body)
    assert standard_signature(secret, "42", body, 1_700_000_000) == expected
    headers = standard_headers(secret, "42", body, 1_700_000_000)
    assert headers == {
        "webhook-id": "42",
        "webhook-timestamp": "1700000000",
        "webhook-signature": expected,
    }
    assert (STANDARD_ID_HEADER, STANDARD_TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER) == (
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    )
    at = datetime.fromtimestamp(1_700_000_000, UTC)
    assert Webhook(secret).sign("42", at, body.decode()) == expected
    # An older secret signs with the key its standard form gives the library.
    assert Webhook(standard_secret(LEGACY)).sign("42", at, body.decode()) == (
        standard_signature(LEGACY, "42", body, 1_700_000_000)
    )
    # Each part is signed: another id, time or body is another signature.
    for other in (
        standard_signature(secret, "43", body, 1_700_000_000),
        standard_signature(secret, "42", body, 1_700_000_001),
        standard_signature(secret, "42", body + b" ", 1_700_000_000),
        standard_signature(new_secret(), "42", body, 1_700_000_000),
    ):
        assert other.startswith("v1,")
        assert other != expected


@pytest.fixture
def live_clock() -> FrozenClock:
    """A clock at the real time: the standardwebhooks library checks a request's
    time against the system clock, which it reads itself."""
    return FrozenClock(datetime.now(UTC))


@pytest.fixture
def lkit(
    database_url: str, tmp_path: Path, live_clock: FrozenClock, kit: CaseKit, ca: trustme.CA
) -> Iterator[CaseKit]:
    """Like ``hkit``, on ``live_clock``."""
    live = _trusting_kit(
        database_url,
        tmp_path,
        live_clock,
        ca,
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
        notify_retry_seconds=60,
        notify_max_attempts=3,
    )
    yield live
    live.close()


def _refused(secret: str, body: bytes, headers: dict[str, str]) -> str:
    """Why the standardwebhooks library refuses the request."""
    with pytest.raises(WebhookVerificationError) as caught:
        Webhook(secret).verify(body, headers)
    return str(caught.value)


def test_a_delivery_verifies_with_the_standard_webhooks_library(
    lkit: CaseKit, https: Endpoint, live_clock: FrozenClock
) -> None:
    w = World.build(lkit)
    created = lkit.webhooks.subscribe(w.shipper_manager_actor, url=https.url(), events=ALL)
    other = lkit.webhooks.subscribe(w.carrier_manager_actor, url=https.url("/fast"), events=ALL)
    case = lkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Hi")
    lkit.notifications.deliver()
    [request] = https.to("/hook")
    (delivery,) = lkit.webhooks.deliveries(w.shipper_manager_actor, created.webhook.id)
    headers: dict[str, str] = request["headers"]
    body: bytes = request["body"]
    sent_at = int(live_clock.now().timestamp())
    # The headers, exactly: the delivery's id, the time sent, the signature of both and the body.
    key = base64.b64decode(created.secret[len("whsec_") :])
    signed = f"{delivery.id}.{sent_at}.".encode() + body
    assert headers["webhook-id"] == headers["X-Casekit-Delivery"] == str(delivery.id)
    assert headers["webhook-timestamp"] == str(sent_at)
    assert headers["webhook-signature"] == "v1," + _hmac_b64(key, signed)
    # The specification's library accepts it and reads the body casekit sent.
    assert Webhook(created.secret).verify(body, headers) == json.loads(body)
    assert json.loads(body)["case"]["number"] == case.number
    # casekit's own signature is still there, unchanged, and still verifies.
    assert headers[SIGNATURE_HEADER] == signature_header(created.secret, body, sent_at)
    assert verify_signature(created.secret, body, headers[SIGNATURE_HEADER])
    assert headers["X-Casekit-Event"] == "case_opened"
    # A changed body, another subscription's secret, a changed id: refused.
    assert _refused(created.secret, body.replace(b"Hi", b"Ho"), headers) == (
        "No matching signature found"
    )
    assert _refused(other.secret, body, headers) == "No matching signature found"
    assert _refused(created.secret, body, headers | {"webhook-id": "999"}) == (
        "No matching signature found"
    )
    assert _refused(created.secret, body, headers | {"webhook-timestamp": str(sent_at + 1)}) == (
        "No matching signature found"
    )
    # After a rotation, requests verify with the new secret only.
    rotated = lkit.webhooks.rotate_secret(w.shipper_manager_actor, created.webhook.id)
    lkit.messages.post(w.shipper_actor, case.number, "Again")
    lkit.notifications.deliver()
    later = https.to("/hook")[1]
    assert Webhook(rotated.secret).verify(later["body"], later["headers"])["event"] == (
        "message_posted"
    )
    assert _refused(created.secret, later["body"], later["headers"]) == (
        "No matching signature found"
    )


def test_an_old_request_is_refused_by_the_standard_webhooks_library(
    lkit: CaseKit, https: Endpoint, live_clock: FrozenClock
) -> None:
    """A request signed six minutes ago (a replay, or a clock far behind)."""
    live_clock.advance(minutes=-6)
    w = World.build(lkit)
    created = lkit.webhooks.subscribe(w.shipper_manager_actor, url=https.url(), events=ALL)
    lkit.cases.open(w.shipper_actor, type="lost", message="Hi")
    lkit.notifications.deliver()
    [request] = https.to("/hook")
    assert request["headers"]["webhook-timestamp"] == str(int(live_clock.now().timestamp()))
    assert _refused(created.secret, request["body"], request["headers"]) == (
        "Message timestamp too old"
    )


def test_a_retry_keeps_the_id_and_signs_its_own_time(
    lkit: CaseKit, http: Endpoint, live_clock: FrozenClock
) -> None:
    w = World.build(lkit)
    created = lkit.webhooks.subscribe(w.shipper_manager_actor, url=http.url(), events=ALL)
    http.codes = [503]
    lkit.cases.open(w.shipper_actor, type="lost", message="Hi")
    lkit.notifications.deliver()
    first_at = int(live_clock.now().timestamp())
    live_clock.advance(seconds=61)
    lkit.notifications.deliver()
    first, second = http.requests
    (delivery,) = lkit.webhooks.deliveries(w.shipper_manager_actor, created.webhook.id)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert first["body"] == second["body"]
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == str(delivery.id)
    assert first["headers"]["webhook-timestamp"] == str(first_at)
    assert second["headers"]["webhook-timestamp"] == str(first_at + 61)
    assert first["headers"]["webhook-signature"] != second["headers"]["webhook-signature"]
    for request in (first, second):
        assert Webhook(created.secret).verify(request["body"], request["headers"])
        assert verify_signature(
            created.secret,
            request["body"],
            request["headers"][SIGNATURE_HEADER],
            now=int(request["headers"]["webhook-timestamp"]),
        )
