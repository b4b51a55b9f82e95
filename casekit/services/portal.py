"""The customer portal's reads: the customer's cases as they read them, and their orders.

Reach it as ``kit.portal``. Every method takes a customer actor; staff and
the host have the case pages and the list (:mod:`casekit.services.views`).
The customer's orders come from the :func:`~casekit.hookspecs.casekit_customer_orders`
hook; :class:`StoredOrders`, asked last, answers from the orders casekit stores.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from casekit.domain.actor import Actor
from casekit.domain.directory import Customer, Organization
from casekit.domain.shipment import OrderFacts
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.plugins import hookimpl
from casekit.query.portal import PortalPage, customer_cases
from casekit.services.base import Service
from casekit.store import tables
from casekit.store.uow import UnitOfWork

if TYPE_CHECKING:
    from casekit.kit import CaseKit

__all__ = ["MAX_ORDERS", "PortalService", "StoredOrders"]

log = logging.getLogger(__name__)

#: The most orders a customer picks from.
MAX_ORDERS = 50

_o = tables.orders.c


class PortalService(Service):
    """What the portal shows a customer; see the module's docstring."""

    def cases(self, actor: Actor, *, limit: int = 25, before: int | None = None) -> PortalPage:
        """The customer's cases, newest first (:class:`~casekit.query.portal.PortalCase`),
        ``limit`` of them before the case id ``before`` (the page's ``next_before``)."""
        _require_customer(actor)
        if not 1 <= limit <= 100:
            raise InvalidInput({"limit": ["between 1 and 100"]})
        with self._uow(write=False) as uow:
            return customer_cases(uow.session, actor, limit=limit, before=before)

    def orders(self, actor: Actor) -> list[OrderFacts]:
        """The customer's orders to send feedback on, newest first, at most :data:`MAX_ORDERS`.

        Asks :func:`~casekit.hookspecs.casekit_customer_orders`; keeps only
        the orders that name the customer's email and no other shipper, as
        :meth:`~casekit.services.cases.CaseService.open` will check.
        """
        _require_customer(actor)
        with self._uow(write=False) as uow:
            customer = uow.session.get(Customer, actor.customer_id)
            if customer is None:
                raise NotFound("customer", actor.customer_id)
            organization = uow.session.get(Organization, customer.shipper_org_id)
            if organization is None:
                raise NotFound("organization", customer.shipper_org_id)
            uow.session.expunge_all()
        answer = self.kit.hooks.customer_orders(organization=organization, customer=customer)
        email = customer.email.lower()
        mine: dict[str, OrderFacts] = {}
        for facts in answer or ():
            theirs = (facts.customer_email or "").lower() == email
            if theirs and facts.shipper in (None, organization.external_id):
                mine.setdefault(facts.number, facts)
            else:
                log.warning(
                    "an order lookup named order %r as customer %s's: it is not theirs",
                    facts.number,
                    customer.id,
                )
        return sorted(mine.values(), key=_newest_first)[:MAX_ORDERS]


def _newest_first(facts: OrderFacts) -> tuple[bool, float, str]:
    placed = facts.placed_at
    return (placed is None, -placed.timestamp() if placed else 0.0, facts.number)


def _require_customer(actor: Actor) -> None:
    if not actor.is_customer or actor.customer_id is None:
        raise PermissionDenied("the portal is a customer's")


def orders_of(shipper_org_id: int | None, email: str) -> Select[Any]:
    """The statement of the stored orders of the shipper that name ``email``, whatever
    its case, newest first: read by ``ix_casekit_orders_customer_email`` on every
    database (the lower-cased email is a column the database keeps)."""
    return (
        select(tables.orders)
        .where(_o.shipper_org_id == shipper_org_id, _o.customer_email_key == email.lower())
        .order_by(_o.placed_at.is_(None), _o.placed_at.desc(), _o.id.desc())
        .limit(MAX_ORDERS)
    )


class StoredOrders:
    """The built-in :func:`~casekit.hookspecs.casekit_customer_orders`: the orders
    casekit stores (sent to the API or imported) that name the customer's email
    (:func:`orders_of`)."""

    @hookimpl(trylast=True)
    def casekit_customer_orders(
        self, kit: CaseKit, organization: Organization, customer: Customer
    ) -> list[OrderFacts]:
        with UnitOfWork(kit.sessions, write=False) as uow:
            stmt = orders_of(organization.id, customer.email)
            rows = uow.session.connection().execute(stmt).mappings().all()
        return [
            OrderFacts(
                number=row["number"],
                shipper=organization.external_id,
                customer_email=row["customer_email"],
                customer_name=row["customer_name"],
                brand=row["brand"],
                placed_at=row["placed_at"],
            )
            for row in rows
        ]
