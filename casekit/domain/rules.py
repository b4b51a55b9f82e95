"""Rules: conditions on a shipment that open a case on their own.

A rule belongs to one shipper. Its *conditions* read the shipment snapshot:
the normalised status and exception, the facts (mode wanted or excluded,
carrier, brand, customer segment, region, direction), at most one *time
condition* (stalled, missed appointment, will miss / missed the estimated or
promised date), and the shipment's active cases: their priority and the
shipper's tags (:mod:`casekit.domain.rule_cases`). Its *action* opens a case
of a type, with an initial message, an owner (a fixed user, or round-robin /
least-loaded among a team), watchers, the carrier collaborating or not, a
priority and the shipper's tags; optionally it solves that case when the
shipment recovers. Its *tier* says how its cases are worked: Tier 1, act now;
Tier 2, watch.

A rule without a time condition is an *event rule*: it is checked when a
tracking event moves a shipment. A rule with one is a *time rule*: ``casekit
rules sweep`` checks it. This module is pure: :func:`parse_rule` checks a
definition and :meth:`RuleSpec.matches` decides one shipment.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
from attrs import frozen

from casekit.domain.rule_cases import (
    CASE_CONDITIONS,
    CaseConditions,
    CaseFacts,
    parse_case_conditions,
)
from casekit.domain.shipment import Direction, ExceptionKind, Mode, ShipmentStatus
from casekit.domain.tags import Priority, parse_priority
from casekit.errors import InvalidInput


class TimeCondition(enum.StrEnum):
    """When a shipment is late, judged against the clock by the sweep.

    ``hours`` sets the threshold of each:

    - ``stalled_pre_transit``: scheduled or awaiting its pickup appointment,
      with no tracking update for ``hours``.
    - ``stalled_in_transit``: in transit with no tracking update for ``hours``.
    - ``missed_appointment``: still before pickup ``hours`` after its
      appointment.
    - ``will_miss_estimated``: its estimated delivery date falls within the
      next ``hours`` and it is not yet out for delivery.
    - ``missed_estimated``: not delivered, the estimated delivery date passed.
    - ``will_miss_promised``: its estimated delivery date is after the date
      promised to the customer.
    - ``missed_promised``: not delivered, the promised date passed.
    """

    STALLED_PRE_TRANSIT = "stalled_pre_transit"
    STALLED_IN_TRANSIT = "stalled_in_transit"
    MISSED_APPOINTMENT = "missed_appointment"
    WILL_MISS_ESTIMATED = "will_miss_estimated"
    MISSED_ESTIMATED = "missed_estimated"
    WILL_MISS_PROMISED = "will_miss_promised"
    MISSED_PROMISED = "missed_promised"


class Tier(enum.IntEnum):
    """How a rule's cases are worked; the rules are listed by tier.

    A rule names no tier unless someone chooses one: it is a Tier 2 rule, as
    every rule defined before tiers existed, since Tier 1 is a claim that
    each of its cases needs someone at once.
    """

    ACT_NOW = 1  # Tier 1: each case needs someone at once
    WATCH = 2  # Tier 2: cases to keep an eye on, worked as time allows


class OwnerStrategy(enum.StrEnum):
    """Who owns a case a rule opens, on the shipper's side."""

    NONE = "none"  # nobody: the case waits in the New Cases view
    USER = "user"  # the one user in owner_ids
    ROUND_ROBIN = "round_robin"  # each of owner_ids in turn
    LEAST_LOADED = "least_loaded"  # whoever of owner_ids owns the fewest active cases


_TEXT_LISTS = ("brands", "customer_segments", "regions")
_ID_LISTS = ("carriers", "owner_ids", "watcher_ids", "tag_ids")
MAX_NAME = 100
MAX_MESSAGE = 10_000


