"""The shipper's rules page: its rules grouped by tier, each one's tier and switch
editable by a manager, and the starter set to install. A route of the staff blueprint.

The rules are defined in full through ``kit.rules`` and the REST API
(``/api/v1/rules``); this page is where people see them as Tier 1 (act now)
and Tier 2 (watch) and move them between the two.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import InvalidInput, OrgRole
from casekit.domain.rules import TIER_ERROR, Tier
from casekit.labels import field_label, label
from casekit.services.rules import STARTER_RULES, Rule
from casekit_flask.extension import current_kit
from casekit_flask.staff import _messages, _organization, require_staff, staff

#: What each tier means, under its heading.
TIER_HINTS = {
    Tier.ACT_NOW: "Each case these rules open needs someone now: the shipment is stuck, "
    "harmed or cannot be delivered as it is.",
    Tier.WATCH: "Cases to keep an eye on and work as time allows: the shipment is late, "
    "canceled or on its way back.",
}


def describe(
    rule: Rule, case_types: Any, tag_names: dict[int, str] | None = None
) -> dict[str, Any]:
    """What the page says of a rule: when it fires, on which modes, what the shipment's
    cases must be (their priority, the organization's tags), what it opens (its case
    type, with the priority and the organization's tags it gives the case)."""
    spec = rule.spec
    when = [f"Status: {label('shipment_status', s)}" for s in spec.statuses]
    when += [f"Exception: {label('exception', e)}" for e in spec.exceptions]
    if spec.time_condition is not None:
        text = label("time_condition", spec.time_condition)
        when.append(f"{text} ({spec.hours} h)" if spec.hours else text)
    if spec.modes:
        mode = ", ".join(label("mode", m) for m in spec.modes)
    elif spec.not_modes:
        mode = "Any mode but " + ", ".join(label("mode", m).lower() for m in spec.not_modes)
    else:
        mode = "Any mode"
    more = [
        field
        for field in ("directions", "carriers", "brands", "customer_segments", "regions")
        if getattr(spec, field)
    ]
    found = case_types.get(spec.case_type)
    names = tag_names or {}

    def tags(ids: tuple[int, ...], joint: str) -> str:
        return f" {joint} ".join(names.get(i, str(i)) for i in ids)

    cases = []
    if spec.case_priorities:
        cases.append(
            "of " + " or ".join(label("priority", p) for p in spec.case_priorities) + " priority"
        )
    if spec.case_min_priority is not None:
        cases.append(f"of {label('priority', spec.case_min_priority)} priority or higher")
    if spec.case_tags_any:
        cases.append(f"tagged {tags(spec.case_tags_any, 'or')}")
    if spec.case_tags_all:
        cases.append(f"tagged {tags(spec.case_tags_all, 'and')}")
    case_text = "An active case " + ", ".join(cases) if cases else ""
    if spec.case_tags_none:
        none = f"no active case tagged {tags(spec.case_tags_none, 'or')}"
        case_text = f"{case_text}; {none}" if case_text else "N" + none[1:]
    opens = found.label if found is not None else spec.case_type
    given = [f"{label('priority', spec.priority)} priority"] if spec.priority else []
    given += [f"tag {(tag_names or {}).get(i, i)}" for i in spec.tag_ids]
    return {
        "rule": rule,
        "when": "; ".join(when),
        "mode": mode,
        "opens": f"{opens} ({', '.join(given)})" if given else opens,
        "more": ", ".join(field_label(f).lower() for f in more),
        "cases": case_text,
    }


def _wanted(
    form: Any, rules: list[Rule]
) -> tuple[dict[int, tuple[int, bool]], dict[str, list[str]]]:
    """The tier and switch the form asks for each rule it shows; errors by field."""
    shown = {r.id: r for r in rules}
    wanted: dict[int, tuple[int, bool]] = {}
    errors: dict[str, list[str]] = {}
    for raw in form.getlist("rule"):
        if not raw.isdigit() or int(raw) not in shown:
            continue  # a rule deleted meanwhile, or not the organization's
        rule_id = int(raw)
        tier = form.get(f"tier-{rule_id}", "")
        if tier not in {str(int(t)) for t in Tier}:
            errors[f"tier-{rule_id}"] = [TIER_ERROR]
            continue
        wanted[rule_id] = (int(tier), form.get(f"enabled-{rule_id}") == "on")
    return wanted, errors


@staff.route("/settings/rules", methods=["GET", "POST"])
def rules() -> ResponseReturnValue:
    """The shipper's rules by tier; a manager moves them between tiers, switches them
    on and off, and installs the starter set."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    shipper = organization.role is OrgRole.SHIPPER
    listed = kit.rules.list(actor) if shipper else []
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not (shipper and actor.is_manager):
            abort(403)
        if request.form.get("action") == "starters":
            added = kit.rules.install_starters(actor)
            flash(
                f"{len(added)} starter rules added, switched off: review them and switch on "
                "the ones you want."
                if added
                else "You have every starter rule already."
            )
            return redirect(url_for(".rules"))
        wanted, errors = _wanted(request.form, listed)
        if not errors:
            changed = 0
            for rule in listed:
                if rule.id not in wanted or wanted[rule.id] == (int(rule.tier), rule.enabled):
                    continue
                tier, enabled = wanted[rule.id]
                try:
                    kit.rules.update(actor, rule.id, enabled=enabled, tier=tier)
                    changed += 1
                except InvalidInput as error:
                    for field, messages in _messages(error).items():
                        errors.setdefault(f"tier-{rule.id}", []).extend(
                            f"{field_label(field)}: {m}" for m in messages
                        )
            if not errors:
                flash(f"Rules saved ({changed} changed).")
                return redirect(url_for(".rules"))
            listed = kit.rules.list(actor)
    have = {rule.name for rule in listed}
    tag_names = {t.id or 0: t.name for t in kit.tags.list(actor, archived=True)}
    groups = [
        (tier, [describe(r, kit.case_types, tag_names) for r in listed if r.tier is tier])
        for tier in Tier
    ]
    return render_template(
        "casekit/staff/rules.html",
        actor=actor,
        organization=organization,
        shipper=shipper,
        groups=groups,
        hints=TIER_HINTS,
        tiers=list(Tier),
        missing_starters=sum(1 for d in STARTER_RULES if d["name"] not in have),
        errors=errors,
        form=request.form if errors else None,
        names={f"tier-{r.id}": r.name for r in listed},
    ), (400 if errors else 200)
