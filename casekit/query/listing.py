"""The Case Management list: built-in views, filters, search, sort, keyset pages, counts.

Everything starts from the actor's :class:`~casekit.query.scoped.Scope`, so a
list, a count, a search and an export can only ever contain cases the actor
may see.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import operator
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from attrs import Factory, evolve, field, frozen
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

from casekit.domain.actor import Actor
from casekit.domain.case import EntryKind, Source
from casekit.domain.custom_fields import FieldKind, FieldValue
from casekit.domain.directory import OrgRole
from casekit.domain.sla import DueState
from casekit.domain.tags import Priority, TagRef
from casekit.domain.workflow import Status
from casekit.errors import InvalidInput
from casekit.json_input import load_json
from casekit.labels import label
from casekit.query import due, field_columns, search
from casekit.query.clock_filters import CLOCK_FIELDS, NOW
from casekit.query.custom_fields import kind_of_values, values_of
from casekit.query.filters import (
    DEFAULT_SORT,
    NULLABLE_SORTS,
    RELEVANCE,
    RELEVANCE_SORT,
    SORT_FIELDS,
    Filter,
    Sort,
    compile_filter,
    customer_latest,
    date_column,
    latest_columns,
    needs_shipment,
    status_column,
)
from casekit.query.fulltext import FullText, Snippet
from casekit.query.scoped import Scope, entry_visibility
from casekit.query.tags import in_order, own_tag_ids, tag_refs
from casekit.store import tables, uow
from casekit.store.database import in_list

c = tables.cases.c
s = tables.shipments.c
o = tables.orders.c
e = tables.entries.c

EXCERPT = 160
#: The case columns a list row shows.
_ROW_CASE_COLUMNS = (
    "id",
    "number",
    "status",
    "type",
    "source",
    "subject",
    "created_at",
    "updated_at",
    "solved_at",
    "latest_message_at",
    "shipper_org_id",
    "carrier_org_id",
    "shipper_owner_id",
    "carrier_owner_id",
)
#: Up to this many search matches are read first and listed by id.
SEARCH_HITS = 500
#: Up to this many texts that hold a search's words are read first and scored;
#: past it (common words), the page holds the words' query instead.
SEARCH_TEXTS = 2000
#: A count of a list with a search stops past this many cases (see Lister.count):
#: common words match most cases, and each is asked in turn.
SEARCH_COUNT = 500
#: At most this many built page and count statements are kept per kit.
MAX_STATEMENTS = 256
# The values a kept statement is run with: the start of the window, the
# position of a cursor and the actor's organization (see _row_columns).
_WINDOW = "window_start"
_AFTER_VALUE = "after_value"
_AFTER_ID = "after_id"
_HITS = "search_hits"
_AT_MOST = "count_at_most"


class BuiltinView(enum.StrEnum):
    """The views every user has."""

    ALL_ACTIVE = "all_active"
    RECENT_RESPONSES = "recent_responses"
    MY_ACTIVE = "my_active"
    MY_WATCHED = "my_watched"
    NEW_CASES = "new_cases"
    ALL_CASES = "all_cases"
    #: The side's cases whose running clock's warning has come (breached ones
    #: too), soonest due first (casekit.query.due).
    DUE_SOON = "due_soon"

    @property
    def label(self) -> str:
        return label("view", self)


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
    # The reader's side's running clock due first (casekit.query.due).
    "due",
    "priority",
    # The reader's organization's own tags (casekit.query.tags).
    "tags",
)
DEFAULT_COLUMNS = COLUMNS
#: The columns the Case Management page shows until a user chooses others:
#: they fit a 1366 px wide screen.
PAGE_COLUMNS: tuple[str, ...] = (
    "number",
    "status",
    "type",
    "latest_message_excerpt",
    "owners",
    "latest_message_at",
    "created_at",
)


#: The "Due soon" view's order when none is asked for: soonest due first.
DUE_SORT = Sort("due_at", descending=False)
#: The views that are not limited to the cases opened in the window
#: (``view_window_months``): every case, and every case due.
UNWINDOWED = frozenset({BuiltinView.ALL_CASES, BuiltinView.DUE_SOON})


def default_sort(view: BuiltinView) -> Sort:
    """A view's order when none is asked for: newest first; Due Soon's soonest due first."""
    return DUE_SORT if view is BuiltinView.DUE_SOON else DEFAULT_SORT


@frozen(kw_only=True)
class ListQuery:
    """What to list: a built-in view narrowed by filters, sorted, optionally searched.

    Without a ``sort``, a search's order is ``relevance`` (best match first), the
    list's the view's own (``default_sort``).
    """

    view: BuiltinView = BuiltinView.ALL_ACTIVE
    filters: tuple[Filter, ...] = ()
    search: str | None = None
    sort: Sort = field(
        default=Factory(
            lambda self: RELEVANCE_SORT if self.search else default_sort(self.view),
            takes_self=True,
        )
    )
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
    #: The case's version when read: a change made from the list passes it on.
    version: int = 0
    #: When the running clock of the reader's side due first is due (None: no
    #: running clock; always None for a customer), how that reads when the list
    #: was made, and the time zone of the calendar it counts in.
    due_at: datetime | None = None
    due_state: DueState | None = None
    due_time_zone: str | None = None
    #: The priority both sides share; the reader's organization's tags, by name.
    priority: Priority = Priority.NORMAL
    tags: tuple[TagRef, ...] = ()
    #: Where a search's words matched, as the actor may read it (None: not
    #: searched, or matched by an identifier).
    snippet: Snippet | None = None
    #: The values of the custom fields the list shows as columns (``cf:<name>``)
    #: that the reader reads on the case.
    fields: tuple[FieldValue, ...] = ()

    def field(self, name: str) -> FieldValue | None:
        """The value of the custom field ``name`` (as its reader names it), if any."""
        for value in self.fields:
            if value.name == name:
                return value
        return None

    def cell(self, column: str) -> Any:
        if column.startswith(field_columns.PREFIX):
            found = self.field(column[len(field_columns.PREFIX) :])
            return None if found is None else found.text
        if column == "owners":
            return ", ".join(self.owners)
        if column == "tags":
            return ", ".join(tag.name for tag in self.tags)
        if column == "priority":
            return self.priority.value
        if column == "due":
            return self.due_at
        return getattr(self, column)


@frozen
class Page:
    """A page of rows and the cursor of the next page (None on the last)."""

    rows: tuple[CaseRow, ...]
    next_cursor: str | None


_FILTERED_SHIPMENT = tables.shipments.alias("filtered_shipment")
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")


def _of_shipment(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` (on ``casekit_shipments``) of each case's own shipment, asked case by case.

    A correlated scalar subquery, outer-joined from one row so that a case
    without a shipment sees NULLs, as a LEFT JOIN would show it. Joined
    instead, the database guesses how many shipments match and, guessing
    few ("destination contains smith" looked 0.35 % of 930,000 and was
    2 %), reads every shipment to join them (330 ms at a million cases)
    where walking the list's index and looking up each case's shipment
    finds a page in a few milliseconds.
    """
    adapted = ClauseAdapter(_FILTERED_SHIPMENT).traverse(condition)
    joined = _ONE_ROW.outerjoin(_FILTERED_SHIPMENT, _FILTERED_SHIPMENT.c.id == c.shipment_id)
    return select(adapted).select_from(joined).scalar_subquery()


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

    def __init__(
        self,
        session: Session,
        actor: Actor,
        *,
        now: datetime,
        window_months: int,
        roles: dict[int, OrgRole] | None = None,
        user_orgs: dict[int, int] | None = None,
        statements: dict[Any, Select[Any]] | None = None,
        search_language: str = "english",
    ):
        self.session = session
        self.actor = actor
        self.scope = Scope(session, actor)
        self.now = now
        self.window_months = window_months
        self._role: OrgRole | None = None
        self._role_known = False
        #: Organization roles already looked up (they never change), shareable.
        self._roles: dict[int, OrgRole] = roles if roles is not None else {}
        #: Users' organizations already looked up (they never change), shareable.
        self._user_orgs: dict[int, int] = user_orgs if user_orgs is not None else {}
        #: Built statements by what they are built from (see :meth:`_kept`), shareable.
        self._statements: dict[Any, Select[Any]] = statements if statements is not None else {}
        self._serial = False
        self._too_many = False  # the search's matches (see _matches)
        self.search_language = search_language
        self._fulltext: FullText | None = None
        #: The full-text statements' values for the search read last (None: no words),
        #: and the cases its words matched (None: too many to list).
        self._words: dict[str, Any] | None = None
        self._by_words: set[int] | None = set()
        #: Whether too many matches are found by asking each case in turn.
        self._walk = False
        self._connection: Connection | None = None
        self._field_columns: dict[str, field_columns.FieldColumn] | None = None

    @property
    def connection(self) -> Connection:
        """The session's connection: a list's statements are Core statements, and
        run on it directly they skip the ORM's execution path."""
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection

    def role(self) -> OrgRole | None:
        """The role of the actor's organization (looked up once); None without one.

        An organization is either a shipper or a carrier, so a shipper's staff
        see the cases whose shipper it is, a carrier's those whose carrier it
        is: one indexed column each instead of the OR of both (which no index
        answers in date order).
        """
        actor = self.actor
        if not self._role_known:
            self._role_known = True
            org_id = actor.org_id
            if org_id is not None and not actor.is_customer and not actor.is_unrestricted:
                role = self._roles.get(org_id)
                if role is None:
                    g = tables.organizations.c
                    role = self.connection.scalar(select(g.role).where(g.id == org_id))
                    if role is not None:
                        self._roles[org_id] = role
                self._role = role
        return self._role

    def side_column(self) -> Any:
        """The case column naming the actor's organization on its side (None: no role)."""
        role = self.role()
        if role is OrgRole.SHIPPER:
            return c.shipper_org_id
        if role is OrgRole.CARRIER:
            return c.carrier_org_id
        return None

    def tenant_clause(self) -> ColumnElement[bool]:
        """The scope's tenant rule, on the one side the actor's organization can be."""
        side = self.side_column()
        if side is not None:
            return side == self.actor.org_id  # type: ignore[no-any-return]
        return self.scope.case_clause()

    def _own_owner(self) -> Any:
        """The owner column of the actor's side, when its organization's role is known."""
        role = self.role()
        if role is OrgRole.SHIPPER:
            return c.shipper_owner_id
        if role is OrgRole.CARRIER:
            return c.carrier_owner_id
        return None

    # -- conditions --------------------------------------------------------------
    def view_clause(self, view: BuiltinView) -> ColumnElement[bool]:
        actor = self.actor
        active: ColumnElement[bool] = status_column(actor, self.role()) != Status.SOLVED.value
        if view is BuiltinView.ALL_ACTIVE:
            return active
        if view is BuiltinView.ALL_CASES:
            return true()
        if view is BuiltinView.DUE_SOON:
            return due.due_soon_clause(actor, self.role(), due.now_param(self.now))
        if view is BuiltinView.RECENT_RESPONSES:
            if actor.is_customer:
                # Their latest message is staff's (None when there is none).
                return customer_latest(e.actor_kind) != "customer"
            if actor.org_id is None:
                return c.latest_message_at.is_not(None)
            latest_at, _user, latest_org = latest_columns(actor, self.role())
            return and_(
                latest_at.is_not(None), or_(latest_org.is_(None), latest_org != actor.org_id)
            )
        if view is BuiltinView.MY_ACTIVE:
            if actor.user_id is None:
                return and_(active, c.id.is_(None))
            own = self._own_owner()
            if own is not None:
                # A user owns cases only on their own organization's side.
                return and_(active, own == actor.user_id)
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
        own = self._own_owner()
        if own is not None:
            return and_(active, own.is_(None))  # the tenant clause names the organization
        return and_(
            active,
            or_(
                and_(c.shipper_org_id == actor.org_id, c.shipper_owner_id.is_(None)),
                and_(c.carrier_org_id == actor.org_id, c.carrier_owner_id.is_(None)),
            ),
        )

    def _search_org(self) -> int | None:
        """Whose CRM numbers the search reads: the actor's own organization's (None: none)."""
        actor = self.actor
        return actor.org_id if actor.org_id is not None and not actor.is_customer else None

    def _matches(self, text: str) -> list[int]:
        """The ids of the matching cases, read first, on their own: those with an
        identifier that starts with ``text``, then those whose readable texts hold
        its words, best first (:mod:`casekit.query.fulltext`).

        Usually a handful, which the page then reads by primary key; planned
        together, the database guesses the union large and scans all the
        actor's cases to join it. Past ``SEARCH_HITS`` cases or
        ``SEARCH_TEXTS`` texts (a carrier's name, a common word), or when
        PostgreSQL expects the words in many messages
        (:meth:`~casekit.query.fulltext.FullText.common`, without reading
        them), they are too many to list: ``_too_many`` is set, and the
        statement holds their conditions instead (see :meth:`search_clause`).
        """
        org = self._search_org()
        params = {**search.params(text, org), "search_limit": SEARCH_HITS + 1}
        hits = list(self.connection.scalars(search.hits(*search.shape(text, org)), params))
        too_many = len(hits) > SEARCH_HITS
        self._words = words = self.fulltext().params(text)
        self._by_words = None if too_many else set()
        common = words is not None and not too_many and self.fulltext().common(words)
        self._walk = self.fulltext().walks(common=common)
        if common:
            too_many = True  # the page asks each case in turn
            self._by_words = None
        if words is not None and not too_many:
            # The matching texts, a bounded number, best score per case first; past
            # it the page holds the words' conditions instead (see search_clause).
            rows = self.connection.execute(
                self.fulltext().texts(), {**words, "search_texts": SEARCH_TEXTS}
            ).all()
            too_many = len(rows) >= SEARCH_TEXTS
            if too_many:
                self._by_words = None
            elif rows:
                ranked = self.fulltext().ranked(rows, text)
                self._by_words = set(ranked)
                found = set(hits)
                hits.extend(i for i in ranked if i not in found)
                too_many = len(hits) > SEARCH_HITS
        self._too_many = too_many
        return hits

    def _relevance_page(
        self, query: ListQuery, params: dict[str, Any], limit: int, cursor: str | None
    ) -> Page:
        """A page of a search in relevance order: the cases an identifier matched
        first (the newest first), then those whose readable texts hold the words,
        most relevant first (:func:`casekit.query.fulltext.relevance`).

        The matches are read first, by :meth:`_matches`, in that order; the database
        says which of them pass the view and filters, and the page is cut from that
        order. A cursor holds the last case's position and id: the next page starts
        after that case (after the position, if the case has left the list).
        """
        after: tuple[Any, int] | None = None
        if cursor is not None:
            after = _decode(cursor, RELEVANCE)
        stmt = self._kept(
            ("relevance", *_shape_of(query)),
            lambda: select(c.id).select_from(tables.cases).where(*self.where(query)),
        )
        passing = set(self.connection.scalars(stmt, params))
        by_words = self._by_words or set()
        first = sorted((i for i in params[_HITS] if i not in by_words), reverse=True)
        order = [i for i in (*first, *(i for i in params[_HITS] if i in by_words)) if i in passing]
        if not query.sort.descending:
            order.reverse()
        start = 0
        if after is not None:
            position, last_id = after
            start = order.index(last_id) + 1 if last_id in order else position + 1
        chosen = order[start : start + limit]
        more = start + limit < len(order)
        next_cursor = _encode(start + len(chosen) - 1, chosen[-1], RELEVANCE) if more else None
        rows = self._with_fields(tuple(self.rows(chosen)), query.columns)
        return Page(self.with_snippets(rows, query.search or ""), next_cursor)

    def fulltext(self) -> FullText:
        """The actor's full-text matches (built once)."""
        if self._fulltext is None:
            actor, role = self.actor, self.role()
            self._fulltext = FullText(
                self.connection,
                language=self.search_language,
                customer=actor.is_customer,
                unrestricted=actor.is_unrestricted,
                org_id=actor.org_id,
                carrier=None if role is None else role is OrgRole.CARRIER,
                shipper=None if role is None else role is OrgRole.SHIPPER,
                tenant=self.tenant_clause(),
                kept=lambda name, build: self._kept(("fulltext", name), build),
            )
        return self._fulltext

    def search_clause(self, text: str) -> ColumnElement[bool]:
        """Cases any of whose identifiers starts with ``text`` (the actor's own CRM
        number only), or whose texts the actor reads hold its words.

        The matches :meth:`_matches` read, as the bound parameter
        ``search_hits``; when they were too many, the identifiers' subquery and
        either each case asked whether its texts hold the words (common words,
        :meth:`~casekit.query.fulltext.FullText.walks`) or the cases of every
        matching text.
        """
        if self._too_many:
            org = self._search_org()
            found = search.matches(*search.shape(text, org))
            # The identifiers' values and the words are among the values (_params).
            either: list[ColumnElement[bool]] = [c.id.in_(found.select())]
            if self._words is not None:
                words = self.fulltext()
                either.append(words.holds() if self._walk else c.id.in_(words.matches()))
            return or_(*either)
        return in_list(c.id, _HITS, self.connection.dialect.name)

    def with_snippets(self, rows: Sequence[CaseRow], text: str) -> tuple[CaseRow, ...]:
        """``rows`` with where their readable texts hold the words of ``text``."""
        by_words = self._by_words
        ids = [r.id for r in rows if by_words is None or r.id in by_words]
        if self._words is None or not ids:
            return tuple(rows)
        found = self.fulltext().snippets(self._words, ids, text)
        return tuple(evolve(r, snippet=found.get(r.id)) for r in rows)

    def filter_clause(self, f: Filter) -> ColumnElement[bool]:
        """One filter's condition; "owner is one of" reads only the column it can match.

        A user owns cases only on their own organization's side, so for an
        actor whose side is known, its colleagues can only be in its side's
        owner slot and anyone else only in the other one: one indexed column
        each instead of both columns for every user.
        """
        own = self._own_owner()
        if f.field == "has_owner" and f.op != "empty" and own is not None:
            wanted = set(f.value) if f.op == "in" else {"yes", "no"} - set(f.value)
            if len(wanted) != 1:
                return true() if wanted else false()
            owned: ColumnElement[bool] = own.is_not(None) if wanted == {"yes"} else own.is_(None)
            return owned
        if f.field != "owner" or f.op != "in" or own is None or self.actor.is_customer:
            return compile_filter(f, self.actor, self.role(), now=self.now)
        other = c.carrier_owner_id if own is c.shipper_owner_id else c.shipper_owner_id
        values = list(f.value)
        orgs = self._orgs_of_users(values)
        colleagues = sorted(v for v in set(values) if orgs.get(v) == self.actor.org_id)
        others = [v for v in values if v not in colleagues]
        parts = [own.in_(colleagues)] if colleagues else []
        if others:
            parts.append(other.in_(others))
        return or_(*parts) if parts else false()

    def _orgs_of_users(self, user_ids: Sequence[int]) -> dict[int, int]:
        """The organization of each of ``user_ids`` that exists (read once per kit)."""
        known = self._user_orgs
        missing = sorted({i for i in user_ids if i not in known})
        if missing:
            u = tables.users.c
            found = self.connection.execute(select(u.id, u.org_id).where(u.id.in_(missing)))
            known.update((user_id, org_id) for user_id, org_id in found)
        return known

    def _windowed(self, query: ListQuery) -> bool:
        return query.view not in UNWINDOWED and self.window_months > 0

    def _window(self) -> ColumnElement[bool]:
        """Cases opened in the window: its start is the bound parameter ``window_start``."""
        start = months_before(self.now, self.window_months)
        return c.created_at >= bindparam(_WINDOW, start, type_=c.created_at.type)

    def where(self, query: ListQuery) -> list[ColumnElement[bool]]:
        conditions = [self.tenant_clause(), self.view_clause(query.view)]
        if self._windowed(query):
            conditions.append(self._window())
        shipment = [f for f in query.filters if needs_shipment((f,))]
        conditions.extend(self.filter_clause(f) for f in query.filters if f not in shipment)
        if shipment:
            conditions.append(_of_shipment(and_(*(self.filter_clause(f) for f in shipment))))
        if query.search:
            conditions.append(self.search_clause(query.search))
        return conditions

    # -- running -------------------------------------------------------------------
    def count(self, query: ListQuery, *, at_most: int | None = None) -> int:
        """How many cases ``query`` lists; with ``at_most``, counting stops past it
        (a result above ``at_most`` means "more than ``at_most``").

        A search of common words asks each case in turn (:meth:`search_clause`),
        so its count walks all the actor's cases unless it may stop.
        """
        params = self._params(query)
        if params is None:
            return 0

        def build() -> Select[Any]:
            if at_most is None:
                return select(func.count()).select_from(tables.cases).where(*self.where(query))
            found = select(c.id).where(*self.where(query)).limit(bindparam(_AT_MOST)).subquery()
            return select(func.count()).select_from(found)

        key = ("count", at_most is None, *_shape_of(query), self._search_shape(query))
        stmt = self._kept(key, build)
        if at_most is not None:
            params[_AT_MOST] = at_most + 1
        return int(self.connection.scalar(stmt, params) or 0)

    def _kept(self, key: Any, build: Callable[[], Select[Any]]) -> Select[Any]:
        """The statement ``build`` makes for ``key`` and the actor, built once per kit.

        A statement depends on nothing but the actor and ``key`` (the
        organization roles and users' organizations it reads never change)
        besides the values it is run with (:meth:`_params`); kept, it skips
        building and SQLAlchemy's hashing of it for its compiled form, most
        of a page's Python time. A search's is kept without its text: its
        matches, or the values of its conditions when they were too many to
        list, are bound (:meth:`_search_shape`).
        """
        full_key = (key, self.actor)
        try:
            stmt = self._statements.get(full_key)
        except TypeError:  # a query built by hand with a list for a value
            return build()
        if stmt is None:
            stmt = build()
            if len(self._statements) >= MAX_STATEMENTS:
                self._statements.clear()
            self._statements[full_key] = stmt
        return stmt

    def _params(self, query: ListQuery) -> dict[str, Any] | None:
        """The values to run a (kept) statement of ``query`` with: the search's
        matches among them, read first. None when the search matches nothing
        (there is nothing to run)."""
        params = self._row_params()
        params[due.NOW] = self.now
        if self._windowed(query):
            params[_WINDOW] = months_before(self.now, self.window_months)
        if any(f.field in CLOCK_FIELDS for f in query.filters):
            params[NOW] = self.now  # a breach of a running clock is a matter of when
        if query.search:
            hits = self._matches(query.search)
            if not hits and not self._too_many:
                return None
            if not self._too_many:
                params[_HITS] = hits
            else:
                params.update(search.params(query.search, self._search_org()))
                params.update(self._words or {})
        return params

    def _search_shape(self, query: ListQuery) -> tuple[Any, ...] | None:
        """What the search clause of ``query`` is built from, besides the values
        :meth:`_params` gave (read after it): listed matches, or too many, found
        how, with what identifiers' statement."""
        if not query.search or not self._too_many:
            return None
        shape = search.shape(query.search, self._search_org())
        return (self._walk, self._words is not None, *shape)

    def view_counts(self) -> dict[str, int]:
        """Every built-in view's count: the windowed views in one pass, then All
        Cases and Due Soon.

        The same conditions as :meth:`count` for each view, summed side by
        side over the actor's cases in the window, so the database reads them
        once instead of once per view.
        """
        windowed = [v for v in BuiltinView if v not in UNWINDOWED]
        sums = [
            func.coalesce(func.sum(case((self.view_clause(v), 1), else_=0)), 0).label(v.value)
            for v in windowed
        ]
        conditions = [self.tenant_clause()]
        if self.window_months > 0:
            conditions.append(self._window())
        row = self.connection.execute(
            select(*sums).select_from(tables.cases).where(*conditions)
        ).one()
        result = {v.value: int(getattr(row, v.value)) for v in windowed}
        counts = {v.value: result.get(v.value, 0) for v in BuiltinView}
        for view in UNWINDOWED:
            counts[view.value] = self.count(ListQuery(view=view))
        return counts

    def page(self, query: ListQuery, *, limit: int = 50, cursor: str | None = None) -> Page:
        if not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["between 1 and 500"]})
        params: dict[str, Any] | None = None
        if query.sort.field == RELEVANCE:
            if query.search:
                params = self._params(query)
                if params is None:
                    return Page((), None)
                if not self._too_many:
                    return self._relevance_page(query, params, limit, cursor)
            # No search, or too many matches to order: the view's own order.
            query = evolve(query, sort=default_sort(query.view))
        sort = query.sort
        kind = self._sort_kind(sort.field)
        after = _decode(cursor, sort.field, kind) if cursor is not None else None
        if params is None:
            params = self._params(query)
        if params is None:
            return Page((), None)
        # A cursor past the rows with no value reads on in another shape.
        shape = None if after is None else after[0] is None
        stmt = self._kept(
            ("page", *_shape_of(query), limit, shape, kind, self._search_shape(query)),
            lambda: self._page_select(query, limit, shape, kind),
        )
        if after is not None:
            params[_AFTER_VALUE], params[_AFTER_ID] = after
        self._without_parallel_workers()
        found = self.connection.execute(stmt, params).all()
        more = len(found) > limit
        found = found[:limit]
        next_cursor = None
        if more and found:
            last = found[-1]
            next_cursor = _encode(last.sort_value, last.id, sort.field)
        rows = self._with_fields(self._with_tags(found), query.columns)
        if query.search:
            rows = self.with_snippets(rows, query.search)
        return Page(rows, next_cursor)

    def field_columns(self) -> dict[str, field_columns.FieldColumn]:
        """The custom fields the actor reads as list columns, archived ones too (read once)."""
        if self._field_columns is None:
            self._field_columns = field_columns.field_columns(
                self.connection, self.actor, archived=True
            )
        return self._field_columns

    def _sort_kind(self, sort_field: str) -> FieldKind | None:
        """The kind of the custom field a sort names (None: a sort of the case's own)."""
        if not field_columns.is_field_column(sort_field):
            return None
        found = self.field_columns().get(sort_field)
        if found is None or not found.sortable:
            raise InvalidInput(
                {"sort.field": [f"{sort_field}: not a custom field you may sort the list by"]}
            )
        return found.kind

    def _with_fields(
        self, rows: tuple[CaseRow, ...], columns: Sequence[str] | None
    ) -> tuple[CaseRow, ...]:
        """``rows`` with the values of the field columns among ``columns``: one statement
        for the page."""
        names = set(field_columns.field_names(columns or ()))
        if not names or not rows:
            return rows
        keys = {name.rpartition(".")[2] for name in names}
        found = values_of(
            self.connection,
            self.actor,
            [(r.id, r.shipper_org_id, r.carrier_org_id) for r in rows],
            keys=keys,
        )
        return tuple(
            evolve(r, fields=tuple(fv for fv in found.get(r.id, ()) if fv.name in names))
            if r.id in found
            else r
            for r in rows
        )

    def _with_tags(self, found: Sequence[Any]) -> tuple[CaseRow, ...]:
        """The list rows of ``found`` with the tags their reader reads: each row holds
        its tags' ids, whose names and colours one statement reads, only when a row
        of the page has any."""
        rows = [self._row(r) for r in found]
        ids = {r.id: r.tag_ids for r in found if r.tag_ids}
        if not ids:
            return tuple(rows)
        wanted = {int(i) for text in ids.values() for i in text.split(",")}
        refs = tag_refs(self.connection, wanted)
        return tuple(
            evolve(row, tags=in_order(refs, ids[row.id])) if row.id in ids else row for row in rows
        )

    def _page_select(
        self,
        query: ListQuery,
        limit: int,
        after_none: bool | None,
        kind: FieldKind | None = None,
    ) -> Select[Any]:
        """One statement: the page's ids in order, then their rows by primary key.

        ``after_none`` is None on a first page; after a cursor, whether the
        cursor's sort value is None. The cursor's position is the bound
        parameters ``after_value`` and ``after_id``. ``kind`` is that of the custom
        field the list is sorted by (``cf:<name>``), if it is.
        """
        sort = query.sort
        if kind is not None:
            name = sort.field[len(field_columns.PREFIX) :]
            column = field_columns.sort_column(self.actor, name, kind)
        elif sort.field in _SORTS_PER_SIDE:
            column = date_column(sort.field, self.actor, self.role())
        else:
            column = SORT_FIELDS[sort.field]()
        # Every case of the "Due soon" view is due: its order is the side's
        # index's, (organization,) due time.
        nullable = kind is not None or (
            sort.field in NULLABLE_SORTS
            and not (sort.field == "due_at" and query.view is BuiltinView.DUE_SOON)
        )
        stmt = select(c.id, column.label("sort_value")).select_from(tables.cases)
        stmt = stmt.where(*self.where(query))
        if after_none is not None:
            after = _after(column, after_none, descending=sort.descending, nullable=nullable)
            stmt = stmt.where(after)
        chosen = stmt.order_by(*_order(column, c.id, sort.descending, nullable))
        chosen_page = chosen.limit(limit + 1).subquery("page")
        return self._rows_select(chosen_page).order_by(
            *_order(chosen_page.c.sort_value, chosen_page.c.id, sort.descending, nullable)
        )

    def _without_parallel_workers(self) -> None:
        """On PostgreSQL, plan this transaction's pages without parallel workers.

        A page stops at its first rows, usually after a few thousand index
        entries: starting workers costs more than they save (at a million
        cases, 45 ms against 13 ms for a contains filter on a busy two-core
        machine). ``SET LOCAL`` ends with the transaction (or the unit of work,
        when its session is shared: :func:`casekit.store.uow.set_local`).
        """
        if self._serial or self.connection.dialect.name != "postgresql":
            return
        uow.set_local(self.session, "max_parallel_workers_per_gather", "0")
        self._serial = True

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
        stmt = self._rows_select().where(c.id.in_(ids))
        found = {r.id: r for r in self.connection.execute(stmt, self._row_params())}
        return list(self._with_tags([found[case_id] for case_id in ids]))

    def _rows_select(self, page: Any = None) -> Select[Any]:
        """The list columns of cases: with their owners' and account's names, the
        actor's CRM number and the latest message it may read; of the cases of
        ``page`` (a subquery of ids and sort values) when given.

        The columns are built once per kind of actor (:func:`_row_columns`),
        with the actor's organization as the bound parameter ``row_org``
        (:meth:`_row_params`), so a page only adds its own subquery.
        """
        actor = self.actor
        columns = _row_columns(actor.is_customer, actor.is_unrestricted, actor.org_id is None)
        stmt = select(*columns, *([page.c.sort_value] if page is not None else []))
        return (
            stmt.select_from(
                tables.cases if page is None else page.join(tables.cases, c.id == page.c.id)
            )
            .outerjoin(tables.shipments, s.id == c.shipment_id)
            .outerjoin(tables.orders, o.id == c.order_id)
        )

    def _row_params(self) -> dict[str, Any]:
        """The values of :meth:`_rows_select`'s bound parameters."""
        return {_ROW_ORG: self.actor.org_id}

    def _row(self, r: Any) -> CaseRow:
        # By position, in the order of _row_columns: a Row's attributes cost
        # about a microsecond each, and a page reads 27 of them for 50 rows.
        (
            case_id, number, status, type_, source, subject, created_at, updated_at,
            solved_at, latest_message_at, shipper_org_id, carrier_org_id,
            shipper_owner_id, carrier_owner_id,
            brand, tracking_number, bol_number, po_number, reference_number, ra_number,
            order_number, excerpt, shipper_owner_name, carrier_owner_name, account_name,
            own_crm_number, customer_latest_at, carrier_latest_at, carrier_status,
            carrier_updated_at, carrier_solved_at, version,
            shipper_due_at, shipper_warn_at, carrier_due_at, carrier_warn_at, due_time_zone,
            priority, _tag_ids,
        ) = tuple(r)[:_ROW_WIDTH]  # fmt: skip
        due_at, warn_at = due.row_due(
            self.actor,
            carrier_org_id,
            (shipper_due_at, shipper_warn_at),
            (carrier_due_at, carrier_warn_at),
        )
        if self.actor.org_id is not None and self.actor.org_id == carrier_org_id:
            # The carrier's: what it reads, not the shipper's talk with its customer.
            status, updated_at = carrier_status, carrier_updated_at
            solved_at = carrier_solved_at
            latest_message_at = carrier_latest_at
        if self.actor.is_customer:
            owners: tuple[str, ...] = ()
            latest_message_at = customer_latest_at
            shipper_owner_id = carrier_owner_id = None
        else:
            owners = tuple(
                name
                for uid, name in (
                    (shipper_owner_id, shipper_owner_name),
                    (carrier_owner_id, carrier_owner_name),
                )
                if uid is not None
            )
        body = excerpt or None
        if body is not None and len(body) > EXCERPT:
            body = body[: EXCERPT - 1].rstrip() + "…"
        return CaseRow(
            id=case_id,
            number=number,
            status=status,
            type=type_,
            source=source,
            subject=subject,
            created_at=created_at,
            updated_at=updated_at,
            solved_at=solved_at,
            latest_message_at=latest_message_at,
            latest_message_excerpt=body,
            shipper_org_id=shipper_org_id,
            carrier_org_id=carrier_org_id,
            shipper_owner_id=shipper_owner_id,
            carrier_owner_id=carrier_owner_id,
            owners=owners,
            account=account_name,
            brand=brand,
            tracking_number=tracking_number,
            bol_number=bol_number,
            po_number=po_number,
            reference_number=reference_number,
            ra_number=ra_number,
            order_number=order_number,
            crm_number=own_crm_number,
            version=version,
            due_at=due_at,
            due_state=due.reads(due_at, warn_at, self.now),
            due_time_zone=due_time_zone if due_at is not None else None,
            priority=priority,
        )


