"""The Case Management list: built-in views, filters, search, sort, keyset pages, counts.

Everything starts from the actor's :class:`~casekit.query.scoped.Scope`, so a
list, a count, a search and an export can only ever contain cases the actor
may see.
"""

from __future__ import annotations

import base64
import enum
import json
import operator
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import field, frozen
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true, union
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.case import EntryKind, Source
from casekit.domain.workflow import Status
from casekit.errors import InvalidInput
from casekit.query.filters import (
    NULLABLE_SORTS,
    SORT_FIELDS,
    Filter,
    Sort,
    compile_filter,
    needs_shipment,
)
from casekit.query.scoped import Scope
from casekit.store import tables

c = tables.cases.c
s = tables.shipments.c
o = tables.orders.c
e = tables.entries.c

EXCERPT = 160


class BuiltinView(enum.StrEnum):
    """The six views every user has."""

    ALL_ACTIVE = "all_active"
    RECENT_RESPONSES = "recent_responses"
    MY_ACTIVE = "my_active"
    MY_WATCHED = "my_watched"
    NEW_CASES = "new_cases"
    ALL_CASES = "all_cases"

    @property
    def label(self) -> str:
        return {
            "all_active": "All Active",
            "recent_responses": "Recent Responses",
            "my_active": "My Active",
            "my_watched": "My Watched",
            "new_cases": "New Cases",
            "all_cases": "All Cases",
        }[self.value]


COLUMNS: tuple[str, ...] = (
    "number",
    "status",
    "type",
    "latest_message_at",
    "latest_message_excerpt",
    "owners",
    "created_at",
    "account",
    "brand",
    "tracking_number",
    "bol_number",
    "po_number",
    "reference_number",
    "ra_number",
    "order_number",
    "crm_number",
)
DEFAULT_COLUMNS = COLUMNS


@frozen(kw_only=True)
class ListQuery:
    """What to list: a built-in view narrowed by filters, sorted, optionally searched."""

    view: BuiltinView = BuiltinView.ALL_ACTIVE
    filters: tuple[Filter, ...] = ()
    sort: Sort = field(factory=Sort)
    search: str | None = None
    columns: tuple[str, ...] | None = None


@frozen(kw_only=True)
class CaseRow:
    """One line of the Case Management list, as the actor may see it."""

    id: int
    number: str
    status: Status
    type: str
    source: Source
    subject: str
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    latest_message_at: datetime | None
    latest_message_excerpt: str | None
    shipper_org_id: int
    carrier_org_id: int | None
    shipper_owner_id: int | None
    carrier_owner_id: int | None
    owners: tuple[str, ...]
    account: str | None
    brand: str | None
    tracking_number: str | None
    bol_number: str | None
    po_number: str | None
    reference_number: str | None
    ra_number: str | None
    order_number: str | None
    crm_number: str | None

    def cell(self, column: str) -> Any:
        if column == "owners":
            return ", ".join(self.owners)
        return getattr(self, column)


@frozen
class Page:
    """A page of rows and the cursor of the next page (None on the last)."""

    rows: tuple[CaseRow, ...]
    next_cursor: str | None


