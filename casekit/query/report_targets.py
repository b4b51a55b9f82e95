"""Targets: the cases opened in the range that missed their type's targets.

See docs/reports.rst for the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, false, func, null, select

from casekit.domain.reports import ReportTarget
from casekit.query.listing import BuiltinView, ListQuery
from casekit.query.report_models import (
    BreachRow,
    TargetRow,
)
from casekit.query.reports import (
    BREACH_LIST,
    Reporter,
    c,
    one,
)
from casekit.query.timing import seconds_between
from casekit.store import tables


# -- targets ------------------------------------------------------------------------------
def targets(r: Reporter) -> list[ReportTarget]:
    t = tables.report_targets.c
    return list(
        r.session.scalars(select(ReportTarget).where(t.org_id == r.org_id).order_by(t.case_type))
    )


def breaches(
    r: Reporter, targets: Sequence[ReportTarget]
) -> tuple[list[TargetRow], list[BreachRow]]:
    """Cases opened in the range that missed their type's targets (by now, if still open)."""
    if not targets:
        return [], []
    now = r.at(r.now)

    # The cases with their first answer, computed once per case (OFFSET 0
    # keeps the database from copying the subquery into each use).
    condition = and_(r.opened_in_range(), c.type.in_([t.case_type for t in targets]))
    m = (
        r.cases(
            select(
                c.id,
                c.number,
                c.type,
                c.created_at,
                r.solved_at.label("solved_at"),
                r.first_response().label("answered_at"),
            )
        )
        .where(*r.where(condition))
        .offset(0)
        .subquery("measured")
    ).c

    def per_type(attr: str) -> Any:
        whens = [
            (m.type == t.case_type, getattr(t, attr))
            for t in targets
            if getattr(t, attr) is not None
        ]
        return case(*whens, else_=null()) if whens else None

    fr_target, res_target = per_type("first_response_seconds"), per_type("resolution_seconds")
    fr_elapsed = seconds_between(m.created_at, func.coalesce(m.answered_at, now))
    res_elapsed = seconds_between(m.created_at, func.coalesce(m.solved_at, now))
    fr_breach = false() if fr_target is None else fr_elapsed > fr_target
    res_breach = false() if res_target is None else res_elapsed > res_target
    counted = select(
        m.type.label("key"),
        func.count().label("n"),
        func.sum(case((fr_breach, 1), else_=0)).label("fr"),
        func.sum(case((res_breach, 1), else_=0)).label("res"),
    ).group_by(m.type)
    counts = {
        row.key: (int(row.n), int(row.fr or 0), int(row.res or 0))
        for row in r.session.execute(counted)
    }
    opened = r.opened_filter()
    summary = [
        TargetRow(
            type=t.case_type,
            label=r.type_labels.get(t.case_type, t.case_type),
            first_response_target_seconds=t.first_response_seconds,
            resolution_target_seconds=t.resolution_seconds,
            cases=counts.get(t.case_type, (0, 0, 0))[0],
            first_response_breaches=counts.get(t.case_type, (0, 0, 0))[1],
            resolution_breaches=counts.get(t.case_type, (0, 0, 0))[2],
            query=r.drill(opened, one("type", t.case_type)),
        )
        for t in targets
    ]
    listed = (
        select(
            m.number,
            m.type,
            m.created_at,
            (m.answered_at.is_not(None)).label("answered"),
            m.solved_at,
            fr_elapsed.label("fr_elapsed"),
            res_elapsed.label("res_elapsed"),
            fr_breach.label("fr_breach"),
            res_breach.label("res_breach"),
        )
        .where(fr_breach | res_breach)
        .order_by(m.created_at, m.id)
        .limit(BREACH_LIST)
    )
    by_type = {t.case_type: t for t in targets}
    rows: list[BreachRow] = []
    for row in r.session.execute(listed):
        target = by_type[row.type]
        search = ListQuery(view=BuiltinView.ALL_CASES, search=row.number)
        if row.fr_breach and target.first_response_seconds is not None:
            rows.append(
                BreachRow(
                    number=row.number,
                    type=row.type,
                    created_at=row.created_at,
                    target="first_response",
                    target_seconds=target.first_response_seconds,
                    elapsed_seconds=round(float(row.fr_elapsed), 3),
                    answered=bool(row.answered),
                    query=search,
                )
            )
        if row.res_breach and target.resolution_seconds is not None:
            rows.append(
                BreachRow(
                    number=row.number,
                    type=row.type,
                    created_at=row.created_at,
                    target="resolution",
                    target_seconds=target.resolution_seconds,
                    elapsed_seconds=round(float(row.res_elapsed), 3),
                    answered=row.solved_at is not None,
                    query=search,
                )
            )
    return summary, rows
