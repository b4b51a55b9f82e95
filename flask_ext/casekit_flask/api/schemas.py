"""The wire schemas of the REST API: what goes over HTTP, as marshmallow schemas.

The list query reuses the core's :mod:`casekit.schemas.views`. These schemas
describe the HTTP form of the core's read models and the requests; the core
services still check every value (types, transitions, access), so a value
the schema lets through can still be refused with a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from casekit.domain.apikeys import ApiScope
from casekit.domain.audience import Audience
from casekit.domain.case import Side
from casekit.domain.custom_fields import FieldKind, FieldVisibility
from casekit.domain.sla import ClockKind, ClockState, DueState
from casekit.domain.tags import MAX_CASE_TAGS, MAX_TAG_NAME, Priority, TagColour
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
    merged_into = fields.String(
        metadata={"description": "on a 409 for a merged case: the case its changes belong on"}
    )
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


class ClockSchema(Schema):
    """One side's service-level clock on the case (docs: Service levels): the caller's
    organization's, or a party's that shows its clocks to the caller's organization."""

    side = fields.String(required=True, validate=validate.OneOf([s.value for s in Side]))
    org_id = fields.Integer(required=True, metadata={"description": "the side's organization"})
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ClockKind]))
    target_id = fields.Integer(required=True)
    target_name = fields.String(required=True)
    target_seconds = fields.Integer(
        required=True, metadata={"description": "the target's time, in working seconds"}
    )
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in ClockState]))
    due_state = fields.String(
        required=True,
        validate=validate.OneOf([s.value for s in DueState]),
        metadata={"description": "how the clock reads now"},
    )
    started_at = fields.DateTime(required=True)
    stopped_at = fields.DateTime(allow_none=True, required=True)
    due_at = fields.DateTime(
        allow_none=True,
        required=True,
        metadata={"description": "while it runs: when it breaches (or breached)"},
    )
    warn_at = fields.DateTime(
        allow_none=True, required=True, metadata={"description": "while it runs: the warning"}
    )
    breached_at = fields.DateTime(allow_none=True, required=True)
    elapsed_seconds = fields.Integer(
        required=True, metadata={"description": "the working time counted"}
    )
    time_zone = fields.String(
        required=True, metadata={"description": "the time zone of the calendar it counts in"}
    )


class TagRefSchema(Schema):
    """One of the caller's organization's tags on a case."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    colour = fields.String(required=True, validate=validate.OneOf([c.value for c in TagColour]))


PRIORITIES = [p.value for p in Priority]


def _tag_ids(description: str) -> fields.List[int]:
    return fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        validate=validate.Length(max=MAX_CASE_TAGS),
        metadata={"description": description},
    )


class CaseSchema(Schema):
    """A case as the caller sees it (owners, watchers, CRM number and tags are the
    caller's side's)."""

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
    priority = fields.String(
        required=True,
        validate=validate.OneOf(PRIORITIES),
        metadata={"description": "shared by both sides"},
    )
    tags = fields.List(
        fields.Nested(TagRefSchema),
        required=True,
        metadata={"description": "the caller's organization's own tags; never another's"},
    )
    custom_fields = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        attribute="custom_field_values",
        required=True,
        metadata={
            "description": "the caller's organization's custom fields by key, and the other "
            "party's shared ones as carrier.<key> or shipper.<key>"
        },
    )
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
    merged_into = fields.String(
        allow_none=True,
        metadata={
            "description": "the number of the case this duplicate was merged into (null: "
            "not merged); a merged case refuses every change with a 409 naming it"
        },
    )
    merged_at = fields.DateTime(allow_none=True, metadata={"description": "when it was merged"})
    clocks = fields.List(
        fields.Nested(ClockSchema),
        required=True,
        metadata={
            "description": "the service-level clocks the caller may see: its organization's "
            "first, a partner's where it shows them; none for a customer"
        },
    )


class SnippetSchema(Schema):
    """Where a search's words matched, in a text the caller may read."""

    source = fields.String(
        required=True,
        metadata={
            "description": "which text: subject, message, attachment or customer",
            "enum": ["subject", "message", "attachment", "customer"],
        },
    )
    text = fields.String(required=True, metadata={"description": "an excerpt; … where cut"})
    highlights = fields.List(
        fields.List(fields.Integer()),
        required=True,
        metadata={"description": "[start, end) offsets of the matched words in text"},
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
    snippet = fields.Nested(
        SnippetSchema,
        allow_none=True,
        metadata={"description": "with a search: where its words matched (null: by an identifier)"},
    )
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
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    tags = fields.List(
        fields.Nested(TagRefSchema),
        required=True,
        metadata={"description": "the caller's organization's own tags"},
    )
    due_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "when the caller's side's running service-level clock due first "
            "is due (null: none runs; always null for a customer)"
        },
    )
    due_state = fields.String(
        allow_none=True,
        metadata={
            "description": "how due_at reads now: on_track, due_soon or breached",
            "enum": ["on_track", "due_soon", "breached", None],
        },
    )
    due_time_zone = fields.String(
        allow_none=True,
        metadata={"description": "the time zone of the calendar that clock counts in"},
    )


