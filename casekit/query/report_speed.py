"""Speed: time to first response and to solve (median, 90th percentile), reopen rate.

See docs/reports.rst for the definitions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    cast,
    func,
    select,
    tuple_,
)

from casekit.query.filters import Filter
from casekit.query.listing import ListQuery
from casekit.query.percentiles import PERCENTILES, Summary, percentiles_of
from casekit.query.report_models import (
    DurationRow,
    ReopenRow,
    Rest,
)
from casekit.query.reports import (
    Dimension,
    Reporter,
    c,
    key_of,
    one,
    rest_of,
    rounded,
)
from casekit.query.timing import seconds_between


def durations(
    r: Reporter,
    dims: Sequence[Dimension],
    condition: ColumnElement[bool],
    done: Any,
    base: Sequence[Filter],
) -> tuple[list[DurationRow], dict[str, tuple[list[DurationRow], Rest | None]]]:
    """Median and 90th percentile of the seconds from opening to ``done`` (a
    moment per case; NULL: not yet) over the cases passing ``condition``:
    for all of them, and for each value of each of ``dims`` (most cases
    first; with the reporter's ``top``, the largest groups only and what
    the rest count).

    One statement: on PostgreSQL it ranks each group itself
    (``percentile_cont`` over ``GROUPING SETS``: all the cases, and each
    value of each dimension) and sends a row per group; elsewhere it reads
    each case's duration and its keys (the cases of a range, read from an
    index on the report columns) and the groups are ranked in Python with
    :func:`~casekit.query.percentiles.percentiles_of`, the same
    interpolation as ``percentile_cont``.
    """
    columns: list[Any] = [seconds_between(c.created_at, done).label("value")]
    columns += [dim.column.label(f"d{i}") for i, dim in enumerate(dims)]
    stmt = r.cases(select(*columns), shipment=any(dim.shipment for dim in dims)).where(
        *r.where(condition)
    )
    if r.session.get_bind().dialect.name == "postgresql":
        summaries = _ranked_in_postgresql(r, stmt, len(dims))
    else:
        summaries = _ranked_in_python(r, stmt, len(dims))
    found: dict[tuple[int, Any, Any], Summary] = {}
    for (number, key), summary in summaries.items():
        ids = number > 0 and dims[number - 1].ids
        found[(number, None, key) if ids else (number, key, None)] = summary
    overall = found.get((0, None, None), Summary(0, 0, {}))
    split: dict[str, tuple[list[DurationRow], Rest | None]] = {}
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
        ranked = sorted(summaries.items(), key=lambda ks: (-ks[1].total, dim.label(ks[0])))
        kept, left = r.keep_top(ranked)
        rows = [
            _duration_row(key_of(k), dim.label(k), summary, r.drill(*base, dim.pick(k)))
            for k, summary in kept
        ]
        split[dim.name] = (rows, rest_of([summary.total for _, summary in left]))
    return [_duration_row(None, "All cases", overall, r.drill(*base))], split


def _ranked_in_python(r: Reporter, stmt: Select[Any], dims: int) -> dict[tuple[int, Any], Summary]:
    """The summary of each group (0: all the cases; i: by the i-th dimension's value)."""
    fetched = r.session.execute(stmt).all()
    keys = list(zip(*fetched, strict=True)) if fetched else [() for _ in range(dims + 1)]
    durations_ = [None if v is None else float(v) for v in keys[0]]
    groups: dict[tuple[int, Any], list[float | None]] = {(0, None): durations_}
    for i in range(dims):
        split_by: dict[Any, list[float | None]] = defaultdict(list)
        for key, value in zip(keys[i + 1], durations_, strict=True):
            split_by[key].append(value)
        groups.update(((i + 1, key), values) for key, values in split_by.items())
    found: dict[tuple[int, Any], Summary] = {}
    for (number, key), values in groups.items():
        if number == 0 and not values:
            continue
        summary = percentiles_of([v for v in values if v is not None])
        found[(number, key)] = Summary(summary.count, len(values), summary.values)
    return found


def _ranked_in_postgresql(
    r: Reporter, stmt: Select[Any], dims: int
) -> dict[tuple[int, Any], Summary]:
    """As :func:`_ranked_in_python`, each group ranked by the database."""
    inner = stmt.subquery()
    value = cast(inner.c.value, Float)
    keys = [inner.c[f"d{i}"] for i in range(dims)]
    ranked = select(
        *keys,
        *(func.grouping(k) for k in keys),
        func.count().label("total"),
        func.count(value).label("measured"),
        *(func.percentile_cont(p / 100).within_group(value) for p in PERCENTILES),
    ).group_by(func.grouping_sets(tuple_(), *keys))
    found: dict[tuple[int, Any], Summary] = {}
    for row in r.session.execute(ranked):
        grouped = [i for i in range(dims) if row[dims + i] == 0]
        number = grouped[0] + 1 if grouped else 0
        measured = int(row.measured)
        values = dict(zip(PERCENTILES, row[2 * dims + 2 :], strict=True)) if measured else {}
        found[(number, row[grouped[0]] if grouped else None)] = Summary(
            measured, int(row.total), {p: float(v) for p, v in values.items()}
        )
    return found


def reopens(r: Reporter) -> list[ReopenRow]:
    """Of the cases opened in the range: solved at least once, reopened at least once."""

    ever: dict[str, list[int]] = {}  # by type: cases ever solved, ever reopened
    for (key, solved, reopened), n in r.opened()["type,solved,reopened"].items():
        counted = ever.setdefault(key, [0, 0])
        counted[0] += n if solved else 0
        counted[1] += n if reopened else 0
    found = [(key, solved, reopened) for key, (solved, reopened) in ever.items()]
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
