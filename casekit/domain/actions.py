"""Actions: typed entries of a case's timeline with a structured outcome.

Two kinds, both a small negotiation between the shipper and the carrier:

- a **delivery appointment**: one side proposes one or more *windows*
  (local times in the destination's time zone, kept in UTC), the other side
  accepts one or counters with windows of its own; either side may withdraw.
  The accepted window becomes a fact of the shipment; once it has ended,
  the appointment was *kept* if the shipment was delivered by then and
  *missed* otherwise (a shipment exception ``missed_appointment``).
- a **disposition**: for refused, undeliverable or damaged freight the
  carrier asks the shipper for instructions by a *deadline*, after which
  storage charges accrue (from a day, so much a day); the shipper chooses
  what becomes of the freight, with a reference number (RA) and who pays,
  and may keep an internal note the carrier never reads.

This module is pure: it checks what a person asks for and names every bad
field (:class:`~casekit.errors.InvalidInput`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import frozen

from casekit.domain.audience import Audience
from casekit.errors import InvalidInput


class ActionKind(enum.StrEnum):
    APPOINTMENT = "appointment"
    DISPOSITION = "disposition"


class AppointmentState(enum.StrEnum):
    """Where a delivery appointment stands."""

    PROPOSED = "proposed"  # waiting for the other side
    COUNTERED = "countered"  # the other side proposed other windows instead
    ACCEPTED = "accepted"  # one window agreed; a fact of the shipment
    WITHDRAWN = "withdrawn"  # taken back by either side
    KEPT = "kept"  # the shipment was delivered by the window's end
    MISSED = "missed"  # the window ended before the shipment was delivered


class DispositionState(enum.StrEnum):
    REQUESTED = "requested"  # the carrier waits for the shipper's instructions
    DECIDED = "decided"  # the shipper chose
    WITHDRAWN = "withdrawn"  # the carrier no longer needs instructions


class DispositionReason(enum.StrEnum):
    """Why the carrier asks what to do with the freight."""

    REFUSED = "refused"
    UNDELIVERABLE = "undeliverable"
    DAMAGED = "damaged"


class DispositionChoice(enum.StrEnum):
    """What the shipper tells the carrier to do with the freight."""

    RETURN = "return"
    RESHIP = "reship"
    DESTROY = "destroy"
    DONATE = "donate"
    HOLD = "hold"
    SELL = "sell"


class Payer(enum.StrEnum):
    """Who pays for what the disposition costs (freight back, storage, disposal)."""

    SHIPPER = "shipper"
    CARRIER = "carrier"
    CONSIGNEE = "consignee"


#: The audiences an appointment may have: the two sides, or the customer too.
APPOINTMENT_AUDIENCES = (Audience.PARTNERS, Audience.EVERYONE)
MAX_WINDOWS = 5
#: The longest window, and how far ahead one may start.
MAX_WINDOW = timedelta(days=2)
MAX_AHEAD = timedelta(days=366)
MAX_NOTE = 4_000
MAX_REFERENCE = 100
MAX_STORAGE_PER_DAY = Decimal("1000000")


@frozen
class Window:
    """A delivery window in UTC (``start`` before ``end``)."""

    start: datetime
    end: datetime

    def local(self, zone: str) -> tuple[datetime, datetime]:
        """The window in time zone ``zone``."""
        tz = ZoneInfo(zone)
        return self.start.astimezone(tz), self.end.astimezone(tz)

    def describe(self, zone: str) -> str:
        """``Tue 8 Dec 2026 08:00-12:00 (America/Chicago)``; the end's date when it differs."""
        start, end = self.local(zone)
        first = f"{start:%a} {start.day} {start:%b %Y %H:%M}"
        last = f"{end:%H:%M}" if end.date() == start.date() else f"{end.day} {end:%b %H:%M}"
        return f"{first}-{last} ({zone})"


