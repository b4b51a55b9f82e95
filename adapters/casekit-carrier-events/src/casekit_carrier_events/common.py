"""What every format shares: a batch of parsed events, its rejects, and recording it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import attrs

from casekit import Actor, CaseKit, InvalidInput, NotFound, ShipmentEvent
from casekit.services.shipments import CHUNK


@attrs.frozen
class BadEvent:
    """An event that could not be read: where it is in the input, and why."""

    position: str
    reason: str


@attrs.define
class Batch:
    """The events read from one input, and those that could not be read."""

    events: list[ShipmentEvent] = attrs.field(factory=list)
    positions: list[str] = attrs.field(factory=list)
    bad: list[BadEvent] = attrs.field(factory=list)

    def add(self, position: str, event: ShipmentEvent) -> None:
        self.events.append(event)
        self.positions.append(position)

    def reject(self, position: str, errors: Mapping[str, Any] | str) -> None:
        self.bad.append(BadEvent(position, errors if isinstance(errors, str) else _reason(errors)))


def _reason(errors: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in sorted(errors.items())
    )


def _unstorable(event: ShipmentEvent) -> dict[str, list[str]]:
    """The event's text that no database keeps: a NUL character, or bytes that
    are not UTF-8 (read as lone surrogates, or sent as JSON escapes of them)."""
    problems: dict[str, list[str]] = {}
    for field in attrs.fields(ShipmentEvent):
        value = getattr(event, field.name)
        if not isinstance(value, str):
            continue
        if "\x00" in value:
            problems[field.name] = ["holds a NUL character"]
        elif any("\ud800" <= char <= "\udfff" for char in value):
            problems[field.name] = ["holds bytes that are not UTF-8 text"]
    return problems


@attrs.define
class Recorded:
    """What recording a batch did: events recorded, duplicates, rejects, rule cases."""

    recorded: int = 0
    duplicates: int = 0
    rejected: list[BadEvent] = attrs.field(factory=list)
    opened: list[str] = attrs.field(factory=list)
    solved: list[str] = attrs.field(factory=list)


def record(
    kit: CaseKit,
    batch: Batch,
    *,
    carrier: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> Recorded:
    """Record a batch as the carrier (its external id), or as the host without one.

    Events the store refuses (a shipment that is not the carrier's, text it
    cannot keep) join the events that could not be read in ``rejected``; the
    rest are recorded. ``progress`` is called with the number of events
    dealt with at each step (the store's chunk of events at a time, as it
    records them anyway).
    """
    if carrier is None:
        actor = Actor.host()
    else:
        try:
            org = kit.directory.organization_by_external_id(Actor.host(), carrier)
        except NotFound:
            raise InvalidInput({"carrier": [f"no organization {carrier!r}"]}) from None
        actor = Actor.system_actor("api", org_id=org.id)
    rejected = list(batch.bad)
    events: list[ShipmentEvent] = []
    positions: list[str] = []
    for position, event in zip(batch.positions, batch.events, strict=True):
        problems = _unstorable(event)
        if problems:
            rejected.append(BadEvent(position, _reason(problems)))
        else:
            events.append(event)
            positions.append(position)
    if progress is not None:
        progress(len(batch.events) - len(events))
    result = Recorded(rejected=rejected)
    for start in range(0, max(len(events), 1), CHUNK):  # the store's own chunks, one call each
        report = kit.shipments.record_events(actor, events[start : start + CHUNK])
        result.recorded += report.recorded
        result.duplicates += report.duplicates
        result.rejected += [BadEvent(positions[start + r.index], r.reason) for r in report.rejected]
        result.opened += report.opened
        result.solved += report.solved
        if progress is not None:
            progress(len(events[start : start + CHUNK]))
    return result


def parse_time(value: Any, field: str, errors: dict[str, list[str]]) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.setdefault(field, []).append("an ISO 8601 time is expected")
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.setdefault(field, []).append(f"{value!r} is not an ISO 8601 time")
        return None
    if moment.tzinfo is None:
        errors.setdefault(field, []).append(f"{value!r} has no UTC offset")
        return None
    return moment


def parse_date(value: Any, field: str, errors: dict[str, list[str]]) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.setdefault(field, []).append("a date (YYYY-MM-DD) is expected")
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        errors.setdefault(field, []).append(f"{value!r} is not a date (YYYY-MM-DD)")
        return None


def text(value: Any, field: str, errors: dict[str, list[str]], limit: int = 200) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.setdefault(field, []).append("text is expected")
        return None
    result = str(value).strip()
    if len(result) > limit:
        errors.setdefault(field, []).append(f"at most {limit} characters")
        return None
    return result or None
