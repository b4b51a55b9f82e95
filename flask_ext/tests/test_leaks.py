"""The leak test: every surface, every viewer, a marker in every private field.

A scene (``leak_scene.py``) plants a unique marker (``MK-shipper-internal-7f3a``) in every
private field of one case: each side's internal note and internal
attachment (its name and its content), each side's partners message, the
messages for everyone, the customer's messages (one of them shared with the
carrier), both CRM numbers, each side's watcher (name, address and id), both
collaborator addresses, an address each side Cc'd on the thread, the
customer's name, address and id, and the mail each organization's triage
holds. Each marker names the groups of
viewers who may read it (:data:`MARKERS`).

:data:`SURFACES` is the registry of every place case data leaves the
engine: every page and API read of casekit's blueprints, the demo's
captured mail, the answers of the API's writes (:data:`WRITES`) and of the
pages' forms refused for their input (:data:`REFUSED`), the notification
mails per recipient (headers, text and HTML parts), the webhook payloads
per subscriber organization, search and the saved-view counts. For each surface and
each viewer the markers found must be exactly those the viewer may read
among those the surface shows: nothing forbidden, and the allowed ones
present, so that a surface cannot pass by showing nothing.
:func:`test_every_route_is_registered` fails when a route of casekit's
blueprints, for any method, is neither a surface nor listed in
:data:`NO_CASE_DATA` with its reason.

Leaks known today are in :data:`KNOWN_LEAKS`: their pairs are expected to
fail on those markers only, until the fixes land. The scene is built once
per database and read by every check; the writes come last and go through
it, each keeping what the others answer (:class:`Scenes`).
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from leak_scene import (
    CARRIER,
    CUSTOMER,
    KEYS,
    MARKERS,
    PEOPLE,
    RECIPIENTS,
    SHIPPER,
    SUBSCRIBERS,
    USERS,
    VIEWERS,
    Scene,
    build_scene,
)

from casekit import Actor, CaseKit, ShipmentFacts
from casekit.query.fulltext import terms
from casekit.query.listing import COLUMNS
from casekit.testing import CapturedMail, FakeShipments, FrozenClock, empty_tables, make_kit
from casekit.webhooks import WebhookEvent


@attrs.define
class Scenes:
    """The module's kit and its scene: built again for a read when a write went through it.

    The writes come last in the run's order, so one scene serves all unless
    a read follows a write (a worker given both in another order). Each
    write keeps what the others answer: it sets what is set already, or the
    case's status back.
    """

    kit: CaseKit
    mail: CapturedMail
    mail_dirs: pytest.TempPathFactory
    #: Whether the shipper shared its customer's message (see ``build_scene``).
    share: bool = True
    current: Scene | None = None

    def clean(self) -> Scene:
        """The scene as planted, for a read."""
        if self.current is None or self.current.written:
            if self.current is not None:
                empty_tables(self.kit)
                self.mail.outbox.clear()
            self.current = build_scene(
                self.kit, self.mail, self.mail_dirs.mktemp("mail"), share=self.share
            )
        return self.current

    def for_writes(self) -> Scene:
        """The scene, written or not (each write keeps what the others read)."""
        return self.current or self.clean()

    def for_surface(self, surface: Surface) -> Scene:
        """The scene to read ``surface`` on: any for a write, else a clean one."""
        return self.for_writes() if surface.writes else self.clean()


#: The mail's links to a case: the staff pages', the customer portal's.
STAFF_LINK = "https://shop.acme.test/cases/{number}"
PORTAL_LINK = "https://shop.acme.test/my-account/cases/{number}"


@pytest.fixture(scope="module")
def scenes(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenes]:
    """The module's scenes, on a kit of its own (the shipper shared its customer's message)."""
    yield from built_scenes(database_url, tmp_path_factory, share=True)


def built_scenes(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, *, share: bool
) -> Iterator[Scenes]:
    """Scenes on a kit of their own, emptied afterwards (with or without the share)."""
    shipments = FakeShipments()
    shipments.add_shipment(
        ShipmentFacts(
            reference="SHP-1",
            shipper="acme",
            carrier="fast",
            tracking_number="1Z001",
            destination_name="Casey 1",
        )
    )
    mail = CapturedMail()
    kit = make_kit(
        database_url,
        attachment_dir=tmp_path_factory.mktemp("leaks") / "attachments",
        clock=FrozenClock(),
        plugins=[shipments, mail],
        create_schema=False,
        mail_from="cases@acme.test",
        reply_address="reply@inbound.acme.test",
        reply_secrets=("leak-secret-0123456789abcdef",),
        case_url=STAFF_LINK,
        portal_case_url=PORTAL_LINK,
        unsubscribe_url="http://localhost/unsubscribe/{token}",
        webhook_allow_http_loopback=True,
        webhook_allow_private_addresses=True,
        network_benchmarks=True,
    )
    try:
        yield Scenes(kit, mail, tmp_path_factory, share=share)
    finally:
        empty_tables(kit)
        kit.close()


@pytest.fixture
def scene(scenes: Scenes) -> Scene:
    """The scene as planted, built once per database unless a write went through it."""
    return scenes.clean()


# -- the registry ---------------------------------------------------------------------------

Fetch = Callable[[Scene, str], str]
Form = dict[str, str] | Callable[[Scene, str], dict[str, str]]


@attrs.frozen
class Surface:
    """One place case data leaves the engine.

    ``fetch`` reads it as a viewer and answers all it shows as text.
    ``shows`` names the markers it is meant to show, to the viewers of
    ``meant_for``'s groups who may read them (``shows_to`` says it per
    viewer where viewers get different things, as each recipient of mail
    does); ``narrower`` narrows a marker's readers on this surface. Every
    viewer is checked for what it must not read, whether or not the surface
    is meant for it.
    """

    name: str
    fetch: Fetch
    viewers: tuple[str, ...]
    shows: frozenset[str]
    meant_for: frozenset[str] = frozenset({SHIPPER, CARRIER, CUSTOMER})
    groups: dict[str, str | None] = attrs.field(factory=lambda: VIEWERS)
    shows_to: dict[str, frozenset[str]] = attrs.field(factory=dict)
    narrower: dict[str, frozenset[str]] = attrs.field(factory=dict)
    endpoint: str | None = None
    method: str = "GET"
    writes: bool = False  # read from the scene as written by the other writes

    def readers(self, marker: str) -> frozenset[str]:
        return self.narrower.get(marker, MARKERS[marker].seen_by)

    def forbidden(self, viewer: str, found: Iterable[str]) -> set[str]:
        return {name for name in found if self.groups[viewer] not in self.readers(name)}

    def expected(self, viewer: str) -> set[str]:
        group = self.groups[viewer]
        if group not in self.meant_for:
            return set()
        return {n for n in self.shows_to.get(viewer, self.shows) if group in self.readers(n)}


def page(
    endpoint: str,
    *,
    each: str | None = None,
    query: str = "",
    method: str = "GET",
    form: Form | None = None,
) -> Fetch:
    """Read ``endpoint`` (for each id of ``each`` in the scene) as the viewer; or send
    it ``form`` (the viewer's, when a function) with ``method``."""

    def send(scene: Scene, viewer: str, url: str) -> str:
        data = form(scene, viewer) if callable(form) else form
        return scene.send(viewer, method, url, data=data)

    def fetch(scene: Scene, viewer: str) -> str:
        if each is None:
            return send(scene, viewer, scene.url(endpoint) + query)
        values: dict[str, tuple[str, list[int] | list[str]]] = {
            "attachment": ("attachment_id", scene.attachments),
            "triage": ("item_id", scene.triage),
            "webhook": ("webhook_id", list(scene.webhooks.values())),
            "mail": ("name", scene.captured),
            "target": ("target_id", list(scene.targets.values())),
            "reply": ("reply_id", list(scene.replies.values())),
        }
        name, ids = values[each]
        return "\n".join(send(scene, viewer, scene.url(endpoint, **{name: i}) + query) for i in ids)

    return fetch


def _mail_part(part: str) -> Fetch:
    def fetch(scene: Scene, viewer: str) -> str:
        found: list[str] = []
        for notification in scene.mail.outbox:
            if scene.recipients.get(notification.email.lower()) != viewer:
                continue
            message = notification.message
            if part == "headers":
                found.extend(f"{k}: {v}" for k, v in message.items())
            else:
                for piece in message.walk():
                    if piece.get_content_type() == f"text/{part}":
                        payload = piece.get_payload(decode=True)
                        assert isinstance(payload, bytes)
                        found.append(payload.decode(piece.get_content_charset() or "utf-8"))
        return "\n".join(found)

    return fetch


def webhook_payloads(scene: Scene, viewer: str) -> str:
    """The payloads queued for the subscriber's endpoint, as its manager reads them."""
    manager = {"shipper_org": "shipper_manager", "carrier_org": "carrier_manager"}[viewer]
    log = scene.kit.webhooks.deliveries(scene.actors[manager], scene.webhooks[viewer], limit=500)
    return "\n".join(json.dumps(d.payload, sort_keys=True) for d in log)


def share_again(scene: Scene, viewer: str) -> str:
    """The answer to sharing the shared customer's message once more, as the viewer."""
    client, headers = scene.client(viewer)
    response = client.post(scene.url("casekit_api_cases.share_entry"), headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 401, 403, 404), (viewer, body[:400])
    return body


def each_id(endpoint: str, name: str, markers: tuple[str, ...]) -> Fetch:
    """Read ``endpoint`` for each id the scene planted as ``markers`` (passed as ``name``)."""

    def fetch(scene: Scene, viewer: str) -> str:
        return "\n".join(
            scene.get(viewer, scene.url(endpoint, **{name: scene.ids[m]})) for m in markers
        )

    return fetch


DRILL = re.compile(r'href="([^"]+)" data-ck-drill="([^"]*)"')


def drill_downs(scene: Scene, viewer: str) -> str:
    """The case lists the dashboard's figures lead to: each one that counts a case (and
    the first, so a viewer with nothing to count is checked too)."""
    dashboard = scene.get(viewer, scene.url("casekit_dashboard.page"))
    links = DRILL.findall(dashboard)
    urls = {html.unescape(url) for url, count in links if count not in ("", "0")}
    urls.update(html.unescape(url) for url, _ in links[:1])
    return "\n".join(scene.get(viewer, url) for url in sorted(urls))


SEARCHED = tuple(name for name, m in MARKERS.items() if m.text)


def search_results(scene: Scene, viewer: str) -> str:
    """The markers whose text finds the case in the API's list search, and the
    snippets of what the search matched (full text: never a note the viewer
    may not read, in the match or in its snippet)."""
    found = []
    for name in SEARCHED:
        text = MARKERS[name].text
        body = scene.get(
            viewer, scene.url("casekit_api_cases.list_cases") + f"?view=all_cases&search={text}"
        )
        listed = json.loads(body).get("cases", [])  # none for a stranger's 401
        rows = [r for r in listed if r["number"] == scene.values["number"]]
        for row in rows:
            shown = (row.get("snippet") or {}).get("text")
            # Found by the marker itself: an identifier (no snippet), or the words
            # in the text shown. Another text the viewer reads may hold the same
            # words ("shared-customer-message" those of "customer-message"): then
            # the snippet shows that text, and the marker is not counted.
            if shown is None or text.lower() in shown.lower():
                found.append(text)
            if shown is not None:
                found.append(shown)
    return "\n".join(found)


def tag_filter_results(scene: Scene, viewer: str) -> str:
    """The markers of the tags whose id, in the API list's ``tag`` filter, finds the case."""
    found = []
    for side, tag_id in scene.values["tag_ids"].items():
        body = scene.get(
            viewer, scene.url("casekit_api_cases.list_cases") + f"?view=all_cases&tag={tag_id}"
        )
        if scene.values["number"] in body:
            found.append(MARKERS[f"{side}-tag"].text)
    return "\n".join(found)


def known_values(scene: Scene, viewer: str) -> str:
    """The values each free-valued filter offers the viewer (the list's choices)."""
    found = []
    for field in ("brand", "customer_segment", "region"):
        found.append(scene.get(viewer, scene.url("casekit_api_views.known", field=field)))
    return "\n".join(found)


#: The markers no other marker's text holds all the words of: a count cannot tell
#: which text matched ("customer-message"'s words are all in "shared-customer-message",
#: which the carrier reads), so it probes these; "search" checks all by their snippets.
UNAMBIGUOUS = tuple(
    name
    for name in SEARCHED
    if not any(
        set(terms(MARKERS[name].text)) <= set(terms(MARKERS[other].text))
        for other in SEARCHED
        if other != name
    )
)


def saved_view_counts(scene: Scene, viewer: str) -> str:
    """The markers whose text, searched by a saved view, counts the case."""
    kit, actor = scene.kit, scene.actors[viewer]
    views: dict[int, str] = {}
    for i, name in enumerate(UNAMBIGUOUS):
        query = {"view": "all_cases", "search": MARKERS[name].text}
        saved = kit.views.save(actor, f"probe {i}", query)
        assert saved.id is not None
        views[saved.id] = name
    try:
        counts = json.loads(scene.get(viewer, scene.url("casekit_api_views.counts")))["counts"]
    finally:
        for view_id in views:
            kit.views.delete(actor, view_id)
    return "\n".join(
        MARKERS[views[int(k[6:])]].text for k, v in counts.items() if k.startswith("saved:") and v
    )


#: Each side's internal note on the duplicate merged into the case.
MERGED_NOTES = frozenset({"shipper-merged-note", "carrier-merged-note"})


def merged_duplicate(scene: Scene, viewer: str) -> str:
    """The duplicate merged into the case: its API resource and timeline, and its staff and
    portal pages (each a redirect to the case)."""
    duplicate = scene.values["duplicate"]
    found = [
        scene.get(viewer, scene.url(endpoint, number=duplicate))
        for endpoint in (
            "casekit_api_cases.case",
            "casekit_api_cases.timeline",
            "casekit_staff.case_page",
            "casekit_portal.case_page",
        )
    ]
    return "\n".join(found)


MESSAGES = (
    frozenset(
        {
            "everyone-message",
            "customer-message",
            "shared-customer-message",
            "shipper-internal",
            "carrier-internal",
            "shipper-partners",
            "carrier-partners",
        }
    )
    | MERGED_NOTES
)
FILENAMES = frozenset({"shipper-internal-filename", "carrier-internal-filename"})
FILES = frozenset({"shipper-internal-file", "carrier-internal-file"})
CRM = frozenset({"shipper-crm", "carrier-crm"})
#: Each organization's tags: wherever its CRM number shows, and in its reports.
TAGS = frozenset({"shipper-tag", "carrier-tag"})
#: Each organization's custom field values: its private ones, and the shipper's shared one.
FIELDS = frozenset({"shipper-field", "carrier-field", "shipper-shared-field"})
#: The shipper's internal note on a disposition: in its own payloads only.
DISPOSITION_NOTE = frozenset({"disposition-internal-note"})
#: The shipper's internal valuation of a freight claim: in its own claims and payloads only.
VALUATION = frozenset({"shipper-valuation"})
WATCHERS = frozenset({"shipper-watcher", "carrier-watcher"})
#: What the search box finds a case by: the own CRM number, the words of the messages
#: and attachment names the viewer reads, the customer's name and email (not the carrier).
SEARCHABLE = CRM | MESSAGES | FILENAMES | frozenset({"customer-name", "customer-address"})
WATCHER_ADDRESSES = frozenset({"shipper-watcher-address", "carrier-watcher-address"})
WATCHER_IDS = frozenset({"shipper-watcher-id", "carrier-watcher-id"})
COLLABORATORS = frozenset({"shipper-collaborator-address", "carrier-collaborator-address"})
CASE_ADDRESSES = frozenset({"shipper-case-address", "carrier-case-address"})
TRIAGE = frozenset({"shipper-triage", "carrier-triage"})
#: Each side's target's name: in its clocks on a case (the carrier's shown to the shipper).
TARGET_NAMES = frozenset({"shipper-target-name", "carrier-target-name"})
#: Where an organization's targets are listed as its settings: its own only.
OWN_TARGETS = {"carrier-target-name": frozenset({CARRIER})}
#: Each organization's own network benchmark figures: on its Benchmarks page and API only.
BENCHMARKS = frozenset({"shipper-benchmark", "carrier-benchmark"})
NOTHING: frozenset[str] = frozenset()
ALL = tuple(VIEWERS)


STAFF = frozenset({SHIPPER, CARRIER})
CUSTOMER_DETAILS = frozenset({"customer-name", "customer-address", "customer-phone"})
#: The customer's contact details, which the shipper shared with the carrier on the case: the
#: carrier reads them on the case's page, in its API representation (and the writes' answers),
#: its webhooks' payloads and the mail to its users; nowhere else.
CONTACT = CUSTOMER_DETAILS
CONTACT_SHARED = {name: MARKERS[name].seen_by | {CARRIER} for name in CONTACT}
OWN_SIDE = {
    "shipper-collaborator-address": frozenset({SHIPPER}),
    "carrier-collaborator-address": frozenset({CARRIER}),
}


def http(
    endpoint: str,
    shows: Iterable[str],
    *,
    each: str | None = None,
    query: str = "",
    api: bool = False,
    **kw: Any,
) -> Surface:
    """A page (read by people; a key is no one there) or an API read (keys too)."""
    return Surface(
        name=endpoint,
        endpoint=endpoint,
        fetch=page(endpoint, each=each, query=query),
        viewers=ALL if api else PEOPLE,
        shows=frozenset(shows),
        **kw,
    )


def api(endpoint: str, shows: Iterable[str], **kw: Any) -> Surface:
    return http(endpoint, shows, api=True, **kw)


ALL_CASES = "?view=all_cases"
#: A list's excerpt of the latest message: the customer's, but for the carrier, who reads its
#: own before it (the customer's message the shipper shared is older).
LATEST = frozenset({"customer-message", "carrier-partners"})
LATEST_READERS = {"carrier-partners": frozenset({CARRIER})}
#: The portal's list: a case's first message the customer reads (its title) and the latest.
PORTAL_LIST = frozenset({"everyone-message", "customer-message"})
#: Mails and webhook payloads about the customer's messages were written before the share.
TOLD_BEFORE_THE_SHARE = {"shared-customer-message": frozenset({SHIPPER, CUSTOMER})}
PAYLOADS = (
    MESSAGES
    | FILENAMES
    | CRM
    | TAGS
    | FIELDS
    | WATCHER_IDS
    | CONTACT
    | TARGET_NAMES
    | DISPOSITION_NOTE
    | VALUATION
    | {"customer-id"}
)
CASE_PAGE = (
    MESSAGES | FILENAMES | CRM | TAGS | FIELDS | WATCHERS | CONTACT | DISPOSITION_NOTE | VALUATION
) | {"carrier-collaborator-address"}
#: The case page's carrier form is the shipper's: it shows its staff the pair's carrier address.
CARRIER_FORM = {"carrier-collaborator-address": frozenset({SHIPPER})} | CONTACT_SHARED
#: A case in the API (a write's answer too), its clocks with their targets' names.
CASE = CRM | TAGS | FIELDS | WATCHER_IDS | CONTACT | TARGET_NAMES | {"customer-id"}
#: Each recipient's notifications: their own address, and the messages they are told of.
MAIL_HEADERS = {
    "shipper_manager": frozenset({"customer-name"}),  # told of the customer's message
    "shipper_watcher": frozenset({"shipper-watcher", "shipper-watcher-address"}),
    "carrier_watcher": frozenset({"carrier-watcher", "carrier-watcher-address"}),
    "carrier_collaborator": frozenset({"carrier-collaborator-address"}),
    "case_customer": frozenset({"customer-name", "customer-address"}),
    "shipper_cc": frozenset({"shipper-cc-address"}),
    "carrier_cc": frozenset({"carrier-cc-address"}),
}
TOLD_BY_CUSTOMER = frozenset({"customer-message", "shared-customer-message", "customer-name"})
#: The service-level warnings: each side's owner and (at the breach) its watcher read
#: their side's target, never the other's.
MAIL_MESSAGES = {
    "shipper_agent": TOLD_BY_CUSTOMER | {"carrier-partners", "shipper-target-name"},
    "shipper_manager": TOLD_BY_CUSTOMER,
    "carrier_agent": TOLD_BY_CUSTOMER | CONTACT | {"shipper-partners", "carrier-target-name"},
    # The watchers watch the case, not the duplicate: not told of the notes merged in.
    "shipper_watcher": TOLD_BY_CUSTOMER
    | MESSAGES - {"everyone-message", "carrier-internal"} - MERGED_NOTES
    | {"shipper-target-name"},
    "carrier_watcher": TOLD_BY_CUSTOMER
    | CONTACT
    | MESSAGES - {"everyone-message", "shipper-internal"} - MERGED_NOTES
    | {"carrier-target-name"},
    "carrier_collaborator": TOLD_BY_CUSTOMER | CONTACT | MESSAGES - {"shipper-internal"},
    "case_customer": frozenset({"everyone-message"}),
    # An address Cc'd for a side hears what that side reads from then on.
    "shipper_cc": TOLD_BY_CUSTOMER | {"shipper-partners", "carrier-partners"},
    "carrier_cc": frozenset({"carrier-partners"}),
}

#: Whose mail each viewer reads on the demo's pages.
DEMO_INBOXES = {
    "shipper_agent": ("shipper_agent",),
    "shipper_manager": ("shipper_manager",),
    "carrier_agent": ("carrier_agent", "carrier_collaborator"),
    "carrier_manager": ("carrier_collaborator",),
    "case_customer": ("case_customer",),
}
#: A captured mail's page shows its headers and text; the list its recipient and subject.
DEMO_MAIL = {
    viewer: NOTHING.union(*(MAIL_HEADERS.get(r, NOTHING) | MAIL_MESSAGES[r] for r in inbox))
    for viewer, inbox in DEMO_INBOXES.items()
}
DEMO_MAIL_LIST = {
    viewer: NOTHING.union(*(MAIL_HEADERS.get(r, NOTHING) for r in inbox))
    for viewer, inbox in DEMO_INBOXES.items()
}

#: The unsubscribe page of a recipient's mail: the case number and the recipient's own address.
UNSUBSCRIBE_PAGE = {
    "shipper_watcher": frozenset({"shipper-watcher-address"}),
    "carrier_watcher": frozenset({"carrier-watcher-address"}),
    "carrier_collaborator": frozenset({"carrier-collaborator-address"}),
    "case_customer": frozenset({"customer-address"}),
    "shipper_cc": frozenset({"shipper-cc-address"}),
    "carrier_cc": frozenset({"carrier-cc-address"}),
}


def unsubscribe_links(scene: Scene, viewer: str) -> list[str]:
    """The paths of the unsubscribe links in the mail to ``viewer``, once each."""
    from urllib.parse import urlsplit

    links = [
        str(n.message["List-Unsubscribe"]).strip().strip("<>")
        for n in scene.mail.outbox
        if scene.recipients.get(n.email.lower()) == viewer
    ]
    assert links, viewer
    assert all(links), viewer
    return [urlsplit(link).path for link in dict.fromkeys(links)]


def unsubscribe_page(method: str, suffix: str = "", actions: tuple[str, ...] = ()) -> Fetch:
    """The unsubscribe page of each link in the viewer's mail: read (GET), clicked once
    (one-click POST) or sent the page's ``actions``; a write subscribes the viewer again."""

    def fetch(scene: Scene, viewer: str) -> str:
        found = []
        for path in unsubscribe_links(scene, viewer):
            if method == "GET":
                found.append(scene.get(viewer, path))
                continue
            scene.written = True
            forms = [{"action": a} for a in actions] or [{"List-Unsubscribe": "One-Click"}]
            for form in forms:
                found.append(scene.send(viewer, "POST", path + suffix, data=form))
            scene.kit.unsubscribe.resubscribe(path.rsplit("/", 1)[1])
        return "\n".join(found)

    return fetch


def unsubscribe_surface(name: str, endpoint: str, fetch: Fetch, method: str) -> Surface:
    return Surface(
        name=name,
        endpoint=endpoint,
        method=method,
        fetch=fetch,
        viewers=tuple(RECIPIENTS),
        groups=dict(RECIPIENTS),
        shows=NOTHING,
        shows_to=UNSUBSCRIBE_PAGE,
        narrower=OWN_SIDE,
        writes=method != "GET",
    )


def case_address_url(scene: Scene, marker: str) -> str:
    return scene.url("casekit_api_case_addresses.get_address", email=MARKERS[marker].text)


def both_case_addresses(scene: Scene, viewer: str) -> str:
    """Each organization's case address, asked for by the viewer: the answers it got (a
    refusal names the address asked for, which the viewer sent: it counts as nothing)."""
    found = []
    for marker in sorted(CASE_ADDRESSES):
        client, headers = scene.client(viewer)
        response = client.get(case_address_url(scene, marker), headers=headers)
        assert response.status_code in (200, 401, 403, 404), (viewer, response.text[:400])
        found.append(response.text if response.status_code == 200 else str(response.status_code))
        response.close()
    return "\n".join(found)


#: The customer's details a canned reply's variables give.
REPLY_CUSTOMER = frozenset({"customer-name", "customer-address"})


def rendered_replies(scene: Scene, viewer: str) -> str:
    """Every canned reply of the scene rendered for the case, as the viewer inserts it."""
    return "\n".join(
        scene.send(
            viewer,
            "POST",
            scene.url("casekit_api_canned_replies.render", reply_id=reply_id),
            json={"case": scene.values["number"]},
        )
        for reply_id in scene.replies.values()
    )


#: Who reads each canned reply of the scene once posted: its audience's readers. The viewer
#: "shipper-partners>carrier" is the carrier reading the shipper's reply for partners.
REPLY_READERS = {
    "shipper-internal": (SHIPPER,),
    "shipper-own": (SHIPPER,),
    "shipper-partners": (SHIPPER, CARRIER),
    "shipper-customer": (SHIPPER, CUSTOMER),
    "shipper-everyone": (SHIPPER, CARRIER, CUSTOMER),
    "carrier-internal": (CARRIER,),
    "carrier-partners": (CARRIER, SHIPPER),
}
REPLY_VIEWERS: dict[str, str | None] = {
    f"{reply}>{group}": group for reply, groups in REPLY_READERS.items() for group in groups
}
#: What each reply shows: the author's CRM number in internal replies, the customer's details.
REPLY_SHOWS = {
    viewer: REPLY_CUSTOMER
    | ({f"{viewer[:7]}-crm"} if viewer.split(">")[0].endswith(("internal", "own")) else set())
    for viewer in REPLY_VIEWERS
}


def reply_as_read(scene: Scene, viewer: str) -> str:
    """The reply of ``viewer`` ("shipper-partners>carrier") rendered by its side's agent:
    the text its audience's readers read once it is posted."""
    reply = viewer.split(">")[0]
    author = scene.actors[f"{reply.split('-')[0]}_agent"]
    rendered = scene.kit.canned_replies.render(
        author, scene.replies[reply], scene.values["number"], record=False
    )
    return rendered.body


def with_field_columns(endpoint: str, *, sorted_by: bool = True) -> Fetch:
    """``endpoint`` (the list, its CSV export, the API's list) as the viewer reads it with
    every built-in column and every custom field it reads chosen as columns, once as it
    is and once sorted by each such field (the viewer's columns are put back after).

    The columns a user may choose are the fields it reads: a private field of the
    other party is no column, and sorting by it is refused like a name no field has
    (each viewer tries the names of every field of the scene as sorts too).
    """

    def fetch(scene: Scene, viewer: str) -> str:
        kit, actor = scene.kit, scene.actors.get(viewer)
        url = scene.url(endpoint) + ALL_CASES
        names = ("note", "dock", "shipper.note", "shipper.dock", "carrier.note", "carrier.dock")
        tried = [f"cf:{name}" for name in names]
        if actor is None or not actor.is_user:
            sorted_urls = [f"{url}&sort={sort}" for sort in tried]
            return "\n".join(scene.get(viewer, u) for u in [url, *sorted_urls])
        fields = kit.views.field_columns(actor)
        before = kit.views.columns(actor)  # the scene's choice (its CRM number column)
        kit.views.set_columns(actor, [*COLUMNS, *(f.column for f in fields)])
        try:
            found = [scene.get(viewer, url)]
            if sorted_by:
                found += [scene.get(viewer, f"{url}&sort={sort}&dir=asc") for sort in tried]
        finally:
            kit.views.set_columns(actor, list(before))
        return "\n".join(found)

    return fetch


SURFACES: list[Surface] = [
    # Staff pages
    http(
        "casekit_staff.case_list",
        CRM | TAGS | LATEST | WATCHERS,
        query=ALL_CASES,
        meant_for=STAFF,
        narrower=LATEST_READERS,
    ),
    http(
        "casekit_staff.export_csv",
        CRM | TAGS | LATEST,
        query=ALL_CASES,
        meant_for=STAFF,
        narrower=LATEST_READERS,
    ),
    # Each custom field the viewer reads as a column of the list and its export, and as
    # the list's sort (docs/custom-fields.rst).
    Surface(
        name="casekit_staff.case_list with custom field columns",
        endpoint="casekit_staff.case_list",
        fetch=with_field_columns("casekit_staff.case_list"),
        viewers=PEOPLE,
        shows=CRM | TAGS | LATEST | WATCHERS | FIELDS,
        meant_for=STAFF,
        narrower=LATEST_READERS,
    ),
    Surface(
        name="casekit_staff.export_csv with custom field columns",
        endpoint="casekit_staff.export_csv",
        fetch=with_field_columns("casekit_staff.export_csv"),
        viewers=PEOPLE,
        shows=CRM | TAGS | LATEST | FIELDS,
        meant_for=STAFF,
        narrower=LATEST_READERS,
    ),
    http(
        "casekit_staff.case_page",
        CASE_PAGE,
        meant_for=STAFF,
        narrower=CARRIER_FORM,
    ),
    http("casekit_staff.attachment", FILES, each="attachment", meant_for=STAFF),
    Surface(
        name="casekit_staff.attachment (inline)",
        fetch=page("casekit_staff.attachment", each="attachment", query="?inline=1"),
        viewers=PEOPLE,
        shows=FILES,
        meant_for=STAFF,
    ),
    http("casekit_staff.shipment_fragment", NOTHING),
    http("casekit_staff.collaborator_addresses", COLLABORATORS),
    # The page offers the organization's users as owners: the watchers are among them.
    http("casekit_staff.case_addresses", CASE_ADDRESSES | WATCHERS, meant_for=STAFF),
    # Canned replies: the pages offer the organization's users (the watchers among them)
    # and its own tags for the actions; a reply's page is its organization's (a personal
    # one its user's).
    http("casekit_staff.canned_replies", WATCHERS | TAGS, meant_for=STAFF),
    http("casekit_staff.canned_reply", WATCHERS | TAGS, each="reply", meant_for=STAFF),
    # Each reply rendered for the case: the viewer's side's own (another organization's, or
    # another user's own, is not found), with the author's CRM number and the customer's
    # details as its audience's readers may read them.
    Surface(
        name="POST casekit_api_canned_replies.render",
        endpoint="casekit_api_canned_replies.render",
        method="POST",
        fetch=rendered_replies,
        viewers=ALL,
        shows=CRM | REPLY_CUSTOMER,
        meant_for=STAFF,
        shows_to={"shipper_read_key": NOTHING, "carrier_read_key": NOTHING},
        narrower=CONTACT_SHARED,
    ),
    # And as each reader of its audience reads it once posted: never the author's CRM number
    # outside its organization, the customer's details only where the carrier may read them.
    Surface(
        name="canned replies as their audience reads them",
        fetch=reply_as_read,
        viewers=tuple(REPLY_VIEWERS),
        groups=REPLY_VIEWERS,
        shows=NOTHING,
        shows_to=REPLY_SHOWS,
        narrower=CONTACT_SHARED,
    ),
    http("casekit_staff.triage", TRIAGE),
    # The organization's tag list: its own tags only.
    http("casekit_staff.tag_settings", TAGS, meant_for=STAFF),
    # A rule's page: the rule names the shipper's tag, and its form offers the shipper's
    # tags; the shipper's alone (another organization finds no such rule).
    http("casekit_staff.rule", {"shipper-tag"}, meant_for=frozenset({SHIPPER})),
    # The targets' pages: the organization's own; a target's form and the new one offer its
    # users as watchers (the new one is its managers').
    http("casekit_staff.service_levels", TARGET_NAMES, meant_for=STAFF, narrower=OWN_TARGETS),
    http(
        "casekit_staff.service_level",
        TARGET_NAMES | WATCHERS,
        each="target",
        meant_for=STAFF,
        narrower=OWN_TARGETS,
    ),
    http(
        "casekit_staff.new_service_level",
        WATCHERS,
        meant_for=STAFF,
        shows_to={"shipper_agent": NOTHING, "carrier_agent": NOTHING},
    ),
    http("casekit_staff.triage_item", TRIAGE, each="triage"),
    http("casekit_staff.triage_original", TRIAGE, each="triage"),
    # The reports count the active cases by each of the organization's own tags.
    http("casekit_dashboard.page", WATCHERS | TAGS),
    # One table in full (the page shows each table's largest rows): the owners' table.
    Surface(
        name="casekit_dashboard.page?table=backlog_by_owner",
        endpoint="casekit_dashboard.page",
        fetch=page("casekit_dashboard.page", query="?table=backlog_by_owner"),
        viewers=PEOPLE,
        shows=frozenset(WATCHERS),
    ),
    http("casekit_dashboard.as_json", WATCHERS | TAGS),
    http("casekit_dashboard.table_csv", NOTHING),
    http("casekit_dashboard.benchmarks", BENCHMARKS),
    api("casekit_api_network.benchmarks", BENCHMARKS),
    Surface(
        name="report drill-downs",
        fetch=drill_downs,
        viewers=PEOPLE,
        shows=CRM | TAGS | LATEST | WATCHERS,
        meant_for=STAFF,
        narrower=LATEST_READERS,
    ),
    # The customer's portal
    # Each case titled by its first message the customer reads, with the latest one's excerpt.
    http("casekit_portal.my_cases", PORTAL_LIST, meant_for=frozenset({CUSTOMER})),
    http("casekit_portal.case_page", MESSAGES, meant_for=frozenset({CUSTOMER})),
    http("casekit_portal.attachment", FILES, each="attachment", meant_for=frozenset({CUSTOMER})),
    # Live updates: the signal of what each reads, and the colleagues writing (each side its
    # own watcher, who writes on the case); the customer's, the signal alone.
    http("casekit_staff.live_state", WATCHERS, meant_for=STAFF),
    http("casekit_portal.live_state", NOTHING, meant_for=frozenset({CUSTOMER})),
    # An API key is no user: it has no colleagues writing.
    api("casekit_api_cases.live", WATCHERS, meant_for=STAFF, shows_to=dict.fromkeys(KEYS, NOTHING)),
    # The same file asked for in place (a photo's thumbnail): the same check, the same bytes.
    Surface(
        name="casekit_portal.attachment (inline)",
        fetch=page("casekit_portal.attachment", each="attachment", query="?inline=1"),
        viewers=PEOPLE,
        shows=FILES,
        meant_for=frozenset({CUSTOMER}),
    ),
    # The REST API
    api(
        "casekit_api_cases.list_cases",
        CRM | TAGS | LATEST,
        query=ALL_CASES,
        narrower=LATEST_READERS,
    ),
    Surface(
        name="casekit_api_cases.list_cases sorted by custom fields",
        endpoint="casekit_api_cases.list_cases",
        fetch=with_field_columns("casekit_api_cases.list_cases"),
        viewers=ALL,
        shows=CRM | TAGS | LATEST,
        narrower=LATEST_READERS,
    ),
    api("casekit_api_cases.case", CASE, narrower=CONTACT_SHARED),
    api("casekit_api_cases.timeline", MESSAGES | FILENAMES | CRM | TAGS | FIELDS | {"customer-id"}),
    # The duplicate merged into the case (each side's internal note on it is among the
    # case's messages, still its side's own): its own resource and timeline, which say
    # where it went, and its pages, which send their readers on, show none of them.
    # What they show is the duplicate's own: its customer's details (never shared with the
    # carrier there), its clocks' targets.
    Surface(
        name="the merged duplicate",
        fetch=merged_duplicate,
        viewers=ALL,
        shows=CONTACT | TARGET_NAMES | {"customer-id"},
    ),
    # The page that confirms a merge shows the case (its customer, to the shipper's staff).
    http("casekit_staff.merge_case", {"customer-name"}, meant_for=STAFF),
    api("casekit_api_cases.attachment", FILES, each="attachment"),
    # Sharing the shared message again (which changes nothing) answers it to the shipper.
    Surface(
        name="casekit_api_cases.share_entry",
        endpoint="casekit_api_cases.share_entry",
        method="POST",
        fetch=share_again,
        viewers=ALL,
        shows=frozenset({"shared-customer-message", "customer-id"}),
        meant_for=frozenset({SHIPPER}),
        shows_to={"shipper_read_key": NOTHING},
    ),
    api("casekit_api_views.counts", NOTHING),
    Surface(
        name="known values",
        endpoint="casekit_api_views.known",
        fetch=known_values,
        viewers=ALL,
        shows=NOTHING,
    ),
    api("casekit_api_reports.report", WATCHERS | TAGS, query="?from=2026-01-01&to=2026-01-31"),
    # Counts by carrier and choice, storage charged by currency: no text of a case.
    api("casekit_api_reports.action_report", NOTHING, meant_for=STAFF),
    api("casekit_api_reports.collaborator_addresses", COLLABORATORS),
    api("casekit_api_case_addresses.list_addresses", CASE_ADDRESSES, meant_for=STAFF),
    Surface(
        name="casekit_api_case_addresses.get_address",
        endpoint="casekit_api_case_addresses.get_address",
        fetch=both_case_addresses,
        viewers=ALL,
        shows=CASE_ADDRESSES,
        meant_for=STAFF,
    ),
    api("casekit_api_triage.triage", TRIAGE),
    api("casekit_api_tags.list_tags", TAGS, meant_for=STAFF),
    # The case's appointments and dispositions: the shipper's internal note to its own.
    api("casekit_api_actions.list_actions", DISPOSITION_NOTE, meant_for=STAFF),
    # The case's freight claims, and one of them: the valuation to the shipper's own.
    api("casekit_api_claims.list_claims", VALUATION, meant_for=STAFF),
    api("casekit_api_claims.claim", VALUATION, meant_for=STAFF),
    # The claims report: counts and amounts by carrier, never the valuation.
    api("casekit_api_claims.claims_report", NOTHING, meant_for=STAFF),
    api("casekit_api_triage.item", TRIAGE, each="triage"),
    # An organization's targets, its own staff's and keys' (the other side's is not found).
    api("casekit_api_service_levels.targets", TARGET_NAMES, meant_for=STAFF, narrower=OWN_TARGETS),
    api(
        "casekit_api_service_levels.target",
        TARGET_NAMES,
        each="target",
        meant_for=STAFF,
        narrower=OWN_TARGETS,
    ),
    # A subscription's log is its organization's managers' (and keys').
    api(
        "casekit_api_webhooks.webhook_deliveries",
        PAYLOADS,
        each="webhook",
        meant_for=STAFF,
        shows_to={"shipper_agent": NOTHING, "carrier_agent": NOTHING},
        narrower=TOLD_BEFORE_THE_SHARE | CONTACT_SHARED,
    ),
    # Each organization sees the deliveries to its own people, its own address and the
    # address Cc'd for it (the shipper its customer's too); the customer sees its own.
    api(
        "casekit_api_webhooks.case_deliveries",
        WATCHERS
        | WATCHER_ADDRESSES
        | {"carrier-collaborator-address", "shipper-cc-address", "carrier-cc-address"}
        | {"customer-name", "customer-address", "customer-id"},
        narrower=OWN_SIDE,
    ),
    # The directory: each organization's own users and customers, and their changes.
    api("casekit_api_directory.list_users", WATCHERS | WATCHER_ADDRESSES, meant_for=STAFF),
    Surface(
        name="casekit_api_directory.user",
        endpoint="casekit_api_directory.user",
        fetch=each_id(
            "casekit_api_directory.user", "user_id", ("shipper-watcher-id", "carrier-watcher-id")
        ),
        viewers=ALL,
        shows=WATCHERS | WATCHER_ADDRESSES,
        meant_for=STAFF,
    ),
    api(
        "casekit_api_directory.list_customers",
        CUSTOMER_DETAILS,
        query=f"?email={MARKERS['customer-address'].text}",
        meant_for=frozenset({SHIPPER}),
    ),
    Surface(
        name="casekit_api_directory.customer",
        endpoint="casekit_api_directory.customer",
        fetch=each_id("casekit_api_directory.customer", "customer_id", ("customer-id",)),
        viewers=ALL,
        shows=CUSTOMER_DETAILS,
    ),
    # The audit trail names who was added (a customer by address): its managers' and keys'.
    api(
        "casekit_api_directory.changes",
        WATCHERS | {"customer-address"},
        meant_for=STAFF,
        shows_to={"shipper_agent": NOTHING, "carrier_agent": NOTHING},
    ),
    # The demo's captured mail: each identity the mail sent to it, staff also the mail to
    # their organization's collaborator addresses.
    http("casekit_demo.captured_mail", NOTHING, shows_to=DEMO_MAIL_LIST, narrower=OWN_SIDE),
    http(
        "casekit_demo.captured_message",
        NOTHING,
        each="mail",
        shows_to=DEMO_MAIL,
        narrower=OWN_SIDE | TOLD_BEFORE_THE_SHARE | CONTACT_SHARED,
    ),
    # Beyond HTTP
    Surface(name="search", fetch=search_results, viewers=ALL, shows=SEARCHABLE),
    # Another organization's tag id in a filter finds nothing.
    Surface(name="tag filters", fetch=tag_filter_results, viewers=ALL, shows=TAGS),
    Surface(
        name="saved view counts",
        fetch=saved_view_counts,
        viewers=USERS,
        shows=SEARCHABLE & frozenset(UNAMBIGUOUS),
    ),
    *(
        Surface(
            name=f"mail {part}",
            fetch=_mail_part(part),
            viewers=tuple(RECIPIENTS),
            groups=dict(RECIPIENTS),
            shows=NOTHING,
            shows_to=MAIL_HEADERS if part == "headers" else MAIL_MESSAGES,
            narrower=OWN_SIDE | TOLD_BEFORE_THE_SHARE | CONTACT_SHARED,
        )
        for part in ("headers", "plain", "html")
    ),
    # The unsubscribe pages, opened with the token of each recipient's mail.
    unsubscribe_surface(
        "casekit_unsubscribe.page", "casekit_unsubscribe.page", unsubscribe_page("GET"), "GET"
    ),
    unsubscribe_surface(
        "POST casekit_unsubscribe.one_click",
        "casekit_unsubscribe.one_click",
        unsubscribe_page("POST"),
        "POST",
    ),
    unsubscribe_surface(
        "POST casekit_unsubscribe.change",
        "casekit_unsubscribe.change",
        unsubscribe_page("POST", "/change", ("unsubscribe", "unsubscribe_all", "resubscribe")),
        "POST",
    ),
    Surface(
        name="webhook payloads",
        fetch=webhook_payloads,
        viewers=tuple(SUBSCRIBERS),
        groups=dict(SUBSCRIBERS),
        shows=PAYLOADS,
        narrower=TOLD_BEFORE_THE_SHARE | CONTACT_SHARED,
    ),
]

# -- writes: the API's answers that show a case or an entry ----------------------------------

Request = tuple[str, str, dict[str, Any]]  # method, URL, the test client's keywords
Requests = Callable[[Scene, str], list[Request]]


def _side(viewer: str) -> str:
    """The side a viewer writes as: its own; any other viewer tries the shipper's."""
    group = VIEWERS[viewer]
    return group if group in STAFF else SHIPPER


def _user(scene: Scene, name: str) -> int:
    user_id = scene.actors[name].user_id
    assert user_id is not None
    return user_id


def _case_url(scene: Scene, endpoint: str, **values: Any) -> str:
    return scene.url(f"casekit_api_cases.{endpoint}", **values)


def patch(*changes: Callable[[str], dict[str, str]]) -> Requests:
    """PATCH the case with each change (of the viewer's side), one request each."""
    return lambda scene, viewer: [
        ("PATCH", _case_url(scene, "update_case"), {"json": change(_side(viewer))})
        for change in changes
    ]


def keep_carrier(scene: Scene, viewer: str) -> list[Request]:
    """The case's carrier, collaborating, as it is (nothing changes): the shipper's to send."""
    body = {"carrier": _pair(scene)["carrier_org_id"], "carrier_collaborating": True}
    return [("PATCH", _case_url(scene, "update_case"), {"json": body})]


def share_contact(scene: Scene, viewer: str) -> list[Request]:
    """Share the customer's contact details with the carrier (shared already)."""
    return [("POST", _case_url(scene, "share_contact"), {})]


def withdraw_contact(scene: Scene, viewer: str) -> list[Request]:
    """Withdraw the customer's contact details from the carrier, then share them again."""
    return [("DELETE", _case_url(scene, "withdraw_contact"), {}), *share_contact(scene, viewer)]


SHIPPERS = frozenset({SHIPPER})


def set_owner(scene: Scene, viewer: str) -> list[Request]:
    """The viewer's side's owner slot to the user who holds it (nothing changes)."""
    side = _side(viewer)
    url = _case_url(scene, "set_owner", side=side)
    return [("PUT", url, {"json": {"user_id": _user(scene, f"{side}_agent")}})]


def watch(scene: Scene, viewer: str) -> list[Request]:
    """The viewer's side's watcher, watching already (nothing changes)."""
    user_id = scene.ids[f"{_side(viewer)}-watcher-id"]
    return [("PUT", _case_url(scene, "watch", user_id=user_id), {})]


def unwatch(scene: Scene, viewer: str) -> list[Request]:
    """The viewer itself (a key: its side's manager), who does not watch (nothing changes)."""
    actor = scene.actors.get(viewer)
    user_id = (actor.user_id if actor else None) or _user(scene, f"{_side(viewer)}_manager")
    return [("DELETE", _case_url(scene, "unwatch", user_id=user_id), {})]


def _own(viewer: str) -> str:
    """The viewer's own private message: a side's internal note, the customer's message."""
    return "customer-message" if VIEWERS[viewer] == CUSTOMER else f"{_side(viewer)}-internal"


def _message(viewer: str) -> dict[str, str]:
    body = {"body": MARKERS[_own(viewer)].text}
    return body if VIEWERS[viewer] == CUSTOMER else body | {"audience": "internal"}


#: What a viewer's own message shows it: the text, to the customer its id as the author.
OWN_MESSAGE = {
    viewer: frozenset({_own(viewer)} | ({"customer-id"} if group == CUSTOMER else set()))
    for viewer, group in VIEWERS.items()
}
#: And its attachment's name (staff name it after their side's internal file).
OWN_ATTACHMENT = {
    viewer: shown | ({f"{_side(viewer)}-internal-filename"} if group in STAFF else set())
    for (viewer, shown), group in zip(OWN_MESSAGE.items(), VIEWERS.values(), strict=True)
}


def post_message(scene: Scene, viewer: str) -> list[Request]:
    return [("POST", _case_url(scene, "post_message"), {"json": _message(viewer)})]


def post_attachment(scene: Scene, viewer: str) -> list[Request]:
    """A message with an attachment: staff name it after their side's internal file."""
    name = (
        "photo"
        if VIEWERS[viewer] == CUSTOMER
        else MARKERS[f"{_side(viewer)}-internal-filename"].text
    )
    data = {**_message(viewer), "attachments": (io.BytesIO(b"a file"), f"{name}.txt")}
    return [("POST", _case_url(scene, "post_message"), {"data": data})]


def _pair(scene: Scene) -> dict[str, int | None]:
    """The case's shipper and carrier."""
    orgs = (scene.actors[f"{side}_manager"].org_id for side in (SHIPPER, CARRIER))
    return dict(zip(("shipper_org_id", "carrier_org_id"), orgs, strict=True))


def set_collaborator_address(scene: Scene, viewer: str) -> list[Request]:
    """The viewer's side's collaborator address of the pair, to the one it is (nothing changes)."""
    side = _side(viewer)
    email = MARKERS[f"{side}-collaborator-address"].text
    body = _pair(scene) | {"side": side, "email": email}
    return [("PUT", scene.url("casekit_api_reports.set_collaborator_address"), {"json": body})]


def update_case_address(scene: Scene, viewer: str) -> list[Request]:
    """The viewer's side's case address, set to what it is (nothing changes); a stranger
    tries the shipper's (its 404 names the address it sent, so each is read as text)."""
    if VIEWERS[viewer] in STAFF:
        url = case_address_url(scene, f"{_side(viewer)}-case-address")
    else:
        url = scene.url("casekit_api_case_addresses.get_address", email="desk@acme.test")
        scene.kit.case_addresses.get(Actor.host(), "desk@acme.test")  # it exists
    return [("PATCH", url, {"json": {"unknown_senders": "triage"}})]


def case_address_form(scene: Scene, viewer: str) -> dict[str, str]:
    """The viewer's side's case address saved with an owner who is no one."""
    address = MARKERS[f"{_side(viewer)}-case-address"].text
    return {"action": "save", "address": address, "owner_id": "not-an-id"}


def address_form(scene: Scene, viewer: str) -> dict[str, str]:
    """The settings page's field of the viewer's side's collaborator address, not an address."""
    pair = _pair(scene)
    return {f"address-{pair['shipper_org_id']}-{pair['carrier_org_id']}-{_side(viewer)}": "no"}


def _new_case(scene: Scene, side: str) -> dict[str, Any]:
    """A new case's fields: the shipper names its customer, the carrier the shipper."""
    if side == SHIPPER:
        return {"type": "lost", "customer": scene.ids["customer-id"]}
    return {"type": "lost", "shipper": scene.actors["shipper_manager"].org_id}


def open_case(scene: Scene, viewer: str) -> list[Request]:
    body = _new_case(scene, _side(viewer)) | {"shipment": "SHP-1"}
    return [("POST", _case_url(scene, "open_case"), {"json": body})]


def open_from_mail(scene: Scene, viewer: str) -> list[Request]:
    """A case from a new item of the viewer's side's triage."""
    side = _side(viewer)
    url = scene.url("casekit_api_triage.open_case", item_id=scene.new_triage(side))
    return [("POST", url, {"json": _new_case(scene, side)})]


def rename_watcher(scene: Scene, viewer: str) -> list[Request]:
    """The viewer's side's watcher, renamed to the name it has (nothing changes)."""
    side = _side(viewer)
    url = scene.url("casekit_api_directory.update_user", user_id=scene.ids[f"{side}-watcher-id"])
    return [("PATCH", url, {"json": {"name": MARKERS[f"{side}-watcher"].text}})]


def rename_customer(scene: Scene, viewer: str) -> list[Request]:
    """The shipper's customer, renamed to the name it has (nothing changes)."""
    url = scene.url("casekit_api_directory.update_customer", customer_id=scene.ids["customer-id"])
    return [("PATCH", url, {"json": {"name": MARKERS["customer-name"].text}})]


def patch_targets(scene: Scene, viewer: str) -> list[Request]:
    """Each side's target, kept in use (nothing changes)."""
    return [
        ("PATCH", scene.url(UPDATE_TARGET, target_id=target_id), {"json": {"enabled": True}})
        for target_id in scene.targets.values()
    ]


UPDATE_TARGET = "casekit_api_service_levels.update_target"


def apply_reply(scene: Scene, viewer: str) -> list[Request]:
    """The viewer's side's internal canned reply, applied to the case (a stranger tries the
    shipper's)."""
    reply_id = scene.replies[f"{_side(viewer)}-internal"]
    url = scene.url("casekit_api_canned_replies.apply", reply_id=reply_id)
    return [("POST", url, {"json": {"cases": [scene.values["number"]]}})]


def merge_a_duplicate(scene: Scene, viewer: str) -> list[Request]:
    """A duplicate of the case (its parties, no message), opened by the host for the viewer
    to merge into the case: the answer is the case as the viewer reads it."""
    host = Actor.host()
    case = scene.kit.cases.get(host, scene.values["number"])
    duplicate = scene.kit.cases.open(
        host,
        type="lost",
        shipper=case.shipper_org_id,
        carrier=case.carrier_org_id,
        customer=case.customer_id,
    ).number
    url = scene.url("casekit_api_cases.merge", number=duplicate)
    return [("POST", url, {"json": {"into": scene.values["number"]}})]


def writing(requests: Requests, *, reopen: bool = False) -> Fetch:
    """Send the viewer's requests; all they answer. ``reopen``: the host opens the case
    again afterwards, whatever the viewer's requests left it at."""

    def fetch(scene: Scene, viewer: str) -> str:
        scene.written = True
        answers = [
            scene.send(viewer, *request[:2], **request[2]) for request in requests(scene, viewer)
        ]
        if reopen:
            scene.kit.cases.change(Actor.host(), scene.values["number"], {"status": "open"})
        return "\n".join(answers)

    return fetch


#: Viewers who may not write: a read key is refused every write.
READ_KEYS = frozenset({"shipper_read_key", "carrier_read_key"})


def write(
    method: str,
    endpoint: str,
    requests: Requests,
    shows: Iterable[str],
    *,
    variant: str = "",
    reopen: bool = False,
    **kw: Any,
) -> Surface:
    """An API write: each viewer sends its own requests, the answers are what it reads.

    A viewer refused the write is shown nothing (and must find nothing).
    """
    name = f"{method} {endpoint}" + (f" ({variant})" if variant else "")
    shows_to = kw.pop("shows_to", {}) | dict.fromkeys(READ_KEYS, NOTHING)
    kw.setdefault("narrower", CONTACT_SHARED)
    return Surface(
        name=name,
        endpoint=endpoint,
        method=method,
        fetch=writing(requests, reopen=reopen),
        writes=True,
        viewers=ALL,
        shows=frozenset(shows),
        shows_to=shows_to,
        **kw,
    )


#: A collaborator address is set by the organizations' managers (and keys that write).
MANAGERS_ONLY = {"shipper_agent": NOTHING, "carrier_agent": NOTHING}

WRITES: list[Surface] = [
    write(
        "PATCH",
        "casekit_api_cases.update_case",
        patch(lambda side: {"crm_number": MARKERS[f"{side}-crm"].text}),
        CASE,
        variant="CRM number",
        meant_for=STAFF,
    ),
    # Priority is both sides'; a side's tags its own (it sends its own tag's id).
    write(
        "PATCH",
        "casekit_api_cases.update_case",
        patch(lambda side: {"priority": "urgent"}, lambda side: {"priority": "high"}),
        CASE,
        variant="priority",
        meant_for=STAFF,
    ),
    # The customer may solve and reopen its case too.
    write(
        "PATCH",
        "casekit_api_cases.update_case",
        patch(lambda side: {"status": "waiting"}, lambda side: {"status": "open"}),
        CASE,
        variant="status",
        reopen=True,
    ),
    write(
        "PATCH",
        "casekit_api_cases.update_case",
        patch(lambda side: {"status": "solved"}, lambda side: {"status": "open"}),
        CASE,
        variant="solve, reopen",
        reopen=True,
    ),
    write(
        "PATCH",
        "casekit_api_cases.update_case",
        keep_carrier,
        CASE,
        variant="carrier",
        meant_for=frozenset({SHIPPER}),
    ),
    write("PUT", "casekit_api_cases.set_owner", set_owner, CASE, meant_for=STAFF),
    write("PUT", "casekit_api_cases.watch", watch, CASE, meant_for=STAFF),
    write("DELETE", "casekit_api_cases.unwatch", unwatch, CASE, meant_for=STAFF),
    # The shipper shares its customer's contact details (shared already: nothing changes),
    # or withdraws them and shares them again; nobody else may.
    write("POST", "casekit_api_cases.share_contact", share_contact, CASE, meant_for=SHIPPERS),
    write(
        "DELETE",
        "casekit_api_cases.withdraw_contact",
        withdraw_contact,
        CASE,
        meant_for=SHIPPERS,
    ),
    write(
        "POST",
        "casekit_api_cases.post_message",
        post_message,
        NOTHING,
        shows_to=OWN_MESSAGE,
    ),
    write(
        "POST",
        "casekit_api_cases.post_message",
        post_attachment,
        NOTHING,
        variant="attachments",
        shows_to=OWN_ATTACHMENT,
    ),
    write(
        "PUT",
        "casekit_api_reports.set_collaborator_address",
        set_collaborator_address,
        COLLABORATORS,
        meant_for=STAFF,
        shows_to=MANAGERS_ONLY,
    ),
    # A case address is changed by its organization's managers and admin keys.
    write(
        "PATCH",
        "casekit_api_case_addresses.update_address",
        update_case_address,
        CASE_ADDRESSES,
        meant_for=STAFF,
        shows_to=MANAGERS_ONLY | {"shipper_write_key": NOTHING, "carrier_write_key": NOTHING},
    ),
    # A new case of the same customer: the carrier reads none of the customer's details there.
    # Its clocks: the viewer's side's, and the carrier's to the shipper (the shipment
    # names the carrier, which shows the shipper its clocks).
    write(
        "POST",
        "casekit_api_cases.open_case",
        open_case,
        CONTACT | TARGET_NAMES | {"customer-id"},
        meant_for=STAFF,
        narrower={},
    ),
    # A duplicate merged into the case by each viewer (staff of either side: both are its
    # parties): the case as the viewer reads it.
    write("POST", "casekit_api_cases.merge", merge_a_duplicate, CASE, meant_for=STAFF),
    # The internal note the reply posts (its author's CRM number, the customer's details
    # where the author reads them), and the case after it.
    write("POST", "casekit_api_canned_replies.apply", apply_reply, CASE, meant_for=STAFF),
    # The directory changes with an admin key (the scene's people are no admins).
    write(
        "PATCH",
        "casekit_api_directory.update_user",
        rename_watcher,
        WATCHERS | WATCHER_ADDRESSES,
        meant_for=STAFF,
        shows_to=dict.fromkeys(
            (*(f"{s}_{r}" for s in STAFF for r in ("manager", "agent", "write_key")),), NOTHING
        ),
    ),
    write(
        "PATCH",
        "casekit_api_directory.update_customer",
        rename_customer,
        CUSTOMER_DETAILS,
        meant_for=frozenset({SHIPPER}),
        shows_to={"shipper_agent": NOTHING, "shipper_write_key": NOTHING},
    ),
    # The new case's subject is the mail's.
    # The shipper's case from mail has no carrier: no carrier's clock.
    write(
        "POST",
        "casekit_api_triage.open_case",
        open_from_mail,
        TRIAGE | CONTACT | TARGET_NAMES | {"customer-id"},
        meant_for=STAFF,
        narrower=OWN_TARGETS,
    ),
    # A target is changed by its organization's managers and keys; the other side's is
    # not found.
    write(
        "PATCH",
        "casekit_api_service_levels.update_target",
        patch_targets,
        TARGET_NAMES,
        meant_for=STAFF,
        narrower=OWN_TARGETS,
        shows_to=MANAGERS_ONLY,
    ),
]


def unchanged(fetch: Fetch) -> Fetch:
    """``fetch``, checked to leave the case as it was (the scene is read as planted)."""

    def checked(scene: Scene, viewer: str) -> str:
        def version() -> int:
            return scene.kit.cases.get(Actor.host(), scene.values["number"]).version

        before = version()
        blob = fetch(scene, viewer)
        assert version() == before, f"a refused form changed the case for {viewer}"
        return blob

    return checked


def refused(endpoint: str, form: Form, shows: Iterable[str], **kw: Any) -> Surface:
    """A page's form refused for its input: answered with the page it was sent from."""
    return Surface(
        name=f"POST {endpoint} (refused)",
        endpoint=endpoint,
        method="POST",
        fetch=unchanged(page(endpoint, method="POST", form=form, each=kw.pop("each", None))),
        viewers=PEOPLE,
        shows=frozenset(shows),
        **kw,
    )


def _share_not_a_customer_message(scene: Scene, viewer: str) -> str:
    """Sharing the case's opening, which is no customer's message: refused."""
    first = scene.kit.cases.timeline(Actor.host(), scene.values["number"])[0].id
    url = scene.url("casekit_staff.share_entry", entry_id=first)
    return scene.send(viewer, "POST", url, data={})


#: Each refused, each re-renders its page: the case page, the list, a triage item's page,
#: the customer's case page.
REFUSED: list[Surface] = [
    # The shipper's staff get the case page again; no one else may share at all.
    Surface(
        name="POST casekit_staff.share_entry (refused)",
        endpoint="casekit_staff.share_entry",
        method="POST",
        fetch=unchanged(_share_not_a_customer_message),
        viewers=PEOPLE,
        shows=CASE_PAGE,
        meant_for=frozenset({SHIPPER}),
        narrower=CARRIER_FORM,
    ),
    *(
        refused(endpoint, form, CASE_PAGE, meant_for=STAFF, narrower=CARRIER_FORM)
        for endpoint, form in (
            ("casekit_staff.post_message", {"body": ""}),
            ("casekit_staff.change_status", {"status": "bogus"}),
            ("casekit_staff.change_type", {"type": "bogus"}),
            ("casekit_staff.crm_number", {"crm_number": "x" * 500}),
            ("casekit_staff.priority", {"priority": "bogus"}),
            ("casekit_staff.case_tags", {"tag": "x"}),
            # Each side's own text field (the scene's "note"), too long.
            ("casekit_staff.case_custom_fields", {"cf-note": "x" * 600}),
            # An action step that is none: the case page with its actions panel.
            ("casekit_staff.case_actions", {"do": "bogus"}),
            # A claim step that is none: the case page with its claims panel (the
            # shipper's valuation to the shipper's staff alone).
            ("casekit_staff.case_claims", {"do": "bogus"}),
            ("casekit_staff.set_owner", {"action": "give", "user_id": "x"}),
            ("casekit_staff.watchers", {"action": "add", "user_id": ""}),
            # Not a carrier's id: the carrier's staff get their case page too.
            ("casekit_staff.change_carrier", {"carrier": "x"}),
        )
    ),
    # A bad amount offered on the scene's claim: the case page with the claim's forms kept
    # (the carrier's offer form; the shipper's steps are refused for their status).
    Surface(
        name="POST casekit_staff.case_claims (a bad offer)",
        endpoint="casekit_staff.case_claims",
        method="POST",
        fetch=unchanged(
            page(
                "casekit_staff.case_claims",
                method="POST",
                form=lambda scene, viewer: {
                    "do": "offer",
                    "claim_id": str(scene.values["claim_id"]),
                    "amount_offered": "x",
                    "reason": "a reason",
                },
            )
        ),
        viewers=PEOPLE,
        shows=frozenset(CASE_PAGE),
        meant_for=STAFF,
        narrower=CARRIER_FORM,
    ),
    # Neither taking part nor opting out: the Benchmarks page again, with the figures.
    refused(
        "casekit_dashboard.benchmarks", {"participating": "maybe"}, BENCHMARKS, meant_for=STAFF
    ),
    # A merge into no case: the page that confirms it, again.
    refused("casekit_staff.merge_case", {"into": ""}, {"customer-name"}, meant_for=STAFF),
    # A version that is none: the case page again (the carrier is refused the share itself).
    refused(
        "casekit_staff.contact_share",
        {"version": "x"},
        CASE_PAGE,
        meant_for=STAFF,
        narrower=CARRIER_FORM,
    ),
    # A stale form: the case page as it is now, listing above the timeline the
    # entries newer than the page the form came from (all of them: seen 0).
    Surface(
        name="POST casekit_staff.change_status (stale)",
        endpoint="casekit_staff.change_status",
        method="POST",
        fetch=unchanged(
            page(
                "casekit_staff.change_status",
                method="POST",
                form={"status": "open", "version": "1", "seen": "0"},
            )
        ),
        viewers=PEOPLE,
        shows=frozenset(CASE_PAGE),
        meant_for=STAFF,
        narrower=CARRIER_FORM,
    ),
    refused(
        "casekit_staff.save_view",
        {"name": "", "query": json.dumps({"view": "all_cases"})},
        CRM | TAGS | LATEST | WATCHERS,
        meant_for=STAFF,
        narrower=LATEST_READERS,
    ),
    # The list's bulk action and column chooser, refused: the list they were sent from.
    *(
        refused(
            endpoint,
            form,
            CRM | TAGS | LATEST | WATCHERS,
            meant_for=STAFF,
            narrower=LATEST_READERS,
        )
        for endpoint, form in (
            ("casekit_staff.bulk", {"action": "bogus", "back": "view=all_cases"}),
            ("casekit_staff.set_columns", {"column": "bogus", "back": "view=all_cases"}),
        )
    ),
    refused("casekit_staff.triage_file", {"number": ""}, TRIAGE, each="triage"),
    refused("casekit_staff.triage_open", {"customer": "x"}, TRIAGE, each="triage"),
    refused("casekit_portal.reply", {"body": ""}, MESSAGES, meant_for=frozenset({CUSTOMER})),
    # The demo's answer to a captured mail, refused: the mail's page again, to its reader.
    refused(
        "casekit_demo.answer_mail",
        {"text": ""},
        NOTHING,
        each="mail",
        shows_to=DEMO_MAIL,
        narrower=OWN_SIDE | TOLD_BEFORE_THE_SHARE | CONTACT_SHARED,
    ),
    # A canned reply's form without a title: the page again; the composer's canned reply
    # without one chosen: the case page again.
    refused(
        "casekit_staff.canned_replies",
        {"title": "", "body": "x", "audience": "internal"},
        WATCHERS | TAGS,
        meant_for=STAFF,
    ),
    refused(
        "casekit_staff.canned_reply", {"title": ""}, WATCHERS | TAGS, each="reply", meant_for=STAFF
    ),
    # A rule's conditions with a priority that is none: its page again, to its managers
    # (the shipper's agent may not change a rule).
    refused(
        "casekit_staff.rule",
        {"case_min_priority": "top"},
        {"shipper-tag"},
        meant_for=frozenset({SHIPPER}),
        shows_to={"shipper_agent": NOTHING},
    ),
    refused(
        "casekit_staff.use_canned_reply",
        {"canned_action": "insert"},
        CASE_PAGE,
        meant_for=STAFF,
        narrower=CARRIER_FORM,
    ),
    # The manager's own field holds what was typed; the other side's, the address.
    refused(
        "casekit_staff.case_addresses",
        case_address_form,
        CASE_ADDRESSES | WATCHERS,
        meant_for=STAFF,
    ),
    # A target's form without a name: the form again, to its organization's managers.
    refused(
        "casekit_staff.service_level",
        {"name": ""},
        TARGET_NAMES | WATCHERS,
        each="target",
        meant_for=STAFF,
        narrower=OWN_TARGETS,
        shows_to=MANAGERS_ONLY,
    ),
    refused(
        "casekit_staff.new_service_level",
        {"name": ""},
        WATCHERS,
        meant_for=STAFF,
        shows_to=MANAGERS_ONLY,
    ),
    refused(
        "casekit_staff.collaborator_addresses",
        address_form,
        COLLABORATORS,
        shows_to=MANAGERS_ONLY
        | {
            "shipper_manager": frozenset({"carrier-collaborator-address"}),
            "carrier_manager": frozenset({"shipper-collaborator-address"}),
        },
    ),
]
SURFACES.extend(REFUSED + WRITES)

#: Routes of casekit's blueprints that show no case data, each with its reason (named as
#: :func:`route` names them).
NO_CASE_DATA: dict[str, str] = {
    "static": "the host's static files",
    "casekit_staff.static": "stylesheets and scripts",
    "casekit_portal.static": "stylesheets and scripts",
    "casekit_api_reference.static": "the API reference's stylesheet",
    "casekit-api-docs.openapi_json": "the API's description",
    "casekit_api_reference.reference": "the API's index of operations",
    "casekit_api_reference.missing": "the answer to a path that is no operation",
    "casekit_staff.create_case": "the form of a new case",
    "casekit_staff.settings": "the organization's settings",
    "casekit_staff.templates": "the organization's notification templates",
    "casekit_staff.edit_template": "one template, previewed on a sample case",
    "casekit_staff.subscriptions": "the user's notification choices",
    "casekit_staff.rules": (
        "the shipper's rules: names, conditions (the shipper's own tags their cases must or "
        "must not carry), case types, tiers, the priority and the shipper's own tags they give"
    ),
    "casekit_dashboard.targets": "the organization's report targets",
    "casekit_api_network.participation": "whether the organization takes part in benchmarks",
    "PUT casekit_api_network.set_participation": "whether the organization takes part",
    "casekit_staff.calendar": "the organization's calendar, and its partners' names",
    "casekit_staff.partner_calendar": "the calendar the organization keeps for a partner",
    "casekit_api_service_levels.calendars": "the organization's calendars",
    "casekit_api_service_levels.own_calendar": "the organization's calendar",
    "casekit_api_service_levels.partner_calendar": "the calendar kept for a partner",
    "casekit_portal.feedback": "the form of a customer's feedback, with their own orders",
    "casekit_api_keys.list_keys": "the organization's API keys",
    "casekit_api_rules.list_rules": "the shipper's rules",
    "casekit_api_custom_fields.list_custom_fields": (
        "the organization's own custom fields (keys, labels, choices), never a value"
    ),
    "casekit_api_custom_fields.custom_field": "one of the organization's own custom fields",
    "casekit_api_rules.rule": "one rule",
    "casekit_api_webhooks.list_webhooks": "the organization's subscriptions",
    "casekit_api_webhooks.webhook": "one subscription",
    "casekit_api_settings.templates": "the organization's notification templates",
    "casekit_api_settings.template": "one template",
    "casekit_api_settings.targets": "the organization's report targets",
    "casekit_api_reports.subscriptions": "a user's notification choices",
    "casekit_api_reports.settings": "the organization's settings",
    "casekit_api_views.saved": "the user's saved views (their names and queries)",
    "casekit_api_views.columns": "the names of the list columns the user chose",
    "casekit_api_views.saved_columns": "the names of the list columns the user chose",
    "PUT casekit_api_views.set_columns": "the names of the list columns the user chose",
    "PUT casekit_api_views.set_saved_columns": "the names of the list columns the user chose",
    "casekit_demo.home": "the demo's start page (a customer's sample orders, no case)",
    "casekit_demo.favicon": "the site's icon, a static file",
    "casekit_health.check": "the health checks: the database, the schema, the outbox's lag",
    "casekit_metrics.scrape": "counts and durations labelled by channel, outcome and endpoint",
    # Writes that answer no case data: a redirect, a form again, or what they wrote.
    **dict.fromkeys(
        (
            f"{method} casekit_api_reference.missing"
            for method in ("POST", "PUT", "PATCH", "DELETE")
        ),
        "the answer to a path that is no operation",
    ),
    "POST casekit_api_keys.create_key": "the new key, its token shown once",
    "POST casekit_api_case_addresses.create_address": "the new case address, as it was sent",
    "DELETE casekit_api_case_addresses.delete_address": "no content",
    "DELETE casekit_api_keys.revoke_key": "the revoked key",
    "POST casekit_api_rules.create_rule": "the rule",
    "POST casekit_api_tags.create_tag": "the new tag, as it was sent",
    "POST casekit_api_custom_fields.create_custom_field": "the new field, as it was sent",
    "PATCH casekit_api_custom_fields.update_custom_field": "the field, as it was sent",
    "DELETE casekit_api_custom_fields.delete_custom_field": (
        "whether the field was deleted, or the field archived"
    ),
    "PATCH casekit_api_tags.update_tag": "the tag, as it was sent",
    # An action step answers the action as its caller reads it: the windows both sides
    # proposed, the request, the decision; an internal note only to the shipper, the only
    # side that decides (what it sent). The list of the case's actions is a surface.
    **dict.fromkeys(
        (
            f"POST casekit_api_actions.{name}"
            for name in (
                "propose_appointment",
                "counter_appointment",
                "accept_appointment",
                "withdraw_appointment",
                "request_disposition",
                "decide_disposition",
                "withdraw_disposition",
            )
        ),
        "the action, as its caller reads it (what it sent or answered)",
    ),
    # A claim's step answers the claim as its caller reads it (the valuation only to the
    # shipper, who sent it); a shipper's claim windows hold no case data.
    **dict.fromkeys(
        (
            f"{method} casekit_api_claims.{name}"
            for method, name in (
                ("POST", "draft_claim"),
                ("PATCH", "update_claim"),
                ("POST", "file_claim"),
                ("POST", "acknowledge_claim"),
                ("POST", "pay_claim"),
                ("POST", "decline_claim"),
                ("POST", "offer_claim"),
                ("POST", "accept_claim_offer"),
                ("POST", "reject_claim_offer"),
                ("POST", "withdraw_claim"),
                ("PUT", "set_valuation"),
            )
        ),
        "the claim, as its caller reads it (what it sent or answered)",
    ),
    "casekit_api_claims.claim_settings": "the organization's claim windows, no case data",
    "PUT casekit_api_claims.save_claim_settings": "the claim windows, as they were sent",
    "POST casekit_staff.tag_settings": "a redirect to the tag list (a bad form: the list again)",
    "casekit_staff.custom_field_settings": (
        "the organization's own custom fields (labels, keys, choices), never a value"
    ),
    "POST casekit_staff.custom_field_settings": (
        "a redirect to the field list (a bad form: the list again)"
    ),
    "PATCH casekit_api_rules.update_rule": "the rule",
    "DELETE casekit_api_rules.delete_rule": "no content",
    "PUT casekit_api_service_levels.set_own_calendar": "the calendar, as it was sent",
    "PUT casekit_api_service_levels.set_partner_calendar": "the calendar, as it was sent",
    "DELETE casekit_api_service_levels.remove_own_calendar": "no content",
    "DELETE casekit_api_service_levels.remove_partner_calendar": "no content",
    "POST casekit_api_service_levels.create_target": "the new target, as it was sent",
    "DELETE casekit_api_service_levels.delete_target": "no content",
    "POST casekit_api_rules.dry_run": "the references of the shipper's shipments a rule matches",
    "PUT casekit_api_settings.set_template": "the template",
    "DELETE casekit_api_settings.reset_template": "the template",
    "POST casekit_api_settings.preview_template": "a template rendered on sample values",
    "PUT casekit_api_settings.set_target": "the report target",
    "PATCH casekit_api_reports.set_settings": "the organization's settings",
    "PATCH casekit_api_reports.set_subscriptions": "a user's notification choices",
    "POST casekit_api_shipments.upsert_shipments": "counts, and the items refused",
    "POST casekit_api_shipments.upsert_orders": "counts, and the items refused",
    "POST casekit_api_shipments.record_events": "counts, and the items refused",
    "POST casekit_api_triage.file": "the outcome, the case's number and the new entry's id",
    "DELETE casekit_api_triage.discard": "no content",
    "POST casekit_api_directory.sync": "counts of what the sync did",
    "casekit_api_directory.list_organizations": "an organization's name, role and host key",
    "casekit_api_directory.organization": "an organization's name, role and host key",
    "casekit_api_canned_replies.list_replies": "the caller's canned replies: titles, templates",
    "casekit_api_canned_replies.reply": "one canned reply: its title and template",
    "casekit_api_canned_replies.usage": "how often each canned reply was used, and by whom",
    "POST casekit_api_canned_replies.create_reply": "the canned reply, as it was sent",
    "PATCH casekit_api_canned_replies.update_reply": "the canned reply, as it was sent",
    "DELETE casekit_api_canned_replies.delete_reply": "no content",
    "POST casekit_api_views.save": "the saved view (its name and query)",
    "PATCH casekit_api_views.update": "the saved view (its name and query)",
    "DELETE casekit_api_views.delete": "no content",
    "POST casekit_api_webhooks.subscribe": "the subscription, its secret shown once",
    "POST casekit_api_webhooks.rotate_secret": "the subscription, its secret shown once",
    "PATCH casekit_api_webhooks.update_webhook": "the subscription",
    "DELETE casekit_api_webhooks.delete_webhook": "no content",
    "POST casekit_inbound.mailgun": "the mail provider's call: the outcome and the case's number",
    "POST casekit_staff.create_case": "the form of a new case again, or a redirect to the case",
    "POST casekit_portal.feedback": "the feedback form again, or a redirect to the case",
    "POST casekit_staff.writing": "no content (colleagues read it in casekit_staff.live_state)",
    "POST casekit_staff.delete_view": "a redirect to the list",
    "POST casekit_staff.settings": "the organization's settings",
    "POST casekit_staff.subscriptions": "the user's notification choices",
    "POST casekit_staff.rules": "a redirect, or the rules page again with the form's errors",
    "POST casekit_staff.edit_template": "one template, previewed on a sample case",
    "POST casekit_dashboard.targets": "the organization's report targets",
    "POST casekit_staff.calendar": "a redirect, or the calendar's form again with its errors",
    "POST casekit_staff.partner_calendar": (
        "a redirect, or the partner calendar's form again with its errors"
    ),
    "POST casekit_staff.service_levels": "a redirect to the list (a bad move: a 400 page)",
    "POST casekit_staff.triage_discard": (
        "a redirect to the triage list (refused: the item's page, as for"
        " POST casekit_staff.triage_file)"
    ),
    "POST casekit_demo.switch_identity": "a redirect",
}


#: Leaks known today, to be fixed: (surface, group of viewers, the markers, reason). A
#: pair they cover fails with :class:`KnownLeak` until the fix; then it passes, and the
#: strict xfail makes the run fail until the entry goes. Any other marker out of place
#: on that pair fails it as usual.
KNOWN_LEAKS: list[tuple[str, str, frozenset[str], str]] = []
#: Viewers a surface with a known leak shows nothing at all (a subscription's log is
#: its managers').
SHOWN_NOTHING = {("casekit_api_webhooks.webhook_deliveries", "carrier_agent")}


class KnownLeak(AssertionError):
    """A leak of :data:`KNOWN_LEAKS`, still there."""


def known_leaks(surface: Surface, viewer: str) -> list[tuple[frozenset[str], str]]:
    if (surface.name, viewer) in SHOWN_NOTHING:
        return []
    return [
        (markers, reason)
        for name, group, markers, reason in KNOWN_LEAKS
        if name == surface.name and group == surface.groups[viewer]
    ]


def cases() -> Iterator[Any]:
    """Each surface with each of its viewers, a known leak marked as such."""
    for surface in SURFACES:
        for viewer in surface.viewers:
            known = known_leaks(surface, viewer)
            marks = []
            if known:
                reason = "; ".join(dict.fromkeys(reason for _, reason in known))
                marks = [pytest.mark.xfail(strict=True, raises=KnownLeak, reason=reason)]
            yield pytest.param(surface, viewer, id=f"{surface.name}-{viewer}", marks=marks)


# -- the tests ------------------------------------------------------------------------------


def route(method: str, endpoint: str) -> str:
    """A route's name in the registry: its endpoint for a GET, else the method first."""
    return endpoint if method == "GET" else f"{method} {endpoint}"


def test_every_route_is_registered(scene: Scene) -> None:
    """A route of casekit's blueprints, read or write, is a surface or shows no case data
    for a reason."""
    routes = {
        route(method, rule.endpoint)
        for rule in scene.app.url_map.iter_rules()
        if rule.endpoint.startswith("casekit") or rule.endpoint == "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    surfaces = {route(s.method, s.endpoint) for s in SURFACES if s.endpoint is not None}
    assert surfaces.isdisjoint(NO_CASE_DATA)
    assert routes - surfaces - set(NO_CASE_DATA) == set(), "a route is not in the registry"
    assert (surfaces | set(NO_CASE_DATA)) - routes == set(), "the registry names no such route"


def test_every_surface_is_documented() -> None:
    """docs/access.rst names every surface of the registry."""
    text = (Path(__file__).parents[2] / "docs" / "access.rst").read_text()
    assert [s.name for s in SURFACES if f"``{s.name}``" not in text] == []


def test_the_operators_endpoints_show_no_marker(scene: Scene) -> None:
    """Health and metrics, read after the whole scene, name no private field and no case."""
    client = scene.app.test_client()
    bodies = [client.get(path).text for path in ("/casekit/health", "/casekit/metrics")]
    assert "casekit_cases_opened_total" in bodies[1]
    for body in bodies:
        assert [m for m in MARKERS.values() if m.text and m.text in body] == []
        assert scene.values["number"] not in body


def test_the_scene_reaches_every_recipient(scene: Scene) -> None:
    """Every notification goes to a recipient the mail surfaces read as, and each gets some."""
    names = {scene.recipients.get(n.email.lower(), n.email) for n in scene.mail.outbox}
    assert names == set(RECIPIENTS)


def test_each_recipients_mail_links_to_the_pages_it_can_open(scene: Scene) -> None:
    """The customer's mail links to the portal's case page, never a staff page; staff mail
    and the collaborator address's to the staff page."""
    staff_pages = STAFF_LINK.removesuffix("{number}")
    portal_pages = PORTAL_LINK.removesuffix("{number}")
    for notification in scene.mail.outbox:
        viewer = scene.recipients.get(notification.email.lower())
        parts = [_mail_part(part)(scene, viewer) for part in ("plain", "html")] if viewer else []
        for text in parts:
            if viewer == "case_customer":
                assert portal_pages + notification.case_number in text
                assert staff_pages not in text
            else:
                assert staff_pages + notification.case_number in text, viewer


#: Notification templates the scene does not write, each with its reason.
TEMPLATES_NOT_WRITTEN = {
    "customer_feedback": "the merchant's reply on a feedback case (no carrier), to the customer",
}


def test_the_scene_writes_every_template_and_webhook_event(scene: Scene) -> None:
    """A new kind of mail or webhook payload is read by the leak test, or listed here."""
    from casekit.domain.notify import TEMPLATE_NAMES

    written = {n.template for n in scene.mail.outbox}
    missing = set(TEMPLATE_NAMES) - set(TEMPLATES_NOT_WRITTEN) - written
    # What became of the missing ones' rows (never written, not delivered, failed...).
    outbox = [
        (d.template, d.email, d.status, d.attempts, d.next_attempt_at, d.last_error)
        for d in scene.kit.notifications.deliveries(Actor.host(), scene.values["number"])
        if d.template in missing
    ]
    assert written == set(TEMPLATE_NAMES) - set(TEMPLATES_NOT_WRITTEN), (
        sorted(missing),
        outbox,
        scene.kit.clock.now(),
    )
    for subscriber, webhook_id in scene.webhooks.items():
        manager = scene.actors[subscriber.replace("_org", "_manager")]
        log = scene.kit.webhooks.deliveries(manager, webhook_id, limit=500)
        assert {d.event for d in log} == set(WebhookEvent), subscriber


def test_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """How much the leak test checks: surfaces, surface-viewer pairs, marker checks."""
    pairs = sum(len(s.viewers) for s in SURFACES)
    with capsys.disabled():
        print(
            f"\nleak test: {len(SURFACES)} surfaces, {pairs} surface x viewer pairs, "
            f"{pairs * len(MARKERS)} marker checks ({len(MARKERS)} markers)"
        )
    assert pairs > 300


#: What a carrier brought in later reads of the scene: what is for partners and everyone.
#: (The shipper's shared custom field is shared with the case's carrier, whichever it is.)
NEW_CARRIER_READS = frozenset(
    {
        "everyone-message",
        "shared-customer-message",
        "shipper-partners",
        "carrier-partners",
        "shipper-shared-field",
    }
)
#: The lists of cases.
CASE_LISTS = frozenset(
    {"casekit_staff.case_list", "casekit_staff.export_csv", "casekit_api_cases.list_cases"}
)
#: The old carrier's own people, whom its pages name whatever case they show, and its own
#: tags, which its list's tag filter offers (the case's carry none of them any more).
OWN_PEOPLE = frozenset(
    {"carrier-watcher", "carrier-watcher-address", "carrier-watcher-id", "carrier-tag"}
)
#: The case's own surfaces: a carrier taken off the case finds none of its markers there.
CASE_SURFACES = frozenset(
    {
        "casekit_staff.case_page",
        "casekit_staff.case_list",
        "casekit_staff.export_csv",
        "casekit_api_cases.case",
        "casekit_api_cases.timeline",
        "casekit_api_cases.list_cases",
        "casekit_staff.attachment",
        "casekit_api_cases.attachment",
    }
)


def test_a_carrier_brought_in_later_reads_nothing_private_of_the_one_before(
    scenes: Scenes,
) -> None:
    """The shipper gives the case (and a shipment) to another carrier: on every surface
    the new carrier finds what a carrier reads, never the old one's notes, files, CRM
    number, watchers, addresses or triage; the old carrier finds nothing more of the case,
    and neither its people nor its addresses hear of it again."""
    scene = scenes.clean()
    scene.written = True  # the case changes hands: the next read plants the scene again
    kit, number = scene.kit, scene.values["number"]
    new, old = "other_carrier", "carrier_manager"
    new_org = scene.actors[new].org_id
    assert new_org is not None
    sent_before = len(scene.mail.outbox)
    kit.cases.change(
        scene.actors["shipper_manager"],
        number,
        {
            "carrier": new_org,
            "shipment": ShipmentFacts(reference="SHP-9", shipper="acme", carrier="slow"),
        },
    )
    kit.messages.post(
        scene.actors["shipper_agent"], number, MARKERS["shipper-partners"].text, audience="partners"
    )
    kit.notifications.deliver()
    where: list[str] = []
    for surface in SURFACES:
        if surface.writes or new not in surface.viewers:
            continue
        blob = surface.fetch(scene, new)
        found = {name for name, marker in MARKERS.items() if marker.found_in(blob, scene.ids)}
        if found - NEW_CARRIER_READS:
            where.append(f"{surface.name} shows {sorted(found - NEW_CARRIER_READS)}")
        if surface.endpoint == "casekit_staff.case_page":
            # Shown, not merely absent: the page is the new carrier's.
            assert found == NEW_CARRIER_READS, found
        if surface.endpoint in CASE_SURFACES:
            gone = surface.fetch(scene, old)
            # Its own people's names are its directory's, not the case's.
            left = {n for n, m in MARKERS.items() if m.found_in(gone, scene.ids)} - OWN_PEOPLE
            # A list no longer names the case (a page of the case answers "not found").
            if left or (number in gone and surface.endpoint in CASE_LISTS):
                where.append(f"{surface.name} still shows the old carrier {sorted(left)}")
    assert where == []
    after = scene.mail.outbox[sent_before:]
    heard = {n.email.lower() for n in after}
    assert "sid@slow.test" in heard  # the new carrier's manager: the case is theirs
    assert not [e for e in heard if e.endswith("@fast.test")], heard
    for notification in after:
        if notification.email.lower().endswith("@slow.test"):
            text = notification.message.as_string()
            shown = {n for n, m in MARKERS.items() if m.text and m.text.lower() in text.lower()}
            assert shown <= NEW_CARRIER_READS, (notification.template, shown)


@pytest.mark.parametrize(("surface", "viewer"), list(cases()))
def test_leaks(scenes: Scenes, surface: Surface, viewer: str) -> None:
    """The viewer finds on the surface exactly the markers it may read that the surface shows."""
    check(scenes.for_surface(surface), surface, viewer)


def check(scene: Scene, surface: Surface, viewer: str) -> None:
    """The leak test's assertions for one surface and one viewer."""
    blob = surface.fetch(scene, viewer)
    found = {name for name, marker in MARKERS.items() if marker.found_in(blob, scene.ids)}
    expected = surface.expected(viewer)
    where = f"{surface.name} read by {viewer}"
    known: set[str] = set().union(*(markers for markers, _ in known_leaks(surface, viewer)))
    forbidden = surface.forbidden(viewer, found)
    assert not forbidden - known, f"{where} shows {sorted(forbidden - known)}"
    assert not expected - found - known, f"{where} does not show {sorted(expected - found)}"
    # What it shows beyond the registry's word is the registry's mistake.
    assert found - known == expected - known, f"{where} shows {sorted(found - expected)} too"
    if found & known != expected & known:
        raise KnownLeak(f"{where} shows {sorted(found & known)}, not {sorted(expected & known)}")
