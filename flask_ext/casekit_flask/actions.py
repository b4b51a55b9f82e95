"""Actions on the case page: the delivery appointment and disposition panel.

One form route takes every step (``do``): ``propose``, ``counter``,
``accept`` and ``withdraw`` a delivery appointment; ``request``, ``decide``
and ``withdraw`` a disposition. Windows are typed as a date and two times in the
destination's time zone, which the form names. A refused step shows the
case page again with the field it names (a 400).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, CaseView, InvalidInput
from casekit.domain.actions import MAX_WINDOWS, ActionKind, Window
from casekit.query.models import CaseFacts
from casekit_flask.extension import current_kit
from casekit_flask.staff import _messages, _render_case, require_staff, staff

#: How many window rows the form offers.
WINDOW_ROWS = 3
STEPS = ("propose", "counter", "accept", "withdraw", "request", "decide")
_DONE = {
    "propose": "Delivery windows proposed.",
    "counter": "Other delivery windows proposed.",
    "accept": "Delivery appointment accepted.",
    "withdraw": "Delivery appointment withdrawn.",
    "request": "Disposition requested.",
    "decide": "Disposition decided.",
    "withdraw_disposition": "Disposition request withdrawn.",
}


def case_form(actor: Actor, case: CaseView, facts: CaseFacts) -> dict[str, Any]:
    """What the case page's actions panel shows and offers the actor, and the
    shipment's delivery appointment as its destination reads it."""
    shipment = facts.shipment
    appointment = None
    if shipment is not None and shipment.delivery_window_start and shipment.delivery_window_end:
        window = Window(shipment.delivery_window_start, shipment.delivery_window_end)
        appointment = window.describe(shipment.delivery_time_zone or "UTC")
    shown: dict[str, Any] = {
        "action_rows": WINDOW_ROWS,
        "delivery_appointment": appointment,
        "actions_now": current_kit().clock.now(),
    }
    if not actor.is_staff or case.carrier_org_id is None:
        return {"actions": [], **shown}
    return {"actions": current_kit().actions.list(actor, case.number), **shown}


def _windows(form: Any) -> list[dict[str, str]]:
    """The filled rows of the form's windows: ``window-N-date``, ``-start``, ``-end``."""
    windows = []
    for row in range(min(WINDOW_ROWS, MAX_WINDOWS)):
        day = form.get(f"window-{row}-date", "").strip()
        start = form.get(f"window-{row}-start", "").strip()
        end = form.get(f"window-{row}-end", "").strip()
        if not (day or start or end):
            continue
        windows.append({"start": f"{day}T{start}" if day else start, "end": f"{day}T{end}"})
    return windows


def _action_id(form: Any) -> int:
    value = form.get("action_id", "")
    if not value.isdigit() or len(value) > 10:
        raise InvalidInput({"action_id": ["choose an action of the case"]})
    return int(value)


@staff.post("/<number>/actions")
def case_actions(number: str) -> ResponseReturnValue:
    """Take one step of a delivery appointment or a disposition on the case."""
    actor = require_staff()
    form = request.form
    kit = current_kit().actions
    step = form.get("do", "")
    try:
        if step not in STEPS:
            raise InvalidInput({"do": ["propose, counter, accept, withdraw, request or decide"]})
        if step == "propose":
            kit.propose_appointment(
                actor, number, _windows(form), time_zone=form.get("time_zone") or None,
                audience=form.get("audience") or None, note=form.get("note", ""),
            )  # fmt: skip
        elif step == "counter":
            kit.counter_appointment(
                actor, number, _action_id(form), _windows(form),
                time_zone=form.get("time_zone") or None, note=form.get("note", ""),
            )  # fmt: skip
        elif step == "accept":
            window = form.get("window", "")
            if not window.isdigit() or len(window) > 2:
                raise InvalidInput({"window": ["choose one of the windows"]})
            kit.accept_appointment(
                actor, number, _action_id(form), window=int(window), note=form.get("note", "")
            )
        elif step == "withdraw":
            chosen = _action_id(form)
            if kit.get(actor, number, chosen).kind is ActionKind.DISPOSITION:
                step = "withdraw_disposition"
                kit.withdraw_disposition(actor, number, chosen, note=form.get("note", ""))
            else:
                kit.withdraw_appointment(actor, number, chosen)
        elif step == "request":
            kit.request_disposition(
                actor, number, reason=form.get("reason", ""),
                deadline=_moment(form.get("deadline", "")),
                storage_from=_moment(form.get("storage_from", "")) or None,
                storage_per_day=form.get("storage_per_day", "") or "0",
                currency=form.get("currency", "") or "USD", note=form.get("note", ""),
            )  # fmt: skip
        else:
            kit.decide_disposition(
                actor, number, _action_id(form), choice=form.get("choice", ""),
                payer=form.get("payer", ""), ra_number=form.get("ra_number", ""),
                note=form.get("note", ""), internal_note=form.get("internal_note", ""),
            )  # fmt: skip
    except InvalidInput as error:
        return _render_case(actor, number, errors=_messages(error), form=form)
    flash(_DONE[step])
    return redirect(url_for(".case_page", number=number) + "#actions-title")


def _moment(value: str) -> str:
    """A ``datetime-local`` field's value as UTC (the form says its times are UTC)."""
    value = value.strip()
    if len(value) == 16 and "T" in value:  # 2026-12-08T17:00
        return value + "+00:00"
    return value
