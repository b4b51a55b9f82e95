"""The JSON form of a list query (version 1): view, filters, sort, search, columns.

::

    {
      "version": 1,
      "view": "all_active",
      "filters": [
        {"field": "destination_name", "op": "contains", "value": "smith"},
        {"field": "brand", "op": "in", "value": ["Acme Home"]},
        {"field": "created_at", "op": "between",
         "value": {"from": "2026-01-01", "to": "2026-02-01T00:00:00Z"}}
      ],
      "sort": {"field": "latest_message_at", "direction": "desc"},
      "search": "1Z999AA10123456784",
      "columns": ["number", "status", "type", "latest_message_at"]
    }

Every key is optional; without a sort, the view's own order applies
(newest first; the ``due_soon`` view soonest due first). Unknown keys,
fields, operators and values are rejected with an error that names them.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from casekit.domain.custom_fields import KEY_PATTERN
from casekit.domain.custom_fields import MAX_TEXT as MAX_CUSTOM_TEXT
from casekit.query.custom_fields import ROLES, split_name
from casekit.query.field_columns import well_formed
from casekit.query.filters import (
    FIELDS,
    LATEST_WHO,
    OPERATORS,
    RELEVANCE,
    RELEVANCE_SORT,
    SORT_FIELDS,
    Filter,
    Kind,
    Sort,
    parse_when,
)
from casekit.query.listing import COLUMNS, BuiltinView, ListQuery, default_sort

MAX_VALUES = 100
#: Ids are those of the databases' integer columns.
MAX_ID = 2**31 - 1
MAX_TEXT = 200


class FilterSchema(Schema):
    field = fields.String(required=True, validate=validate.OneOf(sorted(FIELDS)))
    op = fields.String(required=True)
    value = fields.Raw(required=True, allow_none=False)

    @validates_schema
    def _check(self, data: dict[str, Any], **_kwargs: Any) -> None:
        spec = FIELDS.get(data.get("field", ""))
        if spec is None:
            return
        allowed = OPERATORS[spec.kind]
        if data.get("op") not in allowed:
            raise ValidationError(f"{spec.name} takes the operators {', '.join(allowed)}", "op")
        if spec.kind is Kind.CUSTOM:
            data["value"] = _custom_value(data["op"], data["value"])
            return
        if data["op"] == "empty":
            if data["value"] is not True:
                raise ValidationError("empty takes the value true", "value")
            return
        data["value"] = _value(spec.kind, spec.name, data["value"], spec.choices, spec.ids)

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> Filter:
        return Filter(data["field"], data["op"], data["value"])


def _value(kind: Kind, name: str, value: Any, choices: tuple[str, ...] | None, ids: bool) -> Any:
    if kind is Kind.CHOICE:
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= MAX_VALUES:
            raise ValidationError(f"give 1 to {MAX_VALUES} values", "value")
        if ids:
            if not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_ID for v in items
            ):
                raise ValidationError(
                    f"{name} values are ids (whole numbers from 1 to {MAX_ID})", "value"
                )
            return tuple(items)
        if not all(isinstance(v, str) and 0 < len(v) <= MAX_TEXT for v in items):
            raise ValidationError(f"{name} values are non-empty strings", "value")
        if choices is not None:
            bad = sorted(set(items) - set(choices))
            if bad:
                raise ValidationError(
                    f"unknown {name} {', '.join(bad)}; one of {', '.join(choices)}", "value"
                )
        return tuple(items)
    if kind in (Kind.TEXT, Kind.PREFIX):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise ValidationError(f"{name} takes text of 1 to {MAX_TEXT} characters", "value")
        return value.strip()
    if kind is Kind.DATES:
        if not isinstance(value, dict) or set(value) - {"from", "to"}:
            raise ValidationError('a date range is {"from": ..., "to": ...}', "value")
        try:
            start = parse_when(value["from"]) if value.get("from") else None
            end = parse_when(value["to"]) if value.get("to") else None
        except (TypeError, ValueError, OverflowError) as error:
            # OverflowError: a time whose UTC moment is outside years 1 to 9999.
            raise ValidationError(f"not an ISO 8601 date or time: {error}", "value") from None
        if start is None and end is None:
            raise ValidationError("give from, to, or both", "value")
        if start is not None and end is not None and end < start:
            raise ValidationError("to is before from", "value")
        return (start, end)
    if value not in LATEST_WHO:
        raise ValidationError(f"latest_message takes {' or '.join(LATEST_WHO)}", "value")
    return value


_CUSTOM_KEYS = {
    "in": {"name", "values"},
    "not_in": {"name", "values"},
    "contains": {"name", "text"},
    "between": {"name", "from", "to"},
    "empty": {"name"},
}


def _custom_value(op: str, value: Any) -> dict[str, Any]:
    """A ``custom_field`` filter's value: the field's ``name`` (its key, or
    ``carrier.<key>`` / ``shipper.<key>`` for the other party's shared field) and
    ``values`` (in, not_in), ``text`` (contains) or ``from`` and ``to`` (between)."""
    keys = _CUSTOM_KEYS[op]
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ValidationError(f"an object of {', '.join(sorted(keys))}", "value")
    role, key = split_name(value["name"])
    if (role is not None and role not in ROLES) or not KEY_PATTERN.fullmatch(key):
        raise ValidationError("name is a field key, or carrier.<key> or shipper.<key>", "value")
    extra = sorted(set(value) - keys)
    if extra:
        raise ValidationError(f"{op} takes {', '.join(sorted(keys))}, not {extra[0]}", "value")
    out: dict[str, Any] = {"name": value["name"]}
    if op in ("in", "not_in"):
        items = value.get("values")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_VALUES:
            raise ValidationError(f"values: a list of 1 to {MAX_VALUES} values", "value")
        for item in items:
            if isinstance(item, str):
                ok = 0 < len(item) <= MAX_CUSTOM_TEXT
            else:
                ok = isinstance(item, int | float) and math.isfinite(item)
            if not ok:
                raise ValidationError("values are texts, numbers or true/false", "value")
        out["values"] = tuple(items)
    elif op == "contains":
        text = value.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ValidationError(f"text: 1 to {MAX_TEXT} characters", "value")
        out["text"] = text.strip()
    elif op == "between":
        low, high = value.get("from"), value.get("to")
        if low is None and high is None:
            raise ValidationError("give from, to, or both", "value")
        given = [x for x in (low, high) if x is not None]
        bounds: list[Any]
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in given):
            if not all(math.isfinite(x) for x in given):
                raise ValidationError("from and to are finite numbers", "value")
            bounds = [None if x is None else float(x) for x in (low, high)]
        else:
            try:
                bounds = [None if x is None else date.fromisoformat(x) for x in (low, high)]
            except (TypeError, ValueError):
                raise ValidationError(
                    "from and to are numbers or dates (YYYY-MM-DD)", "value"
                ) from None
        if bounds[0] is not None and bounds[1] is not None and bounds[1] < bounds[0]:
            raise ValidationError("to is before from", "value")
        out["from"], out["to"] = bounds
    return out


def _sort_field(value: str) -> None:
    """A sort of the case's own, or a custom field's (``cf:<name>``: checked against the
    fields its reader reads when the list is read)."""
    if value not in SORT_FIELDS and value != RELEVANCE and not well_formed(value):
        raise ValidationError(
            f"Must be one of: {', '.join(sorted([*SORT_FIELDS, RELEVANCE]))}; or cf:<custom field>."
        )


def _column(value: str) -> None:
    if value not in COLUMNS and not well_formed(value):
        raise ValidationError(f"Must be one of: {', '.join(COLUMNS)}; or cf:<custom field>.")


class SortSchema(Schema):
    field = fields.String(load_default="created_at", validate=_sort_field)
    direction = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> Sort:
        return Sort(data["field"], data["direction"] == "desc")


class ListQuerySchema(Schema):
    """Loads the JSON form into a :class:`~casekit.query.listing.ListQuery`."""

    version = fields.Integer(load_default=1, validate=validate.Equal(1))
    view = fields.String(
        load_default=BuiltinView.ALL_ACTIVE.value,
        validate=validate.OneOf([v.value for v in BuiltinView]),
    )
    filters = fields.List(
        fields.Nested(FilterSchema), load_default=list, validate=validate.Length(max=50)
    )
    #: Left out: with a search, ``relevance`` (best match first); without, the view's
    #: own order (created_at desc; due_soon: due_at asc).
    sort = fields.Nested(SortSchema, load_default=None)
    search = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_TEXT)
    )
    columns = fields.List(fields.String(validate=_column), load_default=None, allow_none=True)

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> ListQuery:
        search = (data["search"] or "").strip() or None
        view = BuiltinView(data["view"])
        return ListQuery(
            view=view,
            filters=tuple(data["filters"]),
            sort=data["sort"] or (RELEVANCE_SORT if search else default_sort(view)),
            search=search,
            columns=tuple(data["columns"]) if data["columns"] else None,
        )


def dump_query(query: ListQuery) -> dict[str, Any]:
    """The JSON form of ``query`` (what :class:`ListQuerySchema` loads back)."""
    out: dict[str, Any] = {
        "version": 1,
        "view": query.view.value,
        "filters": [{"field": f.field, "op": f.op, "value": _dump_value(f)} for f in query.filters],
        "sort": {
            "field": query.sort.field,
            "direction": "desc" if query.sort.descending else "asc",
        },
    }
    if query.search:
        out["search"] = query.search
    if query.columns:
        out["columns"] = list(query.columns)
    return out


def _dump_value(f: Filter) -> Any:
    if f.op == "empty":
        return True
    kind = FIELDS[f.field].kind
    if kind is Kind.CUSTOM:
        return {k: x.isoformat() if isinstance(x, date) else x for k, x in f.value.items()} | (
            {"values": list(f.value["values"])} if "values" in f.value else {}
        )
    if kind is Kind.DATES:
        start, end = f.value
        return {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
        }
    if kind is Kind.CHOICE:
        return list(f.value)
    return f.value
