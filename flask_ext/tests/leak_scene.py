"""The leak test's scene: one case with a marker in every private field.

The markers, the viewers and the groups they read as, and
:func:`build_scene`, which plants them; ``test_leaks.py`` holds the
registry of surfaces that reads them back.
"""

from __future__ import annotations

import io
import re
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import attrs
from conftest import login, make_app, strangers
from flask import Flask
from flask.testing import FlaskClient

from casekit import Actor, CaseKit, Side, Upload
from casekit.query.listing import COLUMNS
from casekit.testing import CapturedMail, World
from casekit.webhooks import WebhookEvent
from casekit_flask.demo import DemoRuntime, MailCapture, demo_pages

TAG = "7f3a"

SHIPPER, CARRIER, CUSTOMER = "shipper", "carrier", "customer"


@attrs.frozen
class Marker:
    """A planted value and the groups of viewers who may read it."""

    name: str
    seen_by: frozenset[str]
    text: str = ""  # planted as is; found case-insensitively
    id_pattern: str = ""  # for an id: a regular expression over JSON, {id} filled in

    def found_in(self, blob: str, ids: dict[str, int]) -> bool:
        if self.text:
            return self.text.lower() in blob.lower()
        return re.search(self.id_pattern.format(id=ids[self.name]), blob) is not None


def _text(name: str, *seen_by: str) -> Marker:
    return Marker(name, frozenset(seen_by), text=f"MK-{name}-{TAG}")


def _address(name: str, domain: str, *seen_by: str) -> Marker:
    return Marker(name, frozenset(seen_by), text=f"mk-{name}-{TAG}@{domain}")


def _id(name: str, pattern: str, *seen_by: str) -> Marker:
    return Marker(name, frozenset(seen_by), id_pattern=pattern)


MARKERS: dict[str, Marker] = {
    m.name: m
    for m in (
        _text("everyone-message", SHIPPER, CARRIER, CUSTOMER),
        # A customer's messages are for the shipper's staff and the customer (DESIGN: Audience);
        # the carrier reads one the shipper shared with it.
        _text("customer-message", SHIPPER, CUSTOMER),
        _text("shared-customer-message", SHIPPER, CARRIER, CUSTOMER),
        _text("shipper-internal", SHIPPER),
        _text("shipper-internal-filename", SHIPPER),
        _text("shipper-internal-file", SHIPPER),
        _text("carrier-internal", CARRIER),
        _text("carrier-internal-filename", CARRIER),
        _text("carrier-internal-file", CARRIER),
        _text("shipper-partners", SHIPPER, CARRIER),
        _text("carrier-partners", SHIPPER, CARRIER),
        _text("shipper-crm", SHIPPER),
        _text("carrier-crm", CARRIER),
        _text("shipper-watcher", SHIPPER),
        _text("carrier-watcher", CARRIER),
        _address("shipper-watcher-address", "acme.test", SHIPPER),
        _address("carrier-watcher-address", "fast.test", CARRIER),
        _id("shipper-watcher-id", r'"watcher_ids":\s*\[[^\]]*\b{id}\b', SHIPPER),
        _id("carrier-watcher-id", r'"watcher_ids":\s*\[[^\]]*\b{id}\b', CARRIER),
        # A pair's collaborator addresses are its two organizations' business.
        _address("shipper-collaborator-address", "acme.test", SHIPPER, CARRIER),
        _address("carrier-collaborator-address", "fast.test", SHIPPER, CARRIER),
        # The carrier sees the consignee's facts, never the customer's account; the
        # customer's name, address and phone only where the shipper shared them.
        _text("customer-name", SHIPPER, CUSTOMER),
        _address("customer-address", "example.test", SHIPPER, CUSTOMER),
        Marker("customer-phone", frozenset({SHIPPER, CUSTOMER}), text="+99 7303 7303 7303"),
        _id("customer-id", r'"customer_id":\s*{id}\b', SHIPPER, CUSTOMER),
        _text("shipper-triage", SHIPPER),
        _text("carrier-triage", CARRIER),
        # An address Cc'd on the thread for one side is that side's.
        _address("shipper-cc-address", "wh.test", SHIPPER),
        _address("carrier-cc-address", "yard.test", CARRIER),
        # Each organization's case addresses are its own.
        _address("shipper-case-address", "acme.test", SHIPPER),
        _address("carrier-case-address", "fast.test", CARRIER),
    )
}

