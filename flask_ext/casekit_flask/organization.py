"""Staff settings pages beside the feedback portal switch: collaborator
addresses, case addresses, mail template overrides with a preview, and a
user's own notification subscriptions. Routes of the staff blueprint."""

from __future__ import annotations

from typing import Any

import nh3
from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from casekit import Actor, InvalidInput, OrgRole
from casekit.domain.case_address import UnknownSenders
from casekit.domain.notify import TEMPLATE_NAMES, NotifyEvent
from casekit.labels import label
from casekit.services.case_addresses import UNCHANGED
from casekit_flask.extension import current_kit, error_page
from casekit_flask.staff import _messages, _organization, require_staff, staff

#: What each kind of event is called on the subscriptions page.
EVENT_LABELS: dict[NotifyEvent, str] = {e: label("notify_event", e) for e in NotifyEvent}

#: What each mail template is for, on the templates page.
TEMPLATE_LABELS: dict[str, str] = {name: label("template", name) for name in TEMPLATE_NAMES}


# -- collaborator addresses -------------------------------------------------------------------
def _pairs(actor: Actor, organization: Any) -> list[dict[str, Any]]:
    """One row per partner organization: the pair's ids and both sides' addresses."""
    kit = current_kit()
    shipper_side = organization.role is OrgRole.SHIPPER
    partner_role = OrgRole.CARRIER if shipper_side else OrgRole.SHIPPER
    known = {
        (a.shipper_org_id, a.carrier_org_id, a.side.value): a.email
        for a in kit.notifications.collaborator_addresses(actor)
    }
    rows = []
    for partner in kit.directory.organizations(actor, partner_role):
        assert partner.id is not None
        shipper_id: int = organization.id if shipper_side else partner.id
        carrier_id: int = partner.id if shipper_side else organization.id
        rows.append(
            {
                "partner": partner,
                "shipper_id": shipper_id,
                "carrier_id": carrier_id,
                "shipper": known.get((shipper_id, carrier_id, "shipper"), ""),
                "carrier": known.get((shipper_id, carrier_id, "carrier"), ""),
            }
        )
    return rows


def _field(shipper_id: int, carrier_id: int, side: str) -> str:
    return f"address-{shipper_id}-{carrier_id}-{side}"


@staff.route("/settings/addresses", methods=["GET", "POST"])
def collaborator_addresses() -> ResponseReturnValue:
    """The address notified for each side of each shipper-carrier pair."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    pairs = _pairs(actor, organization)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        changed = 0
        for pair in pairs:
            for side in ("shipper", "carrier"):
                name = _field(pair["shipper_id"], pair["carrier_id"], side)
                if name not in request.form:
                    continue
                wanted = request.form[name].strip()
                if wanted.lower() == pair[side]:
                    continue
                try:
                    kit.notifications.set_collaborator_address(
                        actor,
                        shipper_org_id=pair["shipper_id"],
                        carrier_org_id=pair["carrier_id"],
                        side=side,
                        email=wanted or None,
                    )
                    changed += 1
                except InvalidInput as error:
                    errors[name] = [m for msgs in _messages(error).values() for m in msgs]
        if not errors:
            flash(f"Collaborator addresses saved ({changed} changed).")
            return redirect(url_for(".collaborator_addresses"))
    return render_template(
        "casekit/staff/addresses.html",
        actor=actor,
        organization=organization,
        pairs=pairs,
        field=_field,
        errors=errors,
        form=request.form,
    ), (400 if errors else 200)


# -- case addresses ---------------------------------------------------------------------------
#: What each choice of ``unknown_senders`` is called on the page.
UNKNOWN_SENDERS_LABELS = {u: label("unknown_senders", u) for u in UnknownSenders}


def _address_options(form: Any) -> dict[str, Any]:
    """The options of a case address form; a field that is not an id is an InvalidInput."""
    options: dict[str, Any] = {"case_type": form.get("case_type", "").strip() or None}
    errors: dict[str, list[str]] = {}
    for name in ("owner_id", "partner_id"):
        value = form.get(name, "").strip()
        if value and not (value.isdigit() and len(value) < 10):
            errors[name] = ["choose one from the list"]
        options[name] = int(value) if value and name not in errors else None
    options["unknown_senders"] = form.get("unknown_senders") or UNCHANGED
    if errors:
        raise InvalidInput(errors)
    return options


@staff.route("/settings/case-addresses", methods=["GET", "POST"])
def case_addresses() -> ResponseReturnValue:
    """The organization's case addresses: managers add, change and remove them."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    errors: dict[str, list[str]] = {}
    posted = request.form.get("address", "") if request.method == "POST" else None
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "remove":
                kit.case_addresses.remove(actor, posted or "")
                flash(f"{posted} no longer opens cases.")
            elif action == "save":
                kit.case_addresses.update(actor, posted or "", **_address_options(request.form))
                flash(f"{posted} saved.")
            else:
                options = _address_options(request.form)
                if options["unknown_senders"] is UNCHANGED:
                    options["unknown_senders"] = None
                added = kit.case_addresses.add(actor, request.form.get("email", ""), **options)
                flash(f"{added.email} now opens cases.")
            return redirect(url_for(".case_addresses"))
        except InvalidInput as error:
            errors = _messages(error)
    other = OrgRole.CARRIER if organization.role is OrgRole.SHIPPER else OrgRole.SHIPPER
    return render_template(
        "casekit/staff/case_addresses.html",
        actor=actor,
        organization=organization,
        addresses=kit.case_addresses.list(actor),
        case_types=kit.case_types,
        users=kit.directory.users(actor),
        partners=kit.directory.organizations(actor, other),
        partner_role=other.value,
        senders=UNKNOWN_SENDERS_LABELS,
        errors=errors,
        posted=posted,
        form=request.form,
    ), (400 if errors else 200)


