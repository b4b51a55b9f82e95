"""Network benchmarks in SQL: the job's one read of the cases, and the reads of its tables.

:func:`contributions` is the only statement that reads cases across
organizations, and only the job (:meth:`casekit.services.network.NetworkService.compute`)
runs it: each case opened in a period whose parties all take part, with
the seconds to each side's solved time and to the carrier's first response.
:func:`stored_figures` reads what the job wrote, and is all that a
request reads.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select
from sqlalchemy.orm import Session

from casekit.domain.network import Metric, NetworkFigure, Side, Suppression
from casekit.query.timing import seconds_between
from casekit.store import tables

__all__ = [
    "CaseFacts",
    "contributions",
    "opted_out",
    "replace_figures",
    "stored_figures",
]

c = tables.cases.c
f = tables.network_figures.c
o = tables.network_opt_outs.c

#: One case of a period: shipper, carrier, type, and seconds to the shipper's
#: solved time, the carrier's solved time and the carrier's first response.
CaseFacts = tuple[int, int | None, str, float | None, float | None, float | None]


def opted_out(session: Session) -> set[int]:
    """The organizations that opted out of network benchmarks."""
    return set(session.scalars(select(o.org_id)))


def contributions(
    session: Session, start: datetime, end: datetime, *, batch: int = 10_000
) -> Iterator[CaseFacts]:
    """Each case opened in ``[start, end)`` whose parties all take part (not merged away)."""
    out = select(o.org_id)
    stmt = (
        select(
            c.shipper_org_id,
            c.carrier_org_id,
            c.type,
            seconds_between(c.created_at, c.solved_at),
            seconds_between(c.created_at, c.carrier_solved_at),
            seconds_between(c.created_at, c.carrier_first_response_at),
        )
        .where(
            c.created_at >= start,
            c.created_at < end,
            c.merged_into_id.is_(None),
            c.shipper_org_id.not_in(out),
            or_(c.carrier_org_id.is_(None), c.carrier_org_id.not_in(out)),
        )
        .execution_options(yield_per=batch)
    )
    # A batch at a time (fetchmany), not a row at a time: a large network's job
    # reads a million rows.
    for rows in session.execute(stmt).partitions():
        yield from rows


#: The columns of a figure's row, in the order :func:`replace_figures` writes them.
FIGURE_COLUMNS = (
    "period",
    "side",
    "metric",
    "case_type",
    "org_id",
    "partner_org_id",
    "value",
    "cases",
    "organizations",
    "suppressed",
)


def replace_figures(conn: Connection, period: str, figures: Iterable[NetworkFigure]) -> int:
    """Put ``figures`` in place of the period's figures; how many.

    On PostgreSQL the rows go in by ``COPY`` (a period of a large network
    holds tens of thousands of figures: row by row, writing them was most of
    the job's time); elsewhere by ``executemany`` in batches.
    """
    conn.execute(delete(tables.network_figures).where(f.period == period))
    rows = [
        (
            fig.period,
            fig.side.value,
            fig.metric.value,
            fig.case_type,
            fig.org_id,
            fig.partner_org_id,
            fig.value,
            fig.cases,
            fig.organizations,
            fig.suppressed.value if fig.suppressed else None,
        )
        for fig in figures
    ]
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.dbapi_connection
        statement = f"COPY {tables.network_figures.name} ({', '.join(FIGURE_COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    for at in range(0, len(rows), 1000):
        conn.execute(
            insert(tables.network_figures),
            [dict(zip(FIGURE_COLUMNS, row, strict=True)) for row in rows[at : at + 1000]],
        )
    return len(rows)


def _figure(row: Any) -> NetworkFigure:
    return NetworkFigure(
        period=row.period,
        side=Side(row.side),
        metric=Metric(row.metric),
        case_type=row.case_type,
        org_id=row.org_id,
        partner_org_id=row.partner_org_id,
        value=row.value,
        cases=row.cases,
        organizations=row.organizations,
        suppressed=Suppression(row.suppressed) if row.suppressed else None,
    )


def stored_figures(
    session: Session, period: str, side: Side, org_ids: Sequence[int | None]
) -> builtins.list[NetworkFigure]:
    """The period's figures of ``side`` whose organization is one of ``org_ids``
    (None: the network's); one indexed look-up each (period, side, organization)."""
    found: list[NetworkFigure] = []
    for org in org_ids:
        stmt = (
            select(tables.network_figures)
            .where(
                f.period == period,
                f.side == side.value,
                f.org_id.is_(None) if org is None else f.org_id == org,
            )
            .order_by(f.id)
        )
        found += [_figure(row) for row in session.execute(stmt)]
    return found
