"""Shopify's order and fulfillment webhooks, verified and mapped to casekit's facts.

Handles the topics ``orders/create``, ``orders/updated``,
``fulfillments/create`` and ``fulfillments/update`` (Shopify's REST webhook
payloads). A webhook is verified first (``X-Shopify-Hmac-Sha256``: the
base64 HMAC-SHA256 of the raw body with the app's secret), then read whole;
a bad signature or a malformed payload raises :class:`WebhookRejected` and
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
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from casekit import (
    Actor,
    CaseKit,
    ExceptionKind,
    InvalidInput,
    NotFound,
    OrderFacts,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
)

TOPICS = ("orders/create", "orders/updated", "fulfillments/create", "fulfillments/update")

#: Shopify's fulfillment ``shipment_status`` → casekit's status and exception.
SHIPMENT_STATUS: dict[str, tuple[ShipmentStatus, ExceptionKind | None]] = {
    "label_printed": (ShipmentStatus.SCHEDULED, None),
    "label_purchased": (ShipmentStatus.SCHEDULED, None),
    "confirmed": (ShipmentStatus.SCHEDULED, None),
    "in_transit": (ShipmentStatus.IN_TRANSIT, None),
    "out_for_delivery": (ShipmentStatus.OUT_FOR_DELIVERY, None),
    "attempted_delivery": (ShipmentStatus.EXCEPTION, ExceptionKind.DELIVERY_SCHEDULING_NEEDED),
    "ready_for_pickup": (ShipmentStatus.EXCEPTION, ExceptionKind.HELD_AT_TERMINAL),
    "delivered": (ShipmentStatus.DELIVERED, None),
    "failure": (ShipmentStatus.EXCEPTION, ExceptionKind.UNDELIVERABLE),
}


class WebhookRejected(InvalidInput):
    """The webhook was not accepted; ``errors`` says why. Nothing was stored.

    Answer the webhook with HTTP 401 when ``errors`` has ``signature``, 400 otherwise.
    """


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


class _Reader:
    """Collects every problem of a payload, by its path, before giving up."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def bad(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def obj(self, data: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            self.bad(path, "an object is expected")
            return {}
        return data

    def text(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.bad(f"{path}.{key}", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.bad(f"{path}.{key}", "text or a number is expected")
            return None
        return str(value).strip() or None

    def time(self, data: Mapping[str, Any], key: str, path: str) -> datetime | None:
        value = data.get(key)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.bad(f"{path}.{key}", f"{value!r} is not an ISO 8601 time")
            return None
        if moment.tzinfo is None:
            self.bad(f"{path}.{key}", f"{value!r} has no UTC offset")
            return None
        return moment


def _order(r: _Reader, data: Mapping[str, Any], shipper: str) -> OrderFacts | None:
    name = r.text(data, "name", "order", required=True)
    customer = r.obj(data.get("customer") or {}, "order.customer")
    full_name = " ".join(
        p for p in (customer.get("first_name"), customer.get("last_name")) if isinstance(p, str)
    ).strip()
    email = r.text(data, "email", "order") or r.text(customer, "email", "order.customer")
    placed = r.time(data, "created_at", "order")
    if name is None:
        return None
    return OrderFacts(
        number=name.lstrip("#"),
        shipper=shipper,
        customer_email=email,
        customer_name=full_name or None,
        placed_at=placed,
    )


def _fulfillment(
    r: _Reader,
    data: Mapping[str, Any],
    path: str,
    *,
    shipper: str,
    order_number: str | None,
    carriers: Mapping[str, str],
    destination: Mapping[str, Any],
) -> tuple[ShipmentFacts | None, ShipmentEvent | None]:
    fid = r.text(data, "id", path, required=True)
    number = r.text(data, "tracking_number", path)
    numbers = data.get("tracking_numbers")
    if number is None and isinstance(numbers, list) and numbers and isinstance(numbers[0], str):
        number = numbers[0]
    company = r.text(data, "tracking_company", path)
    dest = r.obj(data.get("destination") or destination or {}, f"{path}.destination")
    name = " ".join(
        p for p in (dest.get("first_name"), dest.get("last_name")) if isinstance(p, str)
    ).strip() or r.text(dest, "name", f"{path}.destination")
    updated = r.time(data, "updated_at", path) or r.time(data, "created_at", path)
    status = data.get("shipment_status")
    state = data.get("status")
    event_status: tuple[ShipmentStatus, ExceptionKind | None] | None = None
    if state == "cancelled":
        event_status = (ShipmentStatus.EXCEPTION, ExceptionKind.CANCELED)
    elif status is not None:
        event_status = SHIPMENT_STATUS.get(str(status))
        if event_status is None:
            r.bad(f"{path}.shipment_status", f"unknown shipment status {status!r}")
    if fid is None:
        return None, None
    reference = f"shopify-{fid}"
    facts = ShipmentFacts(
        reference=reference,
        shipper=shipper,
        carrier=carriers.get(company) if company else None,
        carrier_name=company,
        tracking_number=number,
        order_number=order_number,
        destination_name=name or None,
        destination_postal_code=r.text(dest, "zip", f"{path}.destination"),
    )
    event = None
    if event_status is not None:
        if updated is None:
            r.bad(f"{path}.updated_at", "a fulfillment with a status needs its time")
        else:
            event = ShipmentEvent(
                reference=reference,
                status=event_status[0],
                exception=event_status[1],
                occurred_at=updated,
                description=f"Shopify: {state if state == 'cancelled' else status}",
                source="shopify",
                key=f"{fid}:{state}:{status}:{updated.isoformat()}",
            )
    return facts, event


def parse(topic: str, payload: Any, *, shipper: str, carriers: Mapping[str, str] = {}) -> Parsed:
    """What the webhook of ``topic`` says; WebhookRejected names every problem."""
    r = _Reader()
    if topic not in TOPICS:
        raise WebhookRejected(
            {"topic": [f"unsupported topic {topic!r}; one of {', '.join(TOPICS)}"]}
        )
    data = r.obj(payload, topic.split("/")[0].rstrip("s"))
    orders: list[OrderFacts] = []
    shipments: list[ShipmentFacts] = []
    events: list[ShipmentEvent] = []
    if data and topic.startswith("orders/"):
        order = _order(r, data, shipper)
        if order is not None:
            orders.append(order)
        fulfillments = data.get("fulfillments") or []
        if not isinstance(fulfillments, list):
            r.bad("order.fulfillments", "a list is expected")
            fulfillments = []
        destination = data.get("shipping_address") or {}
        for i, item in enumerate(fulfillments):
            facts, event = _fulfillment(
                r,
                r.obj(item, f"order.fulfillments.{i}"),
                f"order.fulfillments.{i}",
                shipper=shipper,
                order_number=order.number if order else None,
                carriers=carriers,
                destination=destination if isinstance(destination, Mapping) else {},
            )
            if facts is not None:
                shipments.append(facts)
            if event is not None:
                events.append(event)
    elif data:
        name = data.get("name")
        order_number = None
        if isinstance(name, str) and "." in name:
            order_number = name.rsplit(".", 1)[0].lstrip("#")  # "#1001.1" is order #1001's
        facts, event = _fulfillment(
            r,
            data,
            "fulfillment",
            shipper=shipper,
            order_number=order_number,
            carriers=carriers,
            destination={},
        )
        if facts is not None:
            shipments.append(facts)
        if event is not None:
            events.append(event)
    if r.errors:
        raise WebhookRejected(r.errors)
    return Parsed(orders=tuple(orders), shipments=tuple(shipments), events=tuple(events))


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
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookRejected({"body": [f"not JSON: {error}"]}) from None
    parsed = parse(topic, payload, shipper=shipper, carriers=carriers)
    return store(kit, topic, parsed, shipper=shipper)


def store(kit: CaseKit, topic: str, parsed: Parsed, *, shipper: str) -> WebhookResult:
    """Upsert what a webhook said as the shipper's feed; record its events."""
    try:
        org = kit.directory.organization_by_external_id(Actor.host(), shipper)
    except NotFound:
        raise WebhookRejected({"shipper": [f"no organization {shipper!r}"]}) from None
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
