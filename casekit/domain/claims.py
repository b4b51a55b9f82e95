"""Freight claims: money the shipper asks of the carrier for freight lost or damaged.

A claim belongs to a case of a loss or damage type (``CLAIM_TYPES``).
The shipper drafts it (the claimant, the currency, the line items, the
documents ticked off from the case's attachments), files it with the
carrier, who acknowledges it and then pays it in full or in part, or
declines it; the shipper may withdraw it while it is open. Amounts are
:class:`~decimal.Decimal` with two places, never floats.

Three clocks run on a claim (:class:`ClaimClockKind`), from the windows of
the shipper's settings (:class:`ClaimWindows`, by mode and carrier):

- **filing**, the shipper's: from delivery (or the day delivery was due,
  for freight never delivered) to the end of the filing window, 9 months
  by default (49 U.S.C. 14706(e), in the carrier's bill-of-lading terms;
  49 CFR 370.3 says what a filed claim holds);
- **acknowledgment**, the carrier's: 30 days from the claim's receipt
  (49 CFR 370.5(a));
- **disposition**, the carrier's: 120 days from receipt to pay, decline
  or make a firm settlement offer (49 CFR 370.9(a)).

This module is pure: it checks what a person asks for and names every bad
field (:class:`~casekit.errors.InvalidInput`).
"""

from __future__ import annotations

import calendar
import enum
import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from attrs import frozen

from casekit.domain.case import Side
from casekit.errors import InvalidInput

#: The case types a claim may be filed on: loss and damage.
CLAIM_TYPES = frozenset({"osd_damaged", "osd_shortage", "lost"})
MAX_LINES = 50
MAX_DESCRIPTION = 200
MAX_TEXT = 4_000
MAX_CLAIMANT = 200
MAX_REFERENCE = 200
#: The largest amount a claim or a line may hold (exclusive).
MAX_AMOUNT = Decimal("100000000")
CENT = Decimal("0.01")


class ClaimStatus(enum.StrEnum):
    DRAFT = "draft"  # the shipper's, not yet filed; the carrier does not read it
    FILED = "filed"  # received by the carrier
    ACKNOWLEDGED = "acknowledged"
    #: The carrier made a firm compromise settlement offer (49 CFR 370.9(a)); the
    #: shipper accepts it (paid or partly paid) or rejects it (acknowledged again).
    OFFERED = "offered"
    PAID = "paid"  # in full
    PARTLY_PAID = "partly_paid"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def is_open(self) -> bool:
        return self in (
            ClaimStatus.DRAFT,
            ClaimStatus.FILED,
            ClaimStatus.ACKNOWLEDGED,
            ClaimStatus.OFFERED,
        )

    @property
    def is_settled(self) -> bool:
        """Paid, partly paid or declined: the carrier's answer."""
        return self in (ClaimStatus.PAID, ClaimStatus.PARTLY_PAID, ClaimStatus.DECLINED)


class DocumentKind(enum.StrEnum):
    """The documents a claim needs, each ticked off from the case's attachments."""

    BILL_OF_LADING = "bill_of_lading"
    PROOF_OF_DELIVERY = "proof_of_delivery"
    INVOICE = "invoice"
    PHOTOS = "photos"
    INSPECTION_REPORT = "inspection_report"


class ClaimClockKind(enum.StrEnum):
    FILING = "claim_filing"
    ACKNOWLEDGMENT = "claim_acknowledgment"
    DISPOSITION = "claim_disposition"

    @property
    def side(self) -> Side:
        """Whose clock: the side that owes the step."""
        return Side.SHIPPER if self is ClaimClockKind.FILING else Side.CARRIER

    @property
    def label(self) -> str:
        return CLOCK_LABELS[self]


CLOCK_LABELS = {
    ClaimClockKind.FILING: "Claim filing",
    ClaimClockKind.ACKNOWLEDGMENT: "Claim acknowledgment",
    ClaimClockKind.DISPOSITION: "Claim payment or declination",
}


