"""The generic JSON form: casekit's own statuses, for carriers and hosts that map their own.

A document is an object with an ``events`` list, a bare list of events, or
JSON Lines (one event per line). Each event::

    {
      "id": "evt-1017",                        # the event's id at its source (optional)
      "reference": "SHP-1001",                 # the shipment's reference, or
      "tracking_number": "1Z999AA10123456784", # its tracking number
      "status": "exception",                   # a casekit shipment status
      "exception": "address_issue",            # an exception kind (optional)
      "occurred_at": "2026-01-06T14:05:00Z",   # ISO 8601 with an offset
      "location": "Reno, NV",                  # optional
      "description": "Address incomplete",     # optional
      "appointment_at": null,                  # optional, ISO 8601
      "estimated_date": "2026-01-08"           # optional, YYYY-MM-DD
    }
"""

from __future__ import annotations

from typing import Any

from casekit import ExceptionKind, ShipmentEvent, ShipmentStatus
from casekit.schemas.facts import read_json
from casekit_carrier_events.common import Batch, parse_date, parse_time, text

FIELDS = {
    "id",
    "reference",
    "tracking_number",
    "status",
    "exception",
    "occurred_at",
    "location",
    "description",
    "appointment_at",
    "estimated_date",
}


def parse_event(data: Any, *, source: str = "generic") -> ShipmentEvent | dict[str, list[str]]:
    """One event of the generic form, or its problems by field."""
    if not isinstance(data, dict):
        return {"event": ["an object is expected"]}
    errors: dict[str, list[str]] = {}
    for key in sorted(set(data) - FIELDS):
        errors[key] = ["unknown field"]
    status: ShipmentStatus | None = None
    try:
        status = ShipmentStatus(data.get("status"))
    except ValueError:
        allowed = ", ".join(s.value for s in ShipmentStatus)
        errors["status"] = [f"unknown status {data.get('status')!r}; one of {allowed}"]
    exception: ExceptionKind | None = None
    if data.get("exception") is not None:
        try:
            exception = ExceptionKind(data["exception"])
        except ValueError:
            allowed = ", ".join(e.value for e in ExceptionKind)
            errors["exception"] = [f"unknown exception {data['exception']!r}; one of {allowed}"]
    occurred = parse_time(data.get("occurred_at"), "occurred_at", errors)
    if occurred is None and "occurred_at" not in errors:
        errors["occurred_at"] = ["when the event happened is required"]
    reference = text(data.get("reference"), "reference", errors)
    tracking = text(data.get("tracking_number"), "tracking_number", errors)
    if (
        reference is None
        and tracking is None
        and not ({"reference", "tracking_number"} & set(errors))
    ):
        errors["reference"] = ["name the shipment by reference or tracking_number"]
    event_id = text(data.get("id"), "id", errors, limit=150)
    location = text(data.get("location"), "location", errors) or ""
    description = text(data.get("description"), "description", errors, limit=500) or ""
    appointment = parse_time(data.get("appointment_at"), "appointment_at", errors)
    estimated = parse_date(data.get("estimated_date"), "estimated_date", errors)
    if errors or status is None or occurred is None:
        return errors
    return ShipmentEvent(
        reference=reference,
        tracking_number=tracking,
        status=status,
        exception=exception,
        occurred_at=occurred,
        location=location,
        description=description,
        appointment_at=appointment,
        estimated_date=estimated,
        source=source,
        key=event_id,
    )


def parse(document: str | bytes) -> Batch:
    """Every event of a generic document; unreadable events are rejected one by one."""
    batch = Batch()
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            batch.reject("document", "not UTF-8 text")
            return batch
    stripped = document.strip()
    items: list[tuple[str, Any]] = []
    try:
        whole = read_json(stripped) if stripped else []
    except ValueError:
        whole = None
    if isinstance(whole, dict) and "events" in whole:
        events = whole["events"]
        if not isinstance(events, list):
            batch.reject("events", "a list is expected")
            return batch
        items = [(f"events[{i}]", e) for i, e in enumerate(events)]
    elif isinstance(whole, list):
        items = [(f"[{i}]", e) for i, e in enumerate(whole)]
    elif isinstance(whole, dict):
        items = [("event", whole)]
    else:  # JSON Lines
        for number, line in enumerate(document.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"line {number}", read_json(line)))
            except ValueError as error:
                batch.reject(f"line {number}", str(error))
    for position, item in items:
        parsed = parse_event(item)
        if isinstance(parsed, ShipmentEvent):
            batch.add(position, parsed)
        else:
            batch.reject(position, parsed)
    return batch
