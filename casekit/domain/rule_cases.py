"""Rule conditions on the shipment's cases: their priority and the shipper's own tags.

A rule reads a shipment, and the case it opens does not exist yet; but the
shipment may already have cases — a customer's "where is my order", the
carrier's question, a case a person escalated to urgent or tagged "VIP".
These conditions look at the shipment's **active** cases (not solved) of the
rule's shipper:

- ``case_priorities``: one of them has one of these priorities;
- ``case_min_priority``: one of them has at least this priority;
- ``case_tags_any``: one of them carries at least one of these tags;
- ``case_tags_all``: one of them carries every one of these tags;
- ``case_tags_none``: none of them carries any of these tags (a shipment
  without a case meets it).

The first four hold together on **one** case (an urgent case tagged "VIP",
not an urgent case beside another tagged "VIP"). Tags are the shipper's own
(:mod:`casekit.domain.tags`): a rule names no other organization's tag, and
evaluating it reads only the tags it names, so a rule never tells its
shipper anything of another side's tags. This module is pure:
:func:`parse_case_conditions` checks the fields, :meth:`CaseConditions.hold`
decides one shipment's cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attrs import frozen

from casekit.domain.tags import MAX_CASE_TAGS, Priority, parse_priority

__all__ = [
    "CASE_CONDITIONS",
    "CaseConditions",
    "CaseFacts",
    "parse_case_conditions",
]

#: The rule definition's fields that read the shipment's cases.
CASE_CONDITIONS = (
    "case_priorities",
    "case_min_priority",
    "case_tags_any",
    "case_tags_all",
    "case_tags_none",
)
_TAG_FIELDS = ("case_tags_any", "case_tags_all", "case_tags_none")


@frozen
class CaseFacts:
    """What a rule may read of one active case of the shipment: its priority (shared by
    both sides) and which of the tags the rule names it carries (the shipper's own)."""

    priority: Priority
    tag_ids: frozenset[int] = frozenset()


@frozen(kw_only=True)
class CaseConditions:
    """A rule's conditions on the shipment's active cases; empty ones always hold."""

    priorities: tuple[Priority, ...] = ()
    min_priority: Priority | None = None
    tags_any: tuple[int, ...] = ()
    tags_all: tuple[int, ...] = ()
    tags_none: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.needs_a_case or self.tags_none)

    @property
    def needs_a_case(self) -> bool:
        """Whether one case must meet something (a shipment without cases then fails)."""
        return bool(self.priorities or self.min_priority or self.tags_any or self.tags_all)

    @property
    def tag_ids(self) -> tuple[int, ...]:
        """Every tag the conditions name, each once."""
        return tuple(dict.fromkeys(self.tags_any + self.tags_all + self.tags_none))

    def fits(self, case: CaseFacts) -> bool:
        """Does this one case meet the priority, any-of and all-of conditions?"""
        if self.priorities and case.priority not in self.priorities:
            return False
        if self.min_priority is not None and case.priority.rank < self.min_priority.rank:
            return False
        if self.tags_any and not case.tag_ids.intersection(self.tags_any):
            return False
        return not (self.tags_all and not case.tag_ids.issuperset(self.tags_all))

    def hold(self, cases: Iterable[CaseFacts]) -> bool:
        """Do the shipment's active ``cases`` meet the conditions?"""
        found = list(cases)
        if self.tags_none and any(case.tag_ids.intersection(self.tags_none) for case in found):
            return False
        return not self.needs_a_case or any(self.fits(case) for case in found)


def parse_case_conditions(
    data: Mapping[Any, Any], bad: Callable[[str, str], None]
) -> dict[str, Any]:
    """The case conditions of a rule definition, checked; ``bad(field, message)`` is
    told of each bad field. Which tags are the shipper's is the service's to check."""
    values: dict[str, Any] = {}
    if "case_priorities" in data:
        raw = data["case_priorities"]
        if not isinstance(raw, list | tuple):
            bad("case_priorities", "a list of priorities is expected")
        else:
            parsed: list[Priority] = []
            for item in raw:
                try:
                    parsed.append(parse_priority(item, "case_priorities"))
                except ValueError:
                    allowed = ", ".join(p.value for p in Priority)
                    bad("case_priorities", f"unknown value {item!r}; one of {allowed}")
            values["case_priorities"] = tuple(dict.fromkeys(parsed))
    if data.get("case_min_priority") is not None:
        try:
            values["case_min_priority"] = parse_priority(
                data["case_min_priority"], "case_min_priority"
            )
        except ValueError:
            allowed = ", ".join(p.value for p in Priority)
            bad("case_min_priority", f"one of {allowed}")
    if values.get("case_priorities") and values.get("case_min_priority"):
        bad("case_min_priority", "give the priorities or the lowest priority, not both")
    for name in _TAG_FIELDS:
        if name not in data:
            continue
        raw = data[name]
        if not isinstance(raw, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in raw
        ):
            bad(name, "a list of tag ids is expected")
        elif len(set(raw)) > MAX_CASE_TAGS:
            bad(name, f"at most {MAX_CASE_TAGS} tags")
        else:
            values[name] = tuple(dict.fromkeys(raw))
    wanted = set(values.get("case_tags_any", ())) | set(values.get("case_tags_all", ()))
    both = sorted(wanted & set(values.get("case_tags_none", ())))
    if both:
        bad("case_tags_none", f"a tag both wanted and excluded: {both}")
    return values
