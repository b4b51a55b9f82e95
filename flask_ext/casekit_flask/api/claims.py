"""Freight claims of a case, their report and a shipper's claim windows
(``kit.claims``, docs/claims.rst)."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from casekit.query.claims import ClaimView
from casekit_flask.api.cases import COMMON, _id, _number, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint, if_match
from casekit_flask.api.schemas import DayRangeArgsSchema, ProblemSchema, StrictSchema, utc_days
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_claims",
    __name__,
    url_prefix="",
    description="Freight claims on loss and damage cases, with their legal clocks.",
)

TEXT = validate.Length(max=4000)


def _problems(func: Any) -> Any:
    for code in (*COMMON, 409):
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


# -- the wire format ---------------------------------------------------------------------


class ClaimLineSchema(Schema):
    description = fields.String(required=True)
    quantity = fields.Integer(required=True)
    amount = fields.String(required=True, metadata={"description": "the line's total"})


class ClaimClockSchema(Schema):
    kind = fields.String(
        required=True,
        metadata={"description": "claim_filing, claim_acknowledgment or claim_disposition"},
    )
    label = fields.String(required=True)
    side = fields.String(required=True, metadata={"description": "the side that owes the step"})
    state = fields.String(required=True, metadata={"description": "running or stopped"})
    started_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    warn_at = fields.DateTime(required=True)
    stopped_at = fields.DateTime(allow_none=True)
    met = fields.Boolean(allow_none=True)
    breached = fields.Boolean(required=True)


class ClaimSchema(Schema):
    """A freight claim, as the caller reads it (the valuation only for the shipper)."""

    id = fields.Integer(required=True)
    case_number = fields.String(required=True)
    status = fields.String(required=True)
    claimant = fields.String(required=True)
    currency = fields.String(required=True)
    amount = fields.String(required=True)
    lines = fields.List(fields.Nested(ClaimLineSchema), required=True)
    documents = fields.Dict(
        keys=fields.String(), values=fields.List(fields.Integer()), required=True
    )
    documents_missing = fields.List(fields.String(), required=True)
    note = fields.String(required=True)
    mode = fields.String(allow_none=True)
    delivered_at = fields.DateTime(required=True)
    filed_at = fields.DateTime(allow_none=True)
    filed_late = fields.Boolean(required=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    amount_paid = fields.String(allow_none=True)
    amount_offered = fields.String(
        allow_none=True,
        metadata={"description": "the carrier's latest firm settlement offer"},
    )
    offered_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    carrier_reference = fields.String(allow_none=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    clocks = fields.List(fields.Nested(ClaimClockSchema), required=True)
    expected_recovery = fields.String(
        allow_none=True, metadata={"description": "the shipper's own; null for anyone else"}
    )
    valuation_note = fields.String(
        allow_none=True, metadata={"description": "the shipper's own; null for anyone else"}
    )


class ClaimListSchema(Schema):
    claims = fields.List(fields.Nested(ClaimSchema), required=True)


class ClaimDraftSchema(StrictSchema):
    lines = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": 'each {"description", "quantity", "amount": "125.50"}'},
    )
    claimant = fields.String(validate=validate.Length(max=200))
    currency = fields.String(validate=validate.Length(max=3))
    documents = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Integer(strict=True)),
        metadata={"description": "a document kind to the case's attachment ids"},
    )
    delivered_at = fields.String(validate=validate.Length(max=40))
    note = fields.String(validate=TEXT)


class ClaimUpdateSchema(ClaimDraftSchema):
    lines = fields.List(fields.Dict())


class ClaimAcknowledgeSchema(StrictSchema):
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class ClaimPaySchema(StrictSchema):
    amount_paid = fields.String(required=True, validate=validate.Length(min=1, max=20))
    reason = fields.String(load_default="", validate=TEXT)
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class ClaimDeclineSchema(StrictSchema):
    reason = fields.String(required=True, validate=TEXT)
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class ClaimOfferSchema(StrictSchema):
    amount_offered = fields.String(required=True, validate=validate.Length(min=1, max=20))
    reason = fields.String(load_default="", validate=TEXT)
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class ClaimWithdrawSchema(StrictSchema):
    reason = fields.String(load_default="", validate=TEXT)


class ClaimValuationSchema(StrictSchema):
    expected_recovery = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=TEXT)


class ClaimReportRowSchema(Schema):
    carrier_org_id = fields.Integer(allow_none=True)
    carrier = fields.String(required=True)
    currency = fields.String(required=True)
    filed = fields.Integer(required=True)
    open = fields.Integer(required=True)
    paid = fields.Integer(required=True)
    partly_paid = fields.Integer(required=True)
    declined = fields.Integer(required=True)
    withdrawn = fields.Integer(required=True)
    claimed = fields.String(required=True)
    paid_amount = fields.String(required=True)
    recovery_rate = fields.Float(allow_none=True)
    days_to_pay = fields.Float(allow_none=True)


class ClaimReportSchema(Schema):
    rows = fields.List(fields.Nested(ClaimReportRowSchema), required=True)


class ClaimWindowRuleSchema(Schema):
    mode = fields.String(allow_none=True)
    carrier_org_id = fields.Integer(allow_none=True)
    filing_months = fields.Integer()
    filing_days = fields.Integer()
    acknowledge_days = fields.Integer()
    resolve_days = fields.Integer()
    filing_warn_days = fields.Integer()
    acknowledge_warn_days = fields.Integer()
    resolve_warn_days = fields.Integer()


class ClaimSettingsSchema(Schema):
    rules = fields.List(fields.Nested(ClaimWindowRuleSchema), required=True)


class ClaimSettingsInSchema(StrictSchema):
    rules = fields.List(fields.Dict(), required=True)


def _wire(view: ClaimView) -> dict[str, Any]:
    return {
        "id": view.id,
        "case_number": view.case_number,
        "status": view.status.value,
        "claimant": view.claimant,
        "currency": view.currency,
        "amount": str(view.amount),
        "lines": [line.as_json() for line in view.lines],
        "documents": {kind.value: list(ids) for kind, ids in view.documents.items()},
        "documents_missing": [kind.value for kind in view.documents_missing],
        "note": view.note,
        "mode": view.mode,
        "delivered_at": view.delivered_at,
        "filed_at": view.filed_at,
        "filed_late": view.filed_late,
        "acknowledged_at": view.acknowledged_at,
        "settled_at": view.settled_at,
        "amount_paid": str(view.amount_paid) if view.amount_paid is not None else None,
        "amount_offered": (str(view.amount_offered) if view.amount_offered is not None else None),
        "offered_at": view.offered_at,
        "reason": view.reason,
        "reference": view.reference,
        "carrier_reference": view.carrier_reference,
        "created_by": view.created_by,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "clocks": [
            {
                "kind": c.kind.value,
                "label": c.label,
                "side": c.side,
                "state": c.state,
                "started_at": c.started_at,
                "due_at": c.due_at,
                "warn_at": c.warn_at,
                "stopped_at": c.stopped_at,
                "met": c.met,
                "breached": c.breached,
            }
            for c in view.clocks
        ],
        "expected_recovery": (
            str(view.expected_recovery) if view.expected_recovery is not None else None
        ),
        "valuation_note": view.valuation_note,
    }


# -- a case's claims -------------------------------------------------------------------------

CLAIMS = "/cases/<number>/claims"
CLAIM = CLAIMS + "/<int:claim_id>"


@blp.route(CLAIMS, methods=["GET"])
@blp.response(200, ClaimListSchema)
@_problems
def list_claims(number: str) -> Any:
    """The case's freight claims the caller reads, oldest first: the shipper's staff all,
    the carrier's those filed, the customer none."""
    found = current_kit().claims.list(actor(), _number(number))
    return {"claims": [_wire(c) for c in found]}


