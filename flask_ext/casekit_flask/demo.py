"""The demo host behind ``casekit demo``: sample data, switchable demo identities
and captured mail.

:func:`load_demo_data` puts the sample world into a kit, its orders and
shipments imported through casekit-orderfeed (``pip install
'casekit-flask[demo]'``); :func:`create_demo_app` builds a Flask app on a
SQLite file with casekit's pages mounted, a banner to switch between demo
identities, and an outbox worker in a background thread whose mail goes to
:class:`MailCapture` instead of out, shown on a demo-only page to the
identity it was sent to (see :func:`captured_mail`), and answered there as
its recipient by a reply through the inbound mail (:func:`answer_mail`).
Demo only: it trusts whoever clicks.
"""

from __future__ import annotations

import enum
import random
import re
import threading
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, getaddresses, parseaddr
from pathlib import Path
from typing import Any

import attrs
from flask import (
    Blueprint,
    Flask,
    abort,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException

from casekit import (
    Actor,
    CaseKit,
    FrozenClock,
    OrderFacts,
    Settings,
    ShipmentFacts,
    Side,
    UserRole,
)
from casekit.domain.directory import OrgRole
from casekit.domain.shipment import Direction, Mode
from casekit.errors import ConfigurationError
from casekit.plugins import hookimpl
from casekit.services.worker import Worker
from casekit_flask.csrf import protect_forms
from casekit_flask.demo_answer import FORM_SLACK, Answer, compose_answer, megabytes, read_answer
from casekit_flask.demo_stories import (
    SPAN_DAYS,
    Cast,
    Story,
    carrier_story,
    merchant_story,
    opened_at,
    play,
    rule_story,
)
from casekit_flask.redirects import same_site_path

MERCHANT = "northwind"
BRANDS = ("Northwind Trail", "Northwind Home")
CARRIERS = (("swift", "Swift Parcel", True), ("harbor", "Harbor Freight Lines", False))
#: The collaborator address of the carrier whose staff never log in (Harbor Freight Lines),
#: for its pair with the merchant: it gets its mail there, and answers it.
EMAIL_ONLY_ADDRESS = "dispatch@harbor-freight.example"
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena")
LAST = ("Moss", "Reyes", "Park", "Okafor", "Silva", "Novak", "Berg", "Ito")
CITIES = (
    ("Portland", "97201", "west"),
    ("Denver", "80202", "mountain"),
    ("Chicago", "60601", "central"),
    ("Atlanta", "30301", "south"),
    ("Boston", "02108", "east"),
    ("Austin", "73301", "south"),
)
#: A shipper whose staff never log in (Bluebird Home): Swift Parcel's cases with it are
#: told to its collaborator address for its pair with Swift Parcel, which answers them.
EMAIL_ONLY_SHIPPER = ("bluebird", "Bluebird Home")
EMAIL_ONLY_SHIPPER_ADDRESS = "cases@bluebird-home.example"
#: The demo opens a case on each of its first shipments, this many at most.
CASES = 60
#: The story each of those cases tells, in turn (:mod:`casekit_flask.demo_stories`): a
#: customer's feedback from the portal, a carrier's question, the merchant's own cases
#: (owned or not), a damaged box, a delivery to schedule, a case a rule opened.
KINDS = ("portal", "carrier", "staff", "unowned", "damaged", "scheduling", "rule")


def _orderfeed() -> Any:
    """casekit-orderfeed, which the demo loads its orders and shipments with."""
    try:
        import casekit_orderfeed
    except ImportError:
        raise ConfigurationError(
            "casekit demo loads its sample orders through casekit-orderfeed: "
            "pip install 'casekit-flask[demo]' (or ./adapters/casekit-orderfeed)"
        ) from None
    return casekit_orderfeed


def demo_plugins() -> list[object]:
    """The plugins a demo kit needs: casekit-orderfeed's lookups answer from its store."""
    from casekit_orderfeed import plugin

    return [plugin]


class MailCapture:
    """A delivery plugin that keeps each notification as an ``.eml`` file in ``folder``.

    Registered after casekit's SMTP plugin, it is asked first and answers
    True: nothing leaves the machine. :meth:`mails` reads them back.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @hookimpl
    def casekit_deliver_notification(self, kit: CaseKit, notification: Any) -> bool:
        data = notification.message.as_bytes()
        with self._lock:
            name = f"{notification.id:08d}-{notification.attempt}.eml"
            (self.folder / name).write_bytes(data)
        return True

    def names(self) -> list[str]:
        """The captured mails' names, newest first."""
        return sorted((p.name for p in self.folder.glob("*.eml")), reverse=True)

    def read(self, name: str) -> EmailMessage | None:
        """One captured mail by name, or None (names are checked, never a path)."""
        if name not in self.names():
            return None
        with (self.folder / name).open("rb") as f:
            message = BytesParser(policy=email_policy.default).parse(f)
        assert isinstance(message, EmailMessage)
        return message


def sample_shipments(
    count: int, *, seed: int = 7, now: datetime | None = None
) -> tuple[dict[str, ShipmentFacts], dict[str, OrderFacts], list[tuple[str, str]]]:
    """The demo's shipments and orders, the same for the same seed and ``now``; and its
    customers.

    The orders of the first :data:`CASES` shipments are placed a day or a few before
    their case opens (:func:`~casekit_flask.demo_stories.opened_at`), the others any day
    of the last :data:`~casekit_flask.demo_stories.SPAN_DAYS`; promised and estimated
    dates follow each order.
    """
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    cases = min(count, CASES)
    customers = [
        (f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}", f"customer{i + 1}@example.test")
        for i in range(12)
    ]
    shipments: dict[str, ShipmentFacts] = {}
    orders: dict[str, OrderFacts] = {}
    for i in range(count):
        name, email = customers[i % len(customers)]
        _city, postal, region = rng.choice(CITIES)
        carrier, carrier_name, _users = CARRIERS[0] if i % 3 else CARRIERS[1]
        brand = BRANDS[i % 2]
        order_number = f"NW-{5001 + i}"
        reference = f"SHP-{10001 + i}"
        if i < cases:
            placed = opened_at(i, cases, now, seed=seed) - timedelta(hours=rng.randint(20, 110))
        else:
            placed = now - timedelta(days=rng.uniform(1, SPAN_DAYS))
        placed = placed.replace(microsecond=0)
        promised = placed.date() + timedelta(days=rng.randint(4, 8))
        old = (now - placed).days > 12
        orders[order_number] = OrderFacts(
            number=order_number,
            shipper=MERCHANT,
            customer_email=email,
            customer_name=name,
            brand=brand,
            placed_at=placed,
        )
        shipments[reference] = ShipmentFacts(
            reference=reference,
            shipper=MERCHANT,
            carrier=carrier,
            carrier_name=carrier_name,
            tracking_number=f"1Z{rng.randrange(10**9, 10**10)}",
            bol_number=f"BOL-{70000 + i}" if carrier == "harbor" else None,
            po_number=f"PO-{rng.randrange(1000, 9999)}",
            reference_number=f"REF-{i + 1:05d}",
            order_number=order_number,
            origin_name="Northwind DC Reno",
            origin_postal_code="89501",
            destination_name=name,
            destination_postal_code=postal,
            mode=Mode.FREIGHT if carrier == "harbor" else Mode.PARCEL,
            direction=Direction.OUTBOUND,
            customer_segment="VIP" if i % 7 == 0 else "standard",
            region=region,
            brand=brand,
            status="delivered"
            if old and rng.random() < 0.8
            else rng.choice(("in_transit", "exception", "out_for_delivery")),
            promised_date=promised,
            estimated_date=promised + timedelta(days=rng.randint(-2, 3)),
        )
    return shipments, orders, customers


def _email_only_shipper_shipments(
    now: datetime,
) -> tuple[dict[str, ShipmentFacts], dict[str, OrderFacts]]:
    """Two shipments of :data:`EMAIL_ONLY_SHIPPER`, carried by Swift Parcel."""
    key, name = EMAIL_ONLY_SHIPPER
    shipments, orders = {}, {}
    for i, (who, postal) in enumerate((("Iris Lund", "97201"), ("Omar Haddad", "60601"))):
        number, reference = f"BH-{301 + i}", f"SHP-B{301 + i}"
        placed = (now - timedelta(days=9 - 6 * i, hours=5)).replace(microsecond=0)
        orders[number] = OrderFacts(
            number=number,
            shipper=key,
            customer_email=f"{who.split()[0].lower()}@example.test",
            customer_name=who,
            brand=name,
            placed_at=placed,
        )
        shipments[reference] = ShipmentFacts(
            reference=reference,
            shipper=key,
            carrier="swift",
            carrier_name="Swift Parcel",
            tracking_number=f"1ZB{40021 + i}",
            order_number=number,
            origin_name="Bluebird Home, Tacoma",
            origin_postal_code="98402",
            destination_name=who,
            destination_postal_code=postal,
            mode=Mode.PARCEL,
            direction=Direction.OUTBOUND,
            brand=name,
            status="exception",
            promised_date=placed.date() + timedelta(days=5),
            estimated_date=placed.date() + timedelta(days=7),
        )
    return shipments, orders


def sample_rows(count: int, *, seed: int = 7, now: datetime | None = None) -> list[dict[str, str]]:
    """The demo's orders and shipments as rows of an order export (casekit-orderfeed's columns)."""
    shipments, orders, _customers = sample_shipments(count, seed=seed, now=now)
    return _rows(shipments, orders)


def _rows(
    shipments: dict[str, ShipmentFacts], orders: dict[str, OrderFacts]
) -> list[dict[str, str]]:
    from casekit_orderfeed.schema import SHIPMENT_COLUMNS

    rows = []
    for facts in shipments.values():
        order = orders[facts.order_number]  # type: ignore[index]
        row: dict[str, Any] = {
            "order_number": order.number,
            "customer_email": order.customer_email,
            "customer_name": order.customer_name,
            "brand": order.brand,
            "placed_at": order.placed_at.isoformat() if order.placed_at else None,
            "shipment_reference": facts.reference,
        }
        for name in SHIPMENT_COLUMNS[1:]:
            value = getattr(facts, name, None)
            row[name] = value.value if isinstance(value, enum.Enum) else value
        rows.append({k: "" if v is None else str(v) for k, v in row.items()})
    return rows


@attrs.define
class DemoWorld:
    """What :func:`load_demo_data` made: identities by key, the shipments it imported."""

    identities: dict[str, tuple[str, Actor]]
    shipments: int
    merchant_id: int
    cases: list[str]


def load_demo_data(
    kit: CaseKit, *, shipments: int = 300, seed: int = 7, now: datetime | None = None
) -> DemoWorld:
    """Fill an empty kit with the demo's organizations, people, shipments and cases.

    The orders and shipments go in through casekit-orderfeed's
    :func:`~casekit_orderfeed.import_rows`, as a merchant's export would;
    ``kit`` must have :func:`demo_plugins` among its plugins, so that case
    opening looks them up in the store they were imported into.

    The cases are told as stories (:mod:`casekit_flask.demo_stories`) over the
    :data:`~casekit_flask.demo_stories.SPAN_DAYS` days up to ``now`` (the time
    of day by default): with a :class:`~casekit.FrozenClock` set before that,
    the kit's clock is moved along, so each entry has its own time.
    """
    orderfeed = _orderfeed()
    now = now or datetime.now(UTC)
    host = Actor.host()
    d = kit.directory
    merchant = d.add_organization(
        host, name="Northwind Outfitters", role=OrgRole.SHIPPER, external_id=MERCHANT
    )
    assert merchant.id is not None
    carriers = {
        key: d.add_organization(host, name=name, role=OrgRole.CARRIER, external_id=key)
        for key, name, _users in CARRIERS
    }
    d.set_feedback_portal(host, merchant.id, True)
    # Harbor's staff never log in: its side of the pair is notified at its address.
    kit.notifications.set_collaborator_address(
        host,
        shipper_org_id=merchant.id,
        carrier_org_id=carriers["harbor"].id,  # type: ignore[arg-type]
        side=Side.CARRIER,
        email=EMAIL_ONLY_ADDRESS,
    )
    # Bluebird Home's staff never log in either: its side of its pair with Swift Parcel is.
    bluebird = d.add_organization(
        host, name=EMAIL_ONLY_SHIPPER[1], role=OrgRole.SHIPPER, external_id=EMAIL_ONLY_SHIPPER[0]
    )
    assert bluebird.id is not None
    kit.notifications.set_collaborator_address(
        host,
        shipper_org_id=bluebird.id,
        carrier_org_id=carriers["swift"].id,  # type: ignore[arg-type]
        side=Side.SHIPPER,
        email=EMAIL_ONLY_SHIPPER_ADDRESS,
    )
    sample, sample_orders, _customers = sample_shipments(shipments, seed=seed, now=now)
    report = orderfeed.import_rows(kit, _rows(sample, sample_orders), shipper=MERCHANT)
    blue, blue_orders = _email_only_shipper_shipments(now)
    more = orderfeed.import_rows(kit, _rows(blue, blue_orders), shipper=EMAIL_ONLY_SHIPPER[0])
    if report.rejected or more.rejected:
        rejected = [*report.rejected, *more.rejected]
        raise ValueError(f"the demo's sample rows were refused: {rejected[:3]}")
    add = d.add_user
    people = {
        "alex": add(host, org_id=merchant.id, name="Alex Agent", email="alex@northwind.test"),
        "morgan": add(
            host,
            org_id=merchant.id,
            name="Morgan Manager",
            email="morgan@northwind.test",
            role=UserRole.MANAGER,
        ),
        "riley": add(host, org_id=merchant.id, name="Riley Rep", email="riley@northwind.test"),
        "dana": add(
            host,
            org_id=carriers["swift"].id,  # type: ignore[arg-type]
            name="Dana Dispatch",
            email="dana@swift.test",
            role=UserRole.MANAGER,
        ),
        "pat": add(
            host,
            org_id=carriers["swift"].id,  # type: ignore[arg-type]
            name="Pat Parcel",
            email="pat@swift.test",
        ),
    }
    customers = {}
    for name, email in sample_shipments(0, seed=seed)[2]:
        customers[email] = d.add_customer(host, shipper_org_id=merchant.id, email=email, name=name)
    identities: dict[str, tuple[str, Actor]] = {
        key: (
            f"{user.name} ({'Northwind' if user.org_id == merchant.id else 'Swift Parcel'}"
            f"{', manager' if user.role is not UserRole.AGENT else ''})",
            Actor.of_user(user),
        )
        for key, user in people.items()
    }
    first_customers = list(customers.values())[:3]
    for i, customer in enumerate(first_customers, 1):
        identities[f"customer{i}"] = (f"{customer.name} (customer)", Actor.of_customer(customer))

    staff = [Actor.of_user(people[k]) for k in ("alex", "morgan", "riley")]
    _rules(kit, Actor.of_user(people["morgan"]), owners=[people["alex"], people["riley"]])
    _canned_replies(kit, Actor.of_user(people["morgan"]), Actor.of_user(people["dana"]))
    _service_levels(
        kit,
        merchant=Actor.of_user(people["morgan"]),
        carrier=Actor.of_user(people["dana"]),
        merchant_id=merchant.id,
    )
    cast = Cast(
        kit=kit,
        rng=random.Random(seed),
        now=now,
        merchant_id=merchant.id,
        staff=staff,
        carrier_staff=[Actor.of_user(people[k]) for k in ("dana", "pat")],
    )
    references = sorted(sample)[: min(len(sample), CASES)]
    stories: list[tuple[datetime, Story]] = []
    for i, reference in enumerate(references):
        facts = sample[reference]
        customer = customers[sample_orders[facts.order_number].customer_email]  # type: ignore[index]
        kind, status = KINDS[i % len(KINDS)], i % 5  # new, open, waiting, reply received, solved
        opened = opened_at(i, len(references), now, seed=seed)
        if kind == "carrier" and facts.carrier == "swift":
            story = carrier_story(
                cast, status=status, facts=facts, shipper_id=merchant.id, opened=opened
            )
        elif kind == "rule":
            carrier_id = carriers[facts.carrier].id  # type: ignore[index]
            assert carrier_id is not None
            story = rule_story(
                cast, status=status, facts=facts, carrier_id=carrier_id, opened=opened
            )
        else:
            kind = "staff" if kind == "carrier" else kind
            story = merchant_story(
                cast,
                index=i,
                kind=kind,
                status=status,
                facts=facts,
                customer=customer,
                opened=opened,
            )
        stories.append((opened, story))
    for i, facts in enumerate(blue.values()):  # Swift Parcel asks Bluebird Home, by mail
        opened = now - timedelta(days=6 - 5 * i, hours=3)
        story = carrier_story(
            cast, status=(4, 1)[i], facts=facts, shipper_id=bluebird.id, opened=opened
        )
        stories.append((opened, story))
    play(kit.clock, stories)
    numbers = cast.numbers
    return DemoWorld(
        identities=identities,
        shipments=report.shipments_created + report.shipments_updated,
        merchant_id=merchant.id,
        cases=numbers,
    )


#: Northwind's office hours (New York, US public holidays) and Swift Parcel's (Chicago,
#: Monday to Saturday morning), in which the demo's clocks count.
MERCHANT_CALENDAR = {
    "time_zone": "America/New_York",
    "hours": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US"},
}
CARRIER_CALENDAR = {
    "time_zone": "America/Chicago",
    "hours": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [["08:00", "12:00"]]},
}