class CasePageSchema(Schema):
    cases = fields.List(fields.Nested(CaseRowSchema), required=True)
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "pass as cursor for the next page"}
    )


class CaseListArgsSchema(StrictSchema):
    """The query string of ``GET /cases``: a list query, flattened."""

    view = fields.String(
        metadata={"description": "a built-in view (due_soon among them); all_active by default"}
    )
    search = fields.String(
        validate=validate.Length(max=MAX_TEXT),
        metadata={
            "description": "identifiers by their start, any case (case, order, PO, reference, "
            "RA, tracking, BOL numbers, shipment reference, the caller's own CRM number), or "
            "words in the subjects, messages, attachment names and customers the caller "
            "may read; each row then has a snippet"
        },
    )
    q = fields.String(
        validate=validate.Length(max=MAX_TEXT), metadata={"description": "the same as search"}
    )
    sort = fields.String(
        metadata={
            "description": "a sortable field (due_at among them), relevance (a search's "
            "best match first), or cf:<name> for a custom field the caller reads (text, "
            "number, date, checkbox or choice; cases without a value last); when only a "
            "direction is given, relevance with a search and created_at without; without "
            "either, relevance with a search, else the view's own order (created_at "
            "descending; due_soon: due_at ascending)"
        }
    )
    direction = fields.String(validate=validate.OneOf(["asc", "desc"]))
    filters = fields.String(
        metadata={"description": 'the filters as JSON: [{"field": ..., "op": ..., "value": ...}]'}
    )
    saved_view = fields.Integer(validate=ID_RANGE, metadata={"description": "a saved view's id"})
    priority = fields.List(
        fields.String(validate=validate.OneOf(PRIORITIES)),
        metadata={"description": "only cases of these priorities (repeat the parameter)"},
    )
    tag = fields.List(
        fields.Integer(validate=ID_RANGE),
        metadata={
            "description": "only cases carrying one of these of the caller's organization's "
            "tags (repeat the parameter)"
        },
    )
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
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    tags = _tag_ids("ids of the caller's organization's tags to put on the case")
    custom_fields = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        values=fields.Raw(allow_none=True),
        validate=validate.Length(max=100),
        metadata={
            "description": "values of the caller's organization's custom fields by key "
            "(null clears one)"
        },
    )


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
    priority = fields.String(
        validate=validate.OneOf(PRIORITIES), metadata={"description": "shared by both sides"}
    )
    tags = _tag_ids("exactly these of the caller's organization's tags")
    add_tags = _tag_ids("put these of the caller's organization's tags on")
    remove_tags = _tag_ids("take these of the caller's organization's tags off")
    custom_fields = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=100)),
        values=fields.Raw(allow_none=True),
        validate=validate.Length(max=100),
        metadata={
            "description": "values of the caller's organization's custom fields by key "
            "(null clears one)"
        },
    )


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


class MergeSchema(StrictSchema):
    into = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the number of the original case, which the duplicate joins"},
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


