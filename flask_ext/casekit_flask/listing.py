"""The Case Management page's form: request arguments to a list query and back.

The page's filters are plain GET arguments, so a list is a URL that can be
bookmarked, shared and paged. Each filterable field of the core's filter
language (:mod:`casekit.query.filters`) has one form:

- choice fields: the argument repeated once per value (``status=new&status=open``),
  free-valued ones (brand, region, customer segment) too: a brand may hold a comma;
- text and postal-code fields: ``<field>`` and its operator ``<field>_op``;
- dates: ``<field>_from`` and ``<field>_to`` (``YYYY-MM-DD``, the end excluded);
- the latest message: ``latest_message=posted_by:me`` (or ``not_posted_by``,
  ``my_organization``);
- "has no value" (a choice or date field's ``empty``): ``<field>_op=empty``.

Dates written by :func:`args_from_query` keep their time when it is not UTC
midnight (``2026-03-08T05:00:00+00:00``): a dashboard's drill-down lists the
cases of the viewer's own days.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from attrs import frozen
from werkzeug.datastructures import MultiDict

from casekit.query.filters import FIELDS, OPERATORS, RELEVANCE, SORT_FIELDS, Kind
from casekit.query.known import KNOWN_FIELDS
from casekit.query.listing import BuiltinView, default_sort

QUICK_FIELDS = ("status", "type", "owner", "brand")
MORE_FIELDS = tuple(name for name in FIELDS if name not in QUICK_FIELDS)
SORT_LABELS = {
    "created_at": "Created date",
    "updated_at": "Last updated",
    "latest_message_at": "Latest message",
    "closed_at": "Solved date",
    "number": "Case number",
    "due_at": "Due",
    "priority": "Priority",
    RELEVANCE: "Best match",
}
#: The columns whose header sorts the list, and the sort each sets.
SORTABLE = {
    "number": "number",
    "created_at": "created_at",
    "latest_message_at": "latest_message_at",
    "due": "due_at",
    "priority": "priority",
}
#: The direction a header sorts in first: newest first, but the soonest due first.
FIRST_DIRECTION = {"due_at": "asc"}
#: Arguments that are no filter: the view, the page, the sort.
NOT_FILTERS = frozenset({"view", "cursor", "sort", "dir", "saved"})
LATEST_LABELS = {
    "posted_by:me": "posted by me",
    "not_posted_by:me": "not posted by me",
    "posted_by:my_organization": "posted by my organization",
    "not_posted_by:my_organization": "not posted by my organization",
}
OP_LABELS = {
    "in": "is",
    "not_in": "is not",
    "is": "is",
    "is_not": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "not_starts_with": "does not start with",
}
# The party filters: the page offers only the other party's (a shipper filters
# by carrier, a carrier by shipper); its own side is always its organization.
NO_CONTROL = frozenset({"carrier", "shipper"})


def query_from_args(args: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON form of a list query (see :mod:`casekit.schemas.views`) from GET arguments."""
    query: dict[str, Any] = {"view": args.get("view") or BuiltinView.ALL_ACTIVE.value}
    filters: list[dict[str, Any]] = []
    for name, spec in FIELDS.items():
        if spec.kind in (Kind.CHOICE, Kind.DATES) and args.get(f"{name}_op") == "empty":
            filters.append({"field": name, "op": "empty", "value": True})
        elif spec.kind is Kind.CHOICE:
            values = [v.strip() for v in args.getlist(name) if v.strip()]
            if values:
                op = args.get(f"{name}_op") or "in"
                value: Any = values
                if spec.ids:
                    value = [int(v) if v.isdigit() else v for v in values]
                filters.append({"field": name, "op": op, "value": value})
        elif spec.kind in (Kind.TEXT, Kind.PREFIX):
            text = (args.get(name) or "").strip()
            if text:
                op = (
                    args.get(f"{name}_op")
                    or OPERATORS[spec.kind][0 if spec.kind is Kind.PREFIX else 2]
                )
                filters.append({"field": name, "op": op, "value": text})
        elif spec.kind is Kind.DATES:
            start = (args.get(f"{name}_from") or "").strip() or None
            end = (args.get(f"{name}_to") or "").strip() or None
            if start or end:
                filters.append(
                    {"field": name, "op": "between", "value": {"from": start, "to": end}}
                )
        elif spec.kind is Kind.LATEST:
            raw = (args.get(name) or "").strip()
            if raw:
                op, _, who = raw.partition(":")
                filters.append({"field": name, "op": op, "value": who})
        elif spec.kind is Kind.CUSTOM:
            filters += [_custom_filter(name, raw) for raw in args.getlist(CUSTOM_ARG)]
    if filters:
        query["filters"] = filters
    sort = args.get("sort")
    if sort:
        query["sort"] = {"field": sort, "direction": args.get("dir") or "desc"}
    search = (args.get("q") or "").strip()
    if search:
        query["search"] = search
    return query


