"""Triage of inbound mail (``kit.inbound``): list, file on a case, open a case, discard."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from casekit_flask.api.cases import COMMON, _id, _number, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import AUDIENCES, ID_RANGE, CaseSchema, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_triage",
    __name__,
    url_prefix="/triage",
    description="Inbound mail no case took: the staff's triage.",
)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class TriageItemSchema(Schema):
    id = fields.Integer(required=True)
    received_at = fields.DateTime(required=True)
    outcome = fields.String(required=True)
    reason = fields.String(allow_none=True)
    from_address = fields.String(allow_none=True)
    subject = fields.String(required=True)
    message_id = fields.String(allow_none=True)
    case_number = fields.String(allow_none=True)
    org_id = fields.Integer(allow_none=True)
    size = fields.Integer(required=True)
    problems = fields.List(fields.String(), required=True)
    handled_by = fields.String(allow_none=True)
    handled_at = fields.DateTime(allow_none=True)
    raw_available = fields.Boolean(required=True)


class TriageListSchema(Schema):
    items = fields.List(fields.Nested(TriageItemSchema), required=True)


class TriageArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before_id = fields.Integer(validate=ID_RANGE, metadata={"description": "keyset paging"})
    include_handled = fields.Boolean(load_default=False)


class FileSchema(StrictSchema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))


class OpenFromMailSchema(StrictSchema):
    type = fields.String(validate=validate.Length(min=1, max=100))
    shipper = fields.Integer(validate=ID_RANGE)
    customer = fields.Integer(validate=ID_RANGE)
    audience = fields.String(validate=validate.OneOf(AUDIENCES))


class FiledSchema(Schema):
    outcome = fields.String(required=True)
    case_number = fields.String(allow_none=True)
    entry_id = fields.Integer(allow_none=True)


@blp.route("", methods=["GET"])
@blp.arguments(TriageArgsSchema, location="query", unknown=RAISE)
@blp.response(200, TriageListSchema)
@_problems
def triage(args: dict[str, Any]) -> Any:
    """The inbound messages in the caller's triage, newest first."""
    return {"items": current_kit().inbound.triage(actor(), **args)}


@blp.route("/<int:item_id>", methods=["GET"])
@blp.response(200, TriageItemSchema)
@_problems
def item(item_id: int) -> Any:
    """One triage item."""
    return current_kit().inbound.triage_item(actor(), _id(item_id, "item_id"))


@blp.route("/<int:item_id>/file", methods=["POST"])
@blp.arguments(FileSchema)
@blp.response(200, FiledSchema)
@_problems
def file(data: dict[str, Any], item_id: int) -> Any:
    """Put the message on a case, as a message for an audience."""
    return current_kit().inbound.file(
        actor(), _id(item_id, "item_id"), _number(data["number"]), audience=data.get("audience")
    )


@blp.route("/<int:item_id>/case", methods=["POST"])
@blp.arguments(OpenFromMailSchema)
@blp.response(201, CaseSchema)
@_problems
def open_case(data: dict[str, Any], item_id: int) -> Any:
    """Open a case (source email) from the message."""
    return current_kit().inbound.open_case(actor(), _id(item_id, "item_id"), **data), 201


@blp.route("/<int:item_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def discard(item_id: int) -> Any:
    """Discard the message (kept for the record, out of triage)."""
    current_kit().inbound.discard(actor(), _id(item_id, "item_id"))
    return "", 204
