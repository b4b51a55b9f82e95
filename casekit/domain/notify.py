"""Who hears about a change: the notification rules, pure.

A change to a case is one or more *happenings* (it was opened; a message was
posted and moved its status; an owner was assigned). :func:`recipients`
turns them, with the people around the case, into one notification per
person: the owners, watchers and subscribed participants, the customer for
``customer`` and ``everyone`` messages and for solving, and the collaborator
email address of a party side that has no owner. The audience rules are
those of reading (:mod:`casekit.domain.audience`): an internal note reaches
its author's organization only, a partners message never the customer, the
shipper's conversation with its customer (``customer``) never the carrier's
staff or address, and a non-collaborating party nobody at all. The actor is
never told of their own change.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence

from attrs import field, frozen

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience, entry_visible
from casekit.domain.case import Case, Side
from casekit.domain.directory import UserRole

CUSTOMER_FEEDBACK_TYPE = "customer_feedback"


class NotifyEvent(enum.StrEnum):
    """What a notification is about; also the kinds a user subscribes to."""

    CASE_OPENED = "case_opened"
    MESSAGE_POSTED = "message_posted"
    OWNER_ASSIGNED = "owner_assigned"
    STATUS_CHANGED = "status_changed"
    CASE_SOLVED = "case_solved"
    CASE_REOPENED = "case_reopened"
    CUSTOMER_FEEDBACK = "customer_feedback"
    #: the case was brought to a carrier after it was opened (named, or
    #: switched to collaborating): that carrier hears the case is theirs.
    CARRIER_NAMED = "carrier_named"
    #: a service-level clock of the recipient's side is about to breach
    #: (``casekit.domain.clock_alerts``; written by the sweep, not by a change).
    CLOCK_DUE_SOON = "clock_due_soon"
    #: a service-level clock of the recipient's side has breached.
    CLOCK_BREACHED = "clock_breached"


#: When one change is several happenings, a person hears of the first of
#: these that includes them, once.
PRIORITY: tuple[NotifyEvent, ...] = (
    NotifyEvent.CUSTOMER_FEEDBACK,
    NotifyEvent.CASE_OPENED,
    NotifyEvent.CARRIER_NAMED,
    NotifyEvent.MESSAGE_POSTED,
    NotifyEvent.CASE_SOLVED,
    NotifyEvent.CASE_REOPENED,
    NotifyEvent.OWNER_ASSIGNED,
    NotifyEvent.STATUS_CHANGED,
    NotifyEvent.CLOCK_BREACHED,
    NotifyEvent.CLOCK_DUE_SOON,
)


def default_subscription(event: NotifyEvent, role: UserRole) -> bool:
    """A user's subscription to ``event`` until they change it.

    Everything but plain status moves is on; new customer feedback, and a
    case brought to the organization as its carrier, reach an organization's
    managers and admins, so that none goes unnoticed, and agents who turn it on.
    """
    if event is NotifyEvent.STATUS_CHANGED:
        return False
    if event in (NotifyEvent.CUSTOMER_FEEDBACK, NotifyEvent.CARRIER_NAMED):
        return role.is_manager
    return True


class RecipientKind(enum.StrEnum):
    USER = "user"
    CUSTOMER = "customer"
    #: a side's collaborator email address
    ADDRESS = "address"
    #: an address Cc'd on the thread
    PARTICIPANT = "participant"


@frozen
class Happening:
    """One thing that happened to a case in a change.

    ``audience`` and ``author_org_id`` are those of the entry that records it
    (a message's audience; a status move's event's: ``customer`` for a move
    of the shipper's status only, ``internal`` to the carrier's organization
    for a move of the carrier's own status only). A happening is never about an entry the
    shipper has shared: sharing comes later, as a change of its own.
    ``user_id`` is the new owner of an ``owner_assigned``.
    """

    event: NotifyEvent
    audience: Audience = Audience.EVERYONE
    author_org_id: int | None = None
    entry_id: int | None = None
    old: str | None = None
    new: str | None = None
    user_id: int | None = None


@frozen
class UserInfo:
    id: int
    org_id: int
    email: str
    name: str
    role: UserRole = UserRole.AGENT
    active: bool = True


@frozen
class Surroundings:
    """The people around a case, as loaded for one change."""

    users: Mapping[int, UserInfo] = field(factory=dict)
    watchers: frozenset[int] = frozenset()
    #: (user_id, customer_id, email, org_id) of each subscribed participant;
    #: ``org_id`` is the organization it was added for (``None``: the shipper).
    participants: Sequence[tuple[int | None, int | None, str | None, int | None]] = ()
    #: explicit subscriptions: (user_id, event) -> on/off.
    subscriptions: Mapping[tuple[int, str], bool] = field(factory=dict)
    #: the collaborator email address of each side of the case's pair.
    collaborators: Mapping[Side, str] = field(factory=dict)
    customer_email: str | None = None
    customer_name: str = ""
    #: users of the shipper who may hear of new customer feedback.
    shipper_users: Sequence[int] = ()
    #: users of the carrier who may hear that a case was brought to it.
    carrier_users: Sequence[int] = ()
    #: the acting person's own address, never notified.
    actor_email: str | None = None
    #: the audience of the message each Cc'd address joined on (by address): it
    #: hears no more than that; an address not here hears what its organization reads.
    joined_on: Mapping[str, Audience] = field(factory=dict)
    #: the keys (:attr:`Recipient.key`, lower case) of those who unsubscribed from the case.
    unsubscribed: frozenset[str] = frozenset()


@frozen
class Recipient:
    """One notification to write: who, about what, and in whose organization's words.

    ``org_id`` is the organization whose template overrides apply: the
    recipient's own, the shipper's for a customer, the one that added a Cc'd
    address.
    """

    kind: RecipientKind
    email: str
    name: str
    event: NotifyEvent
    happening: Happening
    org_id: int
    user_id: int | None = None
    customer_id: int | None = None

    @property
    def key(self) -> str:
        """Stable per person and case: it threads their mail and binds their reply token."""
        if self.user_id is not None:
            return f"u{self.user_id}"
        if self.customer_id is not None:
            return f"c{self.customer_id}"
        return f"a:{self.email}"


def template_name(case: Case, recipient: Recipient) -> str:
    """The template a notification is written with.

    A customer's mail about a Customer Feedback case is the merchant's reply,
    written with the ``customer_feedback`` template; staff hear of new
    feedback through ``feedback_received``; otherwise the event names it.
    """
    event = recipient.event
    if event is NotifyEvent.CUSTOMER_FEEDBACK:
        return "feedback_received"
    if (
        recipient.kind is RecipientKind.CUSTOMER
        and case.type == CUSTOMER_FEEDBACK_TYPE
        and event in (NotifyEvent.MESSAGE_POSTED, NotifyEvent.CASE_OPENED)
    ):
        return "customer_feedback"
    return event.value


TEMPLATE_NAMES: tuple[str, ...] = (
    *(e.value for e in NotifyEvent if e is not NotifyEvent.CUSTOMER_FEEDBACK),
    "feedback_received",
    "customer_feedback",
)


def subscribed(people: Surroundings, user: UserInfo, event: NotifyEvent) -> bool:
    chosen = people.subscriptions.get((user.id, event.value))
    return default_subscription(event, user.role) if chosen is None else chosen


def recipients(
    case: Case, actor: Actor, happenings: Iterable[Happening], people: Surroundings
) -> list[Recipient]:
    """One recipient per person for the change made of ``happenings``."""
    ordered = sorted(happenings, key=lambda h: PRIORITY.index(h.event))
    chosen: list[Recipient] = []
    seen_keys: set[str] = set()
    seen_emails: set[str] = set()
    if people.actor_email:
        seen_emails.add(people.actor_email.lower())
    if actor.user_id is not None:
        seen_keys.add(f"u{actor.user_id}")
    if actor.customer_id is not None:
        seen_keys.add(f"c{actor.customer_id}")
    for happening in ordered:
        for recipient in _candidates(case, happening, people):
            email = recipient.email.lower()
            if recipient.key in seen_keys or email in seen_emails:
                continue
            if recipient.key.lower() in people.unsubscribed:
                continue
            seen_keys.add(recipient.key)
            seen_emails.add(email)
            chosen.append(recipient)
    return chosen


def _candidates(case: Case, h: Happening, people: Surroundings) -> Iterable[Recipient]:
    def user(user_id: int) -> Recipient | None:
        info = people.users.get(user_id)
        if info is None or not info.active or not _org_hears(case, info.org_id, h):
            return None
        if not subscribed(people, info, h.event):
            return None
        return Recipient(
            RecipientKind.USER, info.email, info.name, h.event, h, info.org_id, user_id=info.id
        )

    if h.event is NotifyEvent.OWNER_ASSIGNED:
        if h.user_id is not None and (found := user(h.user_id)) is not None:
            yield found
        return
    if h.event is NotifyEvent.CUSTOMER_FEEDBACK:
        for user_id in people.shipper_users:
            if (found := user(user_id)) is not None:
                yield found
        return
    if h.event is NotifyEvent.CARRIER_NAMED:
        # The carrier's people only: its users who chose to hear of it, and its
        # collaborator address (the case has no carrier owner yet).
        for user_id in people.carrier_users:
            if (found := user(user_id)) is not None:
                yield found
        yield from _addresses(case, h, people, only=Side.CARRIER)
        return
    user_ids = [case.shipper_owner_id, case.carrier_owner_id, *sorted(people.watchers)]
    user_ids += [u for u, _c, _e, _o in people.participants if u is not None]
    for user_id in dict.fromkeys(u for u in user_ids if u is not None):
        if (found := user(user_id)) is not None:
            yield found
    if _customer_hears(case, h) and people.customer_email:
        yield Recipient(
            RecipientKind.CUSTOMER,
            people.customer_email,
            people.customer_name,
            h.event,
            h,
            case.shipper_org_id,
            customer_id=case.customer_id,
        )
    yield from _addresses(case, h, people)
    if h.audience is not Audience.INTERNAL:
        for _u, _c, email, org_id in people.participants:
            # A Cc'd address hears what the organization that added it reads.
            address_org = case.shipper_org_id if org_id is None else org_id
            joined = people.joined_on.get(email.lower()) if email is not None else None
            if joined is not None and not _within(h.audience, joined):
                continue
            if email is not None and _org_hears(case, address_org, h):
                yield Recipient(RecipientKind.PARTICIPANT, email, "", h.event, h, address_org)


def _addresses(
    case: Case, h: Happening, people: Surroundings, *, only: Side | None = None
) -> Iterable[Recipient]:
    """The collaborator addresses (of side ``only``, or both) of sides with no owner there."""
    for side, address in sorted(people.collaborators.items()):
        if only is not None and side is not only:
            continue
        side_org = case.shipper_org_id if side is Side.SHIPPER else case.carrier_org_id
        owner = case.owner_of(side)
        if side_org is None or (owner is not None and _active(people, owner)):
            continue
        if _org_hears(case, side_org, h):
            yield Recipient(RecipientKind.ADDRESS, address, "", h.event, h, side_org)


def _active(people: Surroundings, user_id: int) -> bool:
    """An owner still there: a deactivated one leaves their side to its collaborator address."""
    info = people.users.get(user_id)
    return info is None or info.active


def _within(audience: Audience, joined: Audience) -> bool:
    """Whether an address Cc'd on a ``joined`` message may hear of an ``audience`` one.

    One Cc'd into the shipper's conversation with its customer (``customer``)
    hears that conversation and what is for everyone, never the partners';
    one Cc'd on a message for everyone hears only what is for everyone; one
    Cc'd among the partners (or on a note) hears what the organization that
    added it reads. Internal notes reach no address (see :func:`_candidates`).
    """
    if joined is Audience.CUSTOMER:
        return audience in (Audience.CUSTOMER, Audience.EVERYONE)
    if joined is Audience.EVERYONE:
        return audience is Audience.EVERYONE
    return True


def _org_hears(case: Case, org_id: int, h: Happening) -> bool:
    """A party organization's staff hear of ``h``: collaborating, and in its audience."""
    side = case.side_of(org_id)
    if side is None:
        return False
    if side is Side.CARRIER and not case.carrier_collaborating:
        return False
    return entry_visible(
        h.audience,
        h.author_org_id,
        viewer_org_id=org_id,
        viewer_is_customer=False,
        viewer_is_carrier=side is Side.CARRIER,
    )


def _customer_hears(case: Case, h: Happening) -> bool:
    """The customer hears of messages for them (and an opening with one) and of solving."""
    if case.customer_id is None:
        return False
    if h.event is NotifyEvent.CASE_SOLVED:
        return True
    return (
        h.event in (NotifyEvent.MESSAGE_POSTED, NotifyEvent.CASE_OPENED)
        and h.audience.reaches_customer
    )
