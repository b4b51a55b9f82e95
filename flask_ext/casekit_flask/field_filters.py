"""The list page's custom-field filter controls, and the address they stand for.

A custom field filter's address is one ``cf`` argument of JSON per filter
(:data:`casekit_flask.listing.CUSTOM_ARG`). A plain form cannot write JSON,
so each field's control has arguments of its own, named after the field as
its reader names it (``cf.in.dock``, ``cf.text.po_ref``, ``cf.from.goods_value``
...); the page turns a submitted form into the ``cf`` address and sends the
browser there (:func:`canonical_args`), so the list a form makes is the same
address a chip, a saved view or a link makes.

Each kind has the control its filter takes: a choice or multi-choice field a
select of its choices (``in``), a checkbox field yes or no (``in``), a number
or date field a range (``between``), a text field "contains" or "is" (``in``,
the exact value).
"""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen
from werkzeug.datastructures import MultiDict

from casekit.domain.custom_fields import FieldKind
from casekit.query.field_columns import FieldColumn
from casekit_flask.listing import CUSTOM_ARG

#: Every control argument starts with this.
CONTROL = "cf."
#: A text field's ways to match, as its ``cf.op.<name>`` argument names them.
TEXT_OPS = {"contains": "contains", "is": "is"}


def has_controls(args: MultiDict[str, str]) -> bool:
    """Whether ``args`` hold a submitted form's control arguments."""
    return any(key.startswith(CONTROL) for key in args)


def canonical_args(args: MultiDict[str, str], fields: list[FieldColumn]) -> MultiDict[str, str]:
    """``args`` with the control arguments of ``fields`` written as ``cf`` filters: the
    address the list reads. Control arguments of no field the reader reads are dropped."""
    out: MultiDict[str, str] = MultiDict(
        [(k, v) for k, v in args.items(multi=True) if not k.startswith(CONTROL) and k != "cursor"]
    )
    for field in fields:
        found = _filter_of(args, field)
        if found is not None:
            out.add(CUSTOM_ARG, json.dumps(found, sort_keys=True))
    return out


def _filter_of(args: MultiDict[str, str], field: FieldColumn) -> dict[str, Any] | None:
    name = field.name

    def given(part: str) -> str:
        return (args.get(f"{CONTROL}{part}.{name}") or "").strip()

    if field.kind.has_choices:
        values = [v for v in args.getlist(f"{CONTROL}in.{name}") if v.strip()]
        return {"op": "in", "name": name, "values": values} if values else None
    if field.kind is FieldKind.CHECKBOX:
        answer = given("in")
        if answer not in ("yes", "no"):
            return None
        return {"op": "in", "name": name, "values": [answer == "yes"]}
    if field.kind in (FieldKind.NUMBER, FieldKind.DATE):
        low, high = given("from"), given("to")
        if not low and not high:
            return None
        found: dict[str, Any] = {"op": "between", "name": name}
        if low:
            found["from"] = _number(low) if field.kind is FieldKind.NUMBER else low
        if high:
            found["to"] = _number(high) if field.kind is FieldKind.NUMBER else high
        return found
    text = given("text")
    if not text:
        return None
    if given("op") == "is":
        return {"op": "in", "name": name, "values": [text]}
    return {"op": "contains", "name": name, "text": text}


def _number(text: str) -> float | str:
    """A range end of a number field (text that is none: the list refuses it, naming it)."""
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


@frozen
class Control:
    """One field's control as the page shows it, filled from the list's address."""

    field: FieldColumn
    #: The ``cf`` filter the control shows (None: none set for the field).
    values: tuple[str, ...] = ()
    text: str = ""
    op: str = "contains"
    low: str = ""
    high: str = ""


def controls(
    args: MultiDict[str, str], fields: list[FieldColumn]
) -> tuple[list[Control], list[str]]:
    """Each field's control, filled from the ``cf`` arguments of ``args`` it shows; and the
    ``cf`` arguments no control shows (another operator, another field), which the form
    keeps as they are."""
    by_name = {f.name: f for f in fields}
    shown: dict[str, Control] = {}
    kept: list[str] = []
    for raw in args.getlist(CUSTOM_ARG):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        named = value.get("name") if isinstance(value, dict) else None
        field = by_name.get(named) if isinstance(named, str) else None
        control = None
        if field is not None and field.name not in shown:
            control = _control(field, value)
        if field is None or control is None:
            kept.append(raw)
        else:
            shown[field.name] = control
    return [shown.get(f.name) or Control(f) for f in fields], kept


def _control(field: FieldColumn, value: dict[str, Any]) -> Control | None:
    op = value.get("op")
    if field.kind.has_choices and op == "in" and isinstance(value.get("values"), list):
        return Control(field, values=tuple(str(v) for v in value["values"]))
    if field.kind is FieldKind.CHECKBOX and op == "in" and value.get("values") in ([True], [False]):
        return Control(field, values=("yes" if value["values"] == [True] else "no",))
    if field.kind in (FieldKind.NUMBER, FieldKind.DATE) and op == "between":
        low, high = value.get("from"), value.get("to")
        return Control(
            field, low="" if low is None else str(low), high="" if high is None else str(high)
        )
    if field.kind is FieldKind.TEXT:
        if op == "contains" and isinstance(value.get("text"), str):
            return Control(field, text=value["text"], op="contains")
        items = value.get("values")
        if op == "in" and isinstance(items, list) and len(items) == 1:
            return Control(field, text=str(items[0]), op="is")
    return None
