"""The case aggregate and the entries on its timeline."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import define, field, frozen

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience, entry_visible
from casekit.domain.tags import Priority
from casekit.domain.workflow import (
    Status,
    carrier_status_after,
    status_after_message,
    status_for_carrier,
)


class Source(enum.StrEnum):
    """How a case came to be."""

    API = "api"
    EMAIL = "email"
    RULE = "rule"
    USER = "user"
    PORTAL = "portal"


class Side(enum.StrEnum):
    """The two party organizations of a case."""

    SHIPPER = "shipper"
    CARRIER = "carrier"


class EntryKind(enum.StrEnum):
    MESSAGE = "message"
    EVENT = "event"


class EventKind(enum.StrEnum):
    """Every audited change. The value is what the timeline stores."""

    OPENED = "opened"
    STATUS_CHANGED = "status_changed"
    SOLVED = "solved"
    REOPENED = "reopened"
    TYPE_CHANGED = "type_changed"
    OWNER_CHANGED = "owner_changed"
    WATCHER_ADDED = "watcher_added"
    WATCHER_REMOVED = "watcher_removed"
    CRM_NUMBER_SET = "crm_number_set"
    SHIPMENT_LINKED = "shipment_linked"
    ORDER_LINKED = "order_linked"
    CARRIER_CHANGED = "carrier_changed"
    CARRIER_COLLABORATING = "carrier_collaborating"
    MAIL_FILED = "mail_filed"
    ENTRY_SHARED = "entry_shared"
    CONTACT_SHARED = "contact_shared"
    CONTACT_WITHDRAWN = "contact_withdrawn"
    NOTIFICATION_FAILED = "notification_failed"
    UNSUBSCRIBED = "unsubscribed"
    RESUBSCRIBED = "resubscribed"
    PRIORITY_CHANGED = "priority_changed"
    #: One of an organization's tags put on or taken off the case: internal to
    #: that organization (the entry's), whoever recorded it.
    TAG_ADDED = "tag_added"
    TAG_REMOVED = "tag_removed"
    #: A custom field's value set, changed or cleared: internal to the field's
    #: organization when it is private, for partners when it is shared.
    CUSTOM_FIELD_CHANGED = "custom_field_changed"
    #: On a duplicate: merged into the case whose number is the new value.
    MERGED_INTO = "merged_into"
    #: On the original: the case whose number is the new value was merged into it.
    MERGED_FROM = "merged_from"
    #: Actions (casekit.domain.actions): ``new_value`` is the action's id, the
    #: body says what was proposed or decided; the action's audience.
    APPOINTMENT_PROPOSED = "appointment_proposed"
    APPOINTMENT_COUNTERED = "appointment_countered"
    APPOINTMENT_ACCEPTED = "appointment_accepted"
    APPOINTMENT_WITHDRAWN = "appointment_withdrawn"
    APPOINTMENT_KEPT = "appointment_kept"
    APPOINTMENT_MISSED = "appointment_missed"
    DISPOSITION_REQUESTED = "disposition_requested"
    DISPOSITION_DECIDED = "disposition_decided"
    DISPOSITION_WITHDRAWN = "disposition_withdrawn"
    #: Freight claims (casekit.domain.claims): ``new_value`` is the claim's id; a
    #: draft and the shipper's valuation are internal to the shipper, the rest
    #: for partners.
    CLAIM_DRAFTED = "claim_drafted"
    CLAIM_CHANGED = "claim_changed"
    CLAIM_FILED = "claim_filed"
    CLAIM_ACKNOWLEDGED = "claim_acknowledged"
    CLAIM_PAID = "claim_paid"
    CLAIM_PARTLY_PAID = "claim_partly_paid"
    CLAIM_DECLINED = "claim_declined"
    CLAIM_OFFERED = "claim_offered"
    CLAIM_OFFER_ACCEPTED = "claim_offer_accepted"
    CLAIM_OFFER_REJECTED = "claim_offer_rejected"
    CLAIM_WITHDRAWN = "claim_withdrawn"
    CLAIM_VALUED = "claim_valued"


@frozen
class CaseType:
    """An entry of the case type catalogue: a stable ``code`` and a label."""

    code: str
    label: str


#: A case number is the prefix and the case's id, zero-padded to this many digits.
NUMBER_WIDTH = 6


@define(slots=False, eq=False)
class Case:
    """A shipping or order situation that needs resolution.

    The owners live on the case itself, one column per side, which is how
    "at most one owner per party organization" is kept by construction.
    """

    type: str
    source: Source
    shipper_org_id: int
    created_at: datetime
    carrier_org_id: int | None = None
    carrier_collaborating: bool = True
    customer_id: int | None = None
    shipment_id: int | None = None
    order_id: int | None = None
    subject: str = ""
    status: Status = Status.NEW
    number: str | None = None
    created_by: str = ""
    updated_at: datetime | None = None
    solved_at: datetime | None = None
    solved_by: str | None = None
    shipper_owner_id: int | None = None
    carrier_owner_id: int | None = None
    latest_message_at: datetime | None = None
    latest_message_user_id: int | None = None
    latest_message_org_id: int | None = None
    latest_message_by_customer: bool = False
    carrier_latest_message_at: datetime | None = None
    carrier_latest_message_user_id: int | None = None
    carrier_latest_message_org_id: int | None = None
    #: The carrier's own status and last update: moved only by what the
    #: carrier reads (see :mod:`casekit.domain.workflow`).
    carrier_status: Status = Status.NEW
    carrier_updated_at: datetime | None = None
    #: When the carrier's status became solved (None while it is not): the
    #: shipper's conversation with its customer may reopen the case for the
    #: shipper only, which clears ``solved_at`` but not this.
    carrier_solved_at: datetime | None = None
    #: Who solved it as the carrier reads it (``Actor.describe``), kept like
    #: ``carrier_solved_at`` while the shipper reopens with its customer.
    carrier_solved_by: str | None = None
    #: When the shipper shared its customer's contact details (name, email,
    #: phone) with the carrier; None while they are not shared.
    contact_shared_at: datetime | None = None
    #: The priority both sides share (:mod:`casekit.domain.tags`).
    priority: Priority = Priority.NORMAL
    #: The case this one was merged into as a duplicate, and when (None: it was
    #: not). A merged case is closed for good: every write to it is refused.
    merged_into_id: int | None = None
    merged_at: datetime | None = None
    version: int = 1
    id: int | None = field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at
        if self.carrier_updated_at is None:
            self.carrier_updated_at = self.updated_at

    # -- parties ---------------------------------------------------------
    def party_org_ids(self) -> tuple[int, ...]:
        if self.carrier_org_id is None:
            return (self.shipper_org_id,)
        return (self.shipper_org_id, self.carrier_org_id)

    def side_of(self, org_id: int | None) -> Side | None:
        if org_id is None:
            return None
        if org_id == self.shipper_org_id:
            return Side.SHIPPER
        if org_id == self.carrier_org_id:
            return Side.CARRIER
        return None

    def owner_of(self, side: Side) -> int | None:
        return self.shipper_owner_id if side is Side.SHIPPER else self.carrier_owner_id

    def set_owner(self, side: Side, user_id: int | None) -> int | None:
        """Give ``side``'s owner slot to ``user_id``; returns the previous owner."""
        previous = self.owner_of(side)
        if side is Side.SHIPPER:
            self.shipper_owner_id = user_id
        else:
            self.carrier_owner_id = user_id
        return previous

    # -- workflow --------------------------------------------------------
    def touch(self, at: datetime) -> None:
        self.updated_at = at

    def record_entry(self, entry: Entry) -> None:
        """A new entry on the timeline: the carrier's last update moves when
        the carrier reads it (or while no carrier is on the case)."""
        if self.carrier_reads_all or entry_visible(
            entry.audience,
            entry.org_id,
            viewer_org_id=self.carrier_org_id,
            viewer_is_customer=False,
            viewer_is_carrier=True,
            shared=entry.shared_at is not None,
        ):
            self.carrier_updated_at = entry.created_at

    @property
    def carrier_reads_all(self) -> bool:
        """No carrier is on the case: its status and last update follow the
        shipper's, so that a carrier linked later starts from where the case is."""
        return self.carrier_org_id is None

    def record_message(
        self, actor: Actor, audience: Audience, at: datetime, *, move_status: bool = True
    ) -> Status:
        """Apply a new message to the case's dates and statuses; return the old status.

        The message that opens a case does not move its status. The carrier's
        status moves only with a message the carrier reads.
        """
        old = self.status
        if move_status:
            self.status = status_after_message(
                old, by_customer=actor.is_customer, audience=audience
            )
            self.carrier_status = carrier_status_after(
                self.carrier_status,
                self.status,
                carrier_reads=audience.reaches_carrier or self.carrier_reads_all,
            )
        if old is Status.SOLVED and self.status is not Status.SOLVED:
            self.solved_at = None
            self.solved_by = None
        if self.carrier_status is not Status.SOLVED:
            self.carrier_solved_at = None
            self.carrier_solved_by = None
        if audience is not Audience.INTERNAL:
            self.latest_message_at = at
            self.latest_message_user_id = actor.user_id
            self.latest_message_org_id = actor.org_id
            self.latest_message_by_customer = actor.is_customer
        if audience.reaches_carrier:
            self.carrier_latest_message_at = at
            self.carrier_latest_message_user_id = actor.user_id
            self.carrier_latest_message_org_id = actor.org_id
        self.touch(at)
        return old

    def record_shared(self, entry: Entry) -> None:
        """A message of the shipper's conversation with its customer, shared with
        the carrier: the latest message the carrier reads, if none it read is
        later."""
        latest = self.carrier_latest_message_at
        if latest is None or entry.created_at > latest:
            self.carrier_latest_message_at = entry.created_at
            self.carrier_latest_message_user_id = entry.user_id
            self.carrier_latest_message_org_id = entry.org_id

    def set_status(self, target: Status, actor: Actor, at: datetime) -> Status:
        """Move both sides to ``target`` (already checked as allowed; the carrier's
        status as it sees it); return the shipper's old status."""
        old, carrier_old = self.status, self.carrier_status
        self.status = target
        self.carrier_status = status_for_carrier(target)
        if target is Status.SOLVED:
            self.solved_at = at
            self.solved_by = actor.describe()
        elif old is Status.SOLVED:
            self.solved_at = None
            self.solved_by = None
        if target is not Status.SOLVED:
            self.carrier_solved_at = None
            self.carrier_solved_by = None
        elif carrier_old is not Status.SOLVED or self.carrier_solved_at is None:
            # else the carrier reads it solved since then, by whom it was then
            self.carrier_solved_at = at
            self.carrier_solved_by = self.solved_by
        self.touch(at)
        return old

    def carrier_starts_over(self) -> None:
        """A carrier named now starts from where the case is, not from what the
        carrier before it read of it; the customer's contact details shared with
        the carrier before it are not shared with it."""
        self.contact_shared_at = None
        self.carrier_status = status_for_carrier(self.status)
        solved = self.status is Status.SOLVED
        self.carrier_solved_at = self.solved_at if solved else None
        self.carrier_solved_by = self.solved_by if solved else None


