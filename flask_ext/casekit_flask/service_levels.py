"""The managers' service-level targets: listed in the order they are tried, edited one
at a time, their times in hours and minutes of working time.

Routes of the staff blueprint, beside the other settings pages (the calendars
are in :mod:`casekit_flask.calendars`). The organization's staff read them;
its managers add, change, move and remove them. What the core refuses comes
back on the form, each field with its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, InvalidInput, OrgRole
from casekit.domain.case import Source
from casekit.domain.sla import Target
from casekit.labels import label
from casekit_flask.extension import current_kit
from casekit_flask.staff import _organization, partners_of, require_staff, staff

#: The target's times on the form, by the core's name, and what they are called.
TIMES = (
    ("first_response", "First response"),
    ("next_response", "Next response"),
    ("resolution", "Resolution"),
)
#: The text conditions (one value a line) and the lists the others choose from.
TEXT_CONDITIONS = (
    ("brands", "Brands"),
    ("modes", "Modes"),
    ("segments", "Customer segments"),
)
MAX_HOURS = 366 * 24


# -- targets -------------------------------------------------------------------------------
def duration(seconds: int | None) -> str:
    """Working seconds in the words of the pages: "4 h", "1 h 30 min", "45 min"."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else [])
    return " ".join(parts) or "0 min"


