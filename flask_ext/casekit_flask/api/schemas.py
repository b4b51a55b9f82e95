"""The wire schemas of the REST API: what goes over HTTP, as marshmallow schemas.

The list query reuses the core's :mod:`casekit.schemas.views`. These schemas
describe the HTTP form of the core's read models and the requests; the core
services still check every value (types, transitions, access), so a value
the schema lets through can still be refused with a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from casekit.domain.apikeys import ApiScope
from casekit.domain.audience import Audience
from casekit.domain.case import Side
from casekit.domain.workflow import Status
from casekit.services.base import text_problem
from casekit.services.messages import MAX_CC

#: Ids are positive and fit the databases' integer columns.
ID_RANGE = validate.Range(min=1, max=2**31 - 1)
MAX_TEXT = 200
AUDIENCES = [a.value for a in Audience]
MAX_BODY = 100_000


class StrictSchema(Schema):
    """Unknown keys are refused (marshmallow's default), and named in the error.

    Text no database stores (a NUL character, which PostgreSQL refuses
    outright, or a lone surrogate such as ``"\\ud800"``, which is not UTF-8)
    is refused too, naming the field.
    """

    @pre_load
    def _refuse_nul(self, data: Any, **_kwargs: Any) -> Any:
        bad = dict(sorted(nul_paths(data)))
        if bad:
            raise ValidationError({path: [problem] for path, problem in bad.items()})
        return data


def nul_paths(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """The dotted paths of the strings (keys too) in ``value`` no database stores, and why."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path or "body", problem
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            problem = text_problem(key) if isinstance(key, str) else None
            if problem:
                yield name, problem
            else:
                yield from nul_paths(item, name)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from nul_paths(item, f"{path}.{index}" if path else str(index))


class ProblemSchema(Schema):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type = fields.String(metadata={"description": "always about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "the bad fields, each with its messages"},
    )


class ContactSchema(Schema):
    """The customer's contact details: to the shipper, and to the carrier while shared."""

    name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(allow_none=True)


class CaseSchema(Schema):
    """A case as the caller sees it (owners, watchers and CRM number are the caller's side's)."""

    number = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in Status]))
    source = fields.String(required=True)
    subject = fields.String(required=True)
    shipper_org_id = fields.Integer(required=True)
    carrier_org_id = fields.Integer(allow_none=True)
    carrier_collaborating = fields.Boolean(required=True)
    customer_id = fields.Integer(allow_none=True)
    shipment_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    shipper_owner_id = fields.Integer(allow_none=True)
    carrier_owner_id = fields.Integer(allow_none=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    solved_at = fields.DateTime(allow_none=True)
    solved_by = fields.String(allow_none=True)
    latest_message_at = fields.DateTime(allow_none=True)
    crm_number = fields.String(allow_none=True)
    watcher_ids = fields.List(fields.Integer(), required=True)
    contact = fields.Nested(
        ContactSchema,
        allow_none=True,
        metadata={
            "description": "the customer's name, email and phone: to the shipper's staff, "
            "and to the carrier's while the shipper shares them on this case"
        },
    )
    contact_shared_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "since when the shipper shares the contact details (staff)"},
    )


class CaseRowSchema(Schema):
    """One line of a case list."""

    number = fields.String(required=True)
    status = fields.String(required=True)
    type = fields.String(required=True)
    source = fields.String(required=True)
    subject = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    solved_at = fields.DateTime(allow_none=True)
    latest_message_at = fields.DateTime(allow_none=True)
    latest_message_excerpt = fields.String(allow_none=True)
    shipper_org_id = fields.Integer(required=True)
    carrier_org_id = fields.Integer(allow_none=True)
    shipper_owner_id = fields.Integer(allow_none=True)
    carrier_owner_id = fields.Integer(allow_none=True)
    owners = fields.List(fields.String(), required=True)
    account = fields.String(allow_none=True)
    brand = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    bol_number = fields.String(allow_none=True)
    po_number = fields.String(allow_none=True)
    reference_number = fields.String(allow_none=True)
    ra_number = fields.String(allow_none=True)
    order_number = fields.String(allow_none=True)
    crm_number = fields.String(allow_none=True)


class CasePageSchema(Schema):
    cases = fields.List(fields.Nested(CaseRowSchema), required=True)
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "pass as cursor for the next page"}
    )


class CaseListArgsSchema(StrictSchema):
    """The query string of ``GET /cases``: a list query, flattened."""

    view = fields.String(metadata={"description": "a built-in view; all_active by default"})
    search = fields.String(validate=validate.Length(max=MAX_TEXT))
    sort = fields.String(metadata={"description": "a sortable field; created_at by default"})
    direction = fields.String(validate=validate.OneOf(["asc", "desc"]))
    filters = fields.String(
        metadata={"description": 'the filters as JSON: [{"field": ..., "op": ..., "value": ...}]'}
    )
    saved_view = fields.Integer(validate=ID_RANGE, metadata={"description": "a saved view's id"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=500))


class CaseCreateSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    subject = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    shipper = fields.Integer(validate=ID_RANGE, metadata={"description": "shipper org id"})
    carrier = fields.Integer(validate=ID_RANGE, metadata={"description": "carrier org id"})
    carrier_collaborating = fields.Boolean(load_default=True)
    customer = fields.Integer(validate=ID_RANGE, metadata={"description": "customer id"})
    shipment = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    order = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    message = fields.String(validate=validate.Length(max=MAX_BODY))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))


class StrictBoolean(fields.Boolean):
    """JSON's true or false, nothing else (not 1, not "yes")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class CaseUpdateSchema(StrictSchema):
    """The changes of ``PATCH /cases/{number}``, applied in this order."""

    type = fields.String(validate=validate.Length(min=1, max=100))
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))
    carrier = fields.Integer(
        allow_none=True,
        strict=True,
        validate=ID_RANGE,
        metadata={
            "description": "the carrier organization's id; null removes the carrier. "
            "The shipper's staff only; a carrier leaving the case takes its owner, "
            "watchers, CRM number and Cc'd addresses with it"
        },
    )
    carrier_collaborating = StrictBoolean(
        metadata={"description": "whether the carrier hears of the case by mail"},
    )
    shipment = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    crm_number = fields.String(allow_none=True, validate=validate.Length(max=MAX_TEXT))


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class EntrySchema(Schema):
    """A timeline entry: a message or an event, as the caller may see it."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    audience = fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    created_at = fields.DateTime(required=True)
    actor_kind = fields.String(required=True)
    org_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    system = fields.String(allow_none=True)
    author_email = fields.String(allow_none=True)
    body = fields.String(required=True)
    event = fields.String(allow_none=True)
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    shared_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when the shipper shared this customer message with the carrier"},
    )


class TimelineSchema(Schema):
    entries = fields.List(fields.Nested(EntrySchema), required=True)


class LiveSchema(Schema):
    """A case's live state as the caller may know it (docs/live.rst): compare ``signal``."""

    number = fields.String(required=True)
    signal = fields.String(
        required=True,
        metadata={"description": "changes when something the caller reads on the case changes"},
    )
    latest_entry_id = fields.Integer(required=True, metadata={"description": "0: none"})
    entries = fields.Integer(required=True, metadata={"description": "entries the caller reads"})
    status = fields.String(required=True)
    unread = fields.Boolean(required=True, metadata={"description": "for a user: unread entries"})
    writing = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "for a user: the colleagues writing on the case now"},
    )


class MessageSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(max=MAX_BODY))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    cc = fields.List(
        fields.String(validate=validate.Length(max=320)),
        validate=validate.Length(max=MAX_CC),
        metadata={"description": "addresses to Cc: they become participants of the case"},
    )


class MessageFilesSchema(Schema):
    attachments = fields.List(
        fields.Raw(metadata={"type": "string", "format": "binary"}),
        metadata={"description": "files to attach"},
    )


class OwnerSchema(StrictSchema):
    user_id = fields.Integer(required=True, allow_none=True, validate=ID_RANGE)


SIDES = [s.value for s in Side]


class CountsSchema(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class SavedViewSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    shared = fields.Boolean(required=True)
    query = fields.Dict(required=True)
    user_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class SavedViewListSchema(Schema):
    views = fields.List(fields.Nested(SavedViewSchema), required=True)


class SavedViewCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    query = fields.Dict(load_default=dict, metadata={"description": "a list query (version 1)"})
    shared = fields.Boolean(load_default=False)


class SavedViewUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    query = fields.Dict()
    shared = fields.Boolean()


class ColumnsSchema(Schema):
    columns = fields.List(fields.String(), required=True)


class ColumnsUpdateSchema(StrictSchema):
    columns = fields.List(
        fields.String(),
        required=True,
        allow_none=True,
        metadata={"description": "column names in order; null goes back to the default"},
    )


class KnownValuesSchema(Schema):
    field = fields.String(required=True)
    values = fields.List(fields.String(), required=True)


class ApiKeySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    scope = fields.String(required=True)
    public_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    created_by_key_id = fields.Integer(
        allow_none=True, metadata={"description": "the key that created it; revoked with it"}
    )


class ApiKeyListSchema(Schema):
    keys = fields.List(fields.Nested(ApiKeySchema), required=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    token = fields.String(required=True, metadata={"description": "shown this once"})


class ApiKeyCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scope = fields.String(
        load_default=ApiScope.READ.value, validate=validate.OneOf([s.value for s in ApiScope])
    )
