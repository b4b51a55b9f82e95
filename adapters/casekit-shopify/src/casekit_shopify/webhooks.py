"""Shopify's order and fulfillment webhooks, verified and mapped to casekit's facts.

Handles the topics ``orders/create``, ``orders/updated``,
``fulfillments/create`` and ``fulfillments/update`` (Shopify's REST webhook
payloads). A webhook is verified first (``X-Shopify-Hmac-Sha256``: the
base64 HMAC-SHA256 of the raw body with the app's secret), then checked
whole against the schemas of :mod:`casekit_shopify.schemas`; a bad
signature or a malformed payload raises :class:`WebhookRejected` and
nothing is stored.

Mapping:

- an order becomes :class:`~casekit.OrderFacts` numbered by its ``name``
  without the ``#`` (``#1001`` → ``1001``), with the customer's email and
  name and ``created_at``;
- a fulfillment becomes :class:`~casekit.ShipmentFacts` whose reference is
  ``shopify-<fulfillment id>``, with the order number, tracking number and
  company, and the destination; ``carriers`` maps a tracking company to a
  carrier organization's external id;
- a fulfillment's ``shipment_status`` (and ``status``) becomes a tracking
  event, normalised as :data:`SHIPMENT_STATUS` says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
from marshmallow import ValidationError

from casekit import (
    Actor,
    CaseKit,
    ExceptionKind,
    InvalidInput,
    NotFound,
    OrderFacts,
    OrgRole,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
)
from casekit.domain.directory import Organization
from casekit.schemas.facts import read_json
from casekit_shopify.schemas import (
    SHIPMENT_STATUS,
    FulfillmentSchema,
    OrderSchema,
    flatten,
    full_name,
)

TOPICS = ("orders/create", "orders/updated", "fulfillments/create", "fulfillments/update")


class WebhookRejected(InvalidInput):
    """The webhook was not accepted; ``errors`` says why. Nothing was stored.

    Answer the webhook with :attr:`status`.
    """

    @property
    def status(self) -> int:
        """The HTTP status to answer: 401 for the signature, 400 for a body that
        is not JSON, 422 for a payload casekit cannot take (a field of the wrong
        type or length, an unknown topic, shipper or carrier)."""
        if "signature" in self.errors:
            return 401
        return 400 if "body" in self.errors else 422


@attrs.frozen
class Parsed:
    """What a webhook says, in casekit's terms."""

    orders: tuple[OrderFacts, ...] = ()
    shipments: tuple[ShipmentFacts, ...] = ()
    events: tuple[ShipmentEvent, ...] = ()


@attrs.define
class WebhookResult:
    """What handling a webhook stored, and the cases the shipper's rules opened."""

    topic: str
    orders: int = 0
    shipments: int = 0
    events: int = 0
    duplicates: int = 0
    opened: list[str] = attrs.field(factory=list)
    solved: list[str] = attrs.field(factory=list)


def verify(body: bytes, signature: str | None, secret: str | bytes) -> None:
    """Check ``X-Shopify-Hmac-Sha256``; WebhookRejected unless it signs ``body``."""
    if not signature:
        raise WebhookRejected({"signature": ["the X-Shopify-Hmac-Sha256 header is missing"]})
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise WebhookRejected({"signature": ["no webhook secret is configured"]})
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        raise WebhookRejected({"signature": ["the signature does not match the body"]})


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value for ``body`` (for tests and replays)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


# -- reading payloads -----------------------------------------------------------------


def _order(data: Mapping[str, Any], shipper: str) -> OrderFacts:
    customer = data.get("customer") or {}
    return OrderFacts(
        number=data["name"].lstrip("#"),
        shipper=shipper,
        customer_email=data.get("email") or customer.get("email"),
        customer_name=full_name(customer),
        placed_at=data.get("created_at"),
    )


def _fulfillment(
    data: Mapping[str, Any],
    *,
    shipper: str,
    order_number: str | None,
    carriers: Mapping[str, str],
    destination: Mapping[str, Any],
) -> tuple[ShipmentFacts, ShipmentEvent | None]:
    fid = data["id"]
    numbers = data.get("tracking_numbers") or []
    company = data.get("tracking_company")
    dest = data.get("destination") or destination
    reference = f"shopify-{fid}"
    facts = ShipmentFacts(
        reference=reference,
        shipper=shipper,
        carrier=carriers.get(company) if company else None,
        carrier_name=company,
        tracking_number=data.get("tracking_number") or next(iter(numbers), None),
        order_number=order_number,
        destination_name=full_name(dest) or dest.get("name"),
        destination_postal_code=dest.get("zip"),
    )
    status, state = data.get("shipment_status"), data.get("status")
    news = (ShipmentStatus.EXCEPTION, ExceptionKind.CANCELED) if state == "cancelled" else None
    news = news or SHIPMENT_STATUS.get(status or "")
    if news is None:
        return facts, None
    updated: datetime = data.get("updated_at") or data["created_at"]
    return facts, ShipmentEvent(
        reference=reference,
        status=news[0],
        exception=news[1],
        occurred_at=updated,
        description=f"Shopify: {state if state == 'cancelled' else status}",
        source="shopify",
        key=f"{fid}:{state}:{status}:{updated.isoformat()}",
    )