@frozen(kw_only=True)
class RuleSpec:
    """A rule's definition: what it looks for and what it does.

    An empty condition list matches anything; every non-empty one must match.
    ``modes`` are the modes the shipment must have, ``not_modes`` those it
    must not have (a shipment whose mode is not known has none of them).
    ``carriers`` are carrier organization ids; ``owner_ids`` and
    ``watcher_ids`` users of the shipper.
    """

    name: str
    case_type: str
    tier: Tier = Tier.WATCH
    statuses: tuple[ShipmentStatus, ...] = ()
    exceptions: tuple[ExceptionKind, ...] = ()
    modes: tuple[Mode, ...] = ()
    not_modes: tuple[Mode, ...] = ()
    directions: tuple[Direction, ...] = ()
    carriers: tuple[int, ...] = ()
    brands: tuple[str, ...] = ()
    customer_segments: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    #: Conditions on the shipment's active cases (casekit.domain.rule_cases).
    case_priorities: tuple[Priority, ...] = ()
    case_min_priority: Priority | None = None
    case_tags_any: tuple[int, ...] = ()
    case_tags_all: tuple[int, ...] = ()
    case_tags_none: tuple[int, ...] = ()
    time_condition: TimeCondition | None = None
    hours: int = 0
    subject: str = ""
    message: str = ""
    owner: OwnerStrategy = OwnerStrategy.NONE
    owner_ids: tuple[int, ...] = ()
    watcher_ids: tuple[int, ...] = ()
    #: The case's priority (None: normal) and the shipper's tags put on it.
    priority: Priority | None = None
    tag_ids: tuple[int, ...] = ()
    carrier_collaborating: bool = True
    auto_solve: bool = False
    solve_on: tuple[ShipmentStatus, ...] = (
        ShipmentStatus.DELIVERED,
        ShipmentStatus.DELIVERED_TO_SENDER,
    )

    @property
    def is_timed(self) -> bool:
        return self.time_condition is not None

    @property
    def case_conditions(self) -> CaseConditions:
        """The conditions on the shipment's active cases (empty: none)."""
        return CaseConditions(
            priorities=self.case_priorities,
            min_priority=self.case_min_priority,
            tags_any=self.case_tags_any,
            tags_all=self.case_tags_all,
            tags_none=self.case_tags_none,
        )

    @property
    def reads_cases(self) -> bool:
        """Whether the rule has conditions on the shipment's cases."""
        return any(getattr(self, name) for name in CASE_CONDITIONS)

    def matches(
        self,
        shipment: Mapping[Any, Any],
        now: datetime,
        cases: Iterable[CaseFacts] = (),
    ) -> bool:
        """Does the shipment snapshot (a ``casekit_shipments`` row) meet every condition?

        ``cases`` are the facts of the shipment's active cases of the shipper,
        read where ``reads_cases``.
        """
        status = shipment.get("shipment_status")
        if status is None:
            return False
        if self.statuses and status not in self.statuses:
            return False
        if self.exceptions and shipment.get("exception") not in self.exceptions:
            return False
        for name, column in (
            ("modes", "mode"),
            ("directions", "direction"),
            ("carriers", "carrier_org_id"),
            ("brands", "brand"),
            ("customer_segments", "customer_segment"),
            ("regions", "region"),
        ):
            wanted = getattr(self, name)
            if wanted and shipment.get(column) not in wanted:
                return False
        if self.not_modes and shipment.get("mode") in self.not_modes:
            return False
        if self.reads_cases and not self.case_conditions.hold(cases):
            return False
        if self.time_condition is None:
            return True
        return late(self.time_condition, self.hours, ShipmentStatus(status), shipment, now)

    def as_json(self) -> dict[str, Any]:
        """The definition as JSON-ready data; :func:`parse_rule` reads it back."""
        data: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = [v.value if isinstance(v, enum.Enum) else v for v in value]
            elif isinstance(value, enum.Enum):
                value = value.value
            data[name] = value
        return data


def late(
    condition: TimeCondition,
    hours: int,
    status: ShipmentStatus,
    shipment: Mapping[Any, Any],
    now: datetime,
) -> bool:
    """Whether the time ``condition`` holds for the shipment at ``now``."""
    if status.is_final:
        return False
    threshold = timedelta(hours=hours)
    today = now.date()
    last_update = shipment.get("status_at")
    estimated = shipment.get("estimated_date")
    promised = shipment.get("promised_date")
    if condition is TimeCondition.STALLED_PRE_TRANSIT:
        return status.is_pre_transit and last_update is not None and now - last_update >= threshold
    if condition is TimeCondition.STALLED_IN_TRANSIT:
        return (
            status is ShipmentStatus.IN_TRANSIT
            and last_update is not None
            and now - last_update >= threshold
        )
    if condition is TimeCondition.MISSED_APPOINTMENT:
        appointment = shipment.get("appointment_at")
        return status.is_pre_transit and appointment is not None and now - appointment >= threshold
    if condition is TimeCondition.WILL_MISS_ESTIMATED:
        return (
            estimated is not None
            and status is not ShipmentStatus.OUT_FOR_DELIVERY
            and today <= estimated <= (now + threshold).date()
        )
    if condition is TimeCondition.MISSED_ESTIMATED:
        return estimated is not None and estimated < today
    if condition is TimeCondition.WILL_MISS_PROMISED:
        return (
            promised is not None
            and estimated is not None
            and estimated > promised
            and promised >= today
        )
    # MISSED_PROMISED
    return promised is not None and promised < today


_FIELDS: tuple[str, ...] = tuple(a.name for a in attrs.fields(RuleSpec))

_ENUM_LISTS: dict[str, type[enum.Enum]] = {
    "statuses": ShipmentStatus,
    "exceptions": ExceptionKind,
    "modes": Mode,
    "not_modes": Mode,
    "directions": Direction,
    "solve_on": ShipmentStatus,
}