class TagSchema(Schema):
    """One of the caller's organization's tags."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    colour = fields.String(required=True, validate=validate.OneOf([c.value for c in TagColour]))
    archived = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class TagListSchema(Schema):
    tags = fields.List(fields.Nested(TagSchema), required=True)


class TagListArgsSchema(StrictSchema):
    archived = fields.Boolean(
        load_default=False, metadata={"description": "list the archived tags too"}
    )


class TagCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TAG_NAME))
    colour = fields.String(
        load_default="grey", validate=validate.OneOf([c.value for c in TagColour])
    )


class TagUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=MAX_TAG_NAME))
    colour = fields.String(validate=validate.OneOf([c.value for c in TagColour]))
    archived = StrictBoolean(
        metadata={"description": "archived tags stay on their cases but are applied no more"}
    )


class CustomFieldSchema(Schema):
    """One of the caller's organization's custom fields."""

    id = fields.Integer(required=True)
    key = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in FieldKind]))
    visibility = fields.String(
        required=True, validate=validate.OneOf([v.value for v in FieldVisibility])
    )
    choices = fields.List(fields.String(), required=True)
    required_for = fields.List(
        fields.String(),
        required=True,
        metadata={"description": 'case types that require a value ("*": every type)'},
    )
    position = fields.Integer(required=True)
    archived = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CustomFieldListSchema(Schema):
    custom_fields = fields.List(fields.Nested(CustomFieldSchema), required=True)


class CustomFieldDeletedSchema(Schema):
    deleted = fields.Boolean(required=True)
    custom_field = fields.Nested(
        CustomFieldSchema,
        allow_none=True,
        metadata={"description": "the field, archived, when cases hold values of it"},
    )


_CHOICES = fields.List(
    fields.String(validate=validate.Length(min=1, max=100)),
    validate=validate.Length(max=50),
)
_REQUIRED_FOR = fields.List(
    fields.String(validate=validate.Length(min=1, max=100)),
    validate=validate.Length(max=100),
    metadata={"description": 'case types that require a value ("*": every type)'},
)


class CustomFieldCreateSchema(StrictSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=40))
    label = fields.String(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in FieldKind]))
    choices = _CHOICES
    required_for = _REQUIRED_FOR
    visibility = fields.String(
        load_default="private", validate=validate.OneOf([v.value for v in FieldVisibility])
    )
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=9999))


class CustomFieldUpdateSchema(StrictSchema):
    label = fields.String(validate=validate.Length(min=1, max=80))
    choices = _CHOICES
    required_for = _REQUIRED_FOR
    visibility = fields.String(validate=validate.OneOf([v.value for v in FieldVisibility]))
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=9999))
    archived = StrictBoolean(
        metadata={"description": "archived fields keep their values but are set no more"}
    )


# -- actions (casekit.domain.actions) ---------------------------------------------------------


class WindowSchema(Schema):
    start = fields.DateTime(required=True, metadata={"description": "UTC"})
    end = fields.DateTime(required=True, metadata={"description": "UTC"})
    label = fields.String(required=True, metadata={"description": "as the destination reads it"})


class ActionSchema(Schema):
    """A delivery appointment or a disposition of a case, as the caller reads it."""

    id = fields.Integer(required=True)
    case_number = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "appointment or disposition"})
    state = fields.String(required=True)
    audience = fields.String(required=True)
    side = fields.String(required=True, metadata={"description": "who proposed or asked"})
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    note = fields.String(required=True)
    replaces_id = fields.Integer(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    time_zone = fields.String(allow_none=True)
    windows = fields.List(fields.Nested(WindowSchema), required=True)
    accepted = fields.Nested(WindowSchema, allow_none=True)
    reason = fields.String(allow_none=True)
    deadline = fields.DateTime(allow_none=True)
    storage_from = fields.DateTime(allow_none=True)
    storage_per_day = fields.Decimal(allow_none=True, as_string=True)
    storage_days = fields.Integer(
        allow_none=True,
        metadata={"description": "days of storage charged so far (a day begun counts)"},
    )
    storage_charges = fields.Decimal(
        allow_none=True,
        as_string=True,
        metadata={"description": "storage charged so far, until decided or withdrawn"},
    )
    currency = fields.String(allow_none=True)
    choice = fields.String(allow_none=True)
    payer = fields.String(allow_none=True)
    ra_number = fields.String(allow_none=True)
    carrier_reference = fields.String(allow_none=True)
    internal_note = fields.String(
        allow_none=True, metadata={"description": "the shipper's own; null for anyone else"}
    )


class ActionListSchema(Schema):
    actions = fields.List(fields.Nested(ActionSchema), required=True)


class WindowInSchema(StrictSchema):
    start = fields.String(required=True, validate=validate.Length(min=1, max=40))
    end = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ProposeSchema(StrictSchema):
    windows = fields.List(
        fields.Nested(WindowInSchema),
        required=True,
        metadata={"description": "local times (e.g. 2026-12-08T08:00) in time_zone"},
    )
    time_zone = fields.String(load_default=None, validate=validate.Length(max=64))
    audience = fields.String(load_default=None, validate=validate.OneOf(["partners", "everyone"]))
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class CounterSchema(StrictSchema):
    windows = fields.List(fields.Nested(WindowInSchema), required=True)
    time_zone = fields.String(load_default=None, validate=validate.Length(max=64))
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class AcceptSchema(StrictSchema):
    window = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=9))
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class DispositionRequestSchema(StrictSchema):
    reason = fields.String(
        required=True, validate=validate.OneOf(["refused", "undeliverable", "damaged"])
    )
    deadline = fields.String(required=True, validate=validate.Length(min=1, max=40))
    storage_from = fields.String(load_default=None, validate=validate.Length(max=40))
    storage_per_day = fields.String(load_default="0", validate=validate.Length(max=20))
    currency = fields.String(load_default="USD", validate=validate.Length(max=3))
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class WithdrawSchema(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class AppointmentReportRowSchema(Schema):
    carrier_org_id = fields.Integer(allow_none=True)
    carrier = fields.String(required=True)
    accepted = fields.Integer(required=True)
    kept = fields.Integer(required=True)
    missed = fields.Integer(required=True)
    kept_rate = fields.Float(allow_none=True, metadata={"description": "kept / (kept + missed)"})


class DispositionReportRowSchema(Schema):
    choice = fields.String(allow_none=True, metadata={"description": "null: still waiting"})
    count = fields.Integer(required=True)


class StorageReportRowSchema(Schema):
    currency = fields.String(required=True)
    dispositions = fields.Integer(required=True)
    days = fields.Integer(required=True)
    charges = fields.Decimal(required=True, as_string=True)


class ActionReportSchema(Schema):
    """Appointments by carrier, dispositions by choice, storage charged by currency."""

    start = fields.Date(allow_none=True)
    end = fields.Date(allow_none=True)
    appointments = fields.List(fields.Nested(AppointmentReportRowSchema), required=True)
    dispositions = fields.List(fields.Nested(DispositionReportRowSchema), required=True)
    storage = fields.List(fields.Nested(StorageReportRowSchema), required=True)


class DayRangeArgsSchema(StrictSchema):
    """A report's days ``from`` and ``to`` (UTC, both included; each optional)."""

    start = fields.Date(
        data_key="from", load_default=None, metadata={"description": "first day (UTC)"}
    )
    end = fields.Date(
        data_key="to", load_default=None, metadata={"description": "last day (UTC), included"}
    )


def utc_days(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC instants ``[start, end + 1 day)`` of a day range; None where a side is
    open (``end`` the last day there is: open too)."""
    return (
        datetime.combine(start, time(), tzinfo=UTC) if start is not None else None,
        datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
        if end is not None and end < date.max
        else None,
    )


class DispositionDecisionSchema(StrictSchema):
    choice = fields.String(
        required=True,
        validate=validate.OneOf(["return", "reship", "destroy", "donate", "hold", "sell"]),
    )
    payer = fields.String(
        required=True, validate=validate.OneOf(["shipper", "carrier", "consignee"])
    )
    ra_number = fields.String(load_default="", validate=validate.Length(max=100))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    internal_note = fields.String(load_default="", validate=validate.Length(max=4000))
