"""The starter rules: the eighteen shipment rules a shipper recognises.

Parcel and freight are kept apart: a parcel rule wants the shipment's mode
to be ``parcel``; a freight rule excludes ``parcel``, so it applies to
freight and to any other mode, a shipment whose mode is not known included.
Each is a plain definition (:func:`~casekit.domain.rules.parse_rule` reads
it); :meth:`~casekit.services.rules.RuleService.install_starters` adds the
ones whose names the shipper does not use yet, disabled. docs/rules.rst
shows them as a table.
"""

from __future__ import annotations

from typing import Any

from casekit.domain.rules import Tier

__all__ = ["STARTER_RULES"]


def _rule(name: str, mode: str, tier: Tier, **definition: Any) -> dict[str, Any]:
    """A starter named for its trigger and mode: parcel, or freight (any mode but parcel)."""
    kept_apart = {"modes": ["parcel"]} if mode == "parcel" else {"not_modes": ["parcel"]}
    return {"name": f"{name} ({mode})", "tier": int(tier), **kept_apart, **definition}


#: The starter set, shipped disabled, in the order of the docs' table. Every
#: rule but Damaged, Return to Sender, Canceled and Refused solves its case
#: when the shipment is delivered (those stay for a person to settle).
STARTER_RULES: tuple[dict[str, Any], ...] = (
    # -- Tier 1, parcel ---------------------------------------------------------------------
    _rule(
        "Address Issue",
        "parcel",
        Tier.ACT_NOW,
        exceptions=["address_issue"],
        case_type="general_status_update",
        message="The carrier reports an address problem on parcel {reference}. "
        "Please confirm the delivery address.",
        auto_solve=True,
    ),
    _rule(
        "Held at Terminal",
        "parcel",
        Tier.ACT_NOW,
        exceptions=["held_at_terminal"],
        case_type="general_status_update",
        message="Parcel {reference} is held at the carrier's terminal.",
        auto_solve=True,
    ),
    _rule(
        "Damaged",
        "parcel",
        Tier.ACT_NOW,
        exceptions=["damaged"],
        case_type="osd_damaged",
        message="The carrier reports parcel {reference} as damaged.",
    ),
    _rule(
        "Lost",
        "parcel",
        Tier.ACT_NOW,
        exceptions=["lost"],
        case_type="lost",
        message="The carrier reports parcel {reference} as lost.",
        auto_solve=True,
    ),
    # -- Tier 1, freight and any other mode ---------------------------------------------------
    _rule(
        "Delivery Scheduling",
        "freight",
        Tier.ACT_NOW,
        exceptions=["delivery_scheduling_needed"],
        case_type="delivery_scheduling",
        message="The carrier needs a delivery appointment for shipment {reference}.",
        auto_solve=True,
    ),
    _rule(
        "Held at Terminal",
        "freight",
        Tier.ACT_NOW,
        exceptions=["held_at_terminal"],
        case_type="general_status_update",
        message="Shipment {reference} is held at the carrier's terminal.",
        auto_solve=True,
    ),
    _rule(
        "Damaged",
        "freight",
        Tier.ACT_NOW,
        exceptions=["damaged"],
        case_type="osd_damaged",
        message="The carrier reports shipment {reference} as damaged.",
    ),
    _rule(
        "Stalled Pre-Transit",
        "freight",
        Tier.ACT_NOW,
        time_condition="stalled_pre_transit",
        hours=48,
        case_type="general_status_update",
        message="Shipment {reference} has not been picked up: no tracking update for 48 hours.",
        auto_solve=True,
    ),
    _rule(
        "Stalled In Transit",
        "freight",
        Tier.ACT_NOW,
        time_condition="stalled_in_transit",
        hours=72,
        case_type="general_status_update",
        message="Shipment {reference} has had no tracking update in transit for 72 hours.",
        auto_solve=True,
    ),
    # -- Tier 2, parcel ---------------------------------------------------------------------
    _rule(
        "Undeliverable",
        "parcel",
        Tier.WATCH,
        exceptions=["undeliverable"],
        case_type="other",
        message="The carrier could not deliver parcel {reference}.",
        auto_solve=True,
    ),
    _rule(
        "Return to Sender",
        "parcel",
        Tier.WATCH,
        statuses=["returning_to_sender"],
        case_type="return_to_sender",
        message="Parcel {reference} is on its way back to the sender.",
    ),
    # -- Tier 2, freight and any other mode ---------------------------------------------------
    _rule(
        "Canceled",
        "freight",
        Tier.WATCH,
        exceptions=["canceled"],
        case_type="cancel",
        message="The carrier reports shipment {reference} as canceled.",
    ),
    _rule(
        "Refused",
        "freight",
        Tier.WATCH,
        exceptions=["refused"],
        case_type="refused_by_receiver",
        message="The receiver refused shipment {reference}.",
    ),
    _rule(
        "Missed Appointment",
        "freight",
        Tier.WATCH,
        exceptions=["missed_appointment"],
        case_type="delivery_scheduling",
        message="Shipment {reference} was not delivered within its delivery appointment.",
        auto_solve=True,
    ),
    _rule(
        "Will Miss EDD",
        "freight",
        Tier.WATCH,
        time_condition="will_miss_estimated",
        hours=24,
        case_type="general_status_update",
        message="Shipment {reference} is due within a day and not yet out for delivery.",
        auto_solve=True,
    ),
    _rule(
        "Missed EDD",
        "freight",
        Tier.WATCH,
        time_condition="missed_estimated",
        case_type="general_status_update",
        message="Shipment {reference} missed its estimated delivery date.",
        auto_solve=True,
    ),
    _rule(
        "Will Miss Promise",
        "freight",
        Tier.WATCH,
        time_condition="will_miss_promised",
        case_type="general_status_update",
        message="Shipment {reference} is now expected after the date promised to the customer.",
        auto_solve=True,
    ),
    _rule(
        "Missed Promise",
        "freight",
        Tier.WATCH,
        time_condition="missed_promised",
        case_type="general_status_update",
        message="Shipment {reference} was not delivered by the date promised to the customer.",
        auto_solve=True,
    ),
)