def args_from_query(query: dict[str, Any]) -> MultiDict[str, str]:
    """The GET arguments that stand for ``query`` (the inverse of :func:`query_from_args`)."""
    args: MultiDict[str, str] = MultiDict()
    args["view"] = str(query.get("view", BuiltinView.ALL_ACTIVE.value))
    for f in query.get("filters", ()):
        name, op, value = f["field"], f["op"], f["value"]
        kind = FIELDS[name].kind
        if kind is Kind.CUSTOM:
            args.add(CUSTOM_ARG, json.dumps({"op": op, **value}, sort_keys=True))
        elif op == "empty":
            args[f"{name}_op"] = "empty"
        elif kind is Kind.CHOICE:
            for v in value:
                args.add(name, str(v))
            if op != "in":
                args[f"{name}_op"] = op
        elif kind in (Kind.TEXT, Kind.PREFIX):
            args[name] = str(value)
            args[f"{name}_op"] = op
        elif kind is Kind.DATES:
            for end in ("from", "to"):
                if value.get(end):
                    args[f"{name}_{end}"] = _when(str(value[end]))
        else:
            args[name] = f"{op}:{value}"
    sort = query.get("sort")
    if sort and (sort.get("field"), sort.get("direction")) != view_sort(
        args["view"], query.get("search")
    ):
        args["sort"] = sort["field"]
        args["dir"] = sort.get("direction", "desc")
    if query.get("search"):
        args["q"] = str(query["search"])
    return args


#: A custom field filter in GET arguments: its JSON, ``{"op": ..., "name": ..., ...}``
#: (``casekit.schemas.views``), one argument a filter.
CUSTOM_ARG = "cf"


def _custom_filter(name: str, raw: str) -> dict[str, Any]:
    """The filter of one ``cf`` argument (a value the list query's schema refuses when it
    is not one, naming it)."""
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return {"field": name, "op": "in", "value": raw}
    op = value.pop("op", "in")
    return {"field": name, "op": op, "value": value}


def view_sort(view: str | None, search: object = None) -> tuple[str, str]:
    """The field and direction a built-in view sorts by when no sort is asked for (a
    search: by relevance)."""
    if search:
        return RELEVANCE, "desc"
    try:
        sort = default_sort(BuiltinView(view or BuiltinView.ALL_ACTIVE.value))
    except ValueError:  # an unknown view: the list refuses it, naming it
        sort = default_sort(BuiltinView.ALL_ACTIVE)
    return sort.field, "desc" if sort.descending else "asc"


def _when(text: str) -> str:
    """A date-range end as an argument: the date alone when it is UTC midnight."""
    if len(text) == 10 or text[10:] in ("T00:00:00+00:00", "T00:00:00Z"):
        return text[:10]
    return text


def sort_fields() -> tuple[str, ...]:
    return tuple(SORT_FIELDS)


@frozen
class Chip:
    """An active filter as the page shows it, and the list without it."""

    text: str
    remove: str  # the query string of the list without this filter


