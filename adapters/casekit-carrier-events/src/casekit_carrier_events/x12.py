"""X12 EDI 214 (Transportation Carrier Shipment Status Message), read by a small segment reader.

No maintained Python X12 library fits (the ones on PyPI are unmaintained or
pull in whole implementation guides), and a 214 needs few segments, so this
module reads them itself:

**Envelope.** With an ``ISA`` header, its fixed 106 characters give the
delimiters: the element separator is the 4th character and the segment
terminator the 106th. Without one, ``*`` and ``~``. Line breaks around
segments are ignored. ``ST``/``SE`` delimit each transaction set; a set that
is not a 214 is rejected, the others are read.

**Segments read** (others are skipped):

- ``B10`` — ``B10-01`` the carrier's reference (PRO), recorded as the
  tracking number; ``B10-02`` the shipment identification number, the
  shipment's casekit reference when given; ``B10-03`` the SCAC.
- ``LX`` — starts one status; ``AT7`` — the status: ``AT7-01`` status code,
  ``AT7-02`` reason code, ``AT7-03`` appointment code (``AA``, a pickup
  appointment), ``AT7-05`` date ``CCYYMMDD``, ``AT7-06`` time ``HHMM[SS]``,
  ``AT7-07`` time code (``UT``, ``ET``/``ED``, ``CT``/``CD``, ``MT``/``MD``,
  ``PT``/``PD``, ``AT``, ``LT``; ``LT`` or none needs ``local_timezone``).
- ``MS1`` — the status's city, state and country.

Codes are normalised with :data:`STATUS_CODES` and :data:`REASON_CODES`; an
unknown status code or a bad date rejects that status alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import attrs

from casekit import ExceptionKind, InvalidInput, ShipmentEvent, ShipmentStatus
from casekit_carrier_events.common import Batch

S, X = ShipmentStatus, ExceptionKind


class X12Error(InvalidInput):
    """The interchange cannot be read at all; ``errors`` says where."""


#: AT7-01 shipment status codes → casekit's status (and exception).
STATUS_CODES: dict[str, tuple[ShipmentStatus, ExceptionKind | None]] = {
    "AA": (S.PICKUP_APPOINTMENT, None),  # pick-up appointment date and/or time
    "XB": (S.SCHEDULED, None),  # shipment acknowledged
    "X3": (S.SCHEDULED, None),  # arrived at pick-up location
    "X8": (S.SCHEDULED, None),  # arrived at pick-up location loading dock
    "AF": (S.IN_TRANSIT, None),  # carrier departed pick-up location with shipment
    "CP": (S.IN_TRANSIT, None),  # completed loading at pick-up location
    "AM": (S.IN_TRANSIT, None),  # loaded on truck
    "L1": (S.IN_TRANSIT, None),  # loading
    "P1": (S.IN_TRANSIT, None),  # departed terminal location
    "X4": (S.IN_TRANSIT, None),  # arrived at terminal location
    "B6": (S.IN_TRANSIT, None),  # estimated to arrive at carrier terminal
    "BA": (S.IN_TRANSIT, None),  # connecting line or cartage pick-up
    "I1": (S.IN_TRANSIT, None),  # in-gate
    "OA": (S.IN_TRANSIT, None),  # out-gate
    "R1": (S.IN_TRANSIT, None),  # received from prior carrier
    "J1": (S.IN_TRANSIT, None),  # delivered to connecting line
    "K1": (S.IN_TRANSIT, None),  # arrived at customs
    "AG": (S.IN_TRANSIT, None),  # estimated delivery
    "X2": (S.IN_TRANSIT, None),  # estimated date/time of arrival at consignee
    "SD": (S.IN_TRANSIT, None),  # shipment delayed
    "AB": (S.IN_TRANSIT, None),  # delivery appointment date and/or time
    "X6": (S.OUT_FOR_DELIVERY, None),  # en route to delivery location
    "X1": (S.OUT_FOR_DELIVERY, None),  # arrived at delivery location
    "X5": (S.OUT_FOR_DELIVERY, None),  # arrived at delivery location loading dock
    "AV": (S.OUT_FOR_DELIVERY, None),  # available for delivery
    "S1": (S.OUT_FOR_DELIVERY, None),  # trailer spotted at consignee's location
    "D1": (S.DELIVERED, None),  # completed unloading at delivery location
    "CD": (S.DELIVERED, None),  # carrier departed delivery location
    "AH": (S.EXCEPTION, X.DELIVERY_SCHEDULING_NEEDED),  # attempted delivery
    "AP": (S.EXCEPTION, X.UNDELIVERABLE),  # delivery not completed
    "A7": (S.EXCEPTION, X.REFUSED),  # refused by consignee
    "A9": (S.EXCEPTION, X.DAMAGED),  # shipment damaged
    "CA": (S.EXCEPTION, X.CANCELED),  # shipment cancelled
    "PR": (S.EXCEPTION, X.HELD_AT_TERMINAL),  # U.S. customs hold
    "A3": (S.DELIVERED_TO_SENDER, None),  # shipment returned to shipper
}

#: AT7-02 status reason codes that name an exception (``NS``, normal, names none).
REASON_CODES: dict[str, ExceptionKind] = {
    "A2": X.ADDRESS_ISSUE,  # incorrect address
    "A5": X.ADDRESS_ISSUE,  # unable to locate
    "AK": X.DAMAGED,  # damaged, rewrapped in hub
    "AS": X.HELD_AT_TERMINAL,  # hold due to customs documentation problems
    "AQ": X.DELIVERY_SCHEDULING_NEEDED,  # recipient unavailable, delivery delayed
    "AD": X.DELIVERY_SCHEDULING_NEEDED,  # customer requested future delivery
    "B1": X.UNDELIVERABLE,  # consignee closed
}

#: AT7-07 time codes with a fixed offset from UTC, in hours.
TIME_CODES: dict[str, int] = {
    "UT": 0,
    "GM": 0,
    "Z": 0,
    "AT": -4,
    "AD": -3,
    "ET": -5,
    "ED": -4,
    "CT": -6,
    "CD": -5,
    "MT": -7,
    "MD": -6,
    "PT": -8,
    "PD": -7,
    "AS": -9,
    "HT": -10,
}


@attrs.frozen
class Segment:
    """One segment: its id and its data elements (``element(1)`` is the first)."""

    id: str
    elements: tuple[str, ...]

    def element(self, n: int) -> str:
        return self.elements[n - 1].strip() if 0 < n <= len(self.elements) else ""


def read_segments(text: str) -> list[Segment]:
    """The segments of an interchange (or of bare segments); X12Error if unreadable."""
    if not isinstance(text, str):
        raise X12Error({"interchange": ["text is expected"]})
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("ISA"):
        if len(body) < 106:
            raise X12Error({"ISA": ["the interchange header is cut short (106 characters)"]})
        separator, terminator = body[3], body[105]
        if separator.isalnum() or terminator.isalnum() or separator == terminator:
            raise X12Error({"ISA": ["the header's delimiters cannot be read"]})
    else:
        separator, terminator = "*", "~"
    segments: list[Segment] = []
    for number, raw in enumerate(body.split(terminator), 1):
        raw = raw.strip(" \t\r\n")
        if not raw:
            continue
        parts = raw.split(separator)
        sid = parts[0].strip()
        if not (2 <= len(sid) <= 3 and sid.isascii() and sid.isalnum() and sid[0].isalpha()):
            raise X12Error({f"segment {number}": [f"{sid[:10]!r} is not a segment id"]})
        segments.append(Segment(sid.upper(), tuple(parts[1:])))
    if not segments:
        raise X12Error({"interchange": ["no segments"]})
    return segments


def _moment(at7: Segment, local_timezone: tzinfo | None) -> datetime:
    day, clock, code = at7.element(5), at7.element(6), at7.element(7).upper()
    if len(day) != 8 or not day.isdigit():
        raise ValueError(f"AT7-05 {day!r} is not a date CCYYMMDD")
    if clock and (len(clock) not in (4, 6) or not clock.isdigit()):
        raise ValueError(f"AT7-06 {clock!r} is not a time HHMM")
    try:
        naive = datetime.strptime(day + (clock or "0000")[:4], "%Y%m%d%H%M")
        if len(clock) == 6:
            naive = naive.replace(second=int(clock[4:]))
    except ValueError:
        raise ValueError(f"AT7-05/06 {day} {clock} is not a date and time") from None
    if code in TIME_CODES:
        return naive.replace(tzinfo=timezone(timedelta(hours=TIME_CODES[code])))
    if code in ("", "LT") and local_timezone is not None:
        return naive.replace(tzinfo=local_timezone)
    if code in ("", "LT"):
        raise ValueError("local time (AT7-07 LT or none) needs a local_timezone")
    raise ValueError(f"AT7-07 time code {code!r} is not known")


def parse(text: str | bytes, *, local_timezone: tzinfo | None = None) -> Batch:
    """Every status of a 214 interchange; an unreadable status is rejected alone."""
    batch = Batch()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            batch.reject("interchange", "not UTF-8 text")
            return batch
    try:
        segments = read_segments(text)
    except X12Error as error:
        batch.reject("interchange", error.errors)
        return batch
    state: dict[str, Any] = {"set": None, "skip": False}
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        for item in pending:
            if item.get("location"):
                item["event"] = attrs.evolve(item["event"], location=item["location"][:200])
            batch.add(item["position"], item["event"])
        pending.clear()

    lx = 0
    for seg in segments:
        if seg.id == "ST":
            flush()
            control = seg.element(2) or "?"
            state.update(set=control, skip=seg.element(1) != "214", pro=None, ref=None, scac="")
            lx = 0
            if state["skip"]:
                batch.reject(f"ST {control}", f"a {seg.element(1) or '?'} set, not a 214")
        elif state["skip"] or state["set"] is None:
            continue
        elif seg.id == "B10":
            state.update(
                pro=seg.element(1) or None, ref=seg.element(2) or None, scac=seg.element(3)
            )
        elif seg.id == "LX":
            flush()
            lx += 1
        elif seg.id == "AT7":
            position = f"ST {state['set']} / LX {lx or 1} / AT7"
            event = _event(seg, state, local_timezone)
            if isinstance(event, str):
                batch.reject(position, event)
            else:
                pending.append({"position": position, "event": event})
        elif seg.id == "MS1" and pending:
            where = ", ".join(p for p in (seg.element(1), seg.element(2), seg.element(3)) if p)
            for item in pending:
                item["location"] = where
        elif seg.id == "SE":
            flush()
            state.update(set=None)
    flush()
    return batch


def _event(at7: Segment, state: dict[str, Any], zone: tzinfo | None) -> ShipmentEvent | str:
    if state.get("ref") is None and state.get("pro") is None:
        return "no B10 names the shipment before this status"
    status_code, reason = at7.element(1).upper(), at7.element(2).upper()
    appointment_code = at7.element(3).upper()
    try:
        moment = _moment(at7, zone)
    except ValueError as error:
        return str(error)
    appointment = None
    if status_code:
        mapped = STATUS_CODES.get(status_code)
        if mapped is None:
            return f"AT7-01 status code {status_code!r} is not one casekit reads"
        status, exception = mapped
    elif appointment_code == "AA":
        status, exception, appointment = S.PICKUP_APPOINTMENT, None, moment
    else:
        return f"AT7 has no status code (appointment code {appointment_code!r} is not read)"
    if status_code == "AA":
        appointment = moment
    if reason in REASON_CODES:
        exception = REASON_CODES[reason]
        if not status.is_final:
            status = S.EXCEPTION
    return ShipmentEvent(
        reference=state.get("ref"),
        tracking_number=state.get("pro"),
        status=status,
        exception=exception,
        occurred_at=moment.astimezone(UTC),
        appointment_at=appointment,
        description=f"X12 214 {status_code or appointment_code}/{reason or 'NS'}",
        source=f"x12:{state.get('scac') or '-'}",
        key=f"{state.get('pro') or state.get('ref')}:{status_code}:{appointment_code}:"
        f"{reason}:{moment.isoformat()}",
    )
