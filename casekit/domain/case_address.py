"""Case addresses: an organization's mailbox whose mail opens cases.

Pure values; :mod:`casekit.services.case_addresses` stores them and
:mod:`casekit.services.inbound_intake` routes mail by them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

from casekit.domain.directory import OrgRole

__all__ = ["CaseAddress", "UnknownSenders"]


class UnknownSenders(enum.StrEnum):
    """What mail from a sender casekit does not know does at a case address."""

    #: Open a case. At a shipper's address the sender becomes an email-only
    #: participant of the shipper's side; at a carrier's address the case is
    #: between the carrier and the address's partner shipper (required).
    OPEN = "open"
    #: Keep the mail in the organization's triage for staff to file or open.
    TRIAGE = "triage"


@frozen(kw_only=True)
class CaseAddress:
    """One case address as its organization's staff see it.

    ``case_type`` is the type of the cases it opens (None: the
    ``inbound_case_type`` setting); ``owner_id`` the user of the organization
    who owns them for its side (None: nobody, or the sender when the sender
    is one of the organization's users); ``partner_id`` an organization of the
    other role that becomes the case's other party when the sender does not
    name one by being its user.
    """

    email: str
    org_id: int
    role: OrgRole
    case_type: str | None
    owner_id: int | None
    partner_id: int | None
    unknown_senders: UnknownSenders
    created_at: datetime