def parse_amount(raw: object, field: str, *, positive: bool = False) -> Decimal:
    """An amount with at most two decimals, from 0 (above 0 with ``positive``) to
    99,999,999.99: a text, an int or a Decimal; never a float (its binary value is
    not the amount written)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise InvalidInput({field: ["an amount such as 125.50, written as text"]})
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidInput({field: ["an amount such as 125.50"]}) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise InvalidInput({field: ["an amount from 0 to 99999999.99"]})
    if positive and amount == 0:
        raise InvalidInput({field: ["an amount above 0"]})
    if amount != amount.quantize(CENT):
        raise InvalidInput({field: ["at most two decimals"]})
    return amount.quantize(CENT)


def parse_currency(raw: object, field: str = "currency") -> str:
    if not isinstance(raw, str) or len(raw.strip()) != 3 or not raw.strip().isalpha():
        raise InvalidInput({field: ["a three-letter currency code such as USD"]})
    return raw.strip().upper()


def _text(raw: object, field: str, limit: int) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidInput({field: ["text expected"]})
    if len(raw.strip()) > limit:
        raise InvalidInput({field: [f"at most {limit} characters"]})
    return raw.strip()


def _gather(errors: dict[str, list[str]], call: Any) -> Any:
    try:
        return call()
    except InvalidInput as error:
        for key, messages in error.errors.items():
            errors.setdefault(key, []).extend(messages)
        return None


@frozen(kw_only=True)
class ClaimLine:
    """One item claimed: what it is, how many, and the amount asked for it (the line's total)."""

    description: str
    quantity: int
    amount: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": self.quantity,
            "amount": str(self.amount),
        }


def parse_lines(raw: object, field: str = "lines") -> tuple[ClaimLine, ...]:
    """Line items from ``[{"description", "quantity" (default 1), "amount"}, ...]``."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or not raw:
        raise InvalidInput({field: ["at least one line: a description and an amount"]})
    if len(raw) > MAX_LINES:
        raise InvalidInput({field: [f"at most {MAX_LINES} lines"]})
    errors: dict[str, list[str]] = {}
    lines: list[ClaimLine] = []
    for index, item in enumerate(raw):
        where = f"{field}.{index}"
        if not isinstance(item, Mapping):
            errors.setdefault(where, []).append("a line is a description and an amount")
            continue
        for key in sorted(set(item) - {"description", "quantity", "amount"}):
            errors.setdefault(f"{where}.{key}", []).append("unknown field")
        description = _gather(
            errors,
            functools.partial(
                _text, item.get("description"), f"{where}.description", MAX_DESCRIPTION
            ),
        )
        if description == "":
            errors.setdefault(f"{where}.description", []).append("what is claimed for")
        quantity = item.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= 1_000_000
        ):
            errors.setdefault(f"{where}.quantity", []).append("a whole number from 1")
            quantity = None
        amount = _gather(
            errors,
            functools.partial(parse_amount, item.get("amount"), f"{where}.amount", positive=True),
        )
        if description and quantity is not None and amount is not None:
            lines.append(ClaimLine(description=description, quantity=quantity, amount=amount))
    if errors:
        raise InvalidInput(errors)
    if sum((line.amount for line in lines), Decimal(0)) >= MAX_AMOUNT:
        raise InvalidInput({field: ["the lines add up to more than 99999999.99"]})
    return tuple(lines)


def lines_of(stored: Sequence[Mapping[str, Any]]) -> tuple[ClaimLine, ...]:
    return tuple(
        ClaimLine(
            description=str(line["description"]),
            quantity=int(line["quantity"]),
            amount=Decimal(str(line["amount"])),
        )
        for line in stored
    )


def parse_documents(raw: object, field: str = "documents") -> dict[DocumentKind, tuple[int, ...]]:
    """The documents ticked off: ``{"bill_of_lading": [attachment_id, ...], ...}``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput({field: ["an object: a document kind to its attachment ids"]})
    known = {k.value: k for k in DocumentKind}
    errors: dict[str, list[str]] = {}
    found: dict[DocumentKind, tuple[int, ...]] = {}
    for key, ids in raw.items():
        where = f"{field}.{key}"
        if key not in known:
            errors.setdefault(where, []).append("one of " + ", ".join(known))
            continue
        if (
            not isinstance(ids, Sequence)
            or isinstance(ids, str | bytes)
            or len(ids) > 20
            or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
        ):
            errors.setdefault(where, []).append("a list of attachment ids (at most 20)")
            continue
        if ids:
            found[known[key]] = tuple(dict.fromkeys(ids))
    if errors:
        raise InvalidInput(errors)
    return found


