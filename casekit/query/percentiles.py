"""Medians and percentiles in SQL, the same way on every database.

PostgreSQL has ``percentile_cont``; SQLite and MySQL/MariaDB do not. All
three have window functions, so each group's values are numbered in order
(``ROW_NUMBER``) and counted (``COUNT(*) OVER``) in the database, and only
the one or two rows around each wanted rank come back. The percentile is
then interpolated linearly between them, exactly as ``percentile_cont``
does: for ``n`` sorted values ``v[0..n-1]`` the ``p``-th percentile is at
position ``r = p/100 * (n - 1)``, ``v[floor(r)] + (r - floor(r)) *
(v[ceil(r)] - v[floor(r)])``. The median of 1, 2, 3, 10 is 2.5; its 90th
percentile 7.9.

The database sorts each group once (an index cannot help: the values are
computed durations) and sends back at most four rows per group, so the cost
grows like sorting the group, not like shipping it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from attrs import frozen
from sqlalchemy import CompoundSelect, Select, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

PERCENTILES = (50, 90)


@frozen
class Summary:
    """A group's values: how many (``count``), out of how many rows (``total``,
    NULLs included), and its percentiles by percent."""

    count: int
    total: int
    values: dict[int, float]


def interpolate(ranked: dict[int, float], n: int, p: int) -> float:
    """The ``p``-th percentile of ``n`` values from the values at the ranks around it.

    ``ranked`` maps 0-based ranks to values and holds at least the ranks
    ``floor(r)`` and ``ceil(r)`` for ``r = p/100 * (n - 1)``.
    """
    low, rest = divmod(p * (n - 1), 100)
    value = ranked[low]
    if rest:
        value += (ranked[low + 1] - value) * rest / 100
    return value


def percentiles_of(values: Sequence[float], ps: Sequence[int] = PERCENTILES) -> Summary:
    """The same computation in Python, for values already in hand."""
    ordered = sorted(values)
    ranked = dict(enumerate(ordered))
    n = len(ordered)
    return Summary(n, n, {p: interpolate(ranked, n, p) for p in ps} if n else {})


def grouped_percentiles(
    session: Session,
    source: Select[Any] | CompoundSelect[Any],
    ps: Sequence[int] = PERCENTILES,
) -> dict[tuple[Hashable, ...], Summary]:
    """Percentiles of ``source``'s ``value`` column for each group.

    ``source`` selects a column labelled ``value`` (NULLs are counted in
    ``total`` but have no rank) and one or more key columns: the groups are
    their distinct combinations, and the result is keyed by the tuple of
    their values, in ``source``'s order.
    """
    inner = source.subquery("values")
    keys = [col for col in inner.c if col.name != "value"]
    missing = inner.c.value.is_(None)
    numbered = select(
        *keys,
        inner.c.value,
        # NULLs last on every database, so ranks 1..n are the values.
        func.row_number().over(partition_by=keys, order_by=(missing, inner.c.value)).label("rank"),
        func.count(inner.c.value).over(partition_by=keys).label("n"),
        func.count().over(partition_by=keys).label("total"),
    ).subquery("numbered")
    # 0-based rank k is wanted when |k - p(n-1)/100| < 1, in whole numbers;
    # rank 1 always, so that a group without values still reports its size.
    k = numbered.c.rank - 1
    spread = numbered.c.n - 1
    hundred: Any = literal_column("100")
    near = [
        and_(hundred * k > spread * p - hundred, hundred * k < spread * p + hundred) for p in ps
    ]
    key_columns = [numbered.c[col.name] for col in keys]
    rows = session.execute(
        select(
            *key_columns, numbered.c.value, numbered.c.rank, numbered.c.n, numbered.c.total
        ).where(or_(numbered.c.rank == 1, *near))
    )
    ranked: dict[tuple[Hashable, ...], dict[int, float]] = defaultdict(dict)
    sizes: dict[tuple[Hashable, ...], tuple[int, int]] = {}
    width = len(keys)
    for row in rows:
        group = tuple(row[:width])
        if row.value is not None:
            ranked[group][int(row.rank) - 1] = float(row.value)
        sizes[group] = (int(row.n), int(row.total))
    return {
        group: Summary(n, total, {p: interpolate(ranked[group], n, p) for p in ps} if n else {})
        for group, (n, total) in sizes.items()
    }


__all__ = ["PERCENTILES", "Summary", "grouped_percentiles", "interpolate", "percentiles_of"]