def parse_zone(value: object, field: str = "time_zone") -> str:
    """An IANA time zone name, checked."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput({field: ["a time zone name such as America/Chicago"]})
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput({field: [f"unknown time zone {name!r}"]}) from None
    return name


def _local(value: object, zone: ZoneInfo) -> datetime | None:
    """A window's end given as local time (naive, or an ISO text), in UTC; aware values
    are taken as they are."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def parse_windows(
    raw: object, zone: str, now: datetime, field: str = "windows"
) -> tuple[Window, ...]:
    """Windows from ``[{"start": ..., "end": ...}, ...]`` (or pairs), local to ``zone``.

    Each ends after it starts, lasts at most two days, ends after ``now`` and
    starts within a year; at most :data:`MAX_WINDOWS`, none twice.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        raise InvalidInput({field: ["at least one window, each a start and an end"]})
    if len(raw) > MAX_WINDOWS:
        raise InvalidInput({field: [f"at most {MAX_WINDOWS} windows"]})
    tz = ZoneInfo(zone)
    errors: dict[str, list[str]] = {}
    found: list[Window] = []
    for index, item in enumerate(raw):
        where = f"{field}.{index}"
        if isinstance(item, Mapping):
            start_raw, end_raw = item.get("start"), item.get("end")
            unknown = sorted(set(item) - {"start", "end"})
            if unknown:
                errors.setdefault(where, []).append(f"unknown field {unknown[0]!r}")
                continue
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            start_raw, end_raw = item
        else:
            errors.setdefault(where, []).append("a window is a start and an end")
            continue
        start, end = _local(start_raw, tz), _local(end_raw, tz)
        if start is None:
            errors.setdefault(f"{where}.start", []).append("a date and time, e.g. 2026-12-08T08:00")
        if end is None:
            errors.setdefault(f"{where}.end", []).append("a date and time, e.g. 2026-12-08T12:00")
        if start is None or end is None:
            continue
        if end <= start:
            errors.setdefault(f"{where}.end", []).append("the window must end after it starts")
        elif end - start > MAX_WINDOW:
            errors.setdefault(f"{where}.end", []).append("a window lasts at most two days")
        elif end <= now:
            errors.setdefault(f"{where}.end", []).append("the window is over already")
        elif start - now > MAX_AHEAD:
            errors.setdefault(f"{where}.start", []).append("a window starts within a year")
        elif Window(start, end) in found:
            errors.setdefault(where, []).append("the same window twice")
        else:
            found.append(Window(start, end))
    if errors:
        raise InvalidInput(errors)
    return tuple(sorted(found, key=lambda w: w.start))


def parse_appointment_audience(value: object) -> Audience:
    try:
        audience = Audience(str(value)) if value is not None else Audience.PARTNERS
    except ValueError:
        audience = None
    if audience not in APPOINTMENT_AUDIENCES:
        raise InvalidInput({"audience": ["partners or everyone"]})
    return audience


def _enum(enum_class: type[enum.StrEnum], value: object, field: str) -> Any:
    known = {m.value: m for m in enum_class}
    if isinstance(value, str) and value in known:
        return known[value]
    allowed = ", ".join(known)
    raise InvalidInput({field: [f"one of {allowed}"]})


def _text(value: object, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput({field: ["text expected"]})
    if len(value.strip()) > limit:
        raise InvalidInput({field: [f"at most {limit} characters"]})
    return value.strip()


@frozen(kw_only=True)
class DispositionRequest:
    """What the carrier asks: why, by when, and what storage costs after that."""

    reason: DispositionReason
    deadline: datetime
    storage_from: datetime
    storage_per_day: Decimal
    currency: str
    note: str = ""


def parse_disposition_request(data: Mapping[str, Any], now: datetime) -> DispositionRequest:
    """Check a disposition request; InvalidInput names every bad field.

    ``deadline`` and ``storage_from`` are aware datetimes, ISO texts with an
    offset, or dates (the end of that day in UTC); ``storage_from`` defaults
    to the deadline; ``storage_per_day`` is a non-negative amount with at most
    two decimals; ``currency`` a three-letter code.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    unknown = sorted(
        set(data) - {"reason", "deadline", "storage_from", "storage_per_day", "currency", "note"}
    )
    for key in unknown:
        errors[key] = ["unknown field"]
    for name, call in (
        ("reason", lambda v: _enum(DispositionReason, v, "reason")),
        ("note", lambda v: _text(v, "note", MAX_NOTE)),
    ):
        try:
            values[name] = call(data.get(name))
        except InvalidInput as error:
            for key, messages in error.errors.items():
                errors.setdefault(key, []).extend(messages)
    for name in ("deadline", "storage_from"):
        raw = data.get(name)
        if raw is None or raw == "":
            if name == "deadline":
                errors.setdefault(name, []).append("a date and time is required")
            continue
        when = _moment(raw)
        if when is None:
            errors.setdefault(name, []).append("a date, or a date and time with its offset")
        elif name == "deadline" and when <= now:
            errors.setdefault(name, []).append("the deadline must be in the future")
        elif when - now > MAX_AHEAD:
            errors.setdefault(name, []).append("within a year")
        else:
            values[name] = when
    if (
        "deadline" in values
        and "storage_from" in values
        and values["storage_from"] < values["deadline"]
    ):
        errors.setdefault("storage_from", []).append("storage accrues from the deadline on")
    try:
        values["storage_per_day"] = parse_amount(data.get("storage_per_day", "0"))
    except InvalidInput as error:
        errors.setdefault("storage_per_day", []).extend(error.errors["amount"])
    currency = data.get("currency", "USD")
    if (
        not isinstance(currency, str)
        or len(currency.strip()) != 3
        or not currency.strip().isalpha()
    ):
        errors.setdefault("currency", []).append("a three-letter currency code such as USD")
    else:
        values["currency"] = currency.strip().upper()
    if errors:
        raise InvalidInput(errors)
    values.setdefault("storage_from", values["deadline"])
    return DispositionRequest(**values)


