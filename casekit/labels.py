"""The words people read for casekit's values: one vocabulary for every page,
mail and the API reference.

casekit stores and sends short codes (``reply_received``, ``parcel``,
``user``); people read the labels below. Pages use them through the
``casekit_label`` Jinja filter of casekit-flask, mails through the ``*_label``
variables of their context, the API reference next to each code. A value
missing here (a code a plugin adds) reads as the code in plain words
("held_for_review" reads "Held for review").

The customer portal speaks to customers about their own case in words of
its own; these are the staff's words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "FIELDS",
    "VOCABULARIES",
    "audience_label",
    "composer_label",
    "field_label",
    "humanize",
    "label",
    "not_found_message",
    "vocabulary_of",
]


def humanize(value: object) -> str:
    """A code in plain words: ``held_for_review`` reads "Held for review"."""
    text = str(getattr(value, "value", value)).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


_STATUS = {
    "new": "New",
    "open": "Open",
    "reply_received": "Reply received",
    "waiting": "Waiting",
    "solved": "Solved",
}

_VOCABULARIES: dict[str, dict[str, str]] = {
    # -- cases ------------------------------------------------------------------------------
    "status": _STATUS,
    "category": {"active": "Active", "solved": "Solved"},
    "source": {
        "user": "Staff",
        "portal": "Customer portal",
        "email": "Email",
        "rule": "Rule",
        "api": "API",
    },
    "side": {"shipper": "Shipper", "carrier": "Carrier"},
    "audience": {
        "internal": "Internal note",
        "partners": "Shipper and carrier",
        "customer": "Customer conversation",
        "everyone": "Everyone",
    },
    "actor_kind": {"user": "Staff", "customer": "Customer", "system": "casekit"},
    "system": {"api": "API", "email": "Email", "rule": "Rule", "sla": "Service level"},
    "has_event": {"solved": "Solved", "reopened": "Reopened"},
    "has_owner": {"yes": "Yes", "no": "No"},
    # The list's due filter: how the side's running clock due first reads (none: no such clock).
    "due_state": {
        "on_track": "On track",
        "due_soon": "Due soon",
        "breached": "Breached",
        "none": "No running clock",
    },
    "event": {
        "opened": "Opened",
        "status_changed": "Status changed",
        "solved": "Solved",
        "reopened": "Reopened",
        "type_changed": "Type changed",
        "owner_changed": "Owner changed",
        "watcher_added": "Watcher added",
        "watcher_removed": "Watcher removed",
        "crm_number_set": "CRM case number set",
        "shipment_linked": "Shipment linked",
        "order_linked": "Order linked",
        "carrier_changed": "Carrier changed",
        "carrier_collaborating": "Carrier collaboration changed",
        "mail_filed": "Mail filed",
        "entry_shared": "Message shared",
        "contact_shared": "Customer's contact details shared",
        "contact_withdrawn": "Customer's contact details withdrawn",
        "notification_failed": "Notification failed",
        "unsubscribed": "Unsubscribed",
        "resubscribed": "Subscribed again",
        "priority_changed": "Priority changed",
        "tag_added": "Tag added",
        "tag_removed": "Tag removed",
        "appointment_proposed": "Delivery appointment proposed",
        "appointment_countered": "Delivery appointment countered",
        "appointment_accepted": "Delivery appointment accepted",
        "appointment_withdrawn": "Delivery appointment withdrawn",
        "appointment_kept": "Delivery appointment kept",
        "appointment_missed": "Delivery appointment missed",
        "disposition_requested": "Disposition requested",
        "disposition_decided": "Disposition decided",
        "disposition_withdrawn": "Disposition withdrawn",
        "claim_drafted": "Claim drafted",
        "claim_changed": "Claim changed",
        "claim_filed": "Claim filed",
        "claim_acknowledged": "Claim acknowledged",
        "claim_paid": "Claim paid",
        "claim_partly_paid": "Claim partly paid",
        "claim_declined": "Claim declined",
        "claim_offered": "Settlement offered",
        "claim_offer_accepted": "Settlement offer accepted",
        "claim_offer_rejected": "Settlement offer rejected",
        "claim_withdrawn": "Claim withdrawn",
        "claim_valued": "Claim valuation set",
        "merged_into": "Merged into another case",
        "merged_from": "Duplicate merged in",
        "custom_field_changed": "Custom field changed",
    },
    "field_kind": {
        "text": "Text",
        "number": "Number",
        "date": "Date",
        "choice": "Choice",
        "multi_choice": "Several choices",
        "checkbox": "Checkbox",
    },
    "field_visibility": {
        "private": "Private to my organization",
        "shared": "Shared with the other party",
    },
    "priority": {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"},
    "tag_colour": {
        "grey": "Grey",
        "red": "Red",
        "orange": "Orange",
        "yellow": "Yellow",
        "green": "Green",
        "teal": "Teal",
        "blue": "Blue",
        "purple": "Purple",
        "pink": "Pink",
    },
    # -- shipments ----------------------------------------------------------------------------
    "mode": {"parcel": "Parcel", "freight": "Freight"},
    "direction": {"inbound": "Inbound", "outbound": "Outbound", "third_party": "Third party"},
    "shipment_status": {
        "pickup_appointment": "Pickup appointment",
        "scheduled": "Scheduled",
        "in_transit": "In transit",
        "out_for_delivery": "Out for delivery",
        "delivered": "Delivered",
        "returning_to_sender": "Returning to sender",
        "delivered_to_sender": "Delivered back to sender",
        "exception": "Exception",
    },
    "exception": {
        "address_issue": "Address issue",
        "held_at_terminal": "Held at terminal",
        "damaged": "Damaged",
        "lost": "Lost",
        "undeliverable": "Undeliverable",
        "return_to_sender": "Return to sender",
        "delivery_scheduling_needed": "Delivery needs scheduling",
        "canceled": "Canceled",
        "refused": "Refused",
        "missed_appointment": "Missed appointment",
    },
    # -- actions ------------------------------------------------------------------------------
    "appointment_state": {
        "proposed": "Proposed",
        "countered": "Countered",
        "accepted": "Accepted",
        "withdrawn": "Withdrawn",
        "kept": "Kept",
        "missed": "Missed",
    },
    "disposition_state": {
        "requested": "Waiting for instructions",
        "decided": "Decided",
        "withdrawn": "Withdrawn",
    },
    "disposition_reason": {
        "refused": "Refused",
        "undeliverable": "Undeliverable",
        "damaged": "Damaged",
    },
    "disposition_choice": {
        "return": "Return",
        "reship": "Reship",
        "destroy": "Destroy",
        "donate": "Donate",
        "hold": "Hold",
        "sell": "Sell",
    },
    "payer": {"shipper": "Shipper", "carrier": "Carrier", "consignee": "Consignee"},
    "claim_status": {
        "draft": "Draft",
        "filed": "Filed",
        "acknowledged": "Acknowledged",
        "offered": "Settlement offered",
        "paid": "Paid",
        "partly_paid": "Partly paid",
        "declined": "Declined",
        "withdrawn": "Withdrawn",
    },
    "claim_document": {
        "bill_of_lading": "Bill of lading",
        "proof_of_delivery": "Proof of delivery",
        "invoice": "Invoice",
        "photos": "Photos",
        "inspection_report": "Inspection report",
    },
    # -- people and organizations ---------------------------------------------------------
    "role": {"shipper": "Shipper", "carrier": "Carrier"},
    "user_role": {"agent": "Agent", "manager": "Manager", "admin": "Admin"},
    "recipient_kind": {
        "user": "Staff",
        "customer": "Customer",
        "address": "Collaborator address",
        "participant": "Participant",
    },
    "api_scope": {"read": "Read", "write": "Read and write", "admin": "Admin"},
    # -- mail -----------------------------------------------------------------------------------
    "notify_event": {
        "case_opened": "A case of mine is opened",
        "message_posted": "A message is posted on a case I own or watch",
        "owner_assigned": "A case is handed over to me",
        "status_changed": "The status of a case I own or watch changes",
        "case_solved": "A case I own or watch is solved",
        "case_reopened": "A case I own or watch is reopened",
        "customer_feedback": "A customer sends feedback from My Account",
        "carrier_named": "A shipper brings a case to us as its carrier",
        "clock_due_soon": "A case of mine is about to miss a service level",
        "clock_breached": "A case of mine missed a service level",
    },
    # ``feedback_received`` tells the shipper's staff of new feedback;
    # ``customer_feedback`` is the shipper's reply the customer reads.
    "template": {
        "case_opened": "Case opened (to staff)",
        "message_posted": "New message",
        "owner_assigned": "Case handed over",
        "status_changed": "Status changed",
        "case_solved": "Case solved",
        "case_reopened": "Case reopened",
        "feedback_received": "New customer feedback (to staff)",
        "customer_feedback": "Reply to a customer's feedback (to the customer)",
        "carrier_named": "Case brought to the carrier",
        "clock_due_soon": "Service level due soon",
        "clock_breached": "Service level breached",
    },
    "webhook_event": {
        "case_opened": "Case opened",
        "message_posted": "Message posted",
        "status_changed": "Status changed",
        "case_solved": "Case solved",
        "case_reopened": "Case reopened",
        "owner_changed": "Owner changed",
        "watcher_changed": "Watchers changed",
        "carrier_changed": "Carrier changed",
        "priority_changed": "Priority changed",
        "tags_changed": "Tags changed",
        "custom_fields_changed": "Custom fields changed",
        "appointment_changed": "Delivery appointment changed",
        "disposition_changed": "Disposition asked for or decided",
        "claim_changed": "Freight claim changed",
    },
    "unknown_senders": {"open": "Open a case", "triage": "Keep in triage"},
    "inbound_outcome": {
        "appended": "Added to a case",
        "created": "Opened a case",
        "duplicate": "Duplicate",
        "auto_reply": "Automatic reply",
        "bounce": "Bounce",
        "triaged": "In triage",
        "rejected": "Rejected",
        "filed": "Filed on a case",
        "opened": "Opened as a case",
        "discarded": "Discarded",
    },
    # -- lists and reports ----------------------------------------------------------------
    "view": {
        "all_active": "All Active",
        "recent_responses": "Recent Responses",
        "my_active": "My Active",
        "my_watched": "My Watched",
        "new_cases": "New Cases",
        "all_cases": "All Cases",
        "due_soon": "Due Soon",
    },
    "operator": {
        "in": "is any of",
        "not_in": "is none of",
        "empty": "is empty",
        "is": "is",
        "is_not": "is not",
        "contains": "contains",
        "not_contains": "does not contain",
        "starts_with": "starts with",
        "not_starts_with": "does not start with",
        "between": "between",
        "posted_by": "posted by",
        "not_posted_by": "not posted by",
    },
    "latest": {
        "posted_by:me": "posted by me",
        "not_posted_by:me": "not posted by me",
        "posted_by:my_organization": "posted by my organization",
        "not_posted_by:my_organization": "not posted by my organization",
    },
    "direction_of_sort": {"desc": "newest first", "asc": "oldest first"},
    "granularity": {"day": "Day", "week": "Week"},
    "target": {
        "first_response": "First response",
        "next_response": "Next response",
        "resolution": "Resolution",
    },
    "clock_state": {"running": "Running", "paused": "Paused", "stopped": "Stopped"},
    "time_condition": {
        "stalled_pre_transit": "No update before pickup",
        "stalled_in_transit": "No update in transit",
        "missed_appointment": "Missed pickup appointment",
        "will_miss_estimated": "Will miss the estimated date",
        "missed_estimated": "Missed the estimated date",
        "will_miss_promised": "Will miss the promised date",
        "missed_promised": "Missed the promised date",
    },
    "tier": {"1": "Tier 1 — act now", "2": "Tier 2 — watch"},
    "owner_strategy": {
        "none": "Nobody (New Cases)",
        "user": "One person",
        "round_robin": "In turn",
        "least_loaded": "Whoever has the fewest active cases",
    },
}

#: Every vocabulary by name: ``VOCABULARIES["status"]["solved"] == "Solved"``.
VOCABULARIES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {name: MappingProxyType(words) for name, words in _VOCABULARIES.items()}
)

#: The filter fields that read a vocabulary of another name.
_ALIASES = {
    "shipment_exception": "exception",
    "has_clock": "target",
    "breached": "target",
    "has_appointment": "has_owner",
}

#: What a form field or a wire field is called next to it and in error messages.
FIELDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "body": "Message",
        "text": "Your answer",
        "subject": "Subject",
        "audience": "Who can read it",
        "cc": "Cc",
        "attachments": "Attachments",
        "attachment": "Attachment",
        "type": "Case type",
        "case_type": "Case type",
        "tier": "Tier",
        "status": "Status",
        "user_id": "Person",
        "owner": "Case owner",
        "crm_number": "CRM case number",
        "into": "Original case",
        "priority": "Priority",
        "tags": "Tags",
        "add_tags": "Tags to add",
        "remove_tags": "Tags to take off",
        "tag": "Tag",
        "tag_ids": "Tags of the cases it opens",
        "colour": "Colour",
        "carrier": "Carrier",
        "carrier_collaborating": "Collaborating by email",
        "collaborator_address": "Collaborator address",
        "message": "Message",
        "customer_email": "Customer's email address",
        "owner_id": "Owner of the cases it opens",
        "partner_id": "Partner",
        "order": "Order number",
        "order_number": "Order number",
        "shipment": "Shipment",
        "reference": "Shipment reference",
        "tracking_number": "Tracking number",
        "email": "Email address",
        "name": "Name",
        "version": "Case version",
        "query": "View",
        "view": "View",
        "shipper": "Shipper",
        "customer": "Customer",
        "identity": "Acting as",
        "address": "Address",
        "unknown_senders": "Mail from unknown senders",
        "html": "HTML",
        "start": "From",
        "end": "To",
        "timezone": "Time zone",
        "first_response": "First response target",
        "resolution": "Resolution target",
        "canned_reply": "Canned reply",
        "title": "Title",
        "actions.type": "Then change the case type",
        "actions.status": "Then set the status",
        "actions.owner": "Then set the owner",
        "actions.watchers": "Then add watchers",
        "actions.priority": "Then set the priority",
        "actions.add_tags": "Then add tags",
        "actions.remove_tags": "Then take off tags",
        "case_priorities": "Priorities of the shipment's cases",
        "case_min_priority": "Lowest priority of the shipment's cases",
        "case_tags_any": "Tags of the shipment's cases, any of",
        "case_tags_all": "Tags of the shipment's cases, all of",
        "case_tags_none": "Tags none of the shipment's cases carries",
    }
)


def label(kind: str, value: object) -> str:
    """The label of ``value`` in vocabulary ``kind`` (one of :data:`VOCABULARIES`);
    empty for no value; a value the vocabulary lacks reads as :func:`humanize` says.

    :raises KeyError: for a vocabulary that does not exist.
    """
    words = VOCABULARIES[_ALIASES.get(kind, kind)]
    if value is None or value == "":
        return ""
    code = str(getattr(value, "value", value))
    return words.get(code) or humanize(code)


def field_label(name: str) -> str:
    """What field ``name`` is called: "crm_number" reads "CRM case number"; a nested
    field by its own name ("filters.owner" reads "Case owner")."""
    own = name.rsplit(".", 1)[-1]
    return FIELDS.get(name) or FIELDS.get(own) or humanize(own)


def vocabulary_of(values: Iterable[object]) -> Mapping[str, str] | None:
    """The vocabulary whose codes are exactly ``values`` (the ``enum`` of a
    schema field, say), or None when none is."""
    wanted = {str(getattr(v, "value", v)) for v in values if v is not None}
    for words in VOCABULARIES.values():
        if set(words) == wanted:
            return words
    return None


def composer_label(audience: object, side: str = "shipper") -> str:
    """What the composer calls writing for ``audience``, to staff of ``side``
    (``shipper`` or ``carrier``): "Internal note", "To the carrier"..."""
    code = str(getattr(audience, "value", audience))
    if code == "partners":
        return "To the shipper" if side == "carrier" else "To the carrier"
    return {
        "internal": "Internal note",
        "customer": "To the customer",
        "everyone": "To everyone",
    }.get(code) or humanize(code)


def audience_label(audience: object, side: str = "shipper", *, shared: bool = False) -> str:
    """Who reads a message, in the words of staff of ``side``; ``shared`` for a
    message of the shipper's conversation with its customer it shared with the carrier."""
    code = str(getattr(audience, "value", audience))
    if code == "partners":
        return "With the shipper" if side == "carrier" else "With the carrier"
    if code == "customer" and shared:
        return "Shared by the shipper" if side == "carrier" else "Shared with the carrier"
    return label("audience", code)


def not_found_message(kind: str, key: object) -> str:
    """A not-found error in plain words: "Case CV000052 was not found." (a case
    number reads in capitals, as casekit writes it, whatever its case in a URL)."""
    what = kind[:1].upper() + kind[1:]
    shown = str(key)
    if kind == "case" and isinstance(key, str):
        shown = key.strip().upper()
    return f"{what} {shown} was not found."