def _service_levels(kit: CaseKit, *, merchant: Actor, carrier: Actor, merchant_id: int) -> None:
    """Service levels for the stories to run clocks on (the Due column, the Due soon
    view, the case page's clocks): Northwind's promises to its customers and carriers
    in its office hours, and Swift Parcel's to Northwind in its own, shown to
    Northwind. Set before the cases open, so each case's clocks start with it."""
    hour = 3600
    levels = kit.service_levels
    levels.set_calendar(merchant, MERCHANT_CALENDAR)
    for values in (
        {
            "name": "Damaged goods: answer in 2 hours, settle in 3 days",
            "conditions": {"types": ["osd_damaged", "osd_shortage"]},
            "first_response": 2 * hour,
            "resolution": 3 * 8 * hour,
            "warn_before": hour,
        },
        {
            "name": "Customers and carriers: answer the same day, solve within a week",
            "first_response": 4 * hour,
            "next_response": 8 * hour,
            "resolution": 5 * 8 * hour,
            "pause_when_waiting": True,
            "warn_before": 2 * hour,
        },
    ):
        levels.save_target(merchant, values)
    levels.set_calendar(carrier, CARRIER_CALENDAR, partner_org_id=merchant_id, share_clocks=True)
    levels.save_target(
        carrier,
        {
            "name": "Northwind's questions: answer in 4 hours, settle in 2 days",
            "conditions": {"partners": [merchant_id]},
            "first_response": 4 * hour,
            "resolution": 2 * 9 * hour,
            "pause_when_waiting": True,
            "warn_before": hour,
        },
    )


