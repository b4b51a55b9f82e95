"""The Case Management page's engine: views, filters, search, counts, exports, saved views."""

from __future__ import annotations

import builtins
import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from attrs import evolve
from marshmallow import ValidationError
from sqlalchemy import delete, insert, or_, select, update

from casekit import csvsafe
from casekit.domain.actor import Actor
from casekit.domain.views import SavedView
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.field_columns import FieldColumn, field_columns, is_field_column
from casekit.query.known import known_values
from casekit.query.listing import (
    COLUMNS,
    DEFAULT_COLUMNS,
    PAGE_COLUMNS,
    SEARCH_COUNT,
    BuiltinView,
    CaseRow,
    Lister,
    ListQuery,
    Page,
)
from casekit.schemas.views import ListQuerySchema, dump_query
from casekit.services.base import Service
from casekit.store import tables
from casekit.store.uow import UnitOfWork

QueryLike = ListQuery | Mapping[str, Any] | None
MAX_SAVED_VIEWS = 200
#: Holds no state between loads, so one instance serves every call.
_QUERY_SCHEMA = ListQuerySchema()


def parse_query(query: QueryLike) -> ListQuery:
    """A :class:`ListQuery` from its JSON form (or itself); InvalidInput names bad fields."""
    if isinstance(query, ListQuery):
        return query
    try:
        loaded: ListQuery = _QUERY_SCHEMA.load(dict(query or {}))
    except ValidationError as error:
        raise InvalidInput(_flatten(error.messages)) from None
    return loaded


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"filters.0.op": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                out[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
    else:
        out[prefix or "query"] = [str(messages)]
    return out


class ViewService(Service):
    """Lists, counts, searches and exports cases; keeps saved views. Reach it as ``kit.views``."""

    def _lister(self, uow: UnitOfWork, actor: Actor) -> Lister:
        # Organization roles and users' organizations never change: the
        # listers of this kit share them, and the statements built from them.
        return Lister(
            uow.session,
            actor,
            now=self._now(),
            window_months=self.kit.settings.view_window_months,
            roles=self.__dict__.setdefault("_org_roles", {}),
            user_orgs=self.__dict__.setdefault("_user_orgs", {}),
            statements=self.__dict__.setdefault("_statements", {}),
            search_language=self.kit.settings.search_language,
        )

    # -- listing -------------------------------------------------------------------
    def list(
        self, actor: Actor, query: QueryLike = None, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """One page of the cases ``query`` selects for ``actor``; pass ``next_cursor`` on."""
        parsed = parse_query(query)
        with self._uow(write=False, replica=True) as uow:
            lister = self._lister(uow, actor)
            _check_columns(lister, parsed.columns)
            return lister.page(parsed, limit=limit, cursor=cursor)

    def count(self, actor: Actor, query: QueryLike = None, *, at_most: int | None = None) -> int:
        """How many cases ``query`` lists for ``actor``.

        With ``at_most``, counting stops past it: a result above ``at_most``
        means "more than ``at_most``". Give it for a query with a search: a
        search of words common in the cases (most of them hold "pallet")
        asks each of the actor's cases in turn, and only a bound keeps its
        count as quick as its first page.
        """
        parsed = parse_query(query)
        with self._uow(write=False, replica=True) as uow:
            return self._lister(uow, actor).count(parsed, at_most=at_most)

    def counts(self, actor: Actor) -> dict[str, int]:
        """Badge counts: each built-in view, then each saved view the actor can use by id.

        A saved view with a search is counted up to
        ``casekit.query.listing.SEARCH_COUNT`` (500): a count above it
        means more (see :meth:`count`).
        """
        with self._uow(write=False, replica=True) as uow:
            lister = self._lister(uow, actor)
            result = lister.view_counts()
            for saved in self._usable(uow, actor):
                parsed = parse_query(json.loads(saved.definition))
                result[f"saved:{saved.id}"] = lister.count(
                    parsed, at_most=SEARCH_COUNT if parsed.search else None
                )
            return result

    def search(self, actor: Actor, text: str, *, limit: int = 50) -> Page:
        """Cases any of whose identifiers starts with ``text``, or whose texts the actor
        reads hold its words, across all cases the actor sees."""
        if not text.strip():
            raise InvalidInput({"search": ["type an identifier or words"]})
        return self.list(actor, ListQuery(view=BuiltinView.ALL_CASES, search=text), limit=limit)

    def export_csv(self, actor: Actor, query: QueryLike = None) -> Iterator[str]:
        """The whole list as CSV, streamed a chunk at a time, with the same scoping.

        The query's ``columns`` (else every built-in column) in that order; a
        custom field's column (``cf:<name>``) only of a field the actor reads,
        its values as the list shows them (a date as YYYY-MM-DD, a multi-choice
        field's choices joined by ", ").
        """
        parsed = parse_query(query)
        columns = parsed.columns or DEFAULT_COLUMNS
        parsed = evolve(parsed, columns=columns)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        with self._uow(write=False, replica=True) as uow:
            lister = self._lister(uow, actor)
            _check_columns(lister, columns)
            writer.writerow([csvsafe.cell(column) for column in columns])
            rows = lister.iterate(parsed)
            for count, row in enumerate(rows, 1):
                writer.writerow([_cell(row, column) for column in columns])
                if count % 200 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    # -- saved views -----------------------------------------------------------------
    def saved(self, actor: Actor) -> builtins.list[SavedView]:
        """The actor's own saved views and those shared in their organization, by name."""
        with self._uow(write=False, replica=True) as uow:
            return self._usable(uow, actor)

    def save(self, actor: Actor, name: str, query: QueryLike, *, shared: bool = False) -> SavedView:
        """Save ``query`` under ``name`` for the acting user (shared with their org or not)."""
        user_id, org_id = _user(actor)
        clean = _name(name)
        definition = json.dumps(dump_query(parse_query(query)))
        now = self._now()
        with self._uow() as uow:
            mine = self._owned(uow, user_id)
            if any(v.name == clean for v in mine):
                raise InvalidInput({"name": [f"you already have a view named {clean!r}"]})
            if len(mine) >= MAX_SAVED_VIEWS:
                raise InvalidInput({"name": [f"at most {MAX_SAVED_VIEWS} saved views"]})
            view = SavedView(
                org_id=org_id,
                user_id=user_id,
                name=clean,
                definition=definition,
                created_at=now,
                updated_at=now,
                shared=shared,
            )
            uow.session.add(view)
            uow.commit()
            return view

    def update(
        self,
        actor: Actor,
        view_id: int,
        *,
        name: str | None = None,
        query: QueryLike = None,
        shared: bool | None = None,
    ) -> SavedView:
        """Rename, redefine or (un)share one of the actor's own saved views."""
        user_id, _org = _user(actor)
        with self._uow() as uow:
            view = self._own(uow, actor, view_id)
            if name is not None:
                clean = _name(name)
                if clean != view.name and any(v.name == clean for v in self._owned(uow, user_id)):
                    raise InvalidInput({"name": [f"you already have a view named {clean!r}"]})
                view.name = clean
            if query is not None:
                view.definition = json.dumps(dump_query(parse_query(query)))
            if shared is not None:
                view.shared = shared
            view.updated_at = self._now()
            uow.commit()
            return view

    def delete(self, actor: Actor, view_id: int) -> None:
        with self._uow() as uow:
            view = self._own(uow, actor, view_id)
            # Everyone's columns for it go with it (a shared view has several users').
            choices = tables.column_choices
            uow.session.execute(delete(choices).where(choices.c.view == _view_key(view_id)))
            uow.session.delete(view)
            uow.commit()

    # -- columns ---------------------------------------------------------------------
    def columns(
        self, actor: Actor, *, saved: int | None = None, view: str | None = None
    ) -> tuple[str, ...]:
        """The list columns the acting user chose, for the built-in views or one saved view.

        A saved view without a choice of its own shows the columns saved
        with it, else the user's columns of the built-in views; without any
        choice, ``PAGE_COLUMNS`` (``casekit.query.listing``). The built-in
        ``view`` ``due_soon`` always shows the ``due`` column (after the
        status, or the number).
        """
        chosen = self._columns(actor, saved=saved)
        if saved is None and view == BuiltinView.DUE_SOON.value and "due" not in chosen:
            after = chosen.index("status") + 1 if "status" in chosen else 1
            chosen = (*chosen[:after], "due", *chosen[after:])
        return chosen

    def field_columns(self, actor: Actor) -> builtins.list[FieldColumn]:
        """The custom fields ``actor`` may show as list columns and filter by, in use: its
        organization's own, then the other party's shared ones (``casekit.query.field_columns``)."""
        with self._uow(write=False, replica=True) as uow:
            found = field_columns(uow.session.connection(), actor)
        return builtins.list(found.values())

    def _columns(self, actor: Actor, *, saved: int | None) -> tuple[str, ...]:
        user_id, _org = _user(actor)
        with self._uow(write=False, replica=True) as uow:
            chosen = self._chosen_columns(uow, actor, user_id, saved)
            if not any(is_field_column(name) for name in chosen):
                return chosen
            # Only the fields the user reads now: a field made private is no column.
            readable = field_columns(uow.session.connection(), actor, archived=True)
        kept = tuple(n for n in chosen if not is_field_column(n) or n in readable)
        return kept or PAGE_COLUMNS

    def _chosen_columns(
        self, uow: UnitOfWork, actor: Actor, user_id: int, saved: int | None
    ) -> tuple[str, ...]:
        keys = [_view_key(None)]
        fallback: tuple[str, ...] | None = None
        if saved is not None:
            for view in self._usable(uow, actor):
                if view.id == saved:
                    fallback = parse_query(json.loads(view.definition)).columns
                    break
            else:
                raise NotFound("saved view", saved)
            keys.insert(0, _view_key(saved))
        t = tables.column_choices.c
        rows = uow.session.execute(
            select(t.view, t.columns).where(t.user_id == user_id, t.view.in_(keys))
        )
        found: dict[str, str] = {str(row[0]): str(row[1]) for row in rows}
        if saved is not None and _view_key(saved) in found:
            return _known_columns(found[_view_key(saved)])
        if fallback:
            return fallback
        if _view_key(None) in found:
            return _known_columns(found[_view_key(None)])
        return PAGE_COLUMNS

    def set_columns(
        self, actor: Actor, columns: Sequence[str] | None, *, saved: int | None = None
    ) -> tuple[str, ...]:
        """Keep the acting user's list columns (in this order) for the built-in
        views or one saved view they may use; None goes back to the default.

        The case number is always shown: it is added first when missing.
        """
        user_id, _org = _user(actor)
        chosen = None
        if columns is not None:
            with self._uow(write=False) as uow:
                readable = field_columns(uow.session.connection(), actor, archived=True)
            chosen = _valid_columns(columns, readable)
        key = _view_key(saved)
        now = self._now()
        with self._uow() as uow:
            if saved is not None and not any(v.id == saved for v in self._usable(uow, actor)):
                raise NotFound("saved view", saved)
            choices = tables.column_choices
            where = (choices.c.user_id == user_id, choices.c.view == key)
            if chosen is None:
                uow.session.execute(delete(choices).where(*where))
            else:
                text = json.dumps(list(chosen))
                changed = uow.session.execute(
                    update(choices).where(*where).values(columns=text, updated_at=now)
                )
                if not getattr(changed, "rowcount", 0):
                    uow.session.execute(
                        insert(choices).values(
                            user_id=user_id, view=key, columns=text, updated_at=now
                        )
                    )
            uow.commit()
        return chosen if chosen is not None else self._columns(actor, saved=saved)

    # -- known values ----------------------------------------------------------------
    def known_values(self, actor: Actor, field: str) -> builtins.list[str]:
        """The values of ``field`` (brand, customer_segment or region) found on the
        cases the actor may see, sorted: the choices its filter offers."""
        with self._uow(write=False, replica=True) as uow:
            return builtins.list(known_values(self._lister(uow, actor), field))

    def query_of(self, actor: Actor, view_id: int) -> ListQuery:
        """The query a saved view stands for, if the actor may use it."""
        with self._uow(write=False, replica=True) as uow:
            for view in self._usable(uow, actor):
                if view.id == view_id:
                    return parse_query(json.loads(view.definition))
        raise NotFound("saved view", view_id)

    def _usable(self, uow: UnitOfWork, actor: Actor) -> builtins.list[SavedView]:
        if actor.user_id is None or actor.org_id is None:
            return []
        v = tables.saved_views.c
        stmt = (
            select(SavedView)
            .where(v.org_id == actor.org_id, or_(v.user_id == actor.user_id, v.shared.is_(True)))
            .order_by(v.name, v.id)
        )
        return list(uow.session.scalars(stmt))

    def _owned(self, uow: UnitOfWork, user_id: int) -> builtins.list[SavedView]:
        v = tables.saved_views.c
        return list(uow.session.scalars(select(SavedView).where(v.user_id == user_id)))

    def _own(self, uow: UnitOfWork, actor: Actor, view_id: int) -> SavedView:
        view = uow.session.get(SavedView, view_id)
        if (
            view is None
            or view.org_id != actor.org_id
            or not (view.user_id == actor.user_id or view.shared)
        ):
            raise NotFound("saved view", view_id)
        if view.user_id != actor.user_id:
            raise PermissionDenied("only its owner may change a shared view")
        return view


def _user(actor: Actor) -> tuple[int, int]:
    if not actor.is_user or actor.user_id is None or actor.org_id is None:
        raise PermissionDenied("saved views belong to users")
    return actor.user_id, actor.org_id


def _view_key(saved: int | None) -> str:
    return "" if saved is None else f"saved:{saved}"


def _valid_columns(columns: Sequence[str], readable: Mapping[str, Any]) -> tuple[str, ...]:
    """``columns`` checked: built-in columns, and the custom fields of ``readable``."""
    if isinstance(columns, str):
        raise InvalidInput({"columns": ["a list of column names"]})
    unknown = [str(name) for name in columns if name not in COLUMNS and name not in readable]
    if unknown:
        raise InvalidInput(
            {
                "columns": [
                    f"unknown column {name!r}; one of {', '.join(COLUMNS)} "
                    "or cf:<a custom field you read>"
                    for name in unknown
                ]
            }
        )
    chosen = tuple(dict.fromkeys(columns))
    if "number" not in chosen:
        chosen = ("number", *chosen)
    return chosen


def _known_columns(text: str) -> tuple[str, ...]:
    """A kept choice, without any column a later version no longer has (custom fields'
    columns are checked against the fields the user reads by :meth:`ViewService._columns`)."""
    kept = tuple(name for name in json.loads(text) if name in COLUMNS or is_field_column(name))
    return kept or PAGE_COLUMNS


def _check_columns(lister: Lister, columns: Sequence[str] | None) -> None:
    """Refuse a custom field's column the actor does not read, like one no field has."""
    wanted = [name for name in columns or () if is_field_column(name)]
    if not wanted:
        return
    readable = lister.field_columns()
    unknown = [name for name in wanted if name not in readable]
    if unknown:
        raise InvalidInput(
            {"columns": [f"unknown column {name!r}: no custom field you read" for name in unknown]}
        )


def _name(name: str) -> str:
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= 100:
        raise InvalidInput({"name": ["1 to 100 characters"]})
    return clean


def _cell(row: CaseRow, column: str) -> str:
    value = row.cell(column)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(csvsafe.cell(value))
