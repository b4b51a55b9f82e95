"""The case page's carrier form: bring a carrier in, change or remove it, switch
whether it collaborates, and set the pair's carrier-side collaborator address,
without leaving the case. The shipper's staff only; the address, its managers."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, CaseView, Conflict, InvalidInput, OrgRole, PermissionDenied, Side
from casekit_flask.extension import current_kit
from casekit_flask.staff import (
    _form_version,
    _int_field,
    _messages,
    _render_case,
    require_staff,
    staff,
)


def carrier_form(actor: Actor, case: CaseView) -> dict[str, Any]:
    """What the carrier form shows the shipper's staff: the carriers to choose
    from, each with the pair's carrier-side collaborator address."""
    kit = current_kit()
    addresses = {
        a.carrier_org_id: a.email
        for a in kit.notifications.collaborator_addresses(actor)
        if a.shipper_org_id == case.shipper_org_id and a.side is Side.CARRIER
    }
    carriers = kit.directory.organizations(actor, OrgRole.CARRIER)
    return {
        "carriers": [(org, addresses.get(org.id or 0, "")) for org in carriers],
        "carrier_address": addresses.get(case.carrier_org_id or 0, ""),
    }


@staff.post("/<number>/carrier")
def change_carrier(number: str) -> ResponseReturnValue:
    """Name, change or remove the case's carrier; switch its collaborating; set its address."""
    actor = require_staff()
    kit = current_kit()
    form = request.form
    errors: dict[str, list[str]] = {}
    carrier = _int_field(form, "carrier", errors)
    version = _form_version()
    if errors:
        return _render_case(actor, number, errors=errors, form=form)
    case = kit.cases.get(actor, number)
    if actor.org_id != case.shipper_org_id:
        raise PermissionDenied("only the shipper's staff may name the carrier")
    if version is not None and version != case.version:
        # Before the address is written: a stale form changes nothing at all.
        raise Conflict(
            f"case {case.number} is at version {case.version}, not {version}; "
            "reload it and try again",
            current_version=case.version,
        )
    changes: dict[str, Any] = {"carrier": carrier}
    if carrier is not None:
        changes["carrier_collaborating"] = form.get("collaborating") == "on"
    # The address first: a pair's setting, refused (a 400 naming it) before the
    # case changes. Only what the manager edited is written, so that choosing
    # another carrier never copies the old one's address to it.
    address = form.get("collaborator_address")
    if carrier is not None and address is not None and address != form.get("address_was"):
        try:
            kit.notifications.set_collaborator_address(
                actor,
                shipper_org_id=case.shipper_org_id,
                carrier_org_id=carrier,
                side=Side.CARRIER,
                email=address,
            )
        except InvalidInput as error:
            found = _messages(error)
            renamed = {_ADDRESS_FIELDS.get(k, k): v for k, v in found.items()}
            return _render_case(actor, number, errors=renamed, form=form)
    try:
        kit.cases.change(actor, number, changes, expected_version=version)
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=form)
    flash("Carrier saved.")
    return redirect(url_for(".case_page", number=number))


#: The address service's fields, as the form names them.
_ADDRESS_FIELDS = {"email": "collaborator_address", "carrier_org_id": "carrier"}