def _rules(kit: CaseKit, manager: Actor, *, owners: list[Any]) -> None:
    """The merchant's rules: two Tier 1 rules that open cases on the carriers' exceptions,
    owned in turn by ``owners``, enabled; the starter set, disabled, to review."""
    common = {"owner": "round_robin", "owner_ids": [u.id for u in owners], "tier": 1}
    kit.rules.create(
        manager,
        {
            **common,
            "name": "Damaged in transit",
            "exceptions": ["damaged"],
            "case_type": "osd_damaged",
            "subject": "Damaged in transit: {reference}",
            "message": "The carrier reports shipment {reference} as damaged.",
        },
    )
    kit.rules.create(
        manager,
        {
            **common,
            "name": "Address issue",
            "exceptions": ["address_issue"],
            "case_type": "address_correction",
            "subject": "Address issue: {reference}",
            "message": "The carrier reports an address problem on shipment {reference}. "
            "Please confirm the delivery address.",
            "auto_solve": True,
        },
    )
    kit.rules.install_starters(manager)


def _canned_replies(kit: CaseKit, merchant: Actor, carrier: Actor) -> None:
    """A few canned replies of the merchant and of a carrier, as their managers keep them."""
    save = kit.canned_replies.save
    save(
        merchant,
        title="Ask for photos of the damage",
        body="Hello {{ customer.first_name or 'there' }},\n\nwe are sorry order {{ order.number }} "
        "arrived damaged. Could you send us photos of the parcel and its contents? "
        "We will sort it out at once.\n\n{{ agent.first_name }}, {{ organization.name }}",
        audience="customer",
        actions={"status": "waiting", "owner": "me"},
    )
    save(
        merchant,
        title="Asked the carrier",
        body="Hello {{ customer.first_name or 'there' }},\n\nwe have asked "
        "{{ shipment.carrier }} where shipment {{ shipment.reference }} is and will write "
        "again as soon as they answer."
        "\n\n{{ agent.first_name }}",
        audience="customer",
        actions={"status": "waiting"},
    )
    save(
        merchant,
        title="Please trace the shipment",
        body="Please trace shipment {{ shipment.reference }} (tracking "
        "{{ shipment.tracking_number }}) and tell us where it is.",
        audience="partners",
        actions={"watchers": ["me"]},
    )
    save(
        carrier,
        title="Trace started",
        body="We have started a trace on {{ shipment.reference }}; expect an answer within "
        "one working day.",
        audience="partners",
        actions={"owner": "me"},
    )


