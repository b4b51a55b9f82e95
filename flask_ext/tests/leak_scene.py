"""The leak test's scene: one case with a marker in every private field.

The markers, the viewers and the groups they read as, and
:func:`build_scene`, which plants them; ``test_leaks.py`` holds the
registry of surfaces that reads them back.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import attrs
from conftest import login, make_app, strangers
from flask import Flask
from flask.testing import FlaskClient

from casekit import Actor, CaseKit, Side, Upload
from casekit.query.listing import COLUMNS
from casekit.testing import CapturedMail, FrozenClock, World
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
        # Each organization's tags are its own, like its CRM number: a tag's name on the
        # case, in its lists and reports, on its timeline (tag_added) and in its payloads.
        _text("shipper-tag", SHIPPER),
        _text("carrier-tag", CARRIER),
        # Each organization's private custom field is its own; a shared one is read by
        # both parties' staff, never the customer: on the case, its timeline, payloads.
        _text("shipper-field", SHIPPER),
        _text("carrier-field", CARRIER),
        _text("shipper-shared-field", SHIPPER, CARRIER),
        # The shipper's internal note on its disposition (casekit.domain.actions): never
        # read by the carrier or the customer, in an action, on a timeline, in a payload.
        _text("disposition-internal-note", SHIPPER),
        # The shipper's internal valuation of its freight claim (casekit.domain.claims):
        # never read by the carrier (who reads the claim) or the customer, on any surface.
        _text("shipper-valuation", SHIPPER),
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
        # A target's name is its organization's; the carrier shows its clocks (and so its
        # targets' names) to the shipper, the shipper keeps its own to itself.
        _text("shipper-target-name", SHIPPER),
        _text("carrier-target-name", CARRIER, SHIPPER),
        # Each side's internal note on a duplicate merged into the case: still its own there.
        _text("shipper-merged-note", SHIPPER),
        _text("carrier-merged-note", CARRIER),
        # Each organization's own network benchmark figures (casekit.services.network) are
        # its own: a figure planted with a value no other field holds.
        Marker("shipper-benchmark", frozenset({SHIPPER}), text="7303917"),
        Marker("carrier-benchmark", frozenset({CARRIER}), text="8404828"),
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


#: The body of the scene's canned replies: every variable that is not for every reader.
REPLY = (
    "crm {{ case.crm_number }} name {{ customer.name }} first {{ customer.first_name }} "
    "email {{ customer.email }} order {{ order.number }} shipment {{ shipment.reference }}"
)

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
    #: each side's service-level target (its name is the side's marker), by side
    targets: dict[str, int] = attrs.field(factory=dict)
    #: the canned replies, by side and audience ("shipper-partners"), and the shipper's
    #: agent's own ("shipper-own"); each body names every private variable
    replies: dict[str, int] = attrs.field(factory=dict)
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

    # Each side promises a solution on every case; the carrier keeps a calendar for its
    # cases with the shipper, and shows the shipper its clocks on them.
    targets = {
        side: kit.service_levels.save_target(
            actors[f"{side}_manager"],
            {
                "name": MARKERS[f"{side}-target-name"].text,
                # its breach tells the side's watcher too (escalation)
                "resolution": 8 * 3600,
                "warn_before": 3600,
                "escalation": {"watchers": [watchers[side].id]},
            },
        ).id
        for side in (SHIPPER, CARRIER)
    }
    kit.service_levels.set_calendar(
        actors["carrier_manager"],
        {
            "time_zone": "America/Chicago",
            "hours": {
                day: [["00:00", "24:00"]]
                for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
        },
        partner_org_id=shipper.id,
        share_clocks=True,
    )

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
    tags = {
        side: kit.tags.create(manager, MARKERS[f"{side}-tag"].text, colour="red").id
        for side, manager in (
            (SHIPPER, world.shipper_manager_actor),
            (CARRIER, world.carrier_manager_actor),
        )
    }
    kit.cases.change(world.shipper_actor, number, {"add_tags": [tags[SHIPPER]]})
    # A rule of the shipper's reads the shipment's cases by its own tag: the rules page
    # names the tag on the rule's card, for the shipper's staff alone. Switched off, so it
    # opens no case in the scene.
    tag_rule = kit.rules.create(
        world.shipper_manager_actor,
        {
            "name": "Escalate the tagged",
            "exceptions": ["lost"],
            "case_type": "lost",
            "case_min_priority": "high",
            "case_tags_any": [tags[SHIPPER]],
        },
        enabled=False,
    )
    kit.cases.change(world.carrier_actor, number, {"add_tags": [tags[CARRIER]], "priority": "high"})
    for side, manager, staff in (
        (SHIPPER, world.shipper_manager_actor, world.shipper_actor),
        (CARRIER, world.carrier_manager_actor, world.carrier_actor),
    ):
        kit.custom_fields.create(manager, "note", "Note", "text")
        values = {"note": MARKERS[f"{side}-field"].text}
        if side == SHIPPER:
            kit.custom_fields.create(manager, "dock", "Dock", "text", visibility="shared")
            values["dock"] = MARKERS["shipper-shared-field"].text
        kit.cases.change(staff, number, {"custom_fields": values})
    # A delivery appointment the carrier proposed and the shipper accepted, and a
    # disposition the shipper decided with its internal note.
    soon = kit.clock.now() + timedelta(days=1)
    offer = kit.actions.propose_appointment(
        world.carrier_actor, number, [(soon, soon + timedelta(hours=4))], time_zone="UTC"
    )
    kit.actions.accept_appointment(world.shipper_actor, number, offer.id)
    asked = kit.actions.request_disposition(
        world.carrier_actor, number, reason="damaged", deadline=soon + timedelta(days=2)
    )
    kit.actions.decide_disposition(
        world.shipper_actor, number, asked.id, choice="hold", payer="carrier",
        internal_note=MARKERS["disposition-internal-note"].text,
    )  # fmt: skip
    # A freight claim on the lost freight: the shipper values it (its valuation note is
    # the marker) and files it with the carrier, who acknowledges it.
    claim = kit.claims.draft(
        world.shipper_actor, number, {"lines": [{"description": "Carton", "amount": "80.00"}]}
    )
    kit.claims.set_valuation(
        world.shipper_actor, number, claim.id, expected_recovery="60.00",
        note=MARKERS["shipper-valuation"].text,
    )  # fmt: skip
    kit.claims.file(world.shipper_actor, number, claim.id)
    kit.claims.acknowledge(world.carrier_actor, number, claim.id, reference="FC-1")
    post = kit.messages.post
    # A duplicate, each side's internal note on it, merged into the case by the shipper
    # (before the case's messages: the latest message the lists show stays the customer's).
    duplicate = kit.cases.open(
        world.shipper_actor, type="lost", carrier=carrier.id, customer=customer.id
    ).number
    post(world.shipper_actor, duplicate, MARKERS["shipper-merged-note"].text, audience="internal")
    post(world.carrier_actor, duplicate, MARKERS["carrier-merged-note"].text, audience="internal")
    kit.cases.merge(world.shipper_actor, duplicate, into=number)
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
    # The resolution clocks run out: each side's owner is warned, then at the breach the
    # owner and the watcher its escalation names (the sweep writes the warnings).
    clock = kit.clock
    assert isinstance(clock, FrozenClock)
    for hours in (7, 1):
        clock.advance(hours=hours)
        swept = kit.service_levels.sweep()
        assert swept.clocks == 2, swept
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

    # Canned replies of each side for each audience it writes for, and the shipper's
    # agent's own: each pulls the author's CRM number and the customer's details, and
    # puts the side's own tag on (the case carries it already: applying changes nothing).
    replies = {
        f"{side}-{audience}": kit.canned_replies.save(
            actors[f"{side}_manager"],
            title=f"{side} {audience}",
            body=REPLY,
            audience=audience,
            actions={"add_tags": [tags[side]]},
        ).id
        for side, audiences in (
            (SHIPPER, ("internal", "partners", "customer", "everyone")),
            (CARRIER, ("internal", "partners")),
        )
        for audience in audiences
    }
    replies["shipper-own"] = kit.canned_replies.save(
        actors["shipper_agent"], title="mine", body=REPLY, audience="internal", personal=True
    ).id

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
    plant_benchmarks(kit, shipper.id, carrier.id)
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
            "tag_ids": tags,
            "duplicate": duplicate,
            "claim_id": claim.id,
            "rule_id": tag_rule.id,
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
        targets={side: target_id for side, target_id in targets.items() if target_id},
        replies={key: reply_id for key, reply_id in replies.items() if reply_id},
    )


def plant_benchmarks(kit: CaseKit, shipper_id: int, carrier_id: int) -> None:
    """Each side's own network benchmark figures of this month, with their markers as values
    (the shipper's about its carrier too), beside a published network figure."""
    from sqlalchemy import insert

    from casekit.domain.network import period_of
    from casekit.store import tables

    now = kit.clock.now()
    period = period_of(now)
    shipper_value = float(MARKERS["shipper-benchmark"].text)
    carrier_value = float(MARKERS["carrier-benchmark"].text)
    common = {"period": period, "case_type": "lost", "suppressed": None}
    rows = [
        {
            **common,
            "side": "shipper",
            "metric": "case_rate",
            "org_id": shipper_id,
            "partner_org_id": None,
            "value": shipper_value,
            "cases": 3,
            "organizations": None,
        },
        {
            **common,
            "side": "shipper",
            "metric": "response_hours",
            "case_type": "",
            "org_id": shipper_id,
            "partner_org_id": carrier_id,
            "value": shipper_value,
            "cases": 3,
            "organizations": None,
        },
        {
            **common,
            "side": "carrier",
            "metric": "case_rate",
            "org_id": carrier_id,
            "partner_org_id": None,
            "value": carrier_value,
            "cases": 3,
            "organizations": None,
        },
        {
            **common,
            "side": "shipper",
            "metric": "case_rate",
            "org_id": None,
            "partner_org_id": None,
            "value": 2.5,
            "cases": 40,
            "organizations": 6,
        },
    ]
    with kit.engine.begin() as conn:
        conn.execute(
            insert(tables.network_periods).values(
                period=period, as_of=now, computed_at=now, figures=len(rows)
            )
        )
        conn.execute(insert(tables.network_figures), rows)