#: Each viewer and the group it reads as (None: a stranger to the case).
VIEWERS: dict[str, str | None] = {
    "shipper_manager": SHIPPER,
    "shipper_agent": SHIPPER,
    "carrier_manager": CARRIER,
    "carrier_agent": CARRIER,
    "other_shipper": None,
    "other_carrier": None,
    "case_customer": CUSTOMER,
    "other_customer": None,
    "anonymous": None,
    "shipper_read_key": SHIPPER,
    "shipper_write_key": SHIPPER,
    "shipper_admin_key": SHIPPER,
    "carrier_read_key": CARRIER,
    "carrier_write_key": CARRIER,
    "carrier_admin_key": CARRIER,
}
KEYS = {name for name in VIEWERS if name.endswith("_key")}
PEOPLE = tuple(name for name in VIEWERS if name not in KEYS)
#: The viewers who are users (a saved view is a user's).
USERS = tuple(
    name for name in PEOPLE if name.endswith(("_manager", "_agent", "_shipper", "_carrier"))
)

#: Who receives the scene's notifications, and the group each reads as.
RECIPIENTS: dict[str, str] = {
    "shipper_agent": SHIPPER,  # the shipper side's owner
    "shipper_manager": SHIPPER,
    "carrier_agent": CARRIER,
    "shipper_watcher": SHIPPER,
    "carrier_watcher": CARRIER,
    "carrier_collaborator": CARRIER,  # the carrier side has no owner
    "case_customer": CUSTOMER,
    "shipper_cc": SHIPPER,  # an address each side Cc'd on its message for partners
    "carrier_cc": CARRIER,
}
#: The organizations subscribed to every webhook event.
SUBSCRIBERS: dict[str, str] = {"shipper_org": SHIPPER, "carrier_org": CARRIER}


# -- the scene ------------------------------------------------------------------------------


@attrs.define
class Scene:
    """The planted case, who is who, and a way to read each surface as each viewer."""

    kit: CaseKit
    app: Flask
    mail: CapturedMail
    values: dict[str, Any]  # URL values: number, ids
    ids: dict[str, int]  # the ids the id markers look for
    actors: dict[str, Actor]
    tokens: dict[str, str]
    recipients: dict[str, str]  # address -> recipient name
    webhooks: dict[str, int]  # subscriber -> webhook id
    attachments: list[int]
    triage: list[int]
    #: each side's triage mail, to receive again as a new item (:meth:`new_triage`)
    triage_mail: dict[str, bytes]
    captured: list[str]  # the demo's captured mail, by name
    clients: dict[str, FlaskClient] = attrs.field(factory=dict)
    #: a write went through the scene: its reads may no longer be as planted
    written: bool = False
    received: int = 0  # triage mail received again

    def client(self, viewer: str) -> tuple[FlaskClient, dict[str, str]]:
        """A test client signed in as ``viewer`` (its session made once), and its headers."""
        client = self.clients.get(viewer)
        if client is None:
            client = self.clients[viewer] = self.app.test_client()
            login(client, self.actors.get(viewer))
        headers = {}
        if viewer in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[viewer]}"
        return client, headers

    def get(self, viewer: str, url: str) -> str:
        return self.send(viewer, "GET", url)

    def send(self, viewer: str, method: str, url: str, **kw: Any) -> str:
        """The body of the viewer's request (a write marks the scene :attr:`written`)."""
        client, headers = self.client(viewer)
        response = client.open(url, method=method, headers=headers, **kw)
        body = response.get_data(as_text=True)
        response.close()
        assert response.status_code < 500, (method, url, viewer, body[:400])
        return body

    def new_triage(self, side: str) -> int:
        """A new triage item of ``side``: its triage mail again, under a new Message-ID."""
        self.written = True
        self.received += 1
        raw = self.triage_mail[side].replace(
            b"Message-ID: <", f"Message-ID: <{self.received}-".encode(), 1
        )
        item: int | None = self.kit.inbound.receive(raw).inbound_id
        assert item is not None
        return item

    def url(self, endpoint: str, **values: Any) -> str:
        from flask import url_for

        rule = next(r for r in self.app.url_map.iter_rules() if r.endpoint == endpoint)
        merged = {**self.values, **values}
        with self.app.test_request_context():
            return url_for(endpoint, **{k: merged[k] for k in rule.arguments})


def _upload(name: str) -> Upload:
    """An attachment whose name and content are the markers of ``name``."""
    return Upload(
        filename=f"{MARKERS[name + '-filename'].text}.txt",
        content_type="text/plain",
        stream=io.BytesIO(MARKERS[name + "-file"].text.encode()),
    )


