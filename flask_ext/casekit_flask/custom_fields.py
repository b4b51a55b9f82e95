"""Custom fields on the staff pages: the case page's panel, the create form's
inputs, and the organization's field list (Settings → Custom fields). Routes
of the staff blueprint.

The panel's form sets the reader's organization's own fields; the other
party's shared fields show read-only beside them. A customer never reaches
these pages.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, FieldKind, FieldVisibility, InvalidInput
from casekit.domain.custom_fields import CustomField
from casekit_flask.extension import current_kit
from casekit_flask.staff import (
    _form_version,
    _messages,
    _render_case,
    apply_settings_form,
    require_staff,
    staff,
)

PREFIX = "cf-"

#: The error for an id that names no field of the organization.
MISSING = ("field", "no such field of your organization")


def case_form(actor: Actor) -> dict[str, Any]:
    """What a case form offers: the organization's fields in use."""
    return {"own_fields": current_kit().custom_fields.list(actor)}


def form_values(form: Any, fields: list[CustomField]) -> dict[str, Any]:
    """The values of ``fields`` in a posted form (inputs ``cf-<key>``): a multi-choice
    field's checked options, a cleared input as None."""
    values: dict[str, Any] = {}
    for f in fields:
        name = PREFIX + f.key
        if f.kind is FieldKind.MULTI_CHOICE:
            if f"{name}-shown" in form:
                values[f.key] = form.getlist(name)
        elif name in form:
            values[f.key] = form.get(name) or None
    return values


@staff.post("/<number>/custom-fields")
def case_custom_fields(number: str) -> ResponseReturnValue:
    """Set the organization's custom fields on the case from the panel's form."""
    actor = require_staff()
    kit = current_kit()
    values = form_values(request.form, kit.custom_fields.list(actor))
    try:
        kit.cases.change(actor, number, {"custom_fields": values}, expected_version=_form_version())
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Fields saved.")
    return redirect(url_for(".case_page", number=number))


# -- Settings → Custom fields --------------------------------------------------------------
@staff.route("/settings/custom-fields", methods=["GET", "POST"])
def custom_field_settings() -> ResponseReturnValue:
    """The organization's custom fields: managers add, change, archive and delete them."""
    actor = require_staff()
    kit = current_kit()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        failed = apply_settings_form(lambda: _apply(actor, request.form), MISSING)
        if failed is None:
            return redirect(url_for(".custom_field_settings"))
        errors, status = failed
    return render_template(
        "casekit/staff/custom_fields.html",
        actor=actor,
        fields=kit.custom_fields.list(actor, archived=True),
        kinds=list(FieldKind),
        visibilities=list(FieldVisibility),
        case_types=kit.case_types,
        errors=errors,
        form=request.form if errors else {},
    ), status


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _required(form: Any) -> list[str]:
    chosen = form.getlist("required_for")
    return ["*"] if "*" in chosen else chosen


def _apply(actor: Actor, form: Any) -> None:
    """One form of the page: a new field, or a change to one (``field`` its id)."""
    fields = current_kit().custom_fields
    raw = form.get("field", "")
    if not raw:
        kind = form.get("kind", "")
        created = fields.create(
            actor,
            form.get("key", ""),
            form.get("label", ""),
            kind,
            choices=_lines(form.get("choices")) if kind in ("choice", "multi_choice") else (),
            required_for=_required(form),
            visibility=form.get("visibility", "private"),
        )
        flash(f"Field {created.label} added.")
        return
    if not raw.isdigit():
        raise InvalidInput({MISSING[0]: [MISSING[1]]})
    action = form.get("action", "save")
    if action == "delete":
        deleted = fields.delete(actor, int(raw))
        flash("Field deleted." if deleted else "Cases hold values of the field: archived.")
        return
    archived = {"archive": True, "restore": False}.get(action)
    current = fields.get(actor, int(raw))
    if archived is not None:
        changed = fields.update(actor, int(raw), archived=archived)
    else:
        changed = fields.update(
            actor,
            int(raw),
            label=form.get("label", ""),
            choices=_lines(form.get("choices")) if current.kind.has_choices else None,
            required_for=_required(form),
            visibility=form.get("visibility", current.visibility.value),
        )
    what = {True: "archived", False: "restored", None: "saved"}[archived]
    flash(f"Field {changed.label} {what}.")
