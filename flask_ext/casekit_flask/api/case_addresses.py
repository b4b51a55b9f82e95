"""The organization's case addresses (``kit.case_addresses``): mail to one opens cases.

Staff and keys read their organization's; its managers (or an admin-scope
key) add, change and remove them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from casekit.domain.case_address import CaseAddress, UnknownSenders
from casekit.services.case_addresses import UNCHANGED
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import ID_RANGE, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_case_addresses",
    __name__,
    url_prefix="/case-addresses",
    description="The organization's case addresses: mail to one opens a case (or is triaged).",
)

_SENDERS = validate.OneOf([s.value for s in UnknownSenders])


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class CaseAddressSchema(Schema):
    email = fields.String(required=True)
    org_id = fields.Integer(required=True)
    role = fields.String(required=True, metadata={"description": "shipper or carrier"})
    case_type = fields.String(
        allow_none=True, metadata={"description": "null: the deployment's inbound case type"}
    )
    owner_id = fields.Integer(
        allow_none=True, metadata={"description": "the default owner of the organization's side"}
    )
    partner_id = fields.Integer(
        allow_none=True, metadata={"description": "an organization of the other role"}
    )
    unknown_senders = fields.String(
        required=True, metadata={"description": "open (a case) or triage"}
    )
    created_at = fields.DateTime(required=True)


class CaseAddressListSchema(Schema):
    addresses = fields.List(fields.Nested(CaseAddressSchema), required=True)


class CaseAddressUpdateSchema(StrictSchema):
    """What a ``PATCH`` changes: the fields sent (null clears an option)."""

    case_type = fields.String(allow_none=True, validate=validate.Length(max=64))
    owner_id = fields.Integer(allow_none=True, strict=True, validate=ID_RANGE)
    partner_id = fields.Integer(allow_none=True, strict=True, validate=ID_RANGE)
    unknown_senders = fields.String(validate=_SENDERS)


class CaseAddressCreateSchema(CaseAddressUpdateSchema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    unknown_senders = fields.String(
        validate=_SENDERS,
        metadata={"description": "default: open where it can (a carrier's needs a partner_id)"},
    )


def _out(address: CaseAddress) -> dict[str, Any]:
    return {
        "email": address.email,
        "org_id": address.org_id,
        "role": address.role.value,
        "case_type": address.case_type,
        "owner_id": address.owner_id,
        "partner_id": address.partner_id,
        "unknown_senders": address.unknown_senders.value,
        "created_at": address.created_at,
    }


@blp.route("", methods=["GET"])
@blp.response(200, CaseAddressListSchema)
@_problems
def list_addresses() -> Any:
    """The case addresses of the caller's organization."""
    return {"addresses": [_out(a) for a in current_kit().case_addresses.list(actor())]}


@blp.route("", methods=["POST"])
@blp.arguments(CaseAddressCreateSchema)
@blp.response(201, CaseAddressSchema)
@_problems
def create_address(data: dict[str, Any]) -> Any:
    """Make an address a case address of the caller's organization (its managers)."""
    email = data.pop("email")
    return _out(current_kit().case_addresses.add(actor(), email, **data)), 201


@blp.route("/<email>", methods=["GET"])
@blp.response(200, CaseAddressSchema)
@_problems
def get_address(email: str) -> Any:
    """One case address of the caller's organization."""
    return _out(current_kit().case_addresses.get(actor(), email))


@blp.route("/<email>", methods=["PATCH"])
@blp.arguments(CaseAddressUpdateSchema)
@blp.response(200, CaseAddressSchema)
@_problems
def update_address(data: dict[str, Any], email: str) -> Any:
    """Change the options sent; the others stay (null clears one)."""
    options = {name: data.get(name, UNCHANGED) for name in CaseAddressUpdateSchema().fields}
    return _out(current_kit().case_addresses.update(actor(), email, **options))


@blp.route("/<email>", methods=["DELETE"])
@blp.response(204)
@_problems
def delete_address(email: str) -> Any:
    """Stop opening cases from mail to the address."""
    current_kit().case_addresses.remove(actor(), email)
    return ""