@frozen(kw_only=True)
class ClaimDraft:
    """What the shipper writes on a claim."""

    claimant: str
    currency: str
    lines: tuple[ClaimLine, ...]
    documents: dict[DocumentKind, tuple[int, ...]]
    #: When the freight was delivered (or was due, never delivered): the filing clock's start.
    delivered_at: datetime | None = None
    note: str = ""

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


DRAFT_FIELDS = frozenset({"claimant", "currency", "lines", "documents", "delivered_at", "note"})


def parse_draft(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The fields of a claim given in ``data``, checked (all but ``lines`` optional;
    with ``partial``, each only if given). InvalidInput names every bad field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for key in sorted(set(data) - DRAFT_FIELDS):
        errors[key] = ["unknown field"]
    checks: dict[str, Any] = {
        "claimant": lambda v: _text(v, "claimant", MAX_CLAIMANT),
        "currency": parse_currency,
        "lines": parse_lines,
        "documents": parse_documents,
        "delivered_at": lambda v: moment(v, "delivered_at"),
        "note": lambda v: _text(v, "note", MAX_TEXT),
    }
    for name, check in checks.items():
        if name not in data:
            if name == "lines" and not partial:
                errors.setdefault("lines", []).append(
                    "at least one line: a description and an amount"
                )
            continue
        value = _gather(errors, lambda check=check, name=name: check(data[name]))
        if name not in errors:
            values[name] = value
    if errors:
        raise InvalidInput(errors)
    return values


def moment(raw: object, field: str) -> datetime | None:
    """An aware datetime, an ISO text with its offset, or a date (its end in UTC); None for
    nothing."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        if raw.tzinfo is None:
            raise InvalidInput({field: ["a date, or a date and time with its offset"]})
        return raw.astimezone(UTC)
    if isinstance(raw, date):
        return datetime.combine(raw, time(23, 59, 59), tzinfo=UTC)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    raise InvalidInput({field: ["a date, or a date and time with its offset"]})


# -- the windows ---------------------------------------------------------------------------


@frozen(kw_only=True)
class ClaimWindows:
    """How long each step of a claim may take, and how early its clock warns.

    The defaults are those of US motor carriers: filing within 9 months of
    delivery (49 U.S.C. 14706(e)), acknowledgment within 30 days of receipt
    (49 CFR 370.5), payment, declination or a firm offer within 120 days
    (49 CFR 370.9). A parcel carrier's terms are often shorter (filing
    within 60 days, say): a shipper sets them by mode and carrier.
    """

    filing_months: int = 9
    filing_days: int = 0
    acknowledge_days: int = 30
    resolve_days: int = 120
    filing_warn_days: int = 30
    acknowledge_warn_days: int = 5
    resolve_warn_days: int = 15

    def due(self, kind: ClaimClockKind, start: datetime) -> tuple[datetime, datetime]:
        """The due time and the warning time of ``kind``'s clock started at ``start``."""
        if kind is ClaimClockKind.FILING:
            due = add_months(start, self.filing_months) + timedelta(days=self.filing_days)
            warn = self.filing_warn_days
        elif kind is ClaimClockKind.ACKNOWLEDGMENT:
            due, warn = start + timedelta(days=self.acknowledge_days), self.acknowledge_warn_days
        else:
            due, warn = start + timedelta(days=self.resolve_days), self.resolve_warn_days
        return due, due - timedelta(days=warn)

    def as_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in WINDOW_FIELDS}


WINDOW_FIELDS = (
    "filing_months",
    "filing_days",
    "acknowledge_days",
    "resolve_days",
    "filing_warn_days",
    "acknowledge_warn_days",
    "resolve_warn_days",
)
DEFAULT_WINDOWS = ClaimWindows()


def add_months(moment_: datetime, months: int) -> datetime:
    """``moment_`` so many calendar months later (the 31st becomes the month's last day)."""
    month0 = moment_.month - 1 + months
    year, month = moment_.year + month0 // 12, month0 % 12 + 1
    day = min(moment_.day, calendar.monthrange(year, month)[1])
    return moment_.replace(year=year, month=month, day=day)


@frozen(kw_only=True)
class WindowRule:
    """Windows for claims on shipments of one ``mode`` and/or against one carrier
    (``carrier_org_id``); None matches any."""

    mode: str | None
    carrier_org_id: int | None
    windows: ClaimWindows

    @property
    def specificity(self) -> int:
        return (2 if self.carrier_org_id is not None else 0) + (1 if self.mode is not None else 0)

    def as_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "carrier_org_id": self.carrier_org_id, **self.windows.as_json()}


