"""Custom fields as list columns and sort keys.

A list column of a custom field is ``"cf:<name>"``, where ``<name>`` is how
the reader addresses the field (:mod:`casekit.query.custom_fields`): its
key for its own organization's fields (``cf:damage_code``), ``<role>.<key>``
for the other party's shared ones (``cf:carrier.dock``). The same column
name sorts the list. A reader's columns are its organization's fields and the
shared fields of the organizations of the other role; a private field of
another organization is no column of its, and sorting by a name it does not
read is refused like a name no field has.

A page reads the values of its rows' field columns in one statement
(:func:`~casekit.query.custom_fields.values_of`); a sort reads the value of
each case as a correlated subquery, so a case without a value (or whose
value the reader does not read) comes last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import frozen
from sqlalchemy import Date, Double, String, and_, literal, or_, select
from sqlalchemy.engine import Connection

from casekit.domain.actor import Actor
from casekit.domain.custom_fields import KEY_PATTERN, FieldKind, FieldVisibility
from casekit.domain.directory import OrgRole
from casekit.query.custom_fields import (
    ROLES,
    field_clause,
    kind_of_values,
    reads_custom_fields,
    split_name,
)
from casekit.store import tables

c = tables.cases.c
d = tables.custom_fields.c
v = tables.case_field_values.c
g = tables.organizations.c

#: A list column (and sort field) of a custom field starts with this.
PREFIX = "cf:"
#: The kinds whose column sorts the list: one value per case.
SORTABLE_KINDS = frozenset(
    {FieldKind.TEXT, FieldKind.NUMBER, FieldKind.DATE, FieldKind.CHECKBOX, FieldKind.CHOICE}
)


@frozen
class FieldColumn:
    """A custom field its reader may show as a list column, sort by and filter on."""

    #: How the reader addresses the field: ``key`` or ``<role>.<key>``.
    name: str
    label: str
    kind: FieldKind
    choices: tuple[str, ...] = ()
    #: Whether it is the reader's organization's own field (else the other party's shared one).
    own: bool = True
    archived: bool = False

    @property
    def column(self) -> str:
        return PREFIX + self.name

    @property
    def sortable(self) -> bool:
        return self.kind in SORTABLE_KINDS

    @property
    def heading(self) -> str:
        """The column's heading: the label, the other party's role after it."""
        if self.own:
            return self.label
        return f"{self.label} ({split_name(self.name)[0]})"


def is_field_column(name: object) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def well_formed(name: str) -> bool:
    """Whether ``name`` is a field column's shape: ``cf:<key>`` or ``cf:<role>.<key>``."""
    if not name.startswith(PREFIX):
        return False
    role, key = split_name(name[len(PREFIX) :])
    return (role is None or role in ROLES) and KEY_PATTERN.fullmatch(key) is not None


def field_columns(
    conn: Connection, actor: Actor, *, archived: bool = False
) -> dict[str, FieldColumn]:
    """The field columns ``actor`` reads, by column name: its organization's fields in
    their order, then the shared fields of the organizations of the other role (by
    role and key: one column for the same key of several partners).

    Without ``archived``, only the fields in use (the column chooser, the filters);
    with it, the archived ones too (an archived field keeps its values).
    """
    if not reads_custom_fields(actor):
        return {}
    own_role = OrgRole.SHIPPER  # the host reads as the shipper does
    if actor.org_id is not None:
        own_role = conn.scalar(select(g.role).where(g.id == actor.org_id)) or own_role
    other_role = OrgRole.CARRIER if own_role is OrgRole.SHIPPER else OrgRole.SHIPPER
    if actor.org_id is not None:
        mine: Any = d.org_id == actor.org_id
    else:
        mine = d.org_id.in_(select(g.id).where(g.role == OrgRole.SHIPPER))
    theirs = and_(
        d.visibility == FieldVisibility.SHARED.value,
        d.org_id.in_(select(g.id).where(g.role == other_role)),
    )
    stmt = (
        select(d.org_id, d.key, d.label, d.kind, d.choices, d.archived_at, g.role)
        .join(tables.organizations, g.id == d.org_id)
        .where(or_(mine, theirs))
        .order_by(d.position, d.id)
    )
    if not archived:
        stmt = stmt.where(d.archived_at.is_(None))
    own: dict[str, FieldColumn] = {}
    shared: dict[str, FieldColumn] = {}
    for row in conn.execute(stmt):
        is_own = row.org_id == actor.org_id or (actor.org_id is None and row.role is own_role)
        name = row.key if is_own else f"{other_role.value}.{row.key}"
        found = FieldColumn(
            name=name,
            label=row.label,
            kind=row.kind,
            choices=tuple(row.choices),
            own=is_own,
            archived=row.archived_at is not None,
        )
        kept = own if is_own else shared
        first = kept.get(found.column)
        if first is None:
            kept[found.column] = found
        elif first.kind.has_choices and first.kind is found.kind:
            # The same key at several partners: one column offering each one's choices.
            more = tuple(ch for ch in found.choices if ch not in first.choices)
            kept[found.column] = FieldColumn(
                name, first.label, first.kind, first.choices + more, own=False
            )
    return own | shared


def field_names(columns: Iterable[str]) -> list[str]:
    """The field names of the field columns among ``columns``."""
    return [col[len(PREFIX) :] for col in columns if is_field_column(col)]


_TYPES: dict[str, Any] = {"text": String(500), "number": Double(), "date": Date()}


def sort_column(actor: Actor, name: str, kind: FieldKind) -> Any:
    """The value of the field ``name`` (of ``kind``) that ``actor`` reads on the case
    ``c``, as a correlated subquery (NULL without one)."""
    values = kind_of_values(kind)
    if not reads_custom_fields(actor):
        return literal(None, type_=_TYPES[values])
    column = {"text": v.text_value, "number": v.number_value, "date": v.date_value}[values]
    return (
        select(column)
        .select_from(tables.case_field_values.join(tables.custom_fields, d.id == v.field_id))
        .where(v.case_id == c.id, field_clause(actor, name))
        .order_by(v.item)
        .limit(1)
        .correlate(tables.cases)
        .scalar_subquery()
    )