def _shape_of(query: ListQuery) -> tuple[ListQuery, bool]:
    """What a kept statement of ``query`` is built from: the query but its search
    text (its matches are bound), and whether it searches. The columns shown
    change no statement of the page's."""
    if query.columns is not None:
        query = evolve(query, columns=None)
    if not query.search:
        return query, False
    return evolve(query, search=None), True


_ROW_ORG = "row_org"


@functools.cache
def _row_columns(customer: bool, unrestricted: bool, no_org: bool) -> tuple[Any, ...]:
    """The list row's columns for a kind of actor; its organization is ``:row_org``.

    The excerpt is the latest message the actor may read
    (:func:`~casekit.query.scoped.entry_visibility`).
    """
    org = bindparam(_ROW_ORG, type_=tables.cases.c.shipper_org_id.type)
    carrier: Any = False if no_org else c.carrier_org_id == org
    visible = entry_visibility(customer, unrestricted, None if no_org else org, carrier)
    excerpt = (
        select(e.body)
        .where(e.case_id == c.id, e.kind == EntryKind.MESSAGE.value, visible)
        .order_by(e.id.desc())
        .limit(1)
        .correlate(tables.cases)
        .scalar_subquery()
    )
    u, g, n = tables.users.c, tables.organizations.c, tables.crm_numbers.c
    # The account is the other party: the carrier for the shipper, else the shipper.
    account_id: Any = c.shipper_org_id
    if not no_org:
        account_id = case((c.shipper_org_id == org, c.carrier_org_id), else_=c.shipper_org_id)

    def one(column: Any, *where: Any) -> Any:
        # A scalar subquery, not a join: planning a join of every lookup
        # costs the database more than running the whole page.
        return select(column).where(*where).correlate(tables.cases).scalar_subquery()

    # A customer's latest message date is that of the latest one meant for them.
    customer_latest: Any = null()
    if customer:
        customer_latest = (
            select(func.max(e.created_at))
            .where(e.case_id == c.id, e.kind == EntryKind.MESSAGE.value, visible)
            .correlate(tables.cases)
            .scalar_subquery()
        )
    own_crm: Any = null()
    if not customer and not no_org:
        own_crm = one(n.number, n.case_id == c.id, n.org_id == org)
    # What the list shows the due time in (casekit.query.due).
    due_zone: Any = null() if customer else due.zone_column(org, host=no_org)
    # The ids of the reader's organization's tags on the case (the host: the shipper's).
    tag_ids: Any = null() if customer else own_tag_ids(c.shipper_org_id if no_org else org)
    return (
        *(c[name] for name in _ROW_CASE_COLUMNS),
        s.brand,
        s.tracking_number,
        s.bol_number,
        s.po_number,
        s.reference_number,
        s.ra_number,
        func.coalesce(o.number, s.order_number).label("order_number"),
        excerpt.label("excerpt"),
        one(u.name, u.id == c.shipper_owner_id).label("shipper_owner_name"),
        one(u.name, u.id == c.carrier_owner_id).label("carrier_owner_name"),
        one(g.name, g.id == account_id).label("account_name"),
        own_crm.label("own_crm_number"),
        customer_latest.label("customer_latest_at"),
        c.carrier_latest_message_at,
        c.carrier_status,
        c.carrier_updated_at,
        c.carrier_solved_at,
        c.version,
        c.shipper_due_at,
        c.shipper_warn_at,
        c.carrier_due_at,
        c.carrier_warn_at,
        due_zone.label("due_time_zone"),
        c.priority,
        tag_ids.label("tag_ids"),
    )


