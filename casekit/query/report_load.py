"""Load per user and the aging of the active backlog.

See docs/reports.rst for the definitions.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, literal_column, select

from casekit.domain.case import EntryKind
from casekit.query.filters import Filter
from casekit.query.report_models import (
    CountRow,
    LoadRow,
)
from casekit.query.reports import (
    ACTIVE,
    AGES,
    SOLVED,
    Reporter,
    between,
    c,
    e,
    one,
)
from casekit.store import tables


# -- load ----------------------------------------------------------------------------
def load(r: Reporter) -> tuple[list[LoadRow], int]:
    """Per user of the viewer's organization; and the active cases nobody on its side owns."""
    u = tables.users.c
    people = {
        row.id: row.name
        for row in r.session.execute(
            select(u.id, u.name).where(u.org_id == r.org_id, u.active.is_(True))
        )
    }
    owned = dict(r.backlog()["owner"])  # the active cases by owner
    unowned = owned.pop(None, 0)
    solved: dict[int, int] = {}
    for solver, n in r.solved()["solved_by"].items():
        if solver is not None and str(solver).startswith("user:"):
            solved[int(str(solver).split(":", 1)[1])] = n
    # The organization's messages of the range (an index holds all this
    # reads), each kept when its case is one the report counts: a lookup of
    # the case by id per message. A join would read all the side's cases.
    counted = (
        r.cases(select(literal_column("1")))
        .where(c.id == e.case_id, *r.where())
        .correlate(tables.entries)
        .scalar_subquery()
    )
    posted_stmt = (
        select(e.user_id.label("key"), func.count().label("n"))
        .where(
            e.org_id == r.org_id,
            e.kind == EntryKind.MESSAGE.value,
            e.created_at >= r.start,
            e.created_at < r.end,
            e.user_id.is_not(None),
            counted == 1,
        )
        .group_by(e.user_id)
    )
    posted = {row.key: int(row.n) for row in r.session.execute(posted_stmt)}
    # Users of the organization only: a former colleague still counts (its
    # active users are known already; the others are looked up).
    others = (set(owned) | set(posted) | set(solved)) - set(people) - {None}
    mine = dict(people)
    if others:
        found = select(u.id, u.name).where(u.id.in_(sorted(others)), u.org_id == r.org_id)
        mine.update((row.id, row.name) for row in r.session.execute(found))
    rows = [
        LoadRow(
            user_id=user_id,
            name=name,
            active_owned=owned.get(user_id, 0),
            messages_posted=posted.get(user_id, 0),
            solved=solved.get(user_id, 0),
            active_query=r.drill(ACTIVE, one("owner", user_id)),
            solved_query=r.drill(SOLVED, r.solved_filter(), one("solved_by", user_id)),
        )
        for user_id, name in mine.items()
    ]
    rows.sort(key=lambda r: (-r.active_owned, -r.messages_posted, r.name))
    return rows, unowned


# -- aging ------------------------------------------------------------------------------
def aging(r: Reporter, field: str) -> list[CountRow]:
    """Active cases by how long ago ``field`` was: ``created_at``, or
    ``other_side_message_at`` (None, no message yet: a bucket of its own)."""
    now = r.now
    with_none = field != "created_at"
    # Counted with the rest of the active backlog, once per report.
    found = r.backlog_by_brand()["latest"] if with_none else r.backlog()["age"]
    counts = {int(bucket): n for bucket, n in found.items()}
    rows = []
    for index, (key, label, low, high) in enumerate(AGES):
        # Age in (low, high] days: the moment in [now - high, now - low).
        start = None if high is None else now - timedelta(days=high)
        end = None if low is None else now - timedelta(days=low)
        rows.append(
            CountRow(
                key=key,
                label=label,
                count=counts.get(len(AGES) - 1 - index, 0),
                query=r.drill(ACTIVE, between(field, start, end)),
            )
        )
    if with_none:
        rows.append(
            CountRow(
                key="none",
                label="No message yet",
                count=counts.get(-1, 0),
                query=r.drill(ACTIVE, Filter(field, "empty", True)),
            )
        )
    return rows