demo_pages = Blueprint("casekit_demo", __name__, template_folder="templates")


@demo_pages.before_request
def _limit_answers() -> None:
    """An answer's request is as large as its file may be, and a little: a larger one is
    a 413 before it is read (before the CSRF check reads the form)."""
    if request.endpoint == "casekit_demo.answer_mail":
        request.max_content_length = _max_file_bytes() + FORM_SLACK


protect_forms(demo_pages)


@demo_pages.errorhandler(CSRFError)
def _form_expired(error: CSRFError) -> ResponseReturnValue:
    from casekit_flask.extension import error_page

    return error_page(400, "The form expired", "Reload the page and send it again.")


@demo_pages.errorhandler(404)
def _missing(error: Any) -> ResponseReturnValue:
    from casekit_flask.extension import error_page

    return error_page(404, "Not found", "There is nothing here.")


@demo_pages.errorhandler(413)
def _too_large(error: Any) -> ResponseReturnValue:
    from casekit_flask.extension import error_page

    limit = f"larger than the limit of {megabytes(_max_file_bytes())}"
    name = (request.view_args or {}).get("name")
    if request.endpoint == "casekit_demo.answer_mail" and isinstance(name, str):
        try:
            return _message_page(name, errors={"attachment": [limit]}, status=413)
        except HTTPException:  # a mail the identity acted as does not read
            pass
    return error_page(413, "Too large", f"The upload is {limit}.")


