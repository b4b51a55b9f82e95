"""Who may change what on a case they can already see.

Reading is decided by the scoped query layer (:mod:`casekit.query.scoped`);
these pure rules decide writes. Each returns ``None`` when allowed and the
reason otherwise, so services raise one :class:`~casekit.errors.PermissionDenied`
with a sentence a person can act on.
"""

from __future__ import annotations

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import Case, Side
from casekit.domain.workflow import Status, carrier_may_set


def side_of_actor(actor: Actor, case: Case) -> Side | None:
    return case.side_of(actor.org_id) if actor.is_staff else None


def may_post(actor: Actor, case: Case, audience: Audience) -> str | None:
    """Who writes to whom: a customer to the shipper (``customer``) or to
    everyone; the shipper's staff to any audience; the carrier's staff for
    themselves or for partners, never to the shipper's customer."""
    if actor.is_unrestricted:
        return None
    if actor.is_customer:
        if not audience.reaches_customer:
            return "a customer writes to the shipper (customer) or to everyone on the case"
        return None
    side = side_of_actor(actor, case)
    if side is None:
        return "only staff of the case's parties may post on it"
    if audience.reaches_customer and side is not Side.SHIPPER:
        return "only the shipper's staff may write to the shipper's customer"
    if audience.reaches_customer and case.customer_id is None:
        return "the case has no customer; post for partners instead"
    return None


def may_set_status(actor: Actor, case: Case, target: Status) -> str | None:
    """Any party's staff move the status by hand; the carrier's not to the
    statuses of the shipper's conversation with its customer."""
    refused = may_work(actor, case)
    if refused is not None:
        return refused
    if side_of_actor(actor, case) is Side.CARRIER and not carrier_may_set(target):
        return f"{target.label.lower()} is about the shipper's customer; choose open or solved"
    return None


def may_share(actor: Actor, case: Case) -> str | None:
    """Sharing a customer's entry with the carrier: the shipper's staff."""
    if actor.is_unrestricted or side_of_actor(actor, case) is Side.SHIPPER:
        return None
    return "only the shipper's staff may share its customer's messages with the carrier"


def may_work(actor: Actor, case: Case) -> str | None:
    """Status, type, shipment and order changes: any party's staff."""
    if actor.is_unrestricted or side_of_actor(actor, case) is not None:
        return None
    return "only staff of the case's parties may change it"


def may_change_carrier(actor: Actor, case: Case) -> str | None:
    """Naming, changing or removing the carrier of a case, and switching whether
    it collaborates: the shipper's staff (or the host). The carrier does not
    choose who the carrier is, nor switch itself out of the conversation (each
    of its people may unsubscribe from the case's mail instead)."""
    if actor.is_unrestricted or side_of_actor(actor, case) is Side.SHIPPER:
        return None
    return "only the shipper's staff may name the carrier or switch whether it collaborates"


def may_set_owner(actor: Actor, case: Case, side: Side, new_owner: int | None) -> str | None:
    """An empty slot may be filled by anyone on that side; a held one only by
    its holder (handing over or letting go) or by a manager of that side."""
    if actor.is_unrestricted:
        return None
    if side_of_actor(actor, case) is not side:
        return f"only the {side} organization's staff may set its owner"
    current = case.owner_of(side)
    if current is None or current == actor.user_id or actor.is_manager:
        return None
    return "the case has an owner on your side; only they or a manager may hand it over"


def may_change_watcher(actor: Actor, case: Case, user_id: int, *, adding: bool) -> str | None:
    """Anyone on a side may add a colleague; removing someone else takes a manager."""
    if actor.is_unrestricted:
        return None
    if side_of_actor(actor, case) is None:
        return "only staff of the case's parties may change its watchers"
    if adding or user_id == actor.user_id or actor.is_manager:
        return None
    return "only the watcher themselves or a manager may remove a watcher"


def may_set_crm_number(actor: Actor, case: Case) -> str | None:
    if actor.is_staff and side_of_actor(actor, case) is not None:
        return None
    return "a CRM case number belongs to one party organization; act as its staff"