@define(slots=False, eq=False)
class Entry:
    """An item on a case's timeline: a message or an audited event.

    ``org_id`` is the author's organization (``None`` for a customer or the
    unrestricted host); an ``internal`` entry is readable by that
    organization only.
    """

    case_id: int
    kind: EntryKind
    audience: Audience
    created_at: datetime
    actor_kind: str
    org_id: int | None = None
    user_id: int | None = None
    customer_id: int | None = None
    system: str | None = None
    author_email: str | None = None
    body: str = ""
    event: EventKind | None = None
    old_value: str | None = None
    new_value: str | None = None
    #: When the shipper shared this ``customer`` entry with the carrier.
    shared_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)

    @classmethod
    def by(
        cls,
        actor: Actor,
        *,
        case_id: int,
        kind: EntryKind,
        audience: Audience,
        at: datetime,
        **values: object,
    ) -> Entry:
        return cls(
            case_id=case_id,
            kind=kind,
            audience=audience,
            created_at=at,
            actor_kind=actor.kind.value,
            org_id=actor.org_id,
            user_id=actor.user_id,
            customer_id=actor.customer_id,
            system=actor.system.value if actor.system else None,
            **values,  # type: ignore[arg-type]
        )


@define(slots=False, eq=False)
class Attachment:
    """A file on a message, kept by the storage hook under ``storage_key``."""

    case_id: int
    entry_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    created_at: datetime
    id: int | None = field(default=None, kw_only=True)


@define(slots=False, eq=False)
class Watcher:
    case_id: int
    user_id: int
    created_at: datetime


@define(slots=False, eq=False)
class Participant:
    """A user or an email address that posted on, or was Cc'd on, the thread.

    ``org_id`` is the organization whose staff added it: an address hears
    what that organization reads. ``None`` is the shipper's (a customer's
    Cc, an inbound sender, the host's).
    """

    case_id: int
    created_at: datetime
    user_id: int | None = None
    customer_id: int | None = None
    email: str | None = None
    org_id: int | None = None
    subscribed: bool = True
    #: the audience of the message an address joined on: it hears no more (None: no cap).
    audience: Audience | None = None
    id: int | None = field(default=None, kw_only=True)


@define(slots=False, eq=False)
class CrmNumber:
    """A party organization's own CRM case number; only that organization reads it."""

    case_id: int
    org_id: int
    number: str
    updated_at: datetime
