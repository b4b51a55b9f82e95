"""The order and shipment facts a case is about.

casekit keeps a snapshot of the facts that views filter on and show. The
host's systems (order feeds, carriers) stay the source of truth; the
snapshot is refreshed whenever a lookup hook returns newer facts.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
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


class ShipmentStatus(enum.StrEnum):
    """Where a shipment is, normalised from whatever its carrier reports."""

    PICKUP_APPOINTMENT = "pickup_appointment"
    SCHEDULED = "scheduled"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    RETURNING_TO_SENDER = "returning_to_sender"
    DELIVERED_TO_SENDER = "delivered_to_sender"
    EXCEPTION = "exception"

    @property
    def is_final(self) -> bool:
        """The shipment's journey is over: delivered, or back with its sender."""
        return self in (ShipmentStatus.DELIVERED, ShipmentStatus.DELIVERED_TO_SENDER)

    @property
    def is_pre_transit(self) -> bool:
        return self in (ShipmentStatus.PICKUP_APPOINTMENT, ShipmentStatus.SCHEDULED)


#: The statuses of a shipment still on its way (the sweep looks at these).
OPEN_STATUSES: tuple[ShipmentStatus, ...] = tuple(s for s in ShipmentStatus if not s.is_final)


class ExceptionKind(enum.StrEnum):
    """What went wrong, for a shipment whose status is ``exception`` (or returning)."""

    ADDRESS_ISSUE = "address_issue"
    HELD_AT_TERMINAL = "held_at_terminal"
    DAMAGED = "damaged"
    LOST = "lost"
    UNDELIVERABLE = "undeliverable"
    RETURN_TO_SENDER = "return_to_sender"
    DELIVERY_SCHEDULING_NEEDED = "delivery_scheduling_needed"
    CANCELED = "canceled"
    REFUSED = "refused"
    #: The accepted delivery appointment's window ended before the shipment
    #: was delivered (casekit.domain.actions); set by ``casekit actions sweep``.
    MISSED_APPOINTMENT = "missed_appointment"


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
    shipment_status: ShipmentStatus | None = None
    exception: ExceptionKind | None = None
    status_at: datetime | None = None
    appointment_at: datetime | None = None
    #: The destination's IANA time zone (``America/Chicago``): delivery appointments
    #: on the shipment's cases are proposed and shown in it (casekit.domain.actions).
    delivery_time_zone: str | None = None


@frozen(kw_only=True)
class ShipmentEvent:
    """A tracking event, already normalised: what an adapter hands casekit.

    The shipment is named by its ``reference`` or, failing that, by its
    ``tracking_number``. ``occurred_at`` is when it happened (timezone-aware).
    ``key`` identifies the event at its source, so that a re-delivered event
    is recorded once; without it casekit derives one from the event's content.
    """

    status: ShipmentStatus
    occurred_at: datetime
    reference: str | None = None
    tracking_number: str | None = None
    exception: ExceptionKind | None = None
    description: str = ""
    location: str = ""
    appointment_at: datetime | None = None
    estimated_date: date | None = None
    source: str = ""
    key: str | None = None


@frozen(kw_only=True)
class OrderFacts:
    """What a lookup hook returns about an order. Only ``number`` is required."""

    number: str
    shipper: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    brand: str | None = None
    placed_at: datetime | None = None


_EXCEPTIONAL = (ShipmentStatus.EXCEPTION, ShipmentStatus.RETURNING_TO_SENDER)

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
    shipment_status: str | None = None
    exception: str | None = None
    status_at: datetime | None = None
    appointment_at: datetime | None = None
    #: The accepted delivery appointment (casekit.domain.actions), not a looked-up fact.
    delivery_window_start: datetime | None = None
    delivery_window_end: datetime | None = None
    delivery_time_zone: str | None = None
    id: int | None = field(default=None, kw_only=True)

    def refresh(self, facts: ShipmentFacts, at: datetime) -> bool:
        """Copy newer facts in; fields the facts leave empty keep their value."""
        current = {name: getattr(self, name) for name in SHIPMENT_SNAPSHOT_FIELDS}
        changes = snapshot_changes(current, facts)
        for name, value in changes.items():
            setattr(self, name, value)
        if changes:
            self.updated_at = at
        return bool(changes)


def snapshot_changes(current: Mapping[str, Any], facts: ShipmentFacts) -> dict[str, Any]:
    """The snapshot fields ``facts`` change, with their new values.

    Fields the facts leave empty keep their value, except the exception of a
    shipment whose new status says it is back on its way.
    """
    changes: dict[str, Any] = {}
    for name in SHIPMENT_SNAPSHOT_FIELDS:
        value: Any = getattr(facts, name)
        if value is None:
            continue
        if isinstance(value, enum.Enum):
            value = value.value
        if current.get(name) != value:
            changes[name] = value
    if (
        facts.shipment_status is not None
        and facts.exception is None
        and facts.shipment_status not in _EXCEPTIONAL
        and current.get("exception") is not None
    ):
        changes["exception"] = None
    return changes


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
