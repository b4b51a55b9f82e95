"""The triage inbox: inbound mail casekit could not put on a case by itself.

Staff of the organization the mail was routed to file it onto a case
(choosing who sees it), open a new case from it, or discard it. Routes of
the staff blueprint.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import InvalidInput
from casekit_flask.extension import current_kit
from casekit_flask.staff import (
    _audiences,
    _messages,
    _organization,
    _type_label,
    require_staff,
    staff,
)

PAGE = 50


@staff.get("/triage/")
def triage() -> ResponseReturnValue:
    actor = require_staff()
    before = request.args.get("before", type=int)
    handled = request.args.get("handled") == "1"
    items = current_kit().inbound.triage(
        actor, limit=PAGE + 1, before_id=before, include_handled=handled
    )
    more = len(items) > PAGE
    items = items[:PAGE]
    return render_template(
        "casekit/staff/triage.html",
        actor=actor,
        items=items,
        handled=handled,
        next_before=items[-1].id if more and items else None,
    )


def _render_item(
    item_id: int, *, errors: dict[str, list[str]] | None = None, status: int = 200
) -> ResponseReturnValue:
    actor = require_staff()
    kit = current_kit()
    item = kit.inbound.triage_item(actor, item_id)
    side = _organization(actor).role.value
    return render_template(
        "casekit/staff/triage_item.html",
        actor=actor,
        item=item,
        side=side,
        audiences=_audiences(side),
        case_types=kit.case_types,
        type_label=_type_label(kit),
        errors=errors or {},
        form=request.form,
    ), status


@staff.get("/triage/<int:item_id>")
def triage_item(item_id: int) -> ResponseReturnValue:
    return _render_item(item_id)


@staff.get("/triage/<int:item_id>/original")
def triage_original(item_id: int) -> ResponseReturnValue:
    """The raw message, as a download (never shown inline)."""
    actor = require_staff()
    kit = current_kit()
    kit.inbound.triage_item(actor, item_id)  # NotFound for another organization's
    try:
        stream = kit.inbound.original(actor, item_id)
    except InvalidInput as error:
        return _render_item(item_id, errors=_messages(error), status=410)
    with stream:
        data = stream.read()
    return Response(
        data,
        mimetype="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="message-{item_id}.eml"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@staff.post("/triage/<int:item_id>/file")
def triage_file(item_id: int) -> ResponseReturnValue:
    actor = require_staff()
    number = request.form.get("number", "").strip()
    try:
        if not number:
            raise InvalidInput({"number": ["name the case to put the message on"]})
        result = current_kit().inbound.file(
            actor, item_id, number, audience=request.form.get("audience") or None
        )
    except InvalidInput as error:
        return _render_item(item_id, errors=_messages(error), status=400)
    flash(f"The message is on case {result.case_number} now.")
    return redirect(url_for(".triage"))


@staff.post("/triage/<int:item_id>/open")
def triage_open(item_id: int) -> ResponseReturnValue:
    actor = require_staff()
    customer = request.form.get("customer", "").strip()
    try:
        if customer and not customer.isdigit():
            raise InvalidInput({"customer": ["a customer id (a number)"]})
        view = current_kit().inbound.open_case(
            actor,
            item_id,
            type=request.form.get("type") or None,
            customer=int(customer) if customer else None,
            audience=request.form.get("audience") or None,
        )
    except InvalidInput as error:
        return _render_item(item_id, errors=_messages(error), status=400)
    flash(f"Case {view.number} opened from the message.")
    return redirect(url_for(".case_page", number=view.number))


@staff.post("/triage/<int:item_id>/discard")
def triage_discard(item_id: int) -> ResponseReturnValue:
    actor = require_staff()
    try:
        current_kit().inbound.discard(actor, item_id)
    except InvalidInput as error:
        return _render_item(item_id, errors=_messages(error), status=400)
    flash("The message is discarded.")
    return redirect(url_for(".triage"))
