"""A rule's own page: its card, and the form of its conditions on the shipment's cases —
their priority (one of some priorities, or at least one) and the shipper's own tags they
must carry (any of, all of) or none of them may carry. A route of the staff blueprint;
the rules page (:mod:`casekit_flask.rules`) links each card to it.

The form offers the viewer's own organization's tags only (the archived ones only where
the rule names them already); the service checks again that every tag named is the
shipper's, so a tag id of another organization typed into the form is refused by field.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from casekit import InvalidInput, OrgRole, Priority
from casekit.domain.rule_cases import CASE_CONDITIONS
from casekit.services.rules import Rule
from casekit_flask.extension import current_kit
from casekit_flask.rules import describe
from casekit_flask.staff import _messages, _organization, require_staff, staff

#: The tag conditions, as the form names them.
TAG_FIELDS = ("case_tags_any", "case_tags_all", "case_tags_none")
#: The most digits a tag id the form reads may have (ids are 32-bit).
_ID_DIGITS = 10


def conditions_of(form: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The case conditions a posted form asks for, and its errors by field.

    Only what a form cannot say is checked here (a tag that is not a number);
    the rule's parser names a priority it does not know, and the service a tag
    that is not the shipper's.
    """
    errors: dict[str, list[str]] = {}
    wanted: dict[str, Any] = {
        "case_priorities": [v for v in form.getlist("case_priorities") if v],
        "case_min_priority": form.get("case_min_priority", "").strip() or None,
    }
    for name in TAG_FIELDS:
        ids = []
        for raw in form.getlist(name):
            raw = raw.strip()
            if not raw.isdigit() or len(raw) > _ID_DIGITS:
                errors.setdefault(name, []).append(f"not a tag: {raw[:40]!r}")
            else:
                ids.append(int(raw))
        wanted[name] = ids
    return wanted, errors


def form_of(rule: Rule) -> MultiDict[str, str]:
    """A rule's case conditions as the form's fields."""
    spec = rule.spec
    fields = [("case_priorities", p.value) for p in spec.case_priorities]
    if spec.case_min_priority is not None:
        fields.append(("case_min_priority", spec.case_min_priority.value))
    for name in TAG_FIELDS:
        fields += [(name, str(i)) for i in getattr(spec, name)]
    return MultiDict(fields)


@staff.route("/settings/rules/<int:rule_id>", methods=["GET", "POST"])
def rule(rule_id: int) -> ResponseReturnValue:
    """One rule of the shipper: what it does, and its conditions on the shipment's cases,
    which a manager changes."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    if organization.role is not OrgRole.SHIPPER:
        abort(404)  # a carrier holds no rules
    found = kit.rules.get(actor, rule_id)  # another organization's: not found
    errors: dict[str, list[str]] = {}
    form: Any = form_of(found)
    if request.method == "POST":
        if not actor.is_manager:
            abort(403)
        form = request.form
        wanted, errors = conditions_of(form)
        if not errors:
            definition = {k: v for k, v in found.spec.as_json().items() if k not in CASE_CONDITIONS}
            try:
                kit.rules.update(actor, rule_id, definition | wanted)
            except InvalidInput as error:
                errors = _messages(error)
            else:
                flash(f"Saved the conditions of the rule “{found.name}”.")
                return redirect(url_for(".rule", rule_id=rule_id))
    tags = kit.tags.list(actor, archived=True)
    named = {t.id or 0: t.name for t in tags}
    return render_template(
        "casekit/staff/rule.html",
        actor=actor,
        organization=organization,
        row=describe(found, kit.case_types, named),
        rule=found,
        form=form,
        errors=errors,
        priorities=list(Priority),
        tags=tags,
        tag_fields=TAG_FIELDS,
    ), (400 if errors else 200)