def chips(args: MultiDict[str, str], label: Callable[[str, str], str]) -> list[Chip]:
    """One chip per active filter value of ``args`` (``label(field, value)`` names a value)."""
    found: list[Chip] = []
    items = [(k, v) for k, v in args.items(multi=True) if k != "cursor"]

    def without(*pairs: tuple[str, str | None]) -> str:
        def dropped(key: str, value: str) -> bool:
            return any(key == k and (v is None or v == value) for k, v in pairs)

        return urlencode([(k, v) for k, v in items if not dropped(k, v)])

    q = (args.get("q") or "").strip()
    if q:
        found.append(Chip(f"Search: {q}", without(("q", None))))
    for name, spec in FIELDS.items():
        op = args.get(f"{name}_op") or ""
        if spec.kind in (Kind.CHOICE, Kind.DATES) and op == "empty":
            found.append(Chip(f"{spec.label}: has no value", without((f"{name}_op", None))))
        elif spec.kind is Kind.CHOICE:
            negated = op == "not_in"
            for value in dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip()):
                text = f"{spec.label}{' is not' if negated else ''}: {label(name, value)}"
                found.append(Chip(text, without((name, value))))
        elif spec.kind in (Kind.TEXT, Kind.PREFIX):
            text = (args.get(name) or "").strip()
            if text:
                words = OP_LABELS.get(
                    op or OPERATORS[spec.kind][0 if spec.kind is Kind.PREFIX else 2], op
                )
                found.append(
                    Chip(
                        f"{spec.label} {words} “{text}”",
                        without((name, None), (f"{name}_op", None)),
                    )
                )
        elif spec.kind is Kind.DATES:
            for end, words in (("from", "from"), ("to", "before")):
                value = (args.get(f"{name}_{end}") or "").strip()
                if value:
                    found.append(
                        Chip(f"{spec.label} {words} {value[:10]}", without((f"{name}_{end}", None)))
                    )
        elif spec.kind is Kind.CUSTOM:
            for raw in args.getlist(CUSTOM_ARG):
                given = _custom_filter(name, raw)
                shown = given["value"]
                what = shown.get("name", "?") if isinstance(shown, dict) else "?"
                what = label(name, str(what))  # the field's heading, when the reader reads it
                words = ("not " if given["op"] == "not_in" else "") + _custom_words(shown)
                found.append(Chip(f"Field {what}: {words}", without((CUSTOM_ARG, raw))))
        elif spec.kind is Kind.LATEST:
            raw = (args.get(name) or "").strip()
            if raw:
                found.append(
                    Chip(f"{spec.label}: {LATEST_LABELS.get(raw, raw)}", without((name, None)))
                )
    return found


def _custom_words(value: Any) -> str:
    if not isinstance(value, dict):
        return "?"
    if "values" in value:
        return ", ".join(str(v) for v in value["values"] or ())
    if "text" in value:
        return f"contains “{value['text']}”"
    if "from" in value or "to" in value:
        return f"{value.get('from') or '…'} to {value.get('to') or '…'}"
    return "has no value"


def sort_link(
    args: MultiDict[str, str], column: str, field: str | None = None
) -> tuple[str | None, str]:
    """A sortable column's ``aria-sort`` state (None when the list is not sorted by it)
    and the query string that sorts by it (the other way round when it is already).

    ``field`` is the sort the column sets (a custom field's column, ``cf:<name>``,
    sorts by itself, A to Z first); by default its entry in :data:`SORTABLE`.
    """
    field = field or SORTABLE[column]
    default_field, default_direction = view_sort(args.get("view"), args.get("q"))
    current = args.get("sort") or default_field
    direction = args.get("dir") or default_direction
    state = None
    following = "asc" if field.startswith("cf:") else FIRST_DIRECTION.get(field, "desc")
    if current == field:
        state = "descending" if direction == "desc" else "ascending"
        following = "asc" if direction == "desc" else "desc"
    kept = [(k, v) for k, v in args.items(multi=True) if k not in ("cursor", "sort", "dir")]
    return state, urlencode([*kept, ("sort", field), ("dir", following)])


def known_field(name: str) -> bool:
    """Whether the page offers ``name``'s values as choices from the known values."""
    return name in KNOWN_FIELDS
