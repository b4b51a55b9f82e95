"""Who may change what on a case they can already see.

Reading is decided by the scoped query layer (:mod:`casekit.query.scoped`);
these pure rules decide writes. Each returns ``None`` when allowed and the
reason otherwise, so services raise one :class:`~casekit.errors.PermissionDenied`
with a sentence a person can act on.
"""

from __future__ import annotations

from collections.abc import Iterable

from attrs import frozen

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import Case, Side, Source
from casekit.domain.notify import CUSTOMER_FEEDBACK_TYPE
from casekit.domain.workflow import Status, can_set_status, carrier_may_set


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


def may_share_contact(actor: Actor, case: Case) -> str | None:
    """Sharing (or withdrawing) the customer's contact details with the carrier:
    the shipper's staff."""
    if actor.is_unrestricted or side_of_actor(actor, case) is Side.SHIPPER:
        return None
    return "only the shipper's staff may share its customer's contact details with the carrier"


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


def may_merge(actor: Actor, duplicate: Case, original: Case) -> str | None:
    """Merging ``duplicate`` into ``original``: staff who may work on both cases
    from the same side (the shipper's staff of both; the carrier's staff only
    where their organization is the carrier of both), or the host. Never a
    customer. Whether the two cases *can* merge (one shipper, no party of the
    duplicate that the original lacks) is :func:`merge_problem`'s."""
    if actor.is_unrestricted:
        return None
    if not actor.is_staff:
        return "only staff of the cases' parties may merge cases"
    side = side_of_actor(actor, duplicate)
    if side is None or side_of_actor(actor, original) is not side:
        return "only staff of the same party on both cases may merge them"
    return None


def merge_problem(duplicate: Case, original: Case) -> str | None:
    """Why ``duplicate`` cannot merge into ``original`` whoever asks, or None.

    The original must have every party of the duplicate, so that everything
    moved keeps its readers: the same shipper; the duplicate's carrier (if it
    has one) is the original's; the duplicate's customer (if it has one) is
    the original's. An original with a carrier or a customer the duplicate
    lacks is fine: what moves keeps its audience, and an entry's audience
    never reaches a party the duplicate did not have (a ``customer`` entry
    stays unshared with the carrier; nobody wrote for a customer the case
    did not have).
    """
    if duplicate.id == original.id:
        return "a case cannot be merged into itself"
    if original.merged_into_id is not None:
        return "that case was merged into another itself; merge into that one"
    if duplicate.shipper_org_id != original.shipper_org_id:
        return "cases of different shippers cannot be merged"
    if duplicate.carrier_org_id not in (None, original.carrier_org_id):
        return (
            "the duplicate's carrier is not the original's carrier; "
            "name the same carrier on both first"
        )
    if duplicate.customer_id not in (None, original.customer_id):
        return "the duplicate is about another customer than the original"
    return None


# -- what a page offers ------------------------------------------------------------------
@frozen(kw_only=True)
class Allowed:
    """What one actor may do on one case, from the rules above: the controls a
    page offers them. A control shown is one its service does not refuse for
    who the actor is (the input may still be refused); the services check
    again on every call.
    """

    #: The audiences the actor may write for that reach someone on the case,
    #: in the order a composer lists them, and the one it starts on.
    audiences: tuple[Audience, ...]
    default_audience: Audience | None
    #: The statuses the actor may move the case to by hand now.
    statuses: tuple[Status, ...]
    #: Change the case type, shipment or order.
    work: bool
    #: Become their side's owner; give the side's slot to a colleague; empty it.
    take: bool
    hand_over: bool
    release: bool
    #: Add a colleague as a watcher; the watchers they may remove.
    add_watcher: bool
    removable_watchers: frozenset[int]
    crm_number: bool
    change_carrier: bool
    share: bool
    #: Share the customer's contact details with the carrier, or withdraw them.
    share_contact: bool
    #: Merge the case into another as a duplicate (``may_merge``, if the
    #: other case is one the actor works on from the same side).
    merge: bool = False


def audiences_reaching(actor: Actor, case: Case) -> tuple[Audience, ...]:
    """The audiences ``actor`` may post for on ``case`` that someone reads:
    ``partners`` once the case has a carrier (the shipper's staff) or always
    (the carrier's, whom the shipper reads), ``customer`` once it has a
    customer, ``everyone`` once it has both."""
    carrier = case.carrier_org_id is not None or side_of_actor(actor, case) is Side.CARRIER
    customer = case.customer_id is not None
    reaches = {
        Audience.INTERNAL: actor.is_staff,
        Audience.PARTNERS: carrier,
        Audience.CUSTOMER: customer,
        Audience.EVERYONE: carrier and customer,
    }
    return tuple(
        audience
        for audience, someone in reaches.items()
        if someone and may_post(actor, case, audience) is None
    )


def default_audience(actor: Actor, case: Case, offered: Iterable[Audience]) -> Audience | None:
    """The audience a composer starts on, among ``offered``: who the actor
    most likely answers.

    - a customer: the shipper (``customer``);
    - the carrier's staff: the shipper (``partners``);
    - the shipper's staff: the customer (``customer``) on a case that has one
      and either no collaborating carrier or that the customer opened (their
      feedback); else the carrier (``partners``) when it collaborates; else
      an internal note: with nobody else on the case, a note is what is left.
    """
    choices = tuple(offered)
    if actor.is_customer:
        wanted = [Audience.CUSTOMER]
    elif side_of_actor(actor, case) is Side.CARRIER:
        wanted = [Audience.PARTNERS, Audience.INTERNAL]
    else:
        collaborating = case.carrier_org_id is not None and case.carrier_collaborating
        customers = case.source is Source.PORTAL or case.type == CUSTOMER_FEEDBACK_TYPE
        wanted = []
        if case.customer_id is not None and (customers or not collaborating):
            wanted.append(Audience.CUSTOMER)
        if collaborating:
            wanted.append(Audience.PARTNERS)
        wanted.append(Audience.INTERNAL)
    return next((a for a in wanted if a in choices), choices[0] if choices else None)


def allowed(actor: Actor, case: Case, watcher_ids: Iterable[int] = ()) -> Allowed:
    """What ``actor`` may do on ``case`` (its watchers ``watcher_ids`` as the
    actor sees them): see :class:`Allowed`."""
    side = side_of_actor(actor, case)
    audiences = audiences_reaching(actor, case)
    current = case.carrier_status if side is Side.CARRIER else case.status
    owner = case.owner_of(side) if side is not None else None
    owning = side is not None and may_set_owner(actor, case, side, actor.user_id) is None
    return Allowed(
        audiences=audiences,
        default_audience=default_audience(actor, case, audiences),
        statuses=tuple(
            s
            for s in Status
            if can_set_status(current, s) and may_set_status(actor, case, s) is None
        ),
        work=may_work(actor, case) is None,
        take=owning and actor.is_user and owner != actor.user_id,
        hand_over=owning,
        release=owning and owner is not None,
        add_watcher=actor.is_user
        and may_change_watcher(actor, case, actor.user_id or 0, adding=True) is None,
        removable_watchers=frozenset(
            w for w in watcher_ids if may_change_watcher(actor, case, w, adding=False) is None
        ),
        crm_number=may_set_crm_number(actor, case) is None,
        change_carrier=may_change_carrier(actor, case) is None,
        share=may_share(actor, case) is None and case.carrier_org_id is not None,
        share_contact=may_share_contact(actor, case) is None
        and case.carrier_org_id is not None
        and case.customer_id is not None,
        merge=case.merged_into_id is None and may_merge(actor, case, case) is None,
    )
