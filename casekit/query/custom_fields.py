"""Reading custom fields: an organization's own, and the other party's shared ones.

Who reads a value of a field (of organization O, on a case):

- staff of O (users, and systems acting for O): always, as ``key``;
- staff of the case's other party: when the field is ``shared``, as
  ``"<O's role on the case>.<key>"`` (``carrier.damage_code``), read-only;
- the host, bound to no organization: as the shipper reads (the shipper's
  fields, the carrier's shared ones), like the shipper's CRM number;
- a customer: never.

The ``custom_field`` filter (see :mod:`casekit.query.filters`) names a field
the same way, and tests only the values its reader reads: a name of a
private field of the other side matches nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.custom_fields import (
    CustomField,
    FieldKind,
    FieldValue,
    FieldVisibility,
    loaded,
)
from casekit.store import tables

c = tables.cases.c
d = tables.custom_fields.c
v = tables.case_field_values.c

#: The filter fields of this module.
CUSTOM_FIELDS = ("custom_field",)
#: The operators of the ``custom_field`` filter.
CUSTOM_OPERATORS = ("in", "not_in", "contains", "between", "empty")
ROLES = ("shipper", "carrier")


def reads_custom_fields(actor: Actor) -> bool:
    return not actor.is_customer and (actor.org_id is not None or actor.is_unrestricted)


def reading(
    actor: Actor, field_org: int, shared: bool, shipper: int, carrier: int | None
) -> tuple[bool, str | None]:
    """Whether ``actor`` reads a value of a field of ``field_org`` on a case of
    ``shipper`` and ``carrier``, and the role prefix it reads it under (None: its own)."""
    if not reads_custom_fields(actor):
        return False, None
    reader = actor.org_id if actor.org_id is not None else shipper
    if field_org == reader:
        return True, None
    if not shared or reader not in (shipper, carrier):
        return False, None
    if field_org == shipper:
        return True, "shipper"
    if field_org == carrier:
        return True, "carrier"
    return False, None


def values_of(
    conn: Connection,
    actor: Actor,
    cases: Sequence[tuple[int, int, int | None]],
    *,
    keys: Collection[str] | None = None,
) -> dict[int, tuple[FieldValue, ...]]:
    """The values ``actor`` reads on each case of ``cases`` ((id, shipper organization,
    carrier organization)), its own fields first, each list in the fields' order; of
    the fields of ``keys`` only, when given. One statement for all the cases."""
    if not cases or not reads_custom_fields(actor):
        return {}
    parties = {case_id: (shipper, carrier) for case_id, shipper, carrier in cases}
    stmt = (
        select(
            v.case_id,
            v.text_value,
            v.number_value,
            v.date_value,
            d.id,
            d.org_id,
            d.key,
            d.label,
            d.kind,
            d.visibility,
        )
        .join(tables.custom_fields, d.id == v.field_id)
        .where(v.case_id.in_(sorted(parties)))
        .order_by(v.case_id, d.position, d.id, v.item)
    )
    if actor.org_id is not None:
        stmt = stmt.where(
            (d.org_id == actor.org_id) | (d.visibility == FieldVisibility.SHARED.value)
        )
    if keys is not None:
        stmt = stmt.where(d.key.in_(sorted(keys)))
    grouped: dict[tuple[int, int], list[Any]] = defaultdict(list)
    meta: dict[int, Any] = {}
    for row in conn.execute(stmt):
        grouped[(row.case_id, row.id)].append((row.text_value, row.number_value, row.date_value))
        meta[row.id] = row
    found: dict[int, list[FieldValue]] = defaultdict(list)
    for (case_id, field_id), rows in grouped.items():
        row = meta[field_id]
        shipper, carrier = parties[case_id]
        shared = row.visibility is FieldVisibility.SHARED
        reads, role = reading(actor, row.org_id, shared, shipper, carrier)
        if not reads:
            continue
        value = loaded(row.kind, rows)
        if value is None:
            continue
        found[case_id].append(
            FieldValue(
                field_id=field_id,
                org_id=row.org_id,
                name=row.key if role is None else f"{role}.{row.key}",
                key=row.key,
                label=row.label,
                kind=row.kind,
                visibility=row.visibility,
                value=value,
                own=role is None,
            )
        )
    return {
        case_id: tuple(sorted(values, key=lambda fv: not fv.own))
        for case_id, values in found.items()
    }


def org_fields(session: Session, org_id: int, *, archived: bool = True) -> list[CustomField]:
    """An organization's fields in their order (without the archived ones unless ``archived``)."""
    stmt = select(CustomField).where(d.org_id == org_id).order_by(d.position, d.id)
    if not archived:
        stmt = stmt.where(d.archived_at.is_(None))
    return list(session.scalars(stmt))