def _split(seconds: int | None) -> tuple[str, str]:
    if seconds is None:
        return "", ""
    hours, rest = divmod(int(seconds), 3600)
    return str(hours), str(rest // 60)


def target_form(target: Target | None) -> dict[str, Any]:
    """The form's values for ``target`` (a new one's: in use, the warning left to the core's
    default)."""
    if target is None:
        return {
            "name": "",
            "enabled": True,
            "pause_when_waiting": False,
            "types": [],
            "partners": [],
            "sources": [],
            **{name: "" for name, _ in TEXT_CONDITIONS},
            **{f"{name}_{part}": "" for name, _ in TIMES for part in ("hours", "minutes")},
            "warn_before_hours": "",
            "warn_before_minutes": "",
            "watchers": [],
            "hand_over_to": "",
        }
    values: dict[str, Any] = {
        "name": target.name,
        "enabled": target.enabled,
        "pause_when_waiting": target.pause_when_waiting,
        "types": list(target.conditions.get("types", [])),
        "partners": [str(p) for p in target.conditions.get("partners", [])],
        "sources": list(target.conditions.get("sources", [])),
        "watchers": [str(u) for u in target.escalation.get("watchers", [])],
        "hand_over_to": str(target.escalation.get("hand_over_to") or ""),
    }
    for name, _ in TEXT_CONDITIONS:
        values[name] = "\n".join(str(v) for v in target.conditions.get(name, []))
    for name in (*(n for n, _ in TIMES), "warn_before"):
        hours, minutes = _split(getattr(target, f"{name}_seconds"))
        values[f"{name}_hours"], values[f"{name}_minutes"] = hours, minutes
    return values


def posted_target_form(form: Any) -> dict[str, Any]:
    """The target form's values as they were sent."""
    values: dict[str, Any] = {
        "name": form.get("name", ""),
        "enabled": form.get("enabled") == "on",
        "pause_when_waiting": form.get("pause_when_waiting") == "on",
        "types": form.getlist("types"),
        "partners": form.getlist("partners"),
        "sources": form.getlist("sources"),
        "watchers": form.getlist("watchers"),
        "hand_over_to": form.get("hand_over_to", ""),
    }
    for name, _ in TEXT_CONDITIONS:
        values[name] = form.get(name, "")
    for name in (*(n for n, _ in TIMES), "warn_before"):
        for part in ("hours", "minutes"):
            values[f"{name}_{part}"] = form.get(f"{name}_{part}", "").strip()
    return values


def _seconds(values: Mapping[str, Any], name: str, errors: dict[str, list[str]]) -> int | None:
    hours, minutes = values[f"{name}_hours"], values[f"{name}_minutes"]
    if not hours and not minutes:
        return None
    if not (hours or "0").isdigit() or not (minutes or "0").isdigit() or len(hours) > 5:
        errors[name] = ["whole hours and minutes, like 4 and 30"]
        return None
    if int(minutes or 0) > 59:
        errors[name] = ["minutes from 0 to 59"]
        return None
    if int(hours or 0) > MAX_HOURS:
        errors[name] = ["at most 366 days"]
        return None
    return int(hours or 0) * 3600 + int(minutes or 0) * 60


def _ids(texts: list[str], field: str, errors: dict[str, list[str]]) -> list[int]:
    if any(not (t.isdigit() and len(t) < 10) for t in texts):
        errors[field] = ["choose from the list"]
        return []
    return [int(t) for t in texts]


def _lines(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def target_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """What ``kit.service_levels.save_target`` takes, from the form's values; and the errors
    of the form itself (a time that is no number), by the form's field."""
    errors: dict[str, list[str]] = {}
    conditions: dict[str, list[Any]] = {
        "types": list(values["types"]),
        "partners": _ids(values["partners"], "partners", errors),
        "sources": list(values["sources"]),
    }
    for name, _ in TEXT_CONDITIONS:
        conditions[name] = _lines(values[name])
    hand_over = values["hand_over_to"]
    escalation: dict[str, Any] = {"watchers": _ids(values["watchers"], "watchers", errors)}
    if hand_over:
        found = _ids([hand_over], "hand_over_to", errors)
        escalation["hand_over_to"] = found[0] if found else None
    out: dict[str, Any] = {
        "name": values["name"],
        "enabled": values["enabled"],
        "pause_when_waiting": values["pause_when_waiting"],
        "conditions": conditions,
        "escalation": escalation,
    }
    for name, _ in TIMES:
        out[name] = _seconds(values, name, errors)
    warn = _seconds(values, "warn_before", errors)
    if warn is not None:  # left empty: the core's default (a new target) or as it was
        out["warn_before"] = warn
    return out, errors


#: The core's fields of a target, by the form's field they are on.
_TARGET_FIELDS = {
    "conditions.types": "types",
    "conditions.partners": "partners",
    "conditions.sources": "sources",
    "conditions.brands": "brands",
    "conditions.modes": "modes",
    "conditions.segments": "segments",
    "escalation.watchers": "watchers",
    "escalation.hand_over_to": "hand_over_to",
}
TARGET_LABELS = {
    "name": "Name",
    "types": "Case types",
    "partners": "Partners",
    "sources": "Sources",
    **dict(TEXT_CONDITIONS),
    **dict(TIMES),
    "warn_before": "Warn before",
    "pause_when_waiting": "Pause while waiting",
    "enabled": "In use",
    "watchers": "Watchers at a breach",
    "hand_over_to": "Hand over at a breach",
    "position": "Order",
}


def target_errors(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """The core's errors on a target, by the form's field."""
    found: dict[str, list[str]] = {}
    for name, messages in errors.items():
        field = _TARGET_FIELDS.get(name, name)
        found.setdefault(field, []).extend(str(m) for m in messages)
    return found


def _target_context(actor: Actor, organization: Any) -> dict[str, Any]:
    kit = current_kit()
    partners = partners_of(actor, organization)
    return {
        "case_types": kit.case_types,
        "partners": partners,
        "partner_role": "carrier" if organization.role is OrgRole.SHIPPER else "shipper",
        "sources": [(s.value, label("source", s)) for s in Source],
        "users": kit.directory.users(actor),
        "times": TIMES,
        "text_conditions": TEXT_CONDITIONS,
        "labels": TARGET_LABELS,
    }


def describe_conditions(
    target: Target,
    case_types: Mapping[str, Any],
    partners: Mapping[int, str],
    partner_label: str = "Partners",
) -> list[tuple[str, str]]:
    """A target's conditions in words: (what, the values), in the form's order;
    ``partner_label`` names the partners ("Carriers" to a shipper)."""
    found: list[tuple[str, str]] = []

    def words(name: str, value: Any) -> str:
        if name == "types":
            return str(case_types[value].label) if value in case_types else str(value)
        if name == "partners":
            return partners.get(value, f"#{value}")
        if name == "sources":
            return label("source", value)
        return str(value)

    for name in ("types", "partners", "sources", *(n for n, _ in TEXT_CONDITIONS)):
        wanted = target.conditions.get(name)
        if wanted:
            what = partner_label if name == "partners" else TARGET_LABELS[name]
            found.append((what, ", ".join(words(name, v) for v in wanted)))
    return found


@staff.route("/settings/service-levels", methods=["GET", "POST"])
def service_levels() -> ResponseReturnValue:
    """The organization's targets in the order they are tried; managers move them."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    targets = kit.service_levels.targets(actor)
    if request.method == "POST":
        _move(actor, targets, request.form.get("target", ""), request.form.get("move", ""))
        return redirect(url_for(".service_levels"))
    context = _target_context(actor, organization)
    names = {p.id: p.name for p in context["partners"]}
    partner_label = context["partner_role"].capitalize() + "s"
    return render_template(
        "casekit/staff/service_levels.html",
        actor=actor,
        organization=organization,
        targets=[
            (t, describe_conditions(t, context["case_types"], names, partner_label))
            for t in targets
        ],
        duration=duration,
        **context,
    )


def _move(actor: Actor, targets: list[Target], target: str, move: str) -> None:
    """Move a target one place up or down: the targets numbered 0, 1, 2... in their new
    order (only those whose number changes are saved)."""
    found = next((i for i, t in enumerate(targets) if str(t.id) == target), None)
    if found is None or move not in ("up", "down"):
        raise InvalidInput({"target": ["choose a target and up or down"]})
    other = found - 1 if move == "up" else found + 1
    if not 0 <= other < len(targets):
        return
    order = list(targets)
    order[found], order[other] = order[other], order[found]
    for position, moved in enumerate(order):
        if moved.position != position:
            assert moved.id is not None
            current_kit().service_levels.save_target(
                actor, {"position": position}, target_id=moved.id
            )
    flash(f"{targets[found].name} moved {move}.")


@staff.route("/settings/service-levels/new", methods=["GET", "POST"])
def new_service_level() -> ResponseReturnValue:
    """A new target (managers)."""
    actor = require_staff()
    if not actor.is_manager:
        abort(403)
    return _target_page(actor, None)


@staff.route("/settings/service-levels/<int:target_id>", methods=["GET", "POST"])
def service_level(target_id: int) -> ResponseReturnValue:
    """One target: its staff read it, its managers change or remove it."""
    actor = require_staff()
    return _target_page(actor, current_kit().service_levels.target(actor, target_id))


def _target_page(actor: Actor, target: Target | None) -> ResponseReturnValue:
    kit = current_kit()
    errors: dict[str, list[str]] = {}
    values = target_form(target)
    if request.method == "POST":
        if target is not None and request.form.get("action") == "remove":
            assert target.id is not None
            kit.service_levels.remove_target(actor, target.id)
            flash(f"Target {target.name} removed.")
            return redirect(url_for(".service_levels"))
        values = posted_target_form(request.form)
        data, errors = target_values(values)
        if not errors:
            try:
                saved = kit.service_levels.save_target(
                    actor, data, target_id=target.id if target else None
                )
            except InvalidInput as error:
                errors = target_errors(error.errors)
            else:
                flash(f"Target {saved.name} saved: the open cases' clocks follow it now.")
                return redirect(url_for(".service_levels"))
    organization = _organization(actor)
    return render_template(
        "casekit/staff/service_level.html",
        actor=actor,
        organization=organization,
        target=target,
        values=values,
        errors=errors,
        **_target_context(actor, organization),
    ), (400 if errors else 200)