@demo_pages.get("/")
def home() -> ResponseReturnValue:
    from casekit_flask.extension import current_actor, current_kit

    actor = current_actor()
    orders = []
    if actor is not None and actor.is_customer:
        from flask import current_app

        customer = current_kit().directory.customer(actor, actor.customer_id)  # type: ignore[arg-type]
        sample = current_app.config["CASEKIT_DEMO_ORDERS"]
        orders = [o for o in sample.values() if o.customer_email == customer.email][:5]
    return render_template("casekit/demo/home.html", actor=actor, orders=orders)


@demo_pages.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """The icon browsers ask the site's root for (casekit's pages link the SVG one)."""
    static = Path(__file__).parent / "static" / "casekit"
    return send_from_directory(static, "favicon.ico", mimetype="image/vnd.microsoft.icon")


def _runtime() -> DemoRuntime:
    from flask import current_app

    runtime: DemoRuntime = current_app.extensions["casekit_demo"]
    return runtime


def _capture() -> MailCapture:
    return _runtime().capture


def _mailbox() -> tuple[str, int] | None:
    """The email-only organization acted as (its label and id), or None."""
    key = session.get("casekit_demo_identity")
    return _runtime().mailboxes.get(key) if key else None


def _max_file_bytes() -> int:
    from casekit_flask.extension import current_kit

    return current_kit().settings.max_attachment_bytes


