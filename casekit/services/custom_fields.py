"""Custom fields: an organization's list of fields, and their values on cases.

Reach the list as ``kit.custom_fields``: its managers add fields, change
their label, choices, required case types and visibility, archive them or
delete one no case uses; its staff read it. A case's values change through
``kit.cases.open(..., custom_fields={...})`` and ``kit.cases.change(...,
{"custom_fields": {...}})``: the functions at the end of this module apply
them to an :class:`~casekit.services.base.Edit`.

Each value set, changed or cleared is an event on the timeline whose
audience is the field's visibility: ``internal`` to the field's
organization (whoever recorded it) for a private field, ``partners`` for a
shared one. A user (or an API key) that opens a case, or changes its type,
gives the values its organization requires on that type; mail, rules and
the customer's portal open cases without them.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select

from casekit import signals
from casekit.domain import policy
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind
from casekit.domain.custom_fields import (
    MAX_FIELDS,
    CustomField,
    FieldVisibility,
    Value,
    clean_choices,
    clean_key,
    clean_label,
    clean_required_for,
    display,
    loaded,
    parse_kind,
    parse_value,
    parse_visibility,
    stored,
    to_json,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.custom_fields import org_fields
from casekit.services.base import Edit, Service
from casekit.store import tables

log = logging.getLogger(__name__)

d = tables.custom_fields.c
v = tables.case_field_values.c

#: At most this many characters of a value on the timeline.
EVENT_TEXT = 200


class CustomFieldService(Service):
    """An organization's custom fields. Reach it as ``kit.custom_fields``."""

    def list(self, actor: Actor, *, archived: bool = False) -> builtins.list[CustomField]:
        """The actor's organization's fields in order (with the archived ones if ``archived``)."""
        org_id = _staff_org(actor)
        with self._uow(write=False) as uow:
            return org_fields(uow.session, org_id, archived=archived)

    def get(self, actor: Actor, field_id: int) -> CustomField:
        """One of the actor's organization's fields (NotFound for another's)."""
        org_id = _staff_org(actor)
        with self._uow(write=False) as uow:
            return _own(uow.session, org_id, field_id)

    def create(
        self,
        actor: Actor,
        key: str,
        label: str,
        kind: str,
        *,
        choices: Sequence[str] = (),
        required_for: Sequence[str] = (),
        visibility: FieldVisibility | str = FieldVisibility.PRIVATE,
        position: int | None = None,
    ) -> CustomField:
        """Add a field to the actor's organization's list (a manager's call).

        ``key`` names it in REST, filters and webhooks (``damage_code``: it
        never changes); ``kind`` is text, number, date, choice, multi_choice
        or checkbox (never changes); ``choices`` are a choice kind's options;
        ``required_for`` the case types on which a value is required
        (``["*"]``: every type); ``visibility`` private (the default) or shared.
        """
        org_id = _manager_org(actor)
        errors: dict[str, Any] = {}
        clean: dict[str, Any] = {}
        for name, check in (
            ("key", lambda: clean_key(key)),
            ("label", lambda: clean_label(label)),
            ("kind", lambda: parse_kind(kind)),
            ("visibility", lambda: parse_visibility(visibility)),
            ("required_for", lambda: clean_required_for(required_for, self.kit.case_types)),
            ("position", lambda: _position(position)),
        ):
            try:
                clean[name] = check()
            except InvalidInput as error:
                errors.update(error.errors)
        if "kind" in clean:
            try:
                clean["choices"] = clean_choices(clean["kind"], choices)
            except InvalidInput as error:
                errors.update(error.errors)
        if errors:
            raise InvalidInput(errors)
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            taken = session.scalar(select(d.id).where(d.org_id == org_id, d.key == clean["key"]))
            if taken is not None:
                raise InvalidInput({"key": [f"there is a field {clean['key']!r} already"]})
            count = session.scalar(select(func.count()).where(d.org_id == org_id)) or 0
            if count >= MAX_FIELDS:
                raise InvalidInput({"key": [f"at most {MAX_FIELDS} fields in an organization"]})
            if clean["position"] is None:
                last = session.scalar(select(func.max(d.position)).where(d.org_id == org_id))
                clean["position"] = (last or 0) + 1
            field = CustomField(
                org_id=org_id, created_at=now, updated_at=now, **clean
            )  # fmt: skip
            session.add(field)
            uow.commit()
            log.info("organization %s added custom field %s", org_id, field.key)
            return field

    def update(
        self,
        actor: Actor,
        field_id: int,
        *,
        label: str | None = None,
        choices: Sequence[str] | None = None,
        required_for: Sequence[str] | None = None,
        visibility: FieldVisibility | str | None = None,
        position: int | None = None,
        archived: bool | None = None,
    ) -> CustomField:
        """Change a field's label, choices, required case types, visibility or place,
        archive or restore it (a manager's call). A choice that cases hold cannot be
        taken out; the key and the kind never change."""
        org_id = _manager_org(actor)
        if archived is not None and not isinstance(archived, bool):
            raise InvalidInput({"archived": ["true or false"]})
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            field = _own(session, org_id, field_id)
            if label is not None:
                field.label = clean_label(label)
            if choices is not None:
                new = clean_choices(field.kind, choices)
                gone = [c for c in field.choices if c not in new]
                if gone:
                    used = session.scalars(
                        select(v.text_value)
                        .where(v.field_id == field_id, v.text_value.in_(gone))
                        .distinct()
                    ).all()
                    if used:
                        raise InvalidInput(
                            {"choices": [f"cases hold {', '.join(sorted(used))}: keep it"]}
                        )
                field.choices = new
            if required_for is not None:
                field.required_for = clean_required_for(required_for, self.kit.case_types)
            if visibility is not None:
                field.visibility = parse_visibility(visibility)
            if position is not None:
                field.position = _position(position) or 0
            if archived is not None and archived != field.archived:
                field.archived_at = now if archived else None
            field.updated_at = now
            uow.commit()
            return field

    def delete(self, actor: Actor, field_id: int) -> bool:
        """Delete a field no case holds a value of; a field in use is archived instead.
        Returns whether it was deleted (False: archived)."""
        org_id = _manager_org(actor)
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            field = _own(session, org_id, field_id)
            used = session.scalar(select(v.case_id).where(v.field_id == field_id).limit(1))
            if used is not None:
                if field.archived_at is None:
                    field.archived_at = field.updated_at = now
                uow.commit()
                return False
            session.delete(field)
            uow.commit()
            return True


