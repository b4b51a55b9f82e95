"""Checking order and shipment facts and tracking events before they are stored.

Pure functions: each returns the problems it found as ``{field: [message]}``
(empty when the input is good), so a batch can reject one row with its
reasons and keep the others.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import date, datetime
from typing import Any

import attrs

from casekit.domain.actions import parse_zone
from casekit.domain.shipment import (
    Direction,
    ExceptionKind,
    Mode,
    OrderFacts,
    ShipmentEvent,
    ShipmentFacts,
    ShipmentStatus,
)
from casekit.errors import InvalidInput

Problems = dict[str, list[str]]

_FACT_ENUMS: dict[str, type[enum.Enum]] = {
    "mode": Mode,
    "direction": Direction,
    "shipment_status": ShipmentStatus,
    "exception": ExceptionKind,
}
_EVENT_ENUMS: dict[str, type[enum.Enum]] = {"status": ShipmentStatus, "exception": ExceptionKind}


def _check_value(
    problems: Problems,
    name: str,
    value: Any,
    limits: dict[str, int],
    enums: dict[str, type[enum.Enum]],
) -> None:
    if name in enums:
        enum_class = enums[name]
        try:
            enum_class(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in enum_class)
            problems.setdefault(name, []).append(f"unknown {name} {value!r}; one of {allowed}")
        return
    if isinstance(value, datetime):
        if value.tzinfo is None:
            problems.setdefault(name, []).append("a timezone-aware date and time is required")
        return
    if isinstance(value, date):
        return
    if name in limits:
        if not isinstance(value, str):
            problems.setdefault(name, []).append(f"text expected, not {type(value).__name__}")
        elif len(value) > limits[name]:
            problems.setdefault(name, []).append(f"at most {limits[name]} characters")
        return
    problems.setdefault(name, []).append(f"unexpected value {value!r}")


def _check(
    obj: Any,
    limits: dict[str, int],
    dates: set[str],
    times: set[str],
    enums: dict[str, type[enum.Enum]] = _FACT_ENUMS,
) -> Problems:
    problems: Problems = {}
    for name in _names(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        if type(value) is str and name in limits and name not in enums:
            if len(value) > limits[name]:  # the common case, checked quickly
                problems.setdefault(name, []).append(f"at most {limits[name]} characters")
        elif name in times and not isinstance(value, datetime):
            problems.setdefault(name, []).append("a date and time is required")
        elif name in dates and (not isinstance(value, date) or isinstance(value, datetime)):
            problems.setdefault(name, []).append("a date (YYYY-MM-DD) is required")
        else:
            _check_value(problems, name, value, limits, enums)
    return problems


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(a.name for a in attrs.fields(cls))
    return names


def check_shipment_facts(facts: ShipmentFacts, limits: dict[str, int]) -> Problems:
    """What is wrong with ``facts``; ``limits`` gives each text field's longest length."""
    problems = _check(
        facts, limits, {"promised_date", "estimated_date"}, {"status_at", "appointment_at"}
    )
    if not (facts.reference or "").strip():
        problems.setdefault("reference", []).append("a shipment reference is required")
    if facts.delivery_time_zone is not None and "delivery_time_zone" not in problems:
        try:
            parse_zone(facts.delivery_time_zone, "delivery_time_zone")
        except InvalidInput as error:
            problems.setdefault("delivery_time_zone", []).extend(error.errors["delivery_time_zone"])
    return problems


def check_order_facts(facts: OrderFacts, limits: dict[str, int]) -> Problems:
    problems = _check(facts, limits, set(), {"placed_at"})
    if not (facts.number or "").strip():
        problems.setdefault("number", []).append("an order number is required")
    return problems


def check_event(event: ShipmentEvent, limits: dict[str, int]) -> Problems:
    problems = _check(
        event, limits, {"estimated_date"}, {"occurred_at", "appointment_at"}, _EVENT_ENUMS
    )
    if event.occurred_at is None:
        problems.setdefault("occurred_at", []).append("when the event happened is required")
    if event.status is None:
        problems.setdefault("status", []).append("a status is required")
    if not (event.reference or event.tracking_number):
        problems.setdefault("reference", []).append(
            "name the shipment by its reference or its tracking number"
        )
    return problems


def event_key(event: ShipmentEvent) -> str:
    """The event's identity: its source's key, or a digest of what it says."""
    if event.key:
        return f"{event.source}:{event.key}"[:200]
    content = "|".join(
        str(x)
        for x in (
            event.source,
            event.status,
            event.exception or "",
            event.occurred_at.isoformat(),
            event.description,
            event.location,
        )
    )
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()
