"""Resolving the shipment and order a case is linked to, through the lookup hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from casekit.domain.actor import Actor
from casekit.domain.directory import Organization, OrgRole
from casekit.domain.shipment import Order, OrderFacts, Shipment, ShipmentFacts
from casekit.errors import InvalidInput, NotFound
from casekit.store import tables

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from casekit.kit import CaseKit


def org_by_external_id(session: Session, external_id: str) -> Organization | None:
    stmt = select(Organization).where(tables.organizations.c.external_id == external_id)
    return session.scalars(stmt).one_or_none()


def resolve_shipment(
    kit: CaseKit,
    session: Session,
    actor: Actor,
    shipper: Organization,
    shipment: str | ShipmentFacts,
    *,
    at: datetime,
) -> Shipment:
    """The shipment snapshot for ``shipment``, refreshed from the lookup hook.

    ``shipment`` is a reference to look up, or facts the caller already has.
    A shipment whose carrier is not the acting carrier is NotFound for it,
    and facts handed in by staff never rewrite a snapshot they cannot see.
    """
    if isinstance(shipment, ShipmentFacts):
        facts: ShipmentFacts | None = shipment
        reference = shipment.reference
    else:
        reference = shipment.strip()
        asking = shipper
        if actor.is_staff and actor.org_id != shipper.id and actor.org_id is not None:
            asking = session.get(Organization, actor.org_id) or shipper
        facts = kit.hooks.lookup_shipment(organization=asking, reference=reference)
        if facts is not None and facts.reference:
            # A lookup by tracking number (or any other identifier) answers
            # with the shipment's own reference: that is the snapshot's key.
            reference = facts.reference
    if not reference:
        raise InvalidInput({"shipment": ["a shipment reference is required"]})
    s = tables.shipments.c
    stmt = select(Shipment).where(s.shipper_org_id == shipper.id, s.reference == reference)
    snapshot = session.scalars(stmt).one_or_none()
    if (
        snapshot is not None
        and isinstance(shipment, ShipmentFacts)
        and actor.is_staff
        and actor.org_id not in (snapshot.shipper_org_id, snapshot.carrier_org_id)
    ):
        # Facts handed in by a party are its claim, not a lookup's answer: they
        # must not rewrite (and take over) a shipment that party cannot see.
        raise NotFound("shipment", reference)
    if facts is not None:
        if facts.shipper is not None and facts.shipper != shipper.external_id:
            raise NotFound("shipment", reference)
        carrier_id = None
        if facts.carrier is not None:
            carrier = org_by_external_id(session, facts.carrier)
            if carrier is None or carrier.role is not OrgRole.CARRIER:
                raise InvalidInput(
                    {"shipment": [f"carrier {facts.carrier!r} is not a known carrier"]}
                )
            carrier_id = carrier.id
        if snapshot is None:
            assert shipper.id is not None
            snapshot = Shipment(shipper_org_id=shipper.id, reference=reference, updated_at=at)
            session.add(snapshot)
            snapshot.refresh(facts, at)
        else:
            snapshot.refresh(facts, at)
        if carrier_id is not None and snapshot.carrier_org_id != carrier_id:
            snapshot.carrier_org_id = carrier_id
            snapshot.updated_at = at
    if snapshot is None:
        raise NotFound("shipment", reference)
    if actor.is_staff and actor.org_id not in (snapshot.shipper_org_id, snapshot.carrier_org_id):
        raise NotFound("shipment", reference)
    return snapshot


def resolve_order(
    kit: CaseKit,
    session: Session,
    shipper: Organization,
    order: str | OrderFacts,
    *,
    at: datetime,
) -> Order:
    """The order snapshot for ``order`` (a number to look up, or facts)."""
    if isinstance(order, OrderFacts):
        facts: OrderFacts | None = order
        number = order.number
    else:
        number = order.strip()
        facts = kit.hooks.lookup_order(organization=shipper, number=number)
    if not number:
        raise InvalidInput({"order": ["an order number is required"]})
    o = tables.orders.c
    stmt = select(Order).where(o.shipper_org_id == shipper.id, o.number == number)
    snapshot = session.scalars(stmt).one_or_none()
    if facts is not None:
        if facts.shipper is not None and facts.shipper != shipper.external_id:
            raise NotFound("order", number)
        if snapshot is None:
            assert shipper.id is not None
            snapshot = Order(shipper_org_id=shipper.id, number=number, updated_at=at)
            session.add(snapshot)
        snapshot.refresh(facts, at)
    if snapshot is None:
        raise NotFound("order", number)
    return snapshot
