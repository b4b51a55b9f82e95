"""Read models: what an actor gets back, already cut to what it may see."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from attrs import frozen

from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind, Side, Source
from casekit.domain.custom_fields import FieldValue
from casekit.domain.sla import ClockKind, ClockState, DueState
from casekit.domain.tags import Priority, TagRef
from casekit.domain.workflow import Category, Status


@frozen(kw_only=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


@frozen(kw_only=True)
class EntryView:
    """One timeline entry as the viewer may see it."""

    id: int
    case_number: str
    kind: EntryKind
    audience: Audience
    created_at: datetime
    actor_kind: str
    org_id: int | None
    user_id: int | None
    customer_id: int | None
    system: str | None
    author_email: str | None
    body: str
    event: EventKind | None
    old_value: str | None
    new_value: str | None
    attachments: tuple[AttachmentView, ...] = ()
    #: When the shipper shared this ``customer`` entry with the carrier.
    shared_at: datetime | None = None


@frozen(kw_only=True)
class ContactView:
    """The customer's contact details on a case: to the shipper's staff and the
    customer, and to the carrier's once the shipper shared them on that case."""

    name: str
    email: str
    phone: str | None


@frozen(kw_only=True)
class ClockView:
    """One side's clock on a case (:mod:`casekit.domain.sla`), as the viewer may see it.

    A side sees its own clocks; the other side's only where that side shows
    them to it (its calendar for that partner says ``share_clocks``).
    ``due_state`` is how the clock reads when the view was made;
    ``elapsed_seconds`` is the working time counted until the clock stopped
    or until the case's last change.
    """

    side: Side
    org_id: int
    kind: ClockKind
    target_id: int
    target_name: str
    target_seconds: int
    state: ClockState
    due_state: DueState
    started_at: datetime
    stopped_at: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None
    elapsed_seconds: int
    #: The time zone of the calendar the clock counts in (an IANA name).
    time_zone: str = "UTC"


@frozen(kw_only=True)
class CaseView:
    """A case as one actor sees it.

    ``crm_number`` is the viewer's own organization's (the shipper's for the
    unrestricted host); ``watcher_ids`` are
    the watchers from the viewer's organization (all of them for the
    unrestricted host). A customer sees no owners, watchers or CRM number.
    ``contact`` is the customer's name, email and phone, for the shipper's
    staff, the host and the customer themselves, and for the carrier while
    ``contact_shared_at`` says the shipper shares them (None for anyone else).
    ``clocks`` are the service-level clocks the viewer may see (none for a customer).
    """

    id: int
    number: str
    version: int
    type: str
    status: Status
    source: Source
    subject: str
    shipper_org_id: int
    carrier_org_id: int | None
    carrier_collaborating: bool
    customer_id: int | None
    shipment_id: int | None
    order_id: int | None
    shipper_owner_id: int | None
    carrier_owner_id: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    solved_by: str | None
    latest_message_at: datetime | None
    latest_message_user_id: int | None
    latest_message_org_id: int | None
    crm_number: str | None = None
    watcher_ids: tuple[int, ...] = ()
    contact: ContactView | None = None
    contact_shared_at: datetime | None = None
    #: The clocks the viewer may see (``ClockView``), its own side's first.
    clocks: tuple[ClockView, ...] = ()
    #: The priority both sides share.
    priority: Priority = Priority.NORMAL
    #: The viewer's organization's own tags on the case, by name (the
    #: shipper's for the host; none for a customer): never another's.
    tags: tuple[TagRef, ...] = ()
    #: The custom field values the viewer reads (see :doc:`/custom-fields`):
    #: its organization's, then the other party's shared ones; none for a customer.
    custom_fields: tuple[FieldValue, ...] = ()

    @property
    def custom_field_values(self) -> dict[str, Any]:
        """The custom fields as JSON, by the names the viewer reads them under."""
        return {fv.name: fv.json for fv in self.custom_fields}

    #: The number of the case this one was merged into as a duplicate, and
    #: when (None: not merged); a merged case takes no more changes.
    merged_into: str | None = None
    merged_at: datetime | None = None

    @property
    def category(self) -> Category:
        return self.status.category

    @property
    def owner_ids(self) -> tuple[int, ...]:
        return tuple(o for o in (self.shipper_owner_id, self.carrier_owner_id) if o is not None)


@frozen(kw_only=True)
class ShipmentView:
    """casekit's snapshot of the shipment a case is about."""

    reference: str
    carrier_org_id: int | None
    tracking_number: str | None
    bol_number: str | None
    po_number: str | None
    reference_number: str | None
    ra_number: str | None
    order_number: str | None
    origin_name: str | None
    origin_postal_code: str | None
    destination_name: str | None
    destination_postal_code: str | None
    mode: str | None
    direction: str | None
    customer_segment: str | None
    region: str | None
    brand: str | None
    carrier_name: str | None
    status: str | None
    promised_date: date | None
    estimated_date: date | None
    #: The normalised tracking state (:class:`~casekit.ShipmentStatus` and
    #: :class:`~casekit.ExceptionKind` values), when tracking events arrived.
    shipment_status: str | None = None
    exception: str | None = None
    status_at: datetime | None = None
    appointment_at: datetime | None = None
    #: The delivery appointment both sides accepted (:mod:`casekit.domain.actions`):
    #: its window in UTC; the destination's time zone, from the shipment's facts or
    #: the one the appointment was agreed in.
    delivery_window_start: datetime | None = None
    delivery_window_end: datetime | None = None
    delivery_time_zone: str | None = None
    updated_at: datetime


@frozen(kw_only=True)
class OrderView:
    """casekit's snapshot of the order a case is about."""

    number: str
    customer_email: str | None
    customer_name: str | None
    brand: str | None
    placed_at: datetime | None


@frozen(kw_only=True)
class CustomerView:
    id: int
    name: str
    email: str
    phone: str | None = None


@frozen(kw_only=True)
class CaseFacts:
    """What the case page shows beside the case, cut to what the viewer may see.

    ``shipment`` is for the parties' staff; ``customer`` for the shipper's staff
    (and the customer themselves); ``organizations`` names the party
    organizations and ``people`` the users the viewer meets on the case
    (owners, its own watchers, authors of the entries it may read).
    """

    shipment: ShipmentView | None
    order: OrderView | None
    customer: CustomerView | None
    organizations: dict[int, str]
    people: dict[int, str]