@blp.route(CLAIMS, methods=["POST"])
@blp.arguments(ClaimDraftSchema)
@blp.response(201, ClaimSchema)
@_problems
def draft_claim(data: dict[str, Any], number: str) -> Any:
    """Draft a claim on a loss or damage case (the shipper's staff). Honours `If-Match`."""
    view = current_kit().claims.draft(actor(), _number(number), data, expected_version=if_match())
    return _wire(view), 201


@blp.route(CLAIM, methods=["GET"])
@blp.response(200, ClaimSchema)
@_problems
def claim(number: str, claim_id: int) -> Any:
    """One claim of the case, as the caller reads it."""
    view = current_kit().claims.get(actor(), _number(number), _id(claim_id, "claim_id"))
    return _wire(view)


@blp.route(CLAIM, methods=["PATCH"])
@blp.arguments(ClaimUpdateSchema)
@blp.response(200, ClaimSchema)
@_problems
def update_claim(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """Change a draft; tick documents off a filed claim."""
    view = current_kit().claims.update(
        actor(), _number(number), _id(claim_id, "claim_id"), data, expected_version=if_match()
    )
    return _wire(view)


def _step(name: str, number: str, claim_id: int, **data: Any) -> Any:
    service = current_kit().claims
    chosen = _id(claim_id, "claim_id")
    return _wire(
        getattr(service, name)(
            actor(), _number(number), chosen, expected_version=if_match(), **data
        )
    )


@blp.route(CLAIM + "/file", methods=["POST"])
@blp.response(200, ClaimSchema)
@_problems
def file_claim(number: str, claim_id: int) -> Any:
    """File the draft with the case's carrier: its clocks start."""
    return _step("file", number, claim_id)


@blp.route(CLAIM + "/acknowledge", methods=["POST"])
@blp.arguments(ClaimAcknowledgeSchema)
@blp.response(200, ClaimSchema)
@_problems
def acknowledge_claim(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The carrier acknowledges receipt, with its claim number."""
    return _step("acknowledge", number, claim_id, **data)


@blp.route(CLAIM + "/pay", methods=["POST"])
@blp.arguments(ClaimPaySchema)
@blp.response(200, ClaimSchema)
@_problems
def pay_claim(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The carrier pays `amount_paid` (text such as "980.00"): in full, or in part with a
    `reason`."""
    return _step("pay", number, claim_id, **data)


@blp.route(CLAIM + "/decline", methods=["POST"])
@blp.arguments(ClaimDeclineSchema)
@blp.response(200, ClaimSchema)
@_problems
def decline_claim(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The carrier declines the claim, saying why."""
    return _step("decline", number, claim_id, **data)


@blp.route(CLAIM + "/offer", methods=["POST"])
@blp.arguments(ClaimOfferSchema)
@blp.response(200, ClaimSchema)
@_problems
def offer_claim(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The carrier makes a firm compromise settlement offer of `amount_offered` (less than
    the amount claimed), saying why: its clocks stop (49 CFR 370.9(a))."""
    return _step("offer", number, claim_id, **data)


@blp.route(CLAIM + "/offer/accept", methods=["POST"])
@blp.response(200, ClaimSchema)
@_problems
def accept_claim_offer(number: str, claim_id: int) -> Any:
    """The shipper accepts the carrier's settlement offer: the claim is partly paid."""
    return _step("accept_offer", number, claim_id)


@blp.route(CLAIM + "/offer/reject", methods=["POST"])
@blp.arguments(ClaimWithdrawSchema)
@blp.response(200, ClaimSchema)
@_problems
def reject_claim_offer(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The shipper rejects the carrier's settlement offer, saying why: the claim is
    acknowledged again, for the carrier to pay, decline or offer anew."""
    return _step("reject_offer", number, claim_id, **data)


@blp.route(CLAIM + "/withdraw", methods=["POST"])
@blp.arguments(ClaimWithdrawSchema)
@blp.response(200, ClaimSchema)
@_problems
def withdraw_claim(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The shipper withdraws its open claim."""
    return _step("withdraw", number, claim_id, **data)


@blp.route(CLAIM + "/valuation", methods=["PUT"])
@blp.arguments(ClaimValuationSchema)
@blp.response(200, ClaimSchema)
@_problems
def set_valuation(data: dict[str, Any], number: str, claim_id: int) -> Any:
    """The shipper's internal valuation: `expected_recovery` and its `note`, never read by
    the carrier."""
    return _step("set_valuation", number, claim_id, **data)


# -- the report and the windows ------------------------------------------------------------


@blp.route("/claims/report", methods=["GET"])
@blp.arguments(DayRangeArgsSchema, location="query")
@blp.response(200, ClaimReportSchema)
@_problems
def claims_report(query: dict[str, date | None]) -> Any:
    """Claims filed from day `from` to day `to` (UTC, both included), their recovery rate
    and days to pay, by carrier and currency, over the claims the caller reads."""
    since, until = utc_days(query["start"], query["end"])
    report = current_kit().claims.report(actor(), start=since, end=until)
    return {
        "rows": [
            {
                "carrier_org_id": r.carrier_org_id,
                "carrier": r.carrier,
                "currency": r.currency,
                "filed": r.filed,
                "open": r.open,
                "paid": r.paid,
                "partly_paid": r.partly_paid,
                "declined": r.declined,
                "withdrawn": r.withdrawn,
                "claimed": str(r.claimed),
                "paid_amount": str(r.paid_amount),
                "recovery_rate": r.recovery_rate,
                "days_to_pay": r.days_to_pay,
            }
            for r in report.rows
        ]
    }


@blp.route("/claims/settings", methods=["GET"])
@blp.response(200, ClaimSettingsSchema)
@_problems
def claim_settings() -> Any:
    """The caller's shipper organization's claim windows by mode and carrier."""
    return {"rules": [r.as_json() for r in current_kit().claims.settings(actor())]}


@blp.route("/claims/settings", methods=["PUT"])
@blp.arguments(ClaimSettingsInSchema)
@blp.response(200, ClaimSettingsSchema)
@_problems
def save_claim_settings(data: dict[str, Any]) -> Any:
    """Replace the organization's claim windows (a manager's call)."""
    return {"rules": [r.as_json() for r in current_kit().claims.save_settings(actor(), data)]}
