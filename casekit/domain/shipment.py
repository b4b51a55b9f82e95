"""The order and shipment facts a case is about.

casekit keeps a snapshot of the facts that views filter on and show. The
host's systems (order feeds, carriers) stay the source of truth; the
snapshot is refreshed whenever a lookup hook returns newer facts.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import attrs
from attrs import define, field, frozen


class Mode(enum.StrEnum):
    PARCEL = "parcel"
    FREIGHT = "freight"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    THIRD_PARTY = "third_party"


@frozen(kw_only=True)
class ShipmentFacts:
    """What a lookup hook returns about a shipment. Only ``reference`` is required.

    ``shipper`` and ``carrier`` are organizations' ``external_id``.
    """

    reference: str
    shipper: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    bol_number: str | None = None
    po_number: str | None = None
    reference_number: str | None = None
    ra_number: str | None = None
    order_number: str | None = None
    origin_name: str | None = None
    origin_postal_code: str | None = None
    destination_name: str | None = None
    destination_postal_code: str | None = None
    mode: Mode | None = None
    direction: Direction | None = None
    customer_segment: str | None = None
    region: str | None = None
    brand: str | None = None
    carrier_name: str | None = None
    status: str | None = None
    promised_date: date | None = None
    estimated_date: date | None = None


@frozen(kw_only=True)
class OrderFacts:
    """What a lookup hook returns about an order. Only ``number`` is required."""

    number: str
    shipper: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    brand: str | None = None
    placed_at: datetime | None = None


SHIPMENT_SNAPSHOT_FIELDS: tuple[str, ...] = tuple(
    a.name for a in attrs.fields(ShipmentFacts) if a.name not in {"reference", "shipper", "carrier"}
)


@define(slots=False, eq=False)
class Shipment:
    """casekit's snapshot of a shipment; many cases may share one."""

    shipper_org_id: int
    reference: str
    updated_at: datetime
    carrier_org_id: int | None = None
    tracking_number: str | None = None
    bol_number: str | None = None
    po_number: str | None = None
    reference_number: str | None = None
    ra_number: str | None = None
    order_number: str | None = None
    origin_name: str | None = None
    origin_postal_code: str | None = None
    destination_name: str | None = None
    destination_postal_code: str | None = None
    mode: str | None = None
    direction: str | None = None
    customer_segment: str | None = None
    region: str | None = None
    brand: str | None = None
    carrier_name: str | None = None
    status: str | None = None
    promised_date: date | None = None
    estimated_date: date | None = None
    id: int | None = field(default=None, kw_only=True)

    def refresh(self, facts: ShipmentFacts, at: datetime) -> bool:
        """Copy newer facts in; fields the facts leave empty keep their value."""
        changed = False
        for name in SHIPMENT_SNAPSHOT_FIELDS:
            value: Any = getattr(facts, name)
            if isinstance(value, enum.Enum):
                value = value.value
            if value is not None and getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            self.updated_at = at
        return changed


@define(slots=False, eq=False)
class Order:
    """casekit's snapshot of an order."""

    shipper_org_id: int
    number: str
    updated_at: datetime
    customer_email: str | None = None
    customer_name: str | None = None
    brand: str | None = None
    placed_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)

    def refresh(self, facts: OrderFacts, at: datetime) -> bool:
        changed = False
        for name in ("customer_email", "customer_name", "brand", "placed_at"):
            value = getattr(facts, name)
            if value is not None and getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            self.updated_at = at
        return changed