def _readable_addresses(actor: Actor | None) -> frozenset[str]:
    """The addresses whose captured mail ``actor`` may read.

    A user reads the mail to their own address and to their organization's
    collaborator addresses (its side of each pair); a customer the mail to
    their own address; an email-only organization (:attr:`DemoRuntime.mailboxes`)
    the mail to its collaborator addresses; anyone else (nobody signed in) none.
    """
    from casekit_flask.extension import current_kit

    kit = current_kit()
    if actor is not None and actor.customer_id is not None:
        return frozenset({kit.directory.customer(actor, actor.customer_id).email.lower()})
    if actor is not None and actor.user_id is not None:
        own = {kit.directory.user(actor, actor.user_id).email.lower()}
        org_id, reader = actor.org_id, actor
    elif (mailbox := _mailbox()) is not None:
        own, (_label, org_id), reader = set(), mailbox, Actor.host()
    else:
        return frozenset()
    for address in kit.notifications.collaborator_addresses(reader):
        shipper = address.side is Side.SHIPPER
        if (address.shipper_org_id if shipper else address.carrier_org_id) == org_id:
            own.add(address.email.lower())
    return frozenset(own)


def _recipient(message: EmailMessage, addresses: frozenset[str]) -> str | None:
    """The recipient of ``message`` (as its ``To`` names it) among ``addresses``, or None."""
    for name, address in getaddresses([str(v) for v in message.get_all("To", [])]):
        if address.lower() in addresses:
            return formataddr((name, address)) if name else address
    return None


def _captured(addresses: frozenset[str]) -> list[tuple[str, EmailMessage]]:
    """The captured mails the addresses may read, newest first."""
    capture = _capture()
    mails = []
    for name in capture.names():
        message = capture.read(name)
        if message is not None and _recipient(message, addresses) is not None:
            mails.append((name, message))
    return mails


@demo_pages.get("/demo/mail/")
def captured_mail() -> ResponseReturnValue:
    """The mail the demo would have sent to the signed-in identity, newest first."""
    from casekit_flask.extension import current_actor

    actor = current_actor()
    mails = _captured(_readable_addresses(actor))
    mailbox = _mailbox() if actor is None else None
    return render_template(
        "casekit/demo/mail.html",
        mails=mails[:200],
        total=len(mails),
        actor=actor,
        mailbox=mailbox[0] if mailbox else None,
    )


def _readable_mail(name: str) -> tuple[EmailMessage, str]:
    """The captured mail ``name`` and its recipient, if the identity acted as reads it;
    else a 404."""
    from casekit_flask.extension import current_actor

    message = _capture().read(name)
    recipient = None
    if message is not None:
        recipient = _recipient(message, _readable_addresses(current_actor()))
    if message is None or recipient is None:
        abort(404)
    return message, recipient


@demo_pages.get("/demo/mail/<name>")
def captured_message(name: str) -> ResponseReturnValue:
    return _message_page(name)


