"""The declared form of a row: each field's type, length and syntax (a marshmallow schema).

Every field is one line of text as long as the store's column takes (see
:mod:`casekit.schemas.facts`), except ``placed_at`` (ISO 8601 with a UTC
offset, or in the mapping's time zone), the dates (``YYYY-MM-DD``), and
``customer_email`` (an email address). Columns that are not fields are
ignored.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from casekit.schemas.facts import (
    EXTERNAL_ID_LENGTH,
    ORDER_LENGTHS,
    SHIPMENT_LENGTHS,
    Line,
)

#: The fields a row may carry: an order's, then a shipment's.
ORDER_COLUMNS = ("order_number", "customer_email", "customer_name", "brand", "placed_at")
SHIPMENT_COLUMNS = (
    "shipment_reference",
    "carrier",
    "carrier_name",
    "tracking_number",
    "bol_number",
    "po_number",
    "reference_number",
    "ra_number",
    "origin_name",
    "origin_postal_code",
    "destination_name",
    "destination_postal_code",
    "mode",
    "direction",
    "customer_segment",
    "region",
    "status",
    "promised_date",
    "estimated_date",
)
COLUMNS = ("shipper", *ORDER_COLUMNS, *SHIPMENT_COLUMNS)
DATE_COLUMNS = {"promised_date", "estimated_date"}

_DATE = {"invalid": "not a date (YYYY-MM-DD)"}


def _shipment(column: str) -> Line:
    """A shipment's text field, as long as its column in the store."""
    return Line(max_length=SHIPMENT_LENGTHS[column])


class RowSchema(Schema):
    """One row, by casekit's field names; ``zone`` is the time zone of times without an offset."""

    class Meta:
        unknown = EXCLUDE

    shipper = Line(max_length=EXTERNAL_ID_LENGTH)
    order_number = Line(max_length=ORDER_LENGTHS["number"])
    customer_email = Line(
        max_length=ORDER_LENGTHS["customer_email"],
        validate=validate.Email(error="not an email address"),
    )
    customer_name = Line(max_length=ORDER_LENGTHS["customer_name"])
    brand = Line(max_length=min(ORDER_LENGTHS["brand"], SHIPMENT_LENGTHS["brand"]))
    placed_at = fields.AwareDateTime(
        error_messages={
            "invalid": "not an ISO 8601 date and time",
            "invalid_awareness": "has no UTC offset (set a timezone in the mapping file)",
        }
    )
    shipment_reference = _shipment("reference")
    carrier = Line(max_length=EXTERNAL_ID_LENGTH)
    carrier_name = _shipment("carrier_name")
    tracking_number = _shipment("tracking_number")
    bol_number = _shipment("bol_number")
    po_number = _shipment("po_number")
    reference_number = _shipment("reference_number")
    ra_number = _shipment("ra_number")
    origin_name = _shipment("origin_name")
    origin_postal_code = _shipment("origin_postal_code")
    destination_name = _shipment("destination_name")
    destination_postal_code = _shipment("destination_postal_code")
    mode = _shipment("mode")  # its values are checked by the store
    direction = _shipment("direction")
    customer_segment = _shipment("customer_segment")
    region = _shipment("region")
    status = _shipment("status")
    promised_date = fields.Date(error_messages=_DATE)
    estimated_date = fields.Date(error_messages=_DATE)

    def __init__(self, zone: tzinfo | None = None) -> None:
        super().__init__()
        placed_at = self.fields["placed_at"]
        assert isinstance(placed_at, fields.AwareDateTime)
        placed_at.default_timezone = zone

    @validates_schema
    def _names_something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not (data.get("order_number") or data.get("shipment_reference")):
            raise ValidationError(
                "a row needs an order number or a shipment reference", "order_number"
            )