def parse_amount(raw: object) -> Decimal:
    """A non-negative amount with at most two decimals."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise InvalidInput({"amount": ["an amount such as 25.00"]})
    try:
        amount = Decimal(str(raw).strip() or "0")
    except InvalidOperation:
        raise InvalidInput({"amount": ["an amount such as 25.00"]}) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_STORAGE_PER_DAY:
        raise InvalidInput({"amount": ["an amount from 0 to 999999.99"]})
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput({"amount": ["at most two decimals"]})
    return amount.quantize(Decimal("0.01"))


def _moment(raw: object) -> datetime | None:
    if isinstance(raw, datetime):
        return raw.astimezone(UTC) if raw.tzinfo is not None else None
    if isinstance(raw, date):
        return datetime.combine(raw, time(23, 59, 59), tzinfo=UTC)
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


@frozen(kw_only=True)
class DispositionDecision:
    """What the shipper decides."""

    choice: DispositionChoice
    payer: Payer
    ra_number: str = ""
    note: str = ""
    #: The shipper's own note on its decision: never read by the carrier.
    internal_note: str = ""


def parse_disposition_decision(data: Mapping[str, Any]) -> DispositionDecision:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    allowed = {"choice", "payer", "ra_number", "note", "internal_note"}
    for key in sorted(set(data) - allowed):
        errors[key] = ["unknown field"]
    checks: dict[str, Any] = {
        "choice": lambda v: _enum(DispositionChoice, v, "choice"),
        "payer": lambda v: _enum(Payer, v, "payer"),
        "ra_number": lambda v: _text(v, "ra_number", MAX_REFERENCE),
        "note": lambda v: _text(v, "note", MAX_NOTE),
        "internal_note": lambda v: _text(v, "internal_note", MAX_NOTE),
    }
    for name, check in checks.items():
        try:
            values[name] = check(data.get(name))
        except InvalidInput as error:
            for key, messages in error.errors.items():
                errors.setdefault(key, []).extend(messages)
    if values.get("choice") in (
        DispositionChoice.RETURN,
        DispositionChoice.RESHIP,
    ) and not values.get("ra_number"):
        errors.setdefault("ra_number", []).append("a return or reship needs its RA number")
    if errors:
        raise InvalidInput(errors)
    return DispositionDecision(**values)


def storage_days(storage_from: datetime, until: datetime) -> int:
    """Whole days of storage charged from ``storage_from`` to ``until`` (a day begun counts)."""
    if until <= storage_from:
        return 0
    elapsed = until - storage_from
    return elapsed.days + (1 if elapsed % timedelta(days=1) else 0)