def _message_page(
    name: str,
    *,
    errors: dict[str, list[str]] | None = None,
    text: str = "",
    status: int = 200,
) -> ResponseReturnValue:
    """A captured mail, with the form that answers it as its recipient (and what the
    last answer to it did)."""
    from casekit_flask.extension import current_actor

    message, recipient = _readable_mail(name)
    actor = current_actor()
    body = message.get_body(("plain",))
    answered = session.get(ANSWERED)
    result = session.pop(ANSWERED) if answered and answered.get("name") == name else None
    return render_template(
        "casekit/demo/message.html",
        name=name,
        message=message,
        pieces=_linked(body.get_content() if body is not None else ""),
        recipient=recipient,
        result=result,
        case_link=_case_link(actor, result),
        may_open=actor is not None,
        errors=errors or {},
        text=text,
        max_file=megabytes(_max_file_bytes()),
    ), status


#: The session key of what the last answer did, shown once on its mail's page.
ANSWERED = "casekit_demo_answered"


@demo_pages.post("/demo/mail/<name>/answer")
def answer_mail(name: str) -> ResponseReturnValue:
    """Answer a captured mail as its recipient: a reply by email, through casekit's inbound
    mail (:func:`~casekit_flask.demo_answer.compose_answer`), then its mail's page again
    with what became of it."""
    from casekit_flask.extension import current_kit

    message, recipient = _readable_mail(name)
    answer = read_answer(request.form, request.files, max_file_bytes=_max_file_bytes())
    if not isinstance(answer, Answer):
        return _message_page(name, errors=answer, text=request.form.get("text", ""), status=400)
    kit = current_kit()
    reply = compose_answer(message, sender=recipient, answer=answer, now=kit.clock.now())
    result = kit.inbound.receive(
        reply.as_bytes(),
        envelope_from=parseaddr(recipient)[1],
        envelope_to=[address for _name, address in getaddresses([str(reply["To"])])],
    )
    session[ANSWERED] = {
        "name": name,
        "outcome": result.outcome.value,
        "number": result.case_number,
        "reason": result.reason,
    }
    return redirect(url_for(".captured_message", name=name) + "#answer")


def _case_link(actor: Actor | None, result: dict[str, Any] | None) -> str | None:
    """The page of the case an answer went to: the portal's for a customer, else the staff's."""
    number = result and result.get("number")
    if not number:
        return None
    portal = actor is not None and actor.is_customer
    return url_for(f"casekit_{'portal' if portal else 'staff'}.case_page", number=number)


_LINK = re.compile(r"https?://[^\s<>\"']+")


def _linked(text: str) -> list[tuple[str, bool]]:
    """``text`` in pieces, each with whether it is a web link (shown as one)."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in _LINK.finditer(text):
        pieces += [(text[at : match.start()], False), (match.group(0), True)]
        at = match.end()
    pieces.append((text[at:], False))
    return [(piece, link) for piece, link in pieces if piece]


@demo_pages.post("/demo/identity")
def switch_identity() -> ResponseReturnValue:
    from flask import current_app

    key = request.form.get("identity", "")
    known = current_app.config["CASEKIT_DEMO_IDENTITIES"].keys() | _runtime().mailboxes.keys()
    if key and key not in known:
        abort(400)
    session["casekit_demo_identity"] = key or None
    return redirect(same_site_path(request.form.get("next")))


@attrs.define
class DemoRuntime:
    """The demo app's mail capture and its outbox worker (``app.extensions["casekit_demo"]``)."""

    capture: MailCapture
    worker: Worker | None = None
    #: The organizations whose staff never log in, by identity key: their label and id.
    #: Acting as one reads (and answers) the mail to its collaborator addresses.
    mailboxes: dict[str, tuple[str, int]] = attrs.field(factory=dict)
    thread: threading.Thread | None = None

    def start(self) -> None:
        """Deliver the outbox in a background thread, into the capture."""
        if self.worker is None or self.thread is not None:
            return
        self.thread = threading.Thread(
            target=self.worker.run, name="casekit-demo-outbox", daemon=True
        )
        self.thread.start()

    def stop(self, timeout: float = 30) -> None:
        if self.worker is not None:
            self.worker.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)


