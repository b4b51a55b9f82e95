"""Custom fields: an organization's own typed fields on its cases.

Each organization (shipper or carrier) keeps a list of **custom fields**:
a key (``damage_code``), a label ("Damage code"), a kind (text, number,
date, choice, multi-choice, checkbox), the choices of the choice kinds, the
case types on which the field is required, and a **visibility**:
``private`` (the organization's own, like its tags: the default) or
``shared`` (the case's other party reads it too, never changes it). A
customer never reads any.

A value is what :func:`parse_value` makes of the input: ``str`` (text,
choice), ``float`` (number), ``date``, ``tuple[str, ...]`` (multi-choice,
in the order of the field's choices) or ``bool`` (checkbox). ``None``
clears a value. Errors name the field as ``custom_fields.<key>``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from attrs import define, field, frozen

from casekit.errors import InvalidInput

#: At most this many fields in an organization's list (archived ones too).
MAX_FIELDS = 100
MAX_KEY = 40
MAX_LABEL = 80
MAX_CHOICES = 50
MAX_CHOICE = 100
#: At most this many characters in a text value.
MAX_TEXT = 500
#: The largest number a number field keeps (beyond, a double loses whole units).
MAX_NUMBER = 1e15
#: In ``required_for``: every case type.
ALL_TYPES = "*"

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")

Value = str | float | date | bool | tuple[str, ...]


class FieldKind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    CHECKBOX = "checkbox"

    @property
    def has_choices(self) -> bool:
        return self in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE)


class FieldVisibility(enum.StrEnum):
    """Who reads a field's values: its organization only, or both parties' staff."""

    PRIVATE = "private"
    SHARED = "shared"


@define(slots=False, eq=False)
class CustomField:
    """One field of an organization's list."""

    org_id: int
    key: str
    label: str
    kind: FieldKind
    visibility: FieldVisibility
    created_at: datetime
    updated_at: datetime
    #: The choices of a choice or multi-choice field, in the order shown.
    choices: tuple[str, ...] = ()
    #: The case types on which a value is required (``"*"``: every type).
    required_for: tuple[str, ...] = ()
    #: Where it stands in the organization's list (smaller first).
    position: int = 0
    #: When a manager archived it (None: in use). An archived field keeps its
    #: values on the cases and in filters, but is set no more.
    archived_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def shared(self) -> bool:
        return self.visibility is FieldVisibility.SHARED

    def required_on(self, case_type: str) -> bool:
        return ALL_TYPES in self.required_for or case_type in self.required_for


@frozen
class FieldValue:
    """A custom field's value on one case, as one reader reads it.

    ``name`` is how that reader addresses it: the key for its own
    organization's fields, ``"<role>.<key>"`` (``carrier.damage_code``) for
    the other party's shared ones.
    """

    field_id: int
    org_id: int
    name: str
    key: str
    label: str
    kind: FieldKind
    visibility: FieldVisibility
    value: Value
    own: bool

    @property
    def json(self) -> Any:
        return to_json(self.kind, self.value)

    @property
    def text(self) -> str:
        return display(self.kind, self.value)


def clean_key(value: object) -> str:
    if not isinstance(value, str) or not KEY_PATTERN.fullmatch(value):
        raise InvalidInput(
            {"key": ["a lower-case letter, then up to 39 lower-case letters, digits or _"]}
        )
    return value


