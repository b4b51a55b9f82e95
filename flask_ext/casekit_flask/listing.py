"""The Case Management page's form: request arguments to a list query and back.

The page's filters are plain GET arguments, so a list is a URL that can be
bookmarked, shared and paged. Each filterable field of the core's filter
language (:mod:`casekit.query.filters`) has one form:

- choice fields: the argument repeated once per value (``status=new&status=open``);
  free-valued ones (brand, region, customer segment) also take commas;
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

from typing import Any

from werkzeug.datastructures import MultiDict

from casekit.query.filters import FIELDS, OPERATORS, SORT_FIELDS, Kind
from casekit.query.listing import BuiltinView

QUICK_FIELDS = ("status", "type", "owner", "brand")
MORE_FIELDS = tuple(name for name in FIELDS if name not in QUICK_FIELDS)
SORT_LABELS = {
    "created_at": "Created date",
    "updated_at": "Last updated",
    "latest_message_at": "Latest message",
    "closed_at": "Solved date",
    "number": "Case number",
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
            values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
            if spec.choices is not None or spec.ids or name == "type":
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
        if op == "empty":
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
    if sort and (sort.get("field"), sort.get("direction")) != ("created_at", "desc"):
        args["sort"] = sort["field"]
        args["dir"] = sort.get("direction", "desc")
    if query.get("search"):
        args["q"] = str(query["search"])
    return args


def _when(text: str) -> str:
    """A date-range end as an argument: the date alone when it is UTC midnight."""
    if len(text) == 10 or text[10:] in ("T00:00:00+00:00", "T00:00:00Z"):
        return text[:10]
    return text


def sort_fields() -> tuple[str, ...]:
    return tuple(SORT_FIELDS)
