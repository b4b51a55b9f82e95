"""What a rule reads of a shipment's cases: their priority and the shipper's own tags.

Two forms of the same conditions (:mod:`casekit.domain.rule_cases`): SQL that
narrows the sweep's and the dry run's query over shipments
(:func:`case_conditions_sql`), and the facts of the moved shipments' active
cases that :meth:`~casekit.domain.rules.RuleSpec.matches` decides on
(:func:`case_facts`). Both read a case's tags only among the tags the rule
names and only of the rule's organization: a rule never reads another side's
tags, so neither its matches nor its dry run can tell anything of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, func, not_, select, true

from casekit.domain.rule_cases import CaseConditions, CaseFacts
from casekit.domain.workflow import Status
from casekit.store import tables

__all__ = ["case_conditions_sql", "case_facts"]

c = tables.cases.c
ct = tables.case_tags.c
s = tables.shipments.c


def _active_cases_of_the_shipment(org_id: Any) -> ColumnElement[bool]:
    return and_(
        c.shipment_id == s.id,
        c.shipper_org_id == org_id,
        c.status != Status.SOLVED.value,
    )


def _carries(tag_ids: Iterable[int]) -> ColumnElement[bool]:
    """The case (of the enclosing query) carries one of ``tag_ids`` of its shipper's."""
    return exists(
        select(ct.case_id).where(
            ct.case_id == c.id, ct.org_id == c.shipper_org_id, ct.tag_id.in_(list(tag_ids))
        )
    )


def case_conditions_sql(conditions: CaseConditions) -> ColumnElement[bool]:
    """The conditions as SQL over ``casekit_shipments`` (the shipment's shipper is the
    rule's); true when there are none."""
    parts: list[ColumnElement[bool]] = []
    org = s.shipper_org_id
    if conditions.tags_none:
        parts.append(
            not_(
                exists(
                    select(c.id).where(
                        _active_cases_of_the_shipment(org), _carries(conditions.tags_none)
                    )
                )
            )
        )
    if conditions.needs_a_case:
        one: list[ColumnElement[bool]] = [_active_cases_of_the_shipment(org)]
        if conditions.priorities:
            one.append(c.priority.in_(list(conditions.priorities)))
        if conditions.min_priority is not None:
            one.append(c.priority >= conditions.min_priority)
        if conditions.tags_any:
            one.append(_carries(conditions.tags_any))
        if conditions.tags_all:
            one.append(
                select(func.count(ct.tag_id))
                .where(
                    ct.case_id == c.id,
                    ct.org_id == c.shipper_org_id,
                    ct.tag_id.in_(list(conditions.tags_all)),
                )
                .scalar_subquery()
                == len(conditions.tags_all)
            )
        parts.append(exists(select(c.id).where(*one)))
    return and_(true(), *parts)


def case_facts(
    conn: Connection, org_id: int, shipment_ids: Sequence[int], tag_ids: Iterable[int]
) -> dict[int, list[CaseFacts]]:
    """The shipper's active cases of each shipment (by shipment id): their priority and
    which of ``tag_ids`` (the shipper's, named by its rules) each carries."""
    found: dict[int, list[CaseFacts]] = {}
    if not shipment_ids:
        return found
    rows = conn.execute(
        select(c.id, c.shipment_id, c.priority).where(
            c.shipment_id.in_(list(shipment_ids)),
            c.shipper_org_id == org_id,
            c.status != Status.SOLVED.value,
        )
    ).all()
    wanted = sorted(set(tag_ids))
    carried: dict[int, set[int]] = {}
    if rows and wanted:
        for case_id, tag_id in conn.execute(
            select(ct.case_id, ct.tag_id).where(
                ct.case_id.in_([row.id for row in rows]),
                ct.org_id == org_id,
                ct.tag_id.in_(wanted),
            )
        ):
            carried.setdefault(case_id, set()).add(tag_id)
    for row in rows:
        found.setdefault(row.shipment_id, []).append(
            CaseFacts(priority=row.priority, tag_ids=frozenset(carried.get(row.id, ())))
        )
    return found