TIER_ERROR = "1 (act now) or 2 (watch)"


def parse_tier(value: object) -> Tier | None:
    """The tier ``value`` names (the whole number 1 or 2), or None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        return Tier(value)
    except ValueError:
        return None


def parse_rule(data: Mapping[Any, Any], *, case_types: Mapping[str, object]) -> RuleSpec:
    """Check a rule definition; InvalidInput names every bad field.

    Unknown fields are refused, so a misspelt condition never widens a rule.
    """
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(_FIELDS))
    for key in unknown:
        errors[key] = ["unknown field"]
    values: dict[str, Any] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    name: Any = data.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("name", "a rule needs a name")
    elif len(name.strip()) > MAX_NAME:
        bad("name", f"at most {MAX_NAME} characters")
    else:
        values["name"] = name.strip()
    case_type = data.get("case_type")
    if not isinstance(case_type, str) or case_type not in case_types:
        bad("case_type", f"unknown case type {case_type!r}")
    else:
        values["case_type"] = case_type
    if "tier" in data:
        tier = parse_tier(data["tier"])
        if tier is None:
            bad("tier", TIER_ERROR)
        else:
            values["tier"] = tier
    for field_name, enum_class in _ENUM_LISTS.items():
        if field_name not in data:
            continue
        raw = data[field_name]
        if not isinstance(raw, list | tuple) or isinstance(raw, str):
            bad(field_name, "a list is expected")
            continue
        parsed = []
        for item in raw:
            try:
                parsed.append(enum_class(item))
            except ValueError:
                allowed = ", ".join(str(m.value) for m in enum_class)
                bad(field_name, f"unknown value {item!r}; one of {allowed}")
        values[field_name] = tuple(dict.fromkeys(parsed))
    both = set(values.get("modes", ())) & set(values.get("not_modes", ()))
    if both:
        bad("not_modes", f"a mode both wanted and excluded: {', '.join(sorted(both))}")
    for field_name in _TEXT_LISTS:
        if field_name in data:
            raw = data[field_name]
            if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
                bad(field_name, "a list of text values is expected")
            else:
                values[field_name] = tuple(dict.fromkeys(v.strip() for v in raw if v.strip()))
    for field_name in _ID_LISTS:
        if field_name in data:
            raw = data[field_name]
            if not isinstance(raw, list | tuple) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in raw
            ):
                bad(field_name, "a list of ids is expected")
            else:
                values[field_name] = tuple(dict.fromkeys(raw))
    if data.get("time_condition") is not None:
        try:
            values["time_condition"] = TimeCondition(data["time_condition"])
        except ValueError:
            allowed = ", ".join(t.value for t in TimeCondition)
            bad("time_condition", f"unknown time condition; one of {allowed}")
    if "hours" in data:
        hours = data["hours"]
        if not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= 24 * 365:
            bad("hours", "a whole number of hours between 0 and 8760")
        else:
            values["hours"] = hours
    for field_name, limit in (("subject", 300), ("message", MAX_MESSAGE)):
        if field_name in data:
            raw = data[field_name]
            if not isinstance(raw, str) or len(raw) > limit:
                bad(field_name, f"text of at most {limit} characters")
            else:
                values[field_name] = raw.strip()
    for field_name in ("carrier_collaborating", "auto_solve"):
        if field_name in data:
            if not isinstance(data[field_name], bool):
                bad(field_name, "true or false")
            else:
                values[field_name] = data[field_name]
    if data.get("priority") is not None:
        try:
            values["priority"] = parse_priority(data["priority"])
        except InvalidInput as error:
            for key, messages in error.errors.items():
                for message in messages:
                    bad(key, message)
    values.update(parse_case_conditions(data, bad))
    if "owner" in data:
        try:
            values["owner"] = OwnerStrategy(data["owner"])
        except ValueError:
            bad("owner", "one of none, user, round_robin, least_loaded")
    owner = values.get("owner", OwnerStrategy.NONE)
    owners = values.get("owner_ids", ())
    if owner is OwnerStrategy.USER and len(owners) != 1:
        bad("owner_ids", "name exactly one user for a fixed owner")
    elif owner in (OwnerStrategy.ROUND_ROBIN, OwnerStrategy.LEAST_LOADED) and not owners:
        bad("owner_ids", "name the team the owner is chosen from")
    conditioned = values.get("statuses") or values.get("exceptions") or values.get("time_condition")
    if not conditioned and not any(
        k in errors for k in ("statuses", "exceptions", "time_condition")
    ):
        bad("statuses", "a rule needs a status, an exception or a time condition")
    if errors:
        raise InvalidInput(errors)
    return RuleSpec(**values)