def _answer(notification: Message, sender: str, text: str) -> bytes:
    """A reply to ``notification`` from ``sender``, as a mail client writes it."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = str(notification["Reply-To"] or notification["From"])
    reply["Subject"] = f"RE: {notification['Subject']} {text}"
    reply["Message-ID"] = f"<leak-{text}@client.test>"
    reply["In-Reply-To"] = str(notification["Message-ID"])
    reply.set_content(f"{text}\n")
    return bytes(reply)


def build_scene(kit: CaseKit, mail: CapturedMail, mail_dir: Path, *, share: bool = True) -> Scene:
    """Plant a marker in every private field of one case (see the module's docstring);
    without ``share``, the shipper has not shared its customer's message, nor its
    customer's contact details, with the carrier yet.

    The demo's captured-mail pages are mounted too, on a capture in ``mail_dir``
    of the same mail.
    """
    host = Actor.host()
    world = World.build(kit)
    shipper, carrier = world.shipper, world.carrier
    assert shipper.id is not None
    assert carrier.id is not None
    actors: dict[str, Actor] = {
        "shipper_manager": world.shipper_manager_actor,
        "shipper_agent": world.shipper_actor,
        "carrier_manager": world.carrier_manager_actor,
        "carrier_agent": world.carrier_actor,
        **strangers(kit, world),
    }
    customer = kit.directory.add_customer(
        host,
        shipper_org_id=shipper.id,
        email=MARKERS["customer-address"].text,
        name=MARKERS["customer-name"].text,
        phone=MARKERS["customer-phone"].text,
    )
    actors["case_customer"] = Actor.of_customer(customer)
    watchers = {
        side: kit.directory.add_user(
            host,
            org_id=org.id,  # type: ignore[arg-type]
            name=MARKERS[f"{side}-watcher"].text,
            email=MARKERS[f"{side}-watcher-address"].text,
        )
        for side, org in ((SHIPPER, shipper), (CARRIER, carrier))
    }
    for side in (SHIPPER, CARRIER):
        kit.notifications.set_collaborator_address(
            host,
            shipper_org_id=shipper.id,
            carrier_org_id=carrier.id,
            side=Side(side),
            email=MARKERS[f"{side}-collaborator-address"].text,
        )
    webhooks = {
        subscriber: kit.webhooks.subscribe(
            actors[manager],
            url=f"http://127.0.0.1:9/{subscriber}",  # refused at once when delivered
            events=[e.value for e in WebhookEvent],
        ).webhook.id
        for subscriber, manager in (
            ("shipper_org", "shipper_manager"),
            ("carrier_org", "carrier_manager"),
        )
    }
    tokens = {
        f"{side}_{scope}_key": kit.api_keys.create(
            host, org_id=org_id, name=f"{side} {scope}", scope=scope
        ).token
        for side, org_id in ((SHIPPER, shipper.id), (CARRIER, carrier.id))
        for scope in ("read", "write", "admin")
    }

    # The case: the shipper's agent owns the shipper side; the carrier side has no owner,
    # so its collaborator address is notified.
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        carrier=carrier.id,
        customer=customer.id,
        message=MARKERS["everyone-message"].text,
        audience="everyone",
    )
    number = case.number
    for watcher in watchers.values():
        kit.cases.watch(Actor.of_user(watcher), number)
    # The shipper's watcher hears of plain status moves too: the shipper's move to
    # waiting, which the carrier reads as none, is one.
    kit.notifications.set_subscriptions(Actor.of_user(watchers[SHIPPER]), {"status_changed": True})
    kit.cases.set_crm_number(world.shipper_actor, number, MARKERS["shipper-crm"].text)
    kit.cases.set_crm_number(world.carrier_actor, number, MARKERS["carrier-crm"].text)
    post = kit.messages.post
    post(
        world.shipper_actor,
        number,
        MARKERS["shipper-internal"].text,
        audience="internal",
        attachments=[_upload("shipper-internal")],
    )
    post(
        world.carrier_actor,
        number,
        MARKERS["carrier-internal"].text,
        audience="internal",
        attachments=[_upload("carrier-internal")],
    )
    post(
        world.shipper_actor,
        number,
        MARKERS["shipper-partners"].text,
        audience="partners",
        cc=[MARKERS["shipper-cc-address"].text],
    )
    # The customer writes twice; between, the carrier's latest message for partners. The
    # shipper shares the first (unless the scene is as it was before the share).
    shared = post(actors["case_customer"], number, MARKERS["shared-customer-message"].text)
    post(
        world.carrier_actor,
        number,
        MARKERS["carrier-partners"].text,
        audience="partners",
        cc=[MARKERS["carrier-cc-address"].text],
    )
    post(actors["case_customer"], number, MARKERS["customer-message"].text)
    if share:
        kit.cases.share_with_carrier(world.shipper_actor, number, shared.id)
        kit.cases.share_contact(world.shipper_actor, number)
    # The shipper waits; the carrier solves it (the customer is told, by the carrier's
    # doing); the shipper reopens it; the carrier's manager gives it an owner on their side.
    kit.cases.change_status(world.shipper_actor, number, "waiting")
    kit.cases.solve(world.carrier_actor, number)
    kit.cases.reopen(world.shipper_actor, number)
    # The shipper switches the carrier out of the conversation and back in: the
    # carrier's collaborator address hears the case is its own again (its manager
    # chose not to), and both parties' webhooks hear of each switch.
    kit.notifications.set_subscriptions(world.carrier_manager_actor, {"carrier_named": False})
    for collaborating in (False, True):
        kit.cases.change(world.shipper_actor, number, {"carrier_collaborating": collaborating})
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    # Each side's watcher is writing on the case now: shown to its colleagues only.
    for watcher in watchers.values():
        kit.live.writing(Actor.of_user(watcher), number)
    kit.notifications.deliver()

    # Triage: mail naming the case from a stranger, written to the shipper's support
    # address, and a stranger's answer to the carrier's notification.
    stranger = (
        f"From: someone@else.test\r\nTo: support@acme.test\r\n"
        f"Subject: Re: [{number}] {MARKERS['shipper-triage'].text}\r\n"
        f"Message-ID: <leak-triage@else.test>\r\n\r\n{MARKERS['shipper-triage'].text}\r\n"
    )
    to_carrier = next(
        n.message
        for n in mail.outbox
        if n.email == MARKERS["carrier-collaborator-address"].text and n.event == "case_opened"
    )
    triage_mail = {
        SHIPPER: stranger.encode(),
        CARRIER: _answer(to_carrier, "mallory@evil.test", MARKERS["carrier-triage"].text),
    }
    triaged = [kit.inbound.receive(triage_mail[side]) for side in (SHIPPER, CARRIER)]
    assert [t.outcome.value for t in triaged] == ["triaged", "triaged"]
    for side, org in ((SHIPPER, shipper), (CARRIER, carrier)):
        kit.case_addresses.add(
            host, MARKERS[f"{side}-case-address"].text, org_id=org.id, unknown_senders="triage"
        )
    # Another address of the shipper, which strangers try to change.
    kit.case_addresses.add(host, "desk@acme.test", org_id=shipper.id, unknown_senders="triage")

    entries = kit.cases.timeline(host, number)
    recipients = {
        world.shipper_agent.email: "shipper_agent",
        world.shipper_manager.email: "shipper_manager",
        world.carrier_agent.email: "carrier_agent",
        watchers[SHIPPER].email: "shipper_watcher",
        watchers[CARRIER].email: "carrier_watcher",
        MARKERS["carrier-collaborator-address"].text: "carrier_collaborator",
        customer.email: "case_customer",
        MARKERS["shipper-cc-address"].text: "shipper_cc",
        MARKERS["carrier-cc-address"].text: "carrier_cc",
    }
    # Every viewer's list shows every column, so each column is read for markers.
    for person in actors.values():
        if person.is_user:
            kit.views.set_columns(person, COLUMNS)
    # The metrics endpoint is off by default; on here, so the route registry checks it.
    app = make_app(kit, WTF_CSRF_ENABLED=False, CASEKIT_METRICS=True)
    capture = MailCapture(mail_dir)
    for notification in mail.outbox:
        capture.casekit_deliver_notification(kit, notification)
    app.register_blueprint(demo_pages)
    app.extensions["casekit_demo"] = DemoRuntime(capture=capture)
    return Scene(
        kit=kit,
        app=app,
        mail=mail,
        values={
            "number": number,
            "entry_id": shared.id,
            "reference": "SHP-1",
            "table": "backlog_by_status",
            "filename": "casekit/casekit.css",
        },
        ids={
            "customer-id": customer.id,  # type: ignore[dict-item]
            "shipper-watcher-id": watchers[SHIPPER].id,  # type: ignore[dict-item]
            "carrier-watcher-id": watchers[CARRIER].id,  # type: ignore[dict-item]
        },
        actors=actors,
        tokens=tokens,
        recipients={address.lower(): name for address, name in recipients.items()},
        webhooks=webhooks,
        attachments=[a.id for e in entries for a in e.attachments],
        triage=[t.inbound_id for t in triaged],
        triage_mail=triage_mail,
        captured=capture.names(),
    )