def create_demo_app(
    directory: Path,
    *,
    shipments: int = 300,
    seed: int = 7,
    secret_key: str | None = None,
    deliver: bool = True,
    base_url: str = "http://127.0.0.1:5000",
) -> Flask:
    """A Flask app on a SQLite file in ``directory`` with the demo data loaded once.

    Outgoing mail is captured in ``directory/mail`` and shown at ``/demo/mail/``;
    with ``deliver`` an outbox worker delivers it from a background thread
    (``app.extensions["casekit_demo"].stop()`` stops it). The mail accepts
    replies (a reply address, and a reply secret kept in ``directory``) and
    links to the case's page under ``base_url``, the address the demo is
    reached at: a staff page for staff, the portal's for the customer.
    """
    import secrets

    from casekit_flask.extension import CaseKitFlask

    _orderfeed()
    directory = Path(directory)
    url = f"sqlite:///{directory / 'casekit-demo.sqlite3'}"
    settings = Settings(
        database_url=url,
        attachment_dir=directory / "attachments",
        load_entry_points=False,
        mail_from="cases@northwind.test",
        reply_address=REPLY_ADDRESS,
        reply_secrets=(_reply_secret(directory),),
        worker_poll_seconds=1,
        network_benchmarks=True,
    )
    capture = MailCapture(directory / "mail")
    kit = CaseKit(settings=settings, plugins=[*demo_plugins(), capture])
    kit.create_schema()  # a folder kept from an older casekit gets the newest tables
    marker = directory / "casekit-demo.loaded"
    if not marker.exists():
        now = datetime.now(UTC)
        start = now - timedelta(days=SPAN_DAYS + 10)
        plugins = [*demo_plugins(), capture]
        with CaseKit(settings=settings, plugins=plugins, clock=FrozenClock(start)) as loader:
            world = load_demo_data(loader, shipments=shipments, seed=seed, now=now)
        # The Benchmarks page's figures (one shipper: the network's are not published).
        kit.network.compute(Actor.host(), months=3)
        marker.write_text(
            "\n".join(f"{k}\t{_encode(a)}\t{label}" for k, (label, a) in world.identities.items())
        )
    identities = {}
    for line in marker.read_text().splitlines():
        key, encoded, label = line.split("\t", 2)
        identities[key] = (label, _decode(encoded))
    app = Flask("casekit_demo")
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        CASEKIT_DEMO=True,
        CASEKIT_BASE_URL=base_url,
        CASEKIT_DEMO_IDENTITIES=identities,
        CASEKIT_DEMO_ORDERS=sample_shipments(shipments, seed=seed)[1],
    )
    ext = CaseKitFlask(kit=kit)

    @ext.identity_loader
    def demo_identity() -> Actor | None:
        key = session.get("casekit_demo_identity")
        found = identities.get(key) if key else None
        return found[1] if found else None

    ext.init_app(app)
    app.register_blueprint(demo_pages)
    runtime = DemoRuntime(
        capture=capture,
        worker=kit.notifications.worker() if deliver else None,
        mailboxes=_mailboxes(kit),
    )
    app.extensions["casekit_demo"] = runtime
    runtime.start()

    @app.context_processor
    def demo_context() -> dict[str, Any]:
        return {
            "demo_identities": identities,
            "demo_mailboxes": runtime.mailboxes,
            "demo_current": session.get("casekit_demo_identity"),
        }

    return app


def _mailboxes(kit: CaseKit) -> dict[str, tuple[str, int]]:
    """The demo's organizations whose staff never log in (a carrier, a shipper), as
    identities that read their mail."""
    found = {}
    email_only = [(key, name) for key, name, users in CARRIERS if not users]
    for key, name in [*email_only, EMAIL_ONLY_SHIPPER]:
        org = kit.directory.organization_by_external_id(Actor.host(), key)
        assert org.id is not None
        found[key] = (f"{name} (email only)", org.id)
    return found


#: Where the demo's mail says replies go (each with its recipient's reply token).
REPLY_ADDRESS = "reply@inbound.northwind.test"


def _reply_secret(directory: Path) -> str:
    """The demo's reply-token secret: made once per folder, so the tokens of its
    captured mail stay valid when the demo starts again on it."""
    import secrets

    path = directory / "casekit-demo.reply-secret"
    if not path.exists():
        path.write_text(secrets.token_hex(24))
    return path.read_text().strip()


def _encode(actor: Actor) -> str:
    parts = (actor.kind.value, actor.user_id, actor.customer_id, actor.org_id)
    return ":".join("" if p is None else str(p) for p in parts) + f":{int(actor.is_manager)}"


def _decode(text: str) -> Actor:
    from casekit.domain.actor import ActorKind

    kind, user_id, customer_id, org_id, manager = text.split(":")
    return Actor(
        ActorKind(kind),
        user_id=int(user_id) if user_id else None,
        customer_id=int(customer_id) if customer_id else None,
        org_id=int(org_id) if org_id else None,
        is_manager=manager == "1",
    )