def _position(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10_000:
        raise InvalidInput({"position": ["a whole number from 0 to 9999"]})
    return value


def _own(session: Any, org_id: int, field_id: object) -> CustomField:
    field = session.get(CustomField, field_id) if isinstance(field_id, int) else None
    if field is None or field.org_id != org_id:
        raise NotFound("custom field", field_id)
    return field  # type: ignore[no-any-return]


def _staff_org(actor: Actor) -> int:
    if not actor.is_staff or actor.org_id is None:
        raise PermissionDenied("custom fields are an organization's own: act as one of its users")
    return actor.org_id


def _manager_org(actor: Actor) -> int:
    org_id = _staff_org(actor)
    if not actor.is_manager:
        raise PermissionDenied("only a manager keeps the organization's custom fields")
    return org_id


# -- a case's values ------------------------------------------------------------------


def parse_input(value: object, name: str = "custom_fields") -> dict[str, Any]:
    """The ``custom_fields`` object of a call: keys to raw values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInput({name: ["an object of field keys and values"]})
    return dict(value)


def checks_required(actor: Actor) -> bool:
    """Whether ``actor`` gives the values its organization requires: a user, or
    a system acting for the organization through the API (an API key)."""
    return actor.org_id is not None and (
        actor.is_user or (actor.is_system and actor.system is SystemName.API)
    )


def change_values(
    edit: Edit,
    raw: Mapping[str, Any],
    *,
    case_type: str | None = None,
) -> None:
    """Set the actor's organization's fields of ``raw`` (keys to values; None clears)
    on the case, and check the values the organization requires on ``case_type``
    (given when the case opens or its type changes).

    Only the organization's own fields are set: a key of the other party's
    (``carrier.x``) or an unknown key is refused, naming it. An archived
    field is kept, not set.
    """
    actor, case = edit.actor, edit.case
    if raw and (not actor.is_staff or policy.side_of_actor(actor, case) is None):
        raise PermissionDenied("custom fields are an organization's own: act as staff of a party")
    if not raw and (case_type is None or not checks_required(actor)):
        return
    org_id = actor.org_id
    assert org_id is not None
    session = edit.uow.session
    conn = edit.uow.connection()
    fields = {f.key: f for f in org_fields(session, org_id)}
    errors: dict[str, Any] = {}
    wanted: dict[int, Value | None] = {}
    for key, given in raw.items():
        f = fields.get(key)
        if f is None:
            where = f"custom_fields.{key}"
            if "." in key:
                errors[where] = ["the other party's fields are theirs to set"]
            else:
                errors[where] = ["not one of your organization's fields"]
            continue
        if f.archived:
            errors[f"custom_fields.{key}"] = ["the field is archived"]
            continue
        try:
            wanted[f.id or 0] = parse_value(f, given)
        except InvalidInput as error:
            errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    by_id = {f.id: f for f in fields.values()}
    # A case opened by this very change holds no values yet.
    current = {} if edit.new else _current(conn, case.id or 0, by_id)
    if case_type is not None and checks_required(actor):
        missing = {
            f"custom_fields.{f.key}": [f"required on {case_type} cases"]
            for f in fields.values()
            if not f.archived
            and f.required_on(case_type)
            and (wanted[f.id or 0] if (f.id or 0) in wanted else current.get(f.id or 0)) is None
        }
        if missing:
            raise InvalidInput(missing)
    changes: dict[str, tuple[CustomField, Any, Any]] = {}
    changed: list[int] = []
    rows: list[dict[str, Any]] = []
    for field_id, new in wanted.items():
        old = current.get(field_id)
        if old == new:
            continue
        f = by_id[field_id]
        if old is not None:
            changed.append(field_id)
        if new is not None:
            rows += [{"case_id": case.id, "field_id": field_id} | r for r in stored(f.kind, new)]
        shared = f.visibility is FieldVisibility.SHARED
        edit.event(
            EventKind.CUSTOM_FIELD_CHANGED,
            old=_event_text(f, old),
            new=_event_text(f, new),
            audience=Audience.PARTNERS if shared else Audience.INTERNAL,
            org_id=org_id,
        )
        changes[f.key] = (f, to_json(f.kind, old), to_json(f.kind, new))
    if not changes:
        return
    # One statement for the values replaced, one for those written.
    if changed:
        conn.execute(
            delete(tables.case_field_values).where(v.case_id == case.id, v.field_id.in_(changed))
        )
    if rows:
        conn.execute(insert(tables.case_field_values), rows)
    case.touch(edit.now)
    edit.new = False  # the view reads the values
    edit.emit(signals.custom_fields_changed, org_id=org_id, changes=changes)
    edit.emit(signals.case_updated, change=EventKind.CUSTOM_FIELD_CHANGED)


def _event_text(f: CustomField, value: Value | None) -> str | None:
    if value is None:
        return None
    text = f"{f.label}: {display(f.kind, value)}"
    return text if len(text) <= EVENT_TEXT else text[: EVENT_TEXT - 1] + "…"


def _current(
    conn: Any, case_id: int, fields: Mapping[int | None, CustomField]
) -> dict[int, Value | None]:
    """The values of the organization's ``fields`` on the case, by field id."""
    if not fields:
        return {}
    rows: dict[int, list[tuple[Any, Any, Any]]] = {}
    stmt = (
        select(v.field_id, v.text_value, v.number_value, v.date_value)
        .where(v.case_id == case_id, v.field_id.in_([i for i in fields if i is not None]))
        .order_by(v.field_id, v.item)
    )
    for field_id, text, number, day in conn.execute(stmt):
        rows.setdefault(field_id, []).append((text, number, day))
    return {i: loaded(fields[i].kind, found) for i, found in rows.items()}
