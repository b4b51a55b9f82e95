"""Speed: time to first response and to solve (median, 90th percentile), reopen rate.

See docs/reports.rst for the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from casekit.domain.case import EntryKind, EventKind
from casekit.domain.workflow import Status
from casekit.query.filters import Filter
from casekit.query.listing import ListQuery
from casekit.query.percentiles import Summary, grouped_percentiles
from casekit.query.report_models import (
    DurationRow,
    ReopenRow,
)
from casekit.query.reports import (
    Dimension,
    Reporter,
    c,
    e,
    key_of,
    one,
    rounded,
)
from casekit.query.timing import seconds_between
from casekit.store import tables
from casekit.store.tables import KEY


def durations(
    r: Reporter,
    dims: Sequence[Dimension],
    condition: ColumnElement[bool],
    done: Any,
    base: Sequence[Filter],
) -> tuple[list[DurationRow], dict[str, list[DurationRow]]]:
    """Median and 90th percentile of the seconds from opening to ``done`` (a
    moment per case; NULL: not yet) over the cases passing ``condition``:
    for all of them, and for each value of each of ``dims``.

    One statement: the cases and their ``done`` are computed once (a common
    table expression), then numbered per group for every grouping at once.
    """
    columns = [c.created_at.label("opened"), done.label("done")]
    columns += [dim.column.label(f"d{i}") for i, dim in enumerate(dims)]
    measured = (
        r.cases(select(*columns), shipment=any(dim.shipment for dim in dims))
        .where(*r.where(condition))
        .cte("measured")
    )
    value = seconds_between(measured.c.opened, measured.c.done).label("value")
    # Each grouping's key in a column of its own type: text (a case type)
    # or a number (an id), so the database sorts numbers as numbers.
    no_text, no_id = cast(null(), String(KEY)), cast(null(), BigInteger())

    def grouping(number: int, text: Any, ident: Any) -> Any:
        return select(
            literal_column(str(number)).label("dim"),
            text.label("text_key"),
            ident.label("id_key"),
            value,
        ).select_from(measured)

    groupings = [grouping(0, no_text, no_id)]
    for i, dim in enumerate(dims):
        key = measured.c[f"d{i}"]
        groupings.append(grouping(i + 1, no_text, key) if dim.ids else grouping(i + 1, key, no_id))
    found = grouped_percentiles(r.session, union_all(*groupings))
    overall = found.get((0, None, None), Summary(0, 0, {}))
    split: dict[str, list[DurationRow]] = {}
    for i, dim in enumerate(dims):
        summaries = {
            (ident if dim.ids else text): summary
            for (number, text, ident), summary in found.items()
            if number == i + 1
        }
        if dim.name == "owner":
            r.names("user", summaries)
        elif dim.name == r.party_field:
            r.names("org", summaries)
        rows = [
            _duration_row(key_of(k), dim.label(k), summary, r.drill(*base, dim.pick(k)))
            for k, summary in summaries.items()
        ]
        rows.sort(key=lambda row: (-row.cases, row.label))
        split[dim.name] = rows
    return [_duration_row(None, "All cases", overall, r.drill(*base))], split


def reopens(r: Reporter) -> list[ReopenRow]:
    """Of the cases opened in the range: solved at least once, reopened at least once."""

    def happened(kind: EventKind) -> Any:
        return (
            select(e.id)
            .where(
                e.case_id == c.id,
                e.kind == EntryKind.EVENT.value,
                e.event == kind.value,
            )
            .correlate(tables.cases)
            .exists()
        )

    # A solved case has been solved: only the others need their timeline read.
    solved = case((c.status == Status.SOLVED.value, 1), (happened(EventKind.SOLVED), 1), else_=0)
    reopened = case((happened(EventKind.REOPENED), 1), else_=0)
    stmt = (
        r.cases(
            select(
                c.type.label("key"),
                func.sum(solved).label("solved"),
                func.sum(reopened).label("reopened"),
            )
        )
        .where(*r.where(r.opened_in_range()))
        .group_by(c.type)
    )
    found = [
        (row.key, int(row.solved or 0), int(row.reopened or 0)) for row in r.session.execute(stmt)
    ]
    opened = r.opened_filter()
    rows = [
        _reopen_row(
            None,
            "All cases",
            sum(f[1] for f in found),
            sum(f[2] for f in found),
            r.drill(opened),
        )
    ]
    by_type = [
        _reopen_row(
            key,
            r.type_labels.get(key, key),
            solved,
            reopened,
            r.drill(opened, one("type", key)),
        )
        for key, solved, reopened in found
    ]
    by_type.sort(key=lambda r: (-r.solved, r.label))
    return rows + by_type


def _duration_row(
    key: str | int | None, label: str, summary: Summary, query: ListQuery
) -> DurationRow:
    return DurationRow(
        key=key,
        label=label,
        cases=summary.total,
        measured=summary.count,
        median_seconds=rounded(summary.values.get(50)),
        p90_seconds=rounded(summary.values.get(90)),
        query=query,
    )


def _reopen_row(
    key: str | None, label: str, solved: int, reopened: int, base: ListQuery
) -> ReopenRow:
    from attrs import evolve

    return ReopenRow(
        key=key,
        label=label,
        solved=solved,
        reopened=reopened,
        rate=round(reopened / solved, 4) if solved else None,
        solved_query=evolve(base, filters=(*base.filters, one("has_event", "solved"))),
        reopened_query=evolve(base, filters=(*base.filters, one("has_event", "reopened"))),
    )