def clean_label(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput({"label": ["text"]})
    clean = " ".join(value.split())
    if not 1 <= len(clean) <= MAX_LABEL:
        raise InvalidInput({"label": [f"1 to {MAX_LABEL} characters"]})
    return clean


def parse_kind(value: object) -> FieldKind:
    if isinstance(value, str):
        try:
            return FieldKind(value.strip().lower())
        except ValueError:
            pass
    raise InvalidInput({"kind": [f"one of {', '.join(k.value for k in FieldKind)}"]})


def parse_visibility(value: object) -> FieldVisibility:
    if isinstance(value, str):
        try:
            return FieldVisibility(value.strip().lower())
        except ValueError:
            pass
    raise InvalidInput({"visibility": ["private or shared"]})


def clean_choices(kind: FieldKind, value: object) -> tuple[str, ...]:
    """The choices of a field of ``kind``: 1 to 50 distinct texts for the choice kinds,
    none for the others."""
    items = _list(value, "choices")
    if not kind.has_choices:
        if items:
            raise InvalidInput({"choices": [f"a {kind.value} field has no choices"]})
        return ()
    clean: list[str] = []
    for item in items:
        if not isinstance(item, str) or not 1 <= len(" ".join(item.split())) <= MAX_CHOICE:
            raise InvalidInput({"choices": [f"each choice is 1 to {MAX_CHOICE} characters"]})
        clean.append(" ".join(item.split()))
    if not 1 <= len(clean) <= MAX_CHOICES:
        raise InvalidInput({"choices": [f"1 to {MAX_CHOICES} choices"]})
    folded = [c.casefold() for c in clean]
    if len(set(folded)) != len(folded):
        raise InvalidInput({"choices": ["each choice once"]})
    return tuple(clean)


def clean_required_for(value: object, known_types: Iterable[str]) -> tuple[str, ...]:
    """The case types a value is required on: known types, or ``"*"`` for all."""
    items = _list(value, "required_for")
    if not all(isinstance(item, str) for item in items):
        raise InvalidInput({"required_for": ['a list of case types, or ["*"] for all']})
    known = set(known_types)
    unknown = sorted({i for i in items if i != ALL_TYPES and i not in known})
    if unknown:
        raise InvalidInput({"required_for": [f"unknown case type {', '.join(unknown)}"]})
    if ALL_TYPES in items:
        return (ALL_TYPES,)
    return tuple(dict.fromkeys(items))


def _list(value: object, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        raise InvalidInput({name: ["a list"]})
    return list(value)


def parse_value(f: CustomField, raw: object, name: str | None = None) -> Value | None:
    """``raw`` as a value of field ``f`` (None: no value); InvalidInput naming
    ``custom_fields.<key>`` (or ``name``) otherwise."""
    where = name or f"custom_fields.{f.key}"

    def bad(message: str) -> InvalidInput:
        return InvalidInput({where: [message]})

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    match f.kind:
        case FieldKind.TEXT:
            if not isinstance(raw, str):
                raise bad("text")
            text = raw.strip()
            if len(text) > MAX_TEXT:
                raise bad(f"at most {MAX_TEXT} characters")
            return text
        case FieldKind.NUMBER:
            number: float
            if isinstance(raw, bool):
                raise bad("a number")
            if isinstance(raw, int | float):
                number = float(raw)
            elif isinstance(raw, str):
                try:
                    number = float(raw.strip().replace(",", ""))
                except ValueError:
                    raise bad("a number") from None
            else:
                raise bad("a number")
            if not math.isfinite(number) or abs(number) >= MAX_NUMBER:
                raise bad("a number below 10^15")
            return number
        case FieldKind.DATE:
            if isinstance(raw, datetime):
                return raw.date()
            if isinstance(raw, date):
                return raw
            if isinstance(raw, str):
                try:
                    return date.fromisoformat(raw.strip())
                except ValueError:
                    pass
            raise bad("a date (YYYY-MM-DD)")
        case FieldKind.CHOICE:
            if not isinstance(raw, str) or raw.strip() not in f.choices:
                raise bad(f"one of {', '.join(f.choices)}")
            return raw.strip()
        case FieldKind.MULTI_CHOICE:
            items = [raw] if isinstance(raw, str) else raw
            if isinstance(items, dict) or not isinstance(items, Iterable):
                raise bad("a list of choices")
            chosen = list(items)
            if not all(isinstance(i, str) and i.strip() in f.choices for i in chosen):
                raise bad(f"a list of choices among {', '.join(f.choices)}")
            picked = {i.strip() for i in chosen}
            return tuple(c for c in f.choices if c in picked) or None
        case FieldKind.CHECKBOX:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in _TRUTH:
                return _TRUTH[raw.strip().lower()]
            raise bad("true or false")
    raise bad("unknown kind")  # pragma: no cover


_TRUTH = {"true": True, "on": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def to_json(kind: FieldKind, value: Value | None) -> Any:
    """``value`` in JSON: a date as ``YYYY-MM-DD``, a whole number as an integer."""
    if value is None:
        return None
    if kind is FieldKind.DATE and isinstance(value, date):
        return value.isoformat()
    if kind is FieldKind.NUMBER and isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, tuple):
        return list(value)
    return value


def display(kind: FieldKind, value: Value | None) -> str:
    """``value`` as a page, a CSV cell or the timeline shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def stored(kind: FieldKind, value: Value) -> list[dict[str, Any]]:
    """The value rows of ``value`` (``item``, ``text_value``, ``number_value``,
    ``date_value``): one, or one a chosen option of a multi-choice field."""
    empty: dict[str, Any] = {"text_value": None, "number_value": None, "date_value": None}
    if isinstance(value, tuple):
        return [empty | {"item": i, "text_value": v} for i, v in enumerate(value)]
    if isinstance(value, bool):
        return [empty | {"item": 0, "number_value": 1.0 if value else 0.0}]
    if isinstance(value, float):
        return [empty | {"item": 0, "number_value": value}]
    if isinstance(value, date):
        return [empty | {"item": 0, "date_value": value}]
    return [empty | {"item": 0, "text_value": value}]


def loaded(kind: FieldKind, rows: Sequence[tuple[Any, Any, Any]]) -> Value | None:
    """The value stored as ``rows`` (text, number, date), in their items' order."""
    if not rows:
        return None
    text, number, day = rows[0]
    match kind:
        case FieldKind.MULTI_CHOICE:
            return tuple(r[0] for r in rows)
        case FieldKind.CHECKBOX:
            return bool(number)
        case FieldKind.NUMBER:
            return float(number)
        case FieldKind.DATE:
            return day if isinstance(day, date) else date.fromisoformat(str(day))
    return str(text)
