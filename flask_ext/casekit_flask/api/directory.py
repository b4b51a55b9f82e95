"""The directory of the caller's organization: its users, a shipper's customers, the
changes to them, and the host's sync; and any organization by the host's key.

Reads are the organization's own (a user's or customer's address never reaches
another organization); changes take an admin-scope key or an admin's session.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from casekit.domain.actor import Actor
from casekit.domain.directory import (
    CustomerRecord,
    OrganizationRecord,
    OrgRole,
    UserRecord,
    UserRole,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import ID_RANGE, MAX_TEXT, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_directory",
    __name__,
    url_prefix="/directory",
    description="The organization's users and customers: find, change, deactivate, sync.",
)

EMAIL = validate.Length(min=1, max=320)
KEY = validate.Length(min=1, max=200)
NAME = validate.Length(min=1, max=MAX_TEXT)
ROLES = [r.value for r in UserRole]


class OrganizationSchema(StrictSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": [r.value for r in OrgRole]})
    external_id = fields.String(allow_none=True)


class OrganizationListSchema(StrictSchema):
    organizations = fields.List(fields.Nested(OrganizationSchema), required=True)


class OrganizationListArgsSchema(StrictSchema):
    external_id = fields.String(validate=KEY, metadata={"description": "the host's key (required)"})


class UserSchema(StrictSchema):
    id = fields.Integer(required=True)
    org_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ROLES})
    external_id = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    deactivated_at = fields.DateTime(allow_none=True)


class UserListSchema(StrictSchema):
    users = fields.List(fields.Nested(UserSchema), required=True)


class UserListArgsSchema(StrictSchema):
    external_id = fields.String(validate=KEY, metadata={"description": "the host's key"})
    include_deactivated = fields.Boolean(load_default=False)


class UserUpdateSchema(StrictSchema):
    name = fields.String(validate=NAME)
    email = fields.String(validate=EMAIL)
    role = fields.String(validate=validate.OneOf(ROLES))
    external_id = fields.String(allow_none=True, validate=KEY)
    active = fields.Boolean(
        metadata={"description": "false deactivates a user who left; true reactivates"}
    )


class CustomerSchema(StrictSchema):
    id = fields.Integer(required=True)
    shipper_org_id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    external_id = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class CustomerListSchema(StrictSchema):
    customers = fields.List(fields.Nested(CustomerSchema), required=True)


class CustomerListArgsSchema(StrictSchema):
    external_id = fields.String(validate=KEY)
    email = fields.String(validate=EMAIL)


class CustomerUpdateSchema(StrictSchema):
    email = fields.String(validate=EMAIL, metadata={"description": "moves the customer"})
    name = fields.String(validate=validate.Length(max=MAX_TEXT))
    external_id = fields.String(allow_none=True, validate=KEY)
    phone = fields.String(
        allow_none=True,
        metadata={"description": "free-form, at most 32 characters: digits, spaces, + - ( ) . /"},
    )


class ChangeSchema(StrictSchema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    subject = fields.String(required=True, metadata={"enum": ["organization", "user", "customer"]})
    subject_id = fields.Integer(required=True)
    change = fields.String(required=True)
    old = fields.String(allow_none=True)
    new = fields.String(allow_none=True)


class ChangeListSchema(StrictSchema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)


class ChangeListArgsSchema(StrictSchema):
    before = fields.Integer(validate=ID_RANGE)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class OrganizationRecordSchema(StrictSchema):
    external_id = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in OrgRole]))


class UserRecordSchema(StrictSchema):
    external_id = fields.String(required=True, validate=KEY)
    organization = fields.String(
        required=True, validate=KEY, metadata={"description": "the organization's external_id"}
    )
    name = fields.String(required=True, validate=NAME)
    email = fields.String(required=True, validate=EMAIL)
    role = fields.String(load_default=UserRole.AGENT.value, validate=validate.OneOf(ROLES))
    active = fields.Boolean(load_default=True, metadata={"description": "false: the user left"})


class CustomerRecordSchema(StrictSchema):
    external_id = fields.String(required=True, validate=KEY)
    shipper = fields.String(
        required=True, validate=KEY, metadata={"description": "the shipper's external_id"}
    )
    email = fields.String(required=True, validate=EMAIL)
    name = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    phone = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "free-form, at most 32 characters: digits, spaces, + - ( ) . /"},
    )


MAX_RECORDS = validate.Length(max=5000)


class SyncSchema(StrictSchema):
    organizations = fields.List(
        fields.Nested(OrganizationRecordSchema), load_default=list, validate=MAX_RECORDS
    )
    users = fields.List(fields.Nested(UserRecordSchema), load_default=list, validate=MAX_RECORDS)
    customers = fields.List(
        fields.Nested(CustomerRecordSchema), load_default=list, validate=MAX_RECORDS
    )


class SyncCountsSchema(StrictSchema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)


class SyncReportSchema(StrictSchema):
    organizations = fields.Nested(SyncCountsSchema, required=True)
    users = fields.Nested(SyncCountsSchema, required=True)
    customers = fields.Nested(SyncCountsSchema, required=True)
    deactivated = fields.Integer(required=True)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _own_org(who: Actor) -> int:
    if who.org_id is None or who.is_customer:
        raise PermissionDenied("the directory is an organization's; act as its staff or its key")
    return who.org_id


def _checked_id(value: int, field: str) -> int:
    try:
        ID_RANGE(value)
    except Exception:
        raise InvalidInput({field: ["an id from 1 to 2147483647"]}) from None
    return value


@blp.route("/organizations", methods=["GET"])
@blp.arguments(OrganizationListArgsSchema, location="query")
@blp.response(200, OrganizationListSchema)
@_problems
def list_organizations(args: dict[str, Any]) -> dict[str, Any]:
    """The organization (shipper or carrier) with the host's `external_id`, to name it
    by casekit's id (a case's `carrier`, say); an empty list when there is none."""
    who = actor()
    _own_org(who)
    if "external_id" not in args:
        raise InvalidInput({"external_id": ["the host's key of the organization to find"]})
    try:
        found = current_kit().directory.organization_by_external_id(who, args["external_id"])
    except NotFound:
        return {"organizations": []}
    return {"organizations": [found]}


@blp.route("/organizations/<int:org_id>", methods=["GET"])
@blp.response(200, OrganizationSchema)
@_problems
def organization(org_id: int) -> Any:
    """An organization by casekit's id: its name, role and the host's `external_id`."""
    who = actor()
    _own_org(who)
    return current_kit().directory.organization(who, _checked_id(org_id, "org_id"))


@blp.route("/users", methods=["GET"])
@blp.arguments(UserListArgsSchema, location="query")
@blp.response(200, UserListSchema)
@_problems
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """The organization's active users by name (deactivated ones too on request), or the
    one with the host's `external_id`."""
    who = actor()
    org_id = _own_org(who)
    directory = current_kit().directory
    if "external_id" in args:
        try:
            return {"users": [directory.user_by_external_id(who, args["external_id"])]}
        except NotFound:
            return {"users": []}
    users = directory.users(who, org_id, include_deactivated=args["include_deactivated"])
    return {"users": users}