#: The number of :func:`_row_columns` (what :meth:`Lister._row` unpacks).
_ROW_WIDTH = len(_row_columns(False, False, False))


#: The sorts on a date each side keeps for itself.
_SORTS_PER_SIDE = frozenset({"latest_message_at", "updated_at", "closed_at", "due_at"})


def _order(column: Any, id_column: Any, descending: bool, nullable: bool) -> list[Any]:
    """The list order: (no value last,) the column, then the id, one direction."""
    order: list[Any] = [column.is_(None)] if nullable else []
    if descending:
        return [*order, column.desc(), id_column.desc()]
    return [*order, column.asc(), id_column.asc()]


def _after(column: Any, value_none: bool, *, descending: bool, nullable: bool) -> Any:
    """Rows after the cursor in the order (no value last, column, id).

    The cursor's sort value and id are the bound parameters ``after_value``
    and ``after_id``; ``value_none`` tells whether its value is None.
    """
    last_id = bindparam(_AFTER_ID, type_=c.id.type)
    beyond = operator.lt if descending else operator.gt
    if value_none:
        # Rows with no value come last; only those after the last id remain.
        return and_(column.is_(None), beyond(c.id, last_id))
    value = bindparam(_AFTER_VALUE, type_=column.type)
    later = or_(beyond(column, value), and_(column == value, beyond(c.id, last_id)))
    if nullable:
        return or_(and_(column.is_not(None), later), column.is_(None))
    return later


