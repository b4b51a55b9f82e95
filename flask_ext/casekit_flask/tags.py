"""Tags and priority on the staff pages: the case page's two forms and the
organization's tag list (Settings → Tags). Routes of the staff blueprint.

A case's tags are the reader's organization's own (never another's); its
priority is shared by both sides. Managers keep the tag list; every agent
applies tags from it.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, InvalidInput, TagColour
from casekit.domain.tags import MAX_TAG_NAME
from casekit_flask.extension import current_kit
from casekit_flask.staff import (
    _form_version,
    _messages,
    _render_case,
    apply_settings_form,
    require_staff,
    staff,
)

#: The error for an id that names no tag of the organization.
MISSING = ("tag", "no such tag of your organization")


def case_form(actor: Actor) -> dict[str, Any]:
    """What the case page's tag form offers: the organization's tags in use."""
    return {"usable_tags": current_kit().tags.list(actor)}


@staff.post("/<number>/priority")
def priority(number: str) -> ResponseReturnValue:
    """Set the case's priority (both sides read it)."""
    actor = require_staff()
    try:
        current_kit().cases.change(
            actor,
            number,
            {"priority": request.form.get("priority", "")},
            expected_version=_form_version(),
        )
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Priority saved.")
    return redirect(url_for(".case_page", number=number))


@staff.post("/<number>/tags")
def case_tags(number: str) -> ResponseReturnValue:
    """Put exactly the checked tags of the organization on the case."""
    actor = require_staff()
    chosen = request.form.getlist("tag")
    try:
        if not all(v.isdigit() for v in chosen):
            raise InvalidInput({"tags": ["choose tags from the list"]})
        current_kit().cases.change(actor, number, {"tags": [int(v) for v in chosen]})
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=request.form)
    flash("Tags saved.")
    return redirect(url_for(".case_page", number=number))


# -- Settings → Tags -------------------------------------------------------------------------
@staff.route("/settings/tags", methods=["GET", "POST"])
def tag_settings() -> ResponseReturnValue:
    """The organization's tags: managers add, rename, recolour, archive and restore them."""
    actor = require_staff()
    kit = current_kit()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        failed = apply_settings_form(lambda: _apply(actor, request.form), MISSING)
        if failed is None:
            return redirect(url_for(".tag_settings"))
        errors, status = failed
    return render_template(
        "casekit/staff/tags.html",
        actor=actor,
        tags=kit.tags.list(actor, archived=True),
        colours=list(TagColour),
        errors=errors,
        form=request.form if errors else {},
        max_name=MAX_TAG_NAME,
    ), status


def _apply(actor: Actor, form: Any) -> None:
    """One form of the tags page: a new tag, or a change to one (``tag`` its id)."""
    tags = current_kit().tags
    raw = form.get("tag", "")
    if not raw:
        created = tags.create(actor, form.get("name", ""), colour=form.get("colour", "grey"))
        flash(f"Tag {created.name} added.")
        return
    if not raw.isdigit():
        raise InvalidInput({MISSING[0]: [MISSING[1]]})
    archived = {"archive": True, "restore": False}.get(form.get("action", ""))
    changed = tags.update(
        actor,
        int(raw),
        name=form.get("name") if archived is None else None,
        colour=form.get("colour") if archived is None else None,
        archived=archived,
    )
    what = {True: "archived", False: "restored", None: "saved"}[archived]
    flash(f"Tag {changed.name} {what}.")