def parse(topic: str, payload: Any, *, shipper: str, carriers: Mapping[str, str] = {}) -> Parsed:
    """What the webhook of ``topic`` says; WebhookRejected names every problem.

    The payload is checked against :class:`~casekit_shopify.schemas.OrderSchema`
    or :class:`~casekit_shopify.schemas.FulfillmentSchema` first.
    """
    if topic not in TOPICS:
        raise WebhookRejected(
            {"topic": [f"unsupported topic {topic!r}; one of {', '.join(TOPICS)}"]}
        )
    part = topic.split("/")[0].rstrip("s")
    if not isinstance(payload, Mapping):
        raise WebhookRejected({part: ["an object is expected"]})
    schema = OrderSchema() if part == "order" else FulfillmentSchema()
    try:
        data = schema.load(payload)
    except ValidationError as error:
        raise WebhookRejected(flatten(error.messages, part)) from None
    if part == "fulfillment":
        name = data.get("name") or ""
        order_number = name.rsplit(".", 1)[0].lstrip("#") or None if "." in name else None
        facts, event = _fulfillment(
            data, shipper=shipper, order_number=order_number, carriers=carriers, destination={}
        )
        return Parsed(shipments=(facts,), events=(event,) if event else ())
    order = _order(data, shipper)
    read = [
        _fulfillment(
            item,
            shipper=shipper,
            order_number=order.number,
            carriers=carriers,
            destination=data.get("shipping_address") or {},
        )
        for item in data.get("fulfillments") or []
    ]
    return Parsed(
        orders=(order,),
        shipments=tuple(facts for facts, _ in read),
        events=tuple(event for _, event in read if event is not None),
    )


def handle_webhook(
    kit: CaseKit,
    *,
    topic: str,
    body: bytes,
    signature: str | None,
    secret: str | bytes,
    shipper: str,
    carriers: Mapping[str, str] = {},
) -> WebhookResult:
    """Verify, read and store one Shopify webhook; framework-free.

    ``topic`` is the ``X-Shopify-Topic`` header, ``signature`` the
    ``X-Shopify-Hmac-Sha256`` header, ``body`` the raw request body, and
    ``shipper`` the external id of the shipper the shop belongs to (the host
    maps ``X-Shopify-Shop-Domain`` to it). Raises :class:`WebhookRejected`
    (nothing stored) for a bad signature or a malformed payload.
    """
    verify(body, signature, secret)
    try:
        payload = read_json(body)
    except ValueError as error:
        raise WebhookRejected({"body": [str(error)]}) from None
    parsed = parse(topic, payload, shipper=shipper, carriers=carriers)
    return store(kit, topic, parsed, shipper=shipper)


def _organization(kit: CaseKit, external_id: str) -> Organization | None:
    try:
        return kit.directory.organization_by_external_id(Actor.host(), external_id)
    except NotFound:
        return None


def store(kit: CaseKit, topic: str, parsed: Parsed, *, shipper: str) -> WebhookResult:
    """Upsert what a webhook said as the shipper's feed; record its events.

    The shipper and the carriers named are looked up first, so that a webhook
    the store would refuse part of is refused before anything is stored.
    """
    org = _organization(kit, shipper)
    if org is None:
        raise WebhookRejected({"shipper": [f"no organization {shipper!r}"]})
    for name in sorted({s.carrier for s in parsed.shipments if s.carrier}):
        carrier = _organization(kit, name)
        if carrier is None or carrier.role is not OrgRole.CARRIER:
            raise WebhookRejected({"carriers": [f"{name!r} is not a known carrier"]})
    feed = Actor.system_actor("api", org_id=org.id)
    result = WebhookResult(topic=topic)
    orders = kit.shipments.upsert_orders(feed, parsed.orders)
    if orders.rejected:
        raise WebhookRejected({"order": [r.reason for r in orders.rejected]})
    shipments = kit.shipments.upsert_shipments(feed, parsed.shipments)
    if shipments.rejected:
        raise WebhookRejected({"fulfillment": [r.reason for r in shipments.rejected]})
    events = kit.shipments.record_events(feed, parsed.events)
    if events.rejected:
        raise WebhookRejected({"fulfillment": [r.reason for r in events.rejected]})
    result.orders = orders.created + orders.updated
    result.shipments = shipments.created + shipments.updated
    result.events = events.recorded
    result.duplicates = events.duplicates
    result.opened = list(events.opened)
    result.solved = list(events.solved)
    return result
