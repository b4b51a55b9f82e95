"""The parts of Shopify's order and fulfillment payloads casekit reads, declared (marshmallow).

Each field casekit reads is typed and no longer than the store's column it
goes to (see :mod:`casekit.schemas.facts`); the payload's other fields are
ignored. A field that is null or ``""`` is absent.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from casekit import ExceptionKind, ShipmentStatus
from casekit.schemas.facts import ORDER_LENGTHS, SHIPMENT_LENGTHS, Line

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

#: A person's name: an order's customer, or a shipment's destination.
NAME = min(ORDER_LENGTHS["customer_name"], SHIPMENT_LENGTHS["destination_name"])
#: A fulfillment's id: its shipment's reference is ``shopify-<id>``, and its
#: events' keys hold it with their status and time.
ID_LENGTH = 64
STATE_LENGTH = 32

_TIME = {
    "invalid": "not an ISO 8601 time",
    "invalid_awareness": "not an ISO 8601 time with a UTC offset",
}


def _line(length: int | None = None, **kwargs: Any) -> Line:
    return Line(max_length=length, allow_none=True, **kwargs)


def _time() -> fields.AwareDateTime:
    return fields.AwareDateTime(allow_none=True, error_messages=_TIME)


def _email() -> Line:
    return _line(
        ORDER_LENGTHS["customer_email"], validate=validate.Email(error="not an email address")
    )


def _order_number(value: str) -> None:
    number = value.lstrip("#")
    if not number:
        raise ValidationError("names no order")
    if len(number) > ORDER_LENGTHS["number"]:
        raise ValidationError(f"at most {ORDER_LENGTHS['number']} characters after its '#'")


class _Part(Schema):
    error_messages = {"type": "an object is expected"}

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _empty_is_absent(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data


class _Person(_Part):
    first_name = _line(NAME)
    last_name = _line(NAME)

    @validates_schema
    def _name_fits(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(full_name(data) or "") > NAME:
            raise ValidationError(f"at most {NAME} characters with last_name", "first_name")


def full_name(data: dict[str, Any]) -> str | None:
    """A person's first and last names, or None."""
    return " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) or None


class AddressSchema(_Person):
    name = _line(NAME)
    zip = _line(SHIPMENT_LENGTHS["destination_postal_code"])


class CustomerSchema(_Person):
    email = _email()


class FulfillmentSchema(_Part):
    id = Line(required=True, max_length=ID_LENGTH)
    name = _line(SHIPMENT_LENGTHS["order_number"])
    status = _line(STATE_LENGTH)
    shipment_status = _line(
        validate=validate.OneOf(SHIPMENT_STATUS, error="unknown shipment status {input!r}")
    )
    tracking_number = _line(SHIPMENT_LENGTHS["tracking_number"])
    tracking_numbers = fields.List(
        Line(max_length=SHIPMENT_LENGTHS["tracking_number"]),
        allow_none=True,
        error_messages={"invalid": "a list is expected"},
    )
    tracking_company = _line(SHIPMENT_LENGTHS["carrier_name"])
    destination = fields.Nested(AddressSchema, allow_none=True)
    created_at = _time()
    updated_at = _time()

    @validates_schema
    def _news_has_its_time(self, data: dict[str, Any], **kwargs: Any) -> None:
        news = data.get("shipment_status") or data.get("status") == "cancelled"
        if news and not (data.get("updated_at") or data.get("created_at")):
            raise ValidationError("a fulfillment with a status needs its time", "updated_at")


class OrderSchema(_Part):
    name = Line(required=True, validate=_order_number)
    email = _email()
    created_at = _time()
    customer = fields.Nested(CustomerSchema, allow_none=True)
    shipping_address = fields.Nested(AddressSchema, allow_none=True)
    fulfillments = fields.List(
        fields.Nested(FulfillmentSchema),
        allow_none=True,
        error_messages={"invalid": "a list is expected"},
    )


def flatten(messages: Any, path: str) -> dict[str, list[str]]:
    """marshmallow's nested messages by their place in the payload (``order.fulfillments.0.id``)."""
    if not isinstance(messages, dict):
        return {path: [str(m) for m in (messages if isinstance(messages, list) else [messages])]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        for name, found in flatten(value, path if key == "_schema" else f"{path}.{key}").items():
            out.setdefault(name, []).extend(found)
    return out