def fields_on_case(
    session: Session, actor: Actor, shipper: int, carrier: int | None
) -> list[tuple[CustomField, str | None]]:
    """The active fields ``actor`` reads on a case of ``shipper`` and ``carrier`` (its
    own, then the other party's shared ones), each with its role prefix (None: own)."""
    if not reads_custom_fields(actor):
        return []
    reader = actor.org_id if actor.org_id is not None else shipper
    orgs = [o for o in (shipper, carrier) if o is not None]
    if reader not in orgs:
        orgs.append(reader)
    stmt = (
        select(CustomField)
        .where(d.org_id.in_(orgs), d.archived_at.is_(None))
        .order_by(d.position, d.id)
    )
    found: list[tuple[CustomField, str | None]] = []
    for f in session.scalars(stmt):
        reads, role = reading(actor, f.org_id, f.shared, shipper, carrier)
        if reads:
            found.append((f, role))
    return sorted(found, key=lambda pair: pair[1] is not None)


def split_name(name: str) -> tuple[str | None, str]:
    """``"carrier.damage_code"`` as (``"carrier"``, ``"damage_code"``); a key as (None, key)."""
    role, dot, key = name.partition(".")
    return (role, key) if dot else (None, name)


def field_clause(actor: Actor, name: str) -> ColumnElement[bool]:
    """The fields named ``name`` whose values ``actor`` reads, on the case ``c``."""
    role, key = split_name(name)
    own_org: Any = actor.org_id if actor.org_id is not None else c.shipper_org_id
    if role is None:
        return and_(d.key == key, d.org_id == own_org)
    party = c.shipper_org_id if role == "shipper" else c.carrier_org_id
    return and_(
        d.key == key,
        d.visibility == FieldVisibility.SHARED.value,
        d.org_id == party,
        d.org_id != own_org,
    )


def custom_field_condition(op: str, value: dict[str, Any], actor: Actor) -> ColumnElement[bool]:
    """The ``custom_field`` filter (already validated by the list query's schema):
    ``value`` holds the field's ``name`` and ``values`` (``in``, ``not_in``),
    ``text`` (``contains``) or ``from`` and ``to`` (``between``, inclusive)."""
    if not reads_custom_fields(actor):
        # To a customer no case has a custom field.
        return false() if op in ("in", "contains", "between") else true()
    where: list[ColumnElement[bool]] = [
        v.case_id == c.id,
        field_clause(actor, value["name"]),
    ]
    if op in ("in", "not_in"):
        where.append(_one_of(value["values"]))
    elif op == "contains":
        where.append(v.text_value.icontains(value["text"], autoescape=True))
    elif op == "between":
        low, high = value.get("from"), value.get("to")
        column = v.date_value if isinstance(low or high, date) else v.number_value
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    has = exists(
        select(v.case_id)
        .join(tables.custom_fields, d.id == v.field_id)
        .where(*where)
        .correlate(tables.cases)
    )
    return has if op in ("in", "contains", "between") else ~has


def _one_of(values: Sequence[Any]) -> ColumnElement[bool]:
    texts = [x for x in values if isinstance(x, str)]
    numbers = [float(x) for x in values if not isinstance(x, str)]  # True is 1.0
    parts: list[ColumnElement[bool]] = []
    if texts:
        parts.append(v.text_value.in_(texts))
    if numbers:
        parts.append(v.number_value.in_(numbers))
    return parts[0] if len(parts) == 1 else (parts[0] | parts[1])


def kind_of_values(kind: FieldKind) -> str:
    """The column a kind's values are kept in: text, number or date."""
    if kind in (FieldKind.NUMBER, FieldKind.CHECKBOX):
        return "number"
    return "date" if kind is FieldKind.DATE else "text"
