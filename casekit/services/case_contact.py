"""Sharing the customer's contact details with the carrier, on purpose, per case
(parts of ``kit.cases.share_contact`` and ``kit.cases.withdraw_contact``).

The carrier reads the consignee facts of the shipment, never the customer's
account. The shipper's staff may share its customer's name, email and phone
with the carrier of one case (to arrange a delivery, say): from then on the
scoped layer shows them to that carrier on that case only, until the
shipper withdraws them. Each share and withdrawal is an event for
``partners`` (both sides' staff read it; the customer never).
"""

from __future__ import annotations

from casekit import signals
from casekit.domain import policy
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind
from casekit.errors import InvalidInput
from casekit.services.base import Edit, deny


def set_shared(edit: Edit, shared: bool) -> None:
    """Share (or withdraw) the case's customer's contact details with its carrier.

    The shipper's staff or the host; a case without a customer or without a
    carrier is :class:`~casekit.errors.InvalidInput`. Sharing what is shared
    (or withdrawing what is not) changes nothing.
    """
    case = edit.case
    deny(policy.may_share_contact(edit.actor, case))
    if shared:
        if case.customer_id is None:
            raise InvalidInput({"customer": ["the case has no customer whose details to share"]})
        if case.carrier_org_id is None:
            raise InvalidInput({"carrier": ["the case has no carrier to share them with"]})
    if (case.contact_shared_at is not None) == shared:
        return
    case.contact_shared_at = edit.now if shared else None
    case.touch(edit.now)
    kind = EventKind.CONTACT_SHARED if shared else EventKind.CONTACT_WITHDRAWN
    edit.event(kind, audience=Audience.PARTNERS)
    edit.emit(signals.case_updated, change=kind)