# -- mail templates ---------------------------------------------------------------------------
@staff.get("/settings/templates")
def templates() -> ResponseReturnValue:
    actor = require_staff()
    return render_template(
        "casekit/staff/templates.html",
        actor=actor,
        organization=_organization(actor),
        templates=current_kit().notifications.templates(actor),
        labels=TEMPLATE_LABELS,
    )


@staff.route("/settings/templates/<name>", methods=["GET", "POST"])
def edit_template(name: str) -> ResponseReturnValue:
    """One template: edit, preview (rendered by casekit's sandbox), save or reset."""
    actor = require_staff()
    kit = current_kit()
    if name not in TEMPLATE_NAMES:
        return error_page(404, "Not found", f"There is no email template {name}.")
    current = kit.notifications.template(actor, name)
    draft = {"subject": current.subject, "text": current.text, "html": current.html}
    errors: dict[str, list[str]] = {}
    preview = None
    if request.method == "POST":
        action = request.form.get("action", "preview")
        draft = {part: request.form.get(part, "") for part in ("subject", "text", "html")}
        try:
            if action == "save":
                kit.notifications.set_template(
                    actor, name, subject=draft["subject"], text=draft["text"], html=draft["html"]
                )
                flash("Template saved: your organization's mail uses it now.")
                return redirect(url_for(".edit_template", name=name))
            if action == "reset":
                kit.notifications.reset_template(actor, name)
                flash("Template reset to the shipped one.")
                return redirect(url_for(".edit_template", name=name))
            preview = kit.notifications.preview_template(
                actor, name, subject=draft["subject"], text=draft["text"], html=draft["html"]
            )
        except InvalidInput as error:
            errors = _messages(error)
    return render_template(
        "casekit/staff/template.html",
        actor=actor,
        organization=_organization(actor),
        name=name,
        label=TEMPLATE_LABELS.get(name, name),
        template=current,
        draft=draft,
        preview=preview,
        # The HTML part, cleaned: no script, no event handlers, no styles from elsewhere.
        preview_html=Markup(nh3.clean(preview.html)) if preview is not None else None,
        errors=errors,
    ), (400 if errors else 200)


# -- personal subscriptions ---------------------------------------------------------------
def _events(organization: Any) -> list[NotifyEvent]:
    """Customer feedback reaches the merchant's staff only: carriers never get it."""
    return [
        e
        for e in NotifyEvent
        if e is not NotifyEvent.CUSTOMER_FEEDBACK or organization.role is OrgRole.SHIPPER
    ]


@staff.route("/settings/notifications", methods=["GET", "POST"])
def subscriptions() -> ResponseReturnValue:
    """The signed-in user's own subscriptions: which events send them mail."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    events = _events(organization)
    if request.method == "POST":
        current = {s.event: s for s in kit.notifications.subscriptions(actor)}
        changes: dict[NotifyEvent | str, bool | None] = {}
        for event in events:
            wanted = request.form.get(event.value) == "on"
            # Choosing the default keeps following it; anything else is the user's own.
            changes[event] = None if wanted == current[event].default else wanted
        kit.notifications.set_subscriptions(actor, changes)
        flash("Your notifications are saved.")
        return redirect(url_for(".subscriptions"))
    chosen = {s.event: s for s in kit.notifications.subscriptions(actor)}
    return render_template(
        "casekit/staff/subscriptions.html",
        actor=actor,
        organization=organization,
        rows=[(event, EVENT_LABELS[event], chosen[event]) for event in events],
    )
