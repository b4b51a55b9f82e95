"""Delivery appointments and dispositions of a case (``kit.actions``, docs/actions.rst)."""

from __future__ import annotations

from typing import Any

from casekit.query.actions import ActionView
from casekit_flask.api.cases import COMMON, _id, _number, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint, if_match
from casekit_flask.api.schemas import (
    AcceptSchema,
    ActionListSchema,
    ActionSchema,
    CounterSchema,
    DispositionDecisionSchema,
    DispositionRequestSchema,
    ProblemSchema,
    ProposeSchema,
    WithdrawSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_actions",
    __name__,
    url_prefix="/cases",
    description="Delivery appointments and dispositions: structured actions on a case.",
)


def _problems(func: Any) -> Any:
    for code in (*COMMON, 409):
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _wire(view: ActionView) -> dict[str, Any]:
    now = current_kit().clock.now()
    return {
        "id": view.id,
        "case_number": view.case_number,
        "kind": view.kind.value,
        "state": view.state,
        "audience": view.audience.value,
        "side": view.side.value,
        "created_by": view.created_by,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "note": view.note,
        "replaces_id": view.replaces_id,
        "decided_by": view.decided_by,
        "decided_at": view.decided_at,
        "time_zone": view.time_zone,
        "windows": [{"start": w.start, "end": w.end, "label": w.label} for w in view.windows],
        "accepted": (
            {"start": view.accepted.start, "end": view.accepted.end, "label": view.accepted.label}
            if view.accepted
            else None
        ),
        "reason": view.reason,
        "deadline": view.deadline,
        "storage_from": view.storage_from,
        "storage_per_day": view.storage_per_day,
        "storage_days": view.storage_days(now) if view.storage_per_day is not None else None,
        "storage_charges": view.storage_charges(now),
        "currency": view.currency,
        "choice": view.choice,
        "payer": view.payer,
        "ra_number": view.ra_number,
        "carrier_reference": view.carrier_reference,
        "internal_note": view.internal_note,
    }


@blp.route("/<number>/actions", methods=["GET"])
@blp.response(200, ActionListSchema)
@_problems
def list_actions(number: str) -> Any:
    """The case's delivery appointments and dispositions the caller reads, oldest first.
    The shipper's `internal_note` is null for anyone but the shipper."""
    found = current_kit().actions.list(actor(), _number(number))
    return {"actions": [_wire(a) for a in found]}


@blp.route("/<number>/appointments", methods=["POST"])
@blp.arguments(ProposeSchema)
@blp.response(201, ActionSchema)
@_problems
def propose_appointment(data: dict[str, Any], number: str) -> Any:
    """Propose delivery windows (local times in `time_zone`, the destination's) to the
    other side. Honours `If-Match`."""
    view = current_kit().actions.propose_appointment(
        actor(), _number(number), data["windows"], time_zone=data["time_zone"],
        audience=data["audience"], note=data["note"], expected_version=if_match(),
    )  # fmt: skip
    return _wire(view), 201


@blp.route("/<number>/appointments/<int:appointment_id>/counter", methods=["POST"])
@blp.arguments(CounterSchema)
@blp.response(201, ActionSchema)
@_problems
def counter_appointment(data: dict[str, Any], number: str, appointment_id: int) -> Any:
    """Answer the other side's proposal with windows of one's own."""
    view = current_kit().actions.counter_appointment(
        actor(), _number(number), _id(appointment_id, "appointment_id"), data["windows"],
        time_zone=data["time_zone"], note=data["note"], expected_version=if_match(),
    )  # fmt: skip
    return _wire(view), 201


@blp.route("/<number>/appointments/<int:appointment_id>/accept", methods=["POST"])
@blp.arguments(AcceptSchema)
@blp.response(200, ActionSchema)
@_problems
def accept_appointment(data: dict[str, Any], number: str, appointment_id: int) -> Any:
    """Accept window `window` (from 0) of the other side's proposal: the shipment's
    delivery appointment."""
    view = current_kit().actions.accept_appointment(
        actor(), _number(number), _id(appointment_id, "appointment_id"), window=data["window"],
        note=data["note"], expected_version=if_match(),
    )  # fmt: skip
    return _wire(view)


@blp.route("/<number>/appointments/<int:appointment_id>/withdraw", methods=["POST"])
@blp.response(200, ActionSchema)
@_problems
def withdraw_appointment(number: str, appointment_id: int) -> Any:
    """Withdraw one's own proposal, or the accepted appointment (either side)."""
    view = current_kit().actions.withdraw_appointment(
        actor(), _number(number), _id(appointment_id, "appointment_id"), expected_version=if_match()
    )
    return _wire(view)


@blp.route("/<number>/dispositions", methods=["POST"])
@blp.arguments(DispositionRequestSchema)
@blp.response(201, ActionSchema)
@_problems
def request_disposition(data: dict[str, Any], number: str) -> Any:
    """The carrier asks for instructions on refused, undeliverable or damaged freight
    by `deadline`, with the storage charges after it."""
    view = current_kit().actions.request_disposition(
        actor(), _number(number), expected_version=if_match(), **data
    )
    return _wire(view), 201


@blp.route("/<number>/dispositions/<int:disposition_id>/decide", methods=["POST"])
@blp.arguments(DispositionDecisionSchema)
@blp.response(200, ActionSchema)
@_problems
def decide_disposition(data: dict[str, Any], number: str, disposition_id: int) -> Any:
    """The shipper's instructions, with an `internal_note` the carrier never reads."""
    chosen = _id(disposition_id, "disposition_id")
    view = current_kit().actions.decide_disposition(
        actor(), _number(number), chosen, expected_version=if_match(), **data
    )
    return _wire(view)


@blp.route("/<number>/dispositions/<int:disposition_id>/withdraw", methods=["POST"])
@blp.arguments(WithdrawSchema)
@blp.response(200, ActionSchema)
@_problems
def withdraw_disposition(data: dict[str, Any], number: str, disposition_id: int) -> Any:
    """The carrier withdraws its request while it waits; storage charges stop."""
    chosen = _id(disposition_id, "disposition_id")
    view = current_kit().actions.withdraw_disposition(
        actor(), _number(number), chosen, expected_version=if_match(), **data
    )
    return _wire(view)