def months_before(moment: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months earlier (clamped to month ends)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


class Lister:
    """Builds and runs list queries for one actor."""

    def __init__(self, session: Session, actor: Actor, *, now: datetime, window_months: int):
        self.session = session
        self.actor = actor
        self.scope = Scope(session, actor)
        self.now = now
        self.window_months = window_months

    # -- conditions --------------------------------------------------------------
    def view_clause(self, view: BuiltinView) -> ColumnElement[bool]:
        actor = self.actor
        active = c.status != Status.SOLVED.value
        if view is BuiltinView.ALL_ACTIVE:
            return active
        if view is BuiltinView.ALL_CASES:
            return true()
        if view is BuiltinView.RECENT_RESPONSES:
            if actor.is_customer:
                return and_(
                    c.latest_message_at.is_not(None), c.latest_message_by_customer.is_(False)
                )
            if actor.org_id is None:
                return c.latest_message_at.is_not(None)
            return and_(
                c.latest_message_at.is_not(None),
                or_(c.latest_message_org_id.is_(None), c.latest_message_org_id != actor.org_id),
            )
        if view is BuiltinView.MY_ACTIVE:
            if actor.user_id is None:
                return and_(active, c.id.is_(None))
            return and_(
                active,
                or_(c.shipper_owner_id == actor.user_id, c.carrier_owner_id == actor.user_id),
            )
        if view is BuiltinView.MY_WATCHED:
            w = tables.watchers.c
            if actor.user_id is None:
                return c.id.is_(None)
            return c.id.in_(select(w.case_id).where(w.user_id == actor.user_id))
        # New cases: active, and no owner from the actor's own organization.
        if actor.is_customer:
            return active  # a customer sees no owners; to them no case has one
        if actor.org_id is None:
            return and_(active, c.shipper_owner_id.is_(None), c.carrier_owner_id.is_(None))
        return and_(
            active,
            or_(
                and_(c.shipper_org_id == actor.org_id, c.shipper_owner_id.is_(None)),
                and_(c.carrier_org_id == actor.org_id, c.carrier_owner_id.is_(None)),
            ),
        )

    def search_clause(self, text: str) -> ColumnElement[bool]:
        """Cases any of whose identifiers is ``text`` (the actor's own CRM number only)."""
        q = text.strip()
        n = tables.crm_numbers.c
        org = tables.organizations.c
        ids: list[Select[Any]] = [select(c.id).where(c.number == q.upper())]
        if self.actor.org_id is not None and not self.actor.is_customer:
            ids.append(select(n.case_id).where(n.org_id == self.actor.org_id, n.number == q))
        for column in (
            s.tracking_number,
            s.bol_number,
            s.po_number,
            s.reference_number,
            s.ra_number,
            s.order_number,
        ):
            ids.append(
                select(c.id).join(tables.shipments, s.id == c.shipment_id).where(column == q)
            )
        ids.append(select(c.id).join(tables.orders, o.id == c.order_id).where(o.number == q))
        ids.append(
            select(c.id)
            .join(tables.shipments, s.id == c.shipment_id)
            .where(func.lower(s.carrier_name) == q.lower())
        )
        ids.append(
            select(c.id)
            .join(tables.organizations, org.id == c.carrier_org_id)
            .where(func.lower(org.name) == q.lower())
        )
        return c.id.in_(union(*ids).subquery().select())

    def where(self, query: ListQuery) -> list[ColumnElement[bool]]:
        conditions = [self.scope.case_clause(), self.view_clause(query.view)]
        if query.view is not BuiltinView.ALL_CASES and self.window_months > 0:
            conditions.append(c.created_at >= months_before(self.now, self.window_months))
        conditions.extend(compile_filter(f, self.actor) for f in query.filters)
        if query.search:
            conditions.append(self.search_clause(query.search))
        return conditions

    def _from(self, stmt: Select[Any], query: ListQuery, *, rows: bool) -> Select[Any]:
        if rows or needs_shipment(query.filters):
            stmt = stmt.outerjoin(tables.shipments, s.id == c.shipment_id)
        return stmt

    # -- running -------------------------------------------------------------------
    def count(self, query: ListQuery) -> int:
        stmt = self._from(select(func.count()).select_from(tables.cases), query, rows=False)
        return int(self.session.scalar(stmt.where(*self.where(query))) or 0)

    def page(self, query: ListQuery, *, limit: int = 50, cursor: str | None = None) -> Page:
        if not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["between 1 and 500"]})
        sort = query.sort
        column = SORT_FIELDS[sort.field]()
        nullable = sort.field in NULLABLE_SORTS
        stmt = self._from(
            select(c.id, column.label("sort_value")).select_from(tables.cases), query, rows=False
        )
        stmt = stmt.where(*self.where(query))
        if cursor is not None:
            key = _decode(cursor, sort.field)
            stmt = stmt.where(_after(column, key, descending=sort.descending, nullable=nullable))
        order: list[Any] = [column.is_(None)] if nullable else []
        order += [column.desc(), c.id.desc()] if sort.descending else [column.asc(), c.id.asc()]
        found = self.session.execute(stmt.order_by(*order).limit(limit + 1)).all()
        more = len(found) > limit
        found = found[:limit]
        rows = self.rows([r.id for r in found])
        next_cursor = None
        if more and found:
            last = found[-1]
            next_cursor = _encode(last.sort_value, last.id, sort.field)
        return Page(tuple(rows), next_cursor)

    def iterate(self, query: ListQuery, *, batch: int = 500) -> Iterator[CaseRow]:
        """Every row of the query, page after page (for exports)."""
        cursor: str | None = None
        while True:
            page = self.page(query, limit=batch, cursor=cursor)
            yield from page.rows
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def rows(self, ids: Sequence[int]) -> list[CaseRow]:
        """The list rows of ``ids`` (already known visible), in that order."""
        if not ids:
            return []
        visible = self.scope.entry_clause()
        excerpt = (
            select(e.body)
            .where(e.case_id == c.id, e.kind == EntryKind.MESSAGE.value, visible)
            .order_by(e.id.desc())
            .limit(1)
            .correlate(tables.cases)
            .scalar_subquery()
        )
        stmt = (
            select(
                tables.cases,
                s.brand,
                s.tracking_number,
                s.bol_number,
                s.po_number,
                s.reference_number,
                s.ra_number,
                func.coalesce(o.number, s.order_number).label("order_number"),
                excerpt.label("excerpt"),
            )
            .select_from(tables.cases)
            .outerjoin(tables.shipments, s.id == c.shipment_id)
            .outerjoin(tables.orders, o.id == c.order_id)
            .where(c.id.in_(ids))
        )
        found = {r.id: r for r in self.session.execute(stmt)}
        names = self._names(found.values())
        crm = self._crm(list(found))
        result = []
        for case_id in ids:
            r = found[case_id]
            result.append(self._row(r, names, crm))
        return result

    def _row(self, r: Any, names: dict[tuple[str, int], str], crm: dict[int, str]) -> CaseRow:
        actor = self.actor
        hide = actor.is_customer
        owners = (
            ()
            if hide
            else tuple(
                names[("user", uid)]
                for uid in (r.shipper_owner_id, r.carrier_owner_id)
                if uid is not None
            )
        )
        if actor.org_id == r.shipper_org_id:
            account_id = r.carrier_org_id
        elif actor.org_id == r.carrier_org_id:
            account_id = r.shipper_org_id
        else:
            account_id = r.shipper_org_id
        body = r.excerpt or None
        if body is not None and len(body) > EXCERPT:
            body = body[: EXCERPT - 1].rstrip() + "…"
        return CaseRow(
            id=r.id,
            number=r.number,
            status=r.status,
            type=r.type,
            source=r.source,
            subject=r.subject,
            created_at=r.created_at,
            updated_at=r.updated_at,
            solved_at=r.solved_at,
            latest_message_at=r.latest_message_at,
            latest_message_excerpt=body,
            shipper_org_id=r.shipper_org_id,
            carrier_org_id=r.carrier_org_id,
            shipper_owner_id=None if hide else r.shipper_owner_id,
            carrier_owner_id=None if hide else r.carrier_owner_id,
            owners=owners,
            account=names.get(("org", account_id)) if account_id is not None else None,
            brand=r.brand,
            tracking_number=r.tracking_number,
            bol_number=r.bol_number,
            po_number=r.po_number,
            reference_number=r.reference_number,
            ra_number=r.ra_number,
            order_number=r.order_number,
            crm_number=crm.get(r.id),
        )

    def _names(self, found: Any) -> dict[tuple[str, int], str]:
        user_ids: set[int] = set()
        org_ids: set[int] = set()
        for r in found:
            user_ids.update(u for u in (r.shipper_owner_id, r.carrier_owner_id) if u)
            org_ids.update(x for x in (r.shipper_org_id, r.carrier_org_id) if x)
        names: dict[tuple[str, int], str] = {}
        if user_ids:
            u = tables.users.c
            for uid, name in self.session.execute(select(u.id, u.name).where(u.id.in_(user_ids))):
                names[("user", uid)] = name
        if org_ids:
            g = tables.organizations.c
            for oid, name in self.session.execute(select(g.id, g.name).where(g.id.in_(org_ids))):
                names[("org", oid)] = name
        return names

    def _crm(self, case_ids: list[int]) -> dict[int, str]:
        actor = self.actor
        if actor.is_customer or actor.org_id is None or not case_ids:
            return {}
        n = tables.crm_numbers.c
        stmt = select(n.case_id, n.number).where(n.case_id.in_(case_ids), n.org_id == actor.org_id)
        return {row.case_id: row.number for row in self.session.execute(stmt)}


def _after(
    column: Any, key: tuple[Any, int], *, descending: bool, nullable: bool
) -> ColumnElement[bool]:
    """Rows after ``key`` in the order (no value last, column, id)."""
    value, last_id = key
    beyond = operator.lt if descending else operator.gt
    if value is None:
        # Rows with no value come last; only those after the last id remain.
        return and_(column.is_(None), beyond(c.id, last_id))
    later = or_(beyond(column, value), and_(column == value, beyond(c.id, last_id)))
    if nullable:
        return or_(and_(column.is_not(None), later), column.is_(None))
    return later


def _encode(value: Any, last_id: int, field_name: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        raw: Any = value.isoformat()
    else:
        raw = value
    payload = json.dumps([field_name, raw, last_id]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode(cursor: str, sort_field: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        field_name, raw, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if field_name != sort_field or not isinstance(last_id, int):
            raise ValueError(field_name)
        value = raw
        if raw is not None and field_name != "number":
            value = datetime.fromisoformat(raw)
        return value, last_id
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput({"cursor": ["not a cursor this list gave out"]}) from None
