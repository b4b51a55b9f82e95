"""Network benchmarks: figures over many organizations, and the rules that publish them.

A *network figure* compares an organization with the others of its role
(shippers with shippers, carriers with carriers) over one calendar month
(a *period*, ``YYYY-MM``, in UTC). The job (``kit.network``,
:class:`casekit.services.network.NetworkService`) computes each
organization's own figures and the network's into tables of their own; a
request reads only those.

A network figure is a *group*: the contributions of the organizations that
took part in it. :func:`disclose` decides whether a group is published,
with the :class:`DisclosureRules`:

- at least ``min_organizations`` contributing organizations;
- no one organization contributes more than ``max_share_percent`` of the
  group's cases (dominance);
- at least ``min_cases`` cases (small cells).

Rates add up: a case rate of all types is the sum of the rates by type over
the same shipments. So when the total of all types is published and some
types are not, the total less the published types gives the suppressed
types' sum; :func:`complement_check` suppresses the total unless that
remainder would itself pass the rules. A suppressed figure keeps no value.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from attrs import frozen

from casekit.errors import InvalidInput

__all__ = [
    "ALL_TYPES",
    "DisclosureRules",
    "Metric",
    "NetworkFigure",
    "Side",
    "Suppression",
    "complement_check",
    "disclose",
    "parse_period",
    "period_bounds",
    "period_of",
]

#: The ``case_type`` of a figure over every case type.
ALL_TYPES = ""

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


class Side(enum.StrEnum):
    """Whose figures: shippers compared with shippers, carriers with carriers."""

    SHIPPER = "shipper"
    CARRIER = "carrier"


class Metric(enum.StrEnum):
    """What a figure measures."""

    #: Cases opened per 1,000 shipments (the host tells the shipments).
    CASE_RATE = "case_rate"
    #: Median hours from opening to solved (each side's own solved time).
    SOLVE_HOURS = "solve_hours"
    #: Median hours from opening to the carrier's first response.
    RESPONSE_HOURS = "response_hours"


class Suppression(enum.StrEnum):
    """Why a network figure is not published."""

    FEW_ORGANIZATIONS = "few_organizations"
    DOMINATED = "dominated"
    FEW_CASES = "few_cases"
    COMPLEMENT = "complement"


@frozen(kw_only=True)
class DisclosureRules:
    """When a network figure may be published (see the module's docs)."""

    min_organizations: int = 5
    max_share_percent: int = 50
    min_cases: int = 10


@frozen(kw_only=True)
class NetworkFigure:
    """One computed figure of a period.

    ``org_id`` is None for the network's figure, else the organization whose
    own figure it is; ``partner_org_id`` names the carrier of a shipper's
    figure about one of its carriers. ``case_type`` is ``ALL_TYPES`` (``""``) for
    every type. A suppressed network figure has ``value`` and ``cases``
    ``None`` and its reason in ``suppressed``. ``organizations`` is how many
    organizations contributed to a network figure.
    """

    period: str
    side: Side
    metric: Metric
    case_type: str
    org_id: int | None
    partner_org_id: int | None
    value: float | None
    cases: int | None
    organizations: int | None
    suppressed: Suppression | None

    @property
    def published(self) -> bool:
        return self.suppressed is None and self.value is not None


def disclose(
    contributions: Mapping[int, int], rules: DisclosureRules, *, organizations: int | None = None
) -> Suppression | None:
    """Why a group may not be published, or None when it may.

    ``contributions`` maps each contributing organization to its cases in
    the group; ``organizations`` counts the contributors when some of them
    contribute no case (a case rate's shipments without a case of the type).
    """
    cases = sum(contributions.values())
    count = organizations if organizations is not None else len(contributions)
    if count < rules.min_organizations:
        return Suppression.FEW_ORGANIZATIONS
    if cases < rules.min_cases:
        return Suppression.FEW_CASES
    if max(contributions.values(), default=0) * 100 > rules.max_share_percent * cases:
        return Suppression.DOMINATED
    return None


def complement_check(
    suppressed: list[Mapping[int, int]], rules: DisclosureRules
) -> Suppression | None:
    """Whether a published total must be suppressed because of its suppressed parts.

    ``suppressed`` holds the contributions of the parts of the total that are
    not published. Their sum can be read as the total less the published
    parts, so it must pass the rules as a group of its own (its
    organizations being those with a case in it); else the total is
    suppressed too (:attr:`Suppression.COMPLEMENT`).
    """
    if not suppressed:
        return None
    remainder: dict[int, int] = {}
    for part in suppressed:
        for org, cases in part.items():
            if cases:
                remainder[org] = remainder.get(org, 0) + cases
    if not remainder:
        return None  # the suppressed parts hold no case: the remainder is zero, as shown
    return Suppression.COMPLEMENT if disclose(remainder, rules) else None


def parse_period(text: str, field: str = "period") -> str:
    """``text`` as a period ``YYYY-MM``; InvalidInput naming ``field`` otherwise."""
    found = _PERIOD.match(text.strip()) if isinstance(text, str) else None
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise InvalidInput({field: [f"not a month as YYYY-MM: {str(text)[:20]!r}"]})
    return found.group(0)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The UTC instants ``[start, end)`` of ``period``."""
    year, month = (int(part) for part in parse_period(period).split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_of(moment: datetime, months_back: int = 0) -> str:
    """The period of ``moment`` (UTC), or the one ``months_back`` months before it."""
    index = moment.astimezone(UTC).year * 12 + moment.astimezone(UTC).month - 1 - months_back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