def _encode(value: Any, last_id: int, field_name: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        raw: Any = value.isoformat()
    elif isinstance(value, date):
        raw = value.isoformat()
    else:
        raw = value
    payload = json.dumps([field_name, raw, last_id]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode(cursor: str, sort_field: str, kind: FieldKind | None = None) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        field_name, raw, last_id = load_json(base64.urlsafe_b64decode(padded), field="cursor")
        if field_name != sort_field or not isinstance(last_id, int):
            raise ValueError(field_name)
        value = raw
        if kind is not None:
            return _field_value(kind, raw), last_id
        if field_name == RELEVANCE:
            if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
                raise ValueError(raw)
        elif raw is not None and field_name == "priority":
            value = Priority(raw)
        elif raw is not None and field_name != "number":
            value = datetime.fromisoformat(raw)
        return value, last_id
    except (ValueError, TypeError):  # InvalidInput is a ValueError too
        raise InvalidInput({"cursor": ["not a cursor this list gave out"]}) from None


def _field_value(kind: FieldKind, raw: Any) -> Any:
    """A cursor's value of a custom field sort, as its column holds it."""
    if raw is None:
        return None
    values = kind_of_values(kind)
    if values == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(raw)
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError(raw)
    return date.fromisoformat(raw) if values == "date" else raw
