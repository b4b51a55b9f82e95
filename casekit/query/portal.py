"""The customer's cases as the portal lists them: newest first, each with its title,
its status in the customer's words, the latest message the customer reads and
whether the customer has read all that is meant for them.

Reads go through :class:`~casekit.query.scoped.Scope` (the customer's own
cases) and :func:`~casekit.query.scoped.entry_visibility` (the messages meant
for the customer), like every other read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.case import EntryKind
from casekit.domain.portal import CustomerStatus, customer_status, portal_title
from casekit.domain.workflow import Status
from casekit.query.live import unread_cases
from casekit.query.scoped import Scope, entry_visibility
from casekit.store import tables

__all__ = ["PortalCase", "PortalPage", "customer_cases"]

e = tables.entries.c
o = tables.orders.c

#: The longest excerpt of the latest message, in characters.
EXCERPT = 140


@frozen(kw_only=True)
class PortalCase:
    """One case in the customer's list, as the customer may read it."""

    id: int
    number: str
    title: str
    status: Status
    order_number: str | None
    created_at: datetime
    #: The latest message the customer reads: when, its start (none when it is the first,
    #: the title), and whether it is theirs.
    latest_message_at: datetime | None
    latest_message_excerpt: str | None
    latest_message_by_customer: bool
    #: An entry meant for the customer, not theirs, is newer than the one they last read
    #: of the case (:func:`casekit.query.live.unread_cases`).
    unread: bool = False

    @property
    def words(self) -> CustomerStatus:
        """The status in the customer's words."""
        return customer_status(self.status)


@frozen
class PortalPage:
    """A page of the customer's cases, and the id to read the next page before (None: last)."""

    cases: tuple[PortalCase, ...]
    next_before: int | None


def _excerpt(body: str | None) -> str | None:
    text = " ".join((body or "").split())
    if not text:
        return None
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


def customer_cases(
    session: Session, actor: Actor, *, limit: int, before: int | None = None
) -> PortalPage:
    """The customer's cases, newest first, ``limit`` of them before the id ``before``."""
    scope = Scope(session, actor)
    found = scope.cases(limit=limit + 1, before_id=before)
    more = len(found) > limit
    views = scope.views(found[:limit])
    ids = [view.id for view in views]
    messages = _first_and_latest(session, ids)
    unread = unread_cases(session.connection(), scope, ids)
    order_ids = [view.order_id for view in views if view.order_id is not None]
    orders: dict[int, str] = {}
    if order_ids:
        stmt = select(o.id, o.number).where(o.id.in_(order_ids))
        orders = {row.id: row.number for row in session.execute(stmt)}
    cases = []
    for view in views:
        first, latest = messages.get(view.id, (None, None))
        order_number = orders.get(view.order_id) if view.order_id is not None else None
        cases.append(
            PortalCase(
                id=view.id,
                number=view.number,
                title=portal_title(order_number, view.subject, first.body if first else None),
                status=view.status,
                order_number=order_number,
                created_at=view.created_at,
                latest_message_at=latest.created_at if latest else None,
                # The first message is the title already: its excerpt would say it again.
                latest_message_excerpt=(
                    _excerpt(latest.body) if latest and latest.id != first.id else None
                ),
                latest_message_by_customer=latest is not None and latest.customer_id is not None,
                unread=view.id in unread,
            )
        )
    return PortalPage(tuple(cases), ids[-1] if more and ids else None)


def _first_and_latest(session: Session, case_ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """Each case's first and latest message the customer reads (one of them when one)."""
    if not case_ids:
        return {}
    readable = (
        e.case_id.in_(case_ids),
        e.kind == EntryKind.MESSAGE.value,
        entry_visibility(True, False, None),
    )
    bounds = select(e.case_id, func.min(e.id), func.max(e.id)).where(*readable).group_by(e.case_id)
    wanted = {row[0]: (row[1], row[2]) for row in session.execute(bounds)}
    entry_ids = {i for pair in wanted.values() for i in pair}
    if not entry_ids:
        return {}
    stmt = select(e.id, e.body, e.customer_id, e.created_at).where(e.id.in_(entry_ids))
    rows = {row.id: row for row in session.execute(stmt)}
    return {case_id: (rows[first], rows[last]) for case_id, (first, last) in wanted.items()}
