"""Read models: what an actor gets back, already cut to what it may see."""

from __future__ import annotations

from datetime import date, datetime

from attrs import frozen

from casekit.domain.audience import Audience
from casekit.domain.case import EntryKind, EventKind, Source
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
class CaseView:
    """A case as one actor sees it.

    ``crm_number`` is the viewer's own organization's (the shipper's for the
    unrestricted host); ``watcher_ids`` are
    the watchers from the viewer's organization (all of them for the
    unrestricted host). A customer sees no owners, watchers or CRM number.
    ``contact`` is the customer's name, email and phone, for the shipper's
    staff, the host and the customer themselves, and for the carrier while
    ``contact_shared_at`` says the shipper shares them (None for anyone else).
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