MODES = ("parcel", "freight")
MAX_RULES = 200


def parse_settings(raw: object) -> tuple[WindowRule, ...]:
    """A shipper's claim windows: ``{"rules": [{"mode", "carrier_org_id", "filing_months",
    ...}, ...]}``; a rule's missing windows are the defaults, at most one rule per mode
    and carrier."""
    if not isinstance(raw, Mapping):
        raise InvalidInput({"rules": ["an object with a list of rules"]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(raw) - {"rules"}):
        errors[key] = ["unknown field"]
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, Sequence) or isinstance(rules_raw, str | bytes):
        errors.setdefault("rules", []).append("a list of rules")
        rules_raw = []
    if len(rules_raw) > MAX_RULES:
        errors.setdefault("rules", []).append(f"at most {MAX_RULES} rules")
        rules_raw = []
    rules: list[WindowRule] = []
    seen: set[tuple[str | None, int | None]] = set()
    for index, item in enumerate(rules_raw):
        where = f"rules.{index}"
        if not isinstance(item, Mapping):
            errors.setdefault(where, []).append("a rule is an object")
            continue
        for key in sorted(set(item) - {"mode", "carrier_org_id", *WINDOW_FIELDS}):
            errors.setdefault(f"{where}.{key}", []).append("unknown field")
        mode = item.get("mode")
        if mode is not None and mode not in MODES:
            errors.setdefault(f"{where}.mode", []).append("parcel, freight or null")
        carrier = item.get("carrier_org_id")
        if carrier is not None and (
            isinstance(carrier, bool) or not isinstance(carrier, int) or carrier < 1
        ):
            errors.setdefault(f"{where}.carrier_org_id", []).append("a carrier's id or null")
        values: dict[str, int] = {}
        for name in WINDOW_FIELDS:
            if name not in item:
                continue
            value = item[name]
            top = 36 if name == "filing_months" else 3660
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                errors.setdefault(f"{where}.{name}", []).append(f"a whole number from 0 to {top}")
            else:
                values[name] = value
        if (mode, carrier) in seen:
            errors.setdefault(where, []).append("a second rule for the same mode and carrier")
        seen.add((mode, carrier))
        if not any(k.startswith(where) for k in errors):
            windows = ClaimWindows(**values)
            if windows.filing_months == 0 and windows.filing_days == 0:
                errors.setdefault(f"{where}.filing_days", []).append(
                    "a filing window of a day at least"
                )
            elif 0 in (windows.acknowledge_days, windows.resolve_days):
                errors.setdefault(where, []).append("each window a day at least")
            else:
                rules.append(WindowRule(mode=mode, carrier_org_id=carrier, windows=windows))
    if errors:
        raise InvalidInput(errors)
    return tuple(rules)


def windows_for(
    rules: Sequence[WindowRule], mode: str | None, carrier_org_id: int | None
) -> ClaimWindows:
    """The windows of the most specific rule matching a claim (carrier and mode, carrier,
    mode), else the defaults."""
    matching = [
        rule
        for rule in rules
        if (rule.mode is None or rule.mode == mode)
        and (rule.carrier_org_id is None or rule.carrier_org_id == carrier_org_id)
    ]
    if not matching:
        return DEFAULT_WINDOWS
    return max(matching, key=lambda rule: rule.specificity).windows


# -- the steps --------------------------------------------------------------------------------


def settlement(claimed: Decimal, paid_raw: object) -> tuple[ClaimStatus, Decimal]:
    """A payment of ``paid_raw`` on a claim of ``claimed``: paid in full, or in part."""
    paid = parse_amount(paid_raw, "amount_paid", positive=True)
    if paid > claimed:
        raise InvalidInput({"amount_paid": [f"at most the amount claimed, {claimed}"]})
    return (ClaimStatus.PAID if paid == claimed else ClaimStatus.PARTLY_PAID), paid


def offer_amount(claimed: Decimal, raw: object) -> Decimal:
    """A firm compromise settlement offer of ``raw`` on a claim of ``claimed``: above 0
    and below the amount claimed (an offer of it all is a payment)."""
    offered = parse_amount(raw, "amount_offered", positive=True)
    if offered >= claimed:
        raise InvalidInput(
            {"amount_offered": [f"less than the amount claimed, {claimed}: or pay it in full"]}
        )
    return offered


