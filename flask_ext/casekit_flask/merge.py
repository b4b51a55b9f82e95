"""Merging a duplicate into the original on the staff pages: the case page's
"Merge into…" form, the confirmation that shows both cases, and the merge.
Routes of the staff blueprint.

A merged case's page, and any change asked of it, send the reader on to the
case it went into (a 303 with a notice; the ``CaseMerged`` handler of
:func:`casekit_flask.extension.register_error_handlers`).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, CaseMerged, InvalidInput, NotFound
from casekit_flask.extension import current_kit
from casekit_flask.staff import _form_version, _messages, _type_label, require_staff, staff


@staff.route("/<number>/merge", methods=["GET", "POST"])
def merge_case(number: str) -> ResponseReturnValue:
    """GET: the confirmation of merging this case into ``into`` (both shown).
    POST: the merge; then the original's page."""
    actor = require_staff()
    kit = current_kit()
    duplicate = kit.cases.get(actor, number)
    if duplicate.merged_into is not None:
        raise CaseMerged(duplicate.number, duplicate.merged_into)
    into = (request.values.get("into") or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            kit.cases.merge(actor, number, into=into, expected_version=_form_version())
        except InvalidInput as error:
            errors = _messages(error)
        else:
            flash(f"Case {duplicate.number} was merged into {into}.")
            return redirect(url_for(".case_page", number=into), 303)
    original = None
    if into and not errors:
        try:
            original = kit.cases.get(actor, into)
        except NotFound:
            errors = {"into": [f"no case {into} that you can see"]}
        else:
            if original.number == duplicate.number:
                errors = {"into": ["a case cannot be merged into itself"]}
                original = None
    elif not into and request.args.get("into") is not None:
        errors = {"into": ["name the case to merge into by its number"]}
    return render_template(
        "casekit/staff/merge.html",
        actor=actor,
        duplicate=duplicate,
        original=original,
        cases=[_summary(actor, duplicate)] + ([_summary(actor, original)] if original else []),
        into=into,
        errors=errors,
        type_label=_type_label(kit),
    ), (400 if errors else 200)


def _summary(actor: Actor, case: Any) -> dict[str, Any]:
    """What the confirmation shows of one case, as the actor reads it."""
    kit = current_kit()
    facts = kit.cases.facts(actor, case.number)
    timeline = kit.cases.timeline(actor, case.number)
    return {
        "case": case,
        "shipper": facts.organizations.get(case.shipper_org_id, ""),
        "carrier": facts.organizations.get(case.carrier_org_id, "") if case.carrier_org_id else "",
        "customer": (facts.customer.name or facts.customer.email) if facts.customer else "",
        "shipment": facts.shipment.reference if facts.shipment is not None else "",
        "messages": sum(1 for entry in timeline if entry.kind == "message"),
    }