@blp.route("/users/<int:user_id>", methods=["GET"])
@blp.response(200, UserSchema)
@_problems
def user(user_id: int) -> Any:
    """A user of the organization (another organization's is not found)."""
    return current_kit().directory.user(actor(), _checked_id(user_id, "user_id"))


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@_problems
def update_user(data: dict[str, Any], user_id: int) -> Any:
    """Rename a user, change their address, role or `external_id`; `active: false`
    deactivates one who left (their history stays; their keys are revoked)."""
    return current_kit().directory.update_user(actor(), _checked_id(user_id, "user_id"), **data)


@blp.route("/customers", methods=["GET"])
@blp.arguments(CustomerListArgsSchema, location="query")
@blp.response(200, CustomerListSchema)
@_problems
def list_customers(args: dict[str, Any]) -> dict[str, Any]:
    """The shipper's customer with the host's `external_id` or with `email` (one of the two)."""
    who = actor()
    _own_org(who)
    if ("external_id" in args) == ("email" in args):
        raise InvalidInput({"external_id": ["give external_id or email (one of the two)"]})
    directory = current_kit().directory
    try:
        if "external_id" in args:
            return {"customers": [directory.customer_by_external_id(who, args["external_id"])]}
        return {"customers": [directory.customer_by_email(who, args["email"])]}
    except NotFound:
        return {"customers": []}


@blp.route("/customers/<int:customer_id>", methods=["GET"])
@blp.response(200, CustomerSchema)
@_problems
def customer(customer_id: int) -> Any:
    """A customer of the shipper (a customer reads itself)."""
    return current_kit().directory.customer(actor(), _checked_id(customer_id, "customer_id"))


@blp.route("/customers/<int:customer_id>", methods=["PATCH"])
@blp.arguments(CustomerUpdateSchema)
@blp.response(200, CustomerSchema)
@_problems
def update_customer(data: dict[str, Any], customer_id: int) -> Any:
    """Move a customer to a new address (their cases stay theirs), rename them, change
    their `external_id` or their `phone` (null clears it). An address another customer
    of the shipper has is a 400."""
    return current_kit().directory.update_customer(
        actor(), _checked_id(customer_id, "customer_id"), **data
    )


@blp.route("/changes", methods=["GET"])
@blp.arguments(ChangeListArgsSchema, location="query")
@blp.response(200, ChangeListSchema)
@_problems
def changes(args: dict[str, Any]) -> dict[str, Any]:
    """The audit trail of the organization's directory, newest first (its managers and keys)."""
    who = actor()
    found = current_kit().directory.changes(who, _own_org(who), **args)
    return {"changes": found}


@blp.route("/sync", methods=["POST"])
@blp.arguments(SyncSchema)
@blp.response(200, SyncReportSchema)
@_problems
def sync(data: dict[str, Any]) -> Any:
    """Upsert users (and a shipper's customers) keyed by the host's `external_id`, all or
    nothing; `active: false` deactivates a user who left. Sending the same twice changes
    nothing the second time. The host's session syncs organizations too."""
    return current_kit().directory.sync(
        actor(),
        organizations=[OrganizationRecord(**o) for o in data["organizations"]],
        users=[UserRecord(**u) for u in data["users"]],
        customers=[CustomerRecord(**c) for c in data["customers"]],
    )