#: Who takes each step, and from which statuses.
STEPS: dict[str, tuple[Side, frozenset[ClaimStatus], ClaimStatus | None]] = {
    "file": (Side.SHIPPER, frozenset({ClaimStatus.DRAFT}), ClaimStatus.FILED),
    "acknowledge": (Side.CARRIER, frozenset({ClaimStatus.FILED}), ClaimStatus.ACKNOWLEDGED),
    # paid or partly paid, by the amount
    "pay": (Side.CARRIER, frozenset({ClaimStatus.FILED, ClaimStatus.ACKNOWLEDGED}), None),
    "decline": (
        Side.CARRIER,
        frozenset({ClaimStatus.FILED, ClaimStatus.ACKNOWLEDGED}),
        ClaimStatus.DECLINED,
    ),
    # a firm compromise settlement offer (49 CFR 370.9(a)): the shipper answers it
    "offer": (
        Side.CARRIER,
        frozenset({ClaimStatus.FILED, ClaimStatus.ACKNOWLEDGED}),
        ClaimStatus.OFFERED,
    ),
    # paid or partly paid, by the amount offered
    "accept_offer": (Side.SHIPPER, frozenset({ClaimStatus.OFFERED}), None),
    # acknowledged again: the carrier pays, declines or offers anew
    "reject_offer": (Side.SHIPPER, frozenset({ClaimStatus.OFFERED}), ClaimStatus.ACKNOWLEDGED),
    "withdraw": (
        Side.SHIPPER,
        frozenset(
            {
                ClaimStatus.DRAFT,
                ClaimStatus.FILED,
                ClaimStatus.ACKNOWLEDGED,
                ClaimStatus.OFFERED,
            }
        ),
        ClaimStatus.WITHDRAWN,
    ),
}


def check_step(step: str, side: Side, status: ClaimStatus) -> None:
    """Whether ``side`` may take ``step`` on a claim in ``status``."""
    who, allowed, _ = STEPS[step]
    if side is not who:
        raise InvalidInput({"status": [f"the {who.value} {_VERB[step]}"]})
    if status not in allowed:
        done = _DONE[step]
        if step in ("accept_offer", "reject_offer"):
            raise InvalidInput({"status": [f"the claim is {status.value}: no offer to be {done}"]})
        raise InvalidInput({"status": [f"the claim is {status.value}: it cannot be {done}"]})


_VERB = {
    "file": "files a claim",
    "acknowledge": "acknowledges a claim",
    "pay": "pays a claim",
    "decline": "declines a claim",
    "offer": "makes a settlement offer",
    "accept_offer": "accepts a settlement offer",
    "reject_offer": "rejects a settlement offer",
    "withdraw": "withdraws a claim",
}
_DONE = {
    "file": "filed",
    "acknowledge": "acknowledged",
    "pay": "paid",
    "decline": "declined",
    "offer": "offered a settlement",
    "accept_offer": "accepted",
    "reject_offer": "rejected",
    "withdraw": "withdrawn",
}


def parse_reason(raw: object, *, required: bool) -> str:
    reason = _text(raw, "reason", MAX_TEXT)
    if required and not reason:
        raise InvalidInput({"reason": ["say why"]})
    return reason


def parse_reference(raw: object) -> str:
    return _text(raw, "reference", MAX_REFERENCE)


def parse_valuation(amount: object, note: object) -> tuple[Decimal | None, str]:
    """The shipper's internal valuation: what it expects to recover (or None), its notes."""
    errors: dict[str, list[str]] = {}
    value = (
        None
        if amount is None or amount == ""
        else _gather(errors, lambda: parse_amount(amount, "expected_recovery"))
    )
    text = _gather(errors, lambda: _text(note, "valuation_note", MAX_TEXT))
    if errors:
        raise InvalidInput(errors)
    return value, text or ""


__all__ = [
    "CLAIM_TYPES",
    "DEFAULT_WINDOWS",
    "ClaimClockKind",
    "ClaimLine",
    "ClaimStatus",
    "ClaimWindows",
    "DocumentKind",
    "WindowRule",
    "add_months",
    "parse_draft",
    "parse_settings",
    "windows_for",
]
