"""Cases, their timeline, messages, attachments, owners and watchers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO, cast

from flask import Response, request, url_for
from marshmallow import RAISE, ValidationError

from casekit import Actor, InvalidInput, Upload
from casekit.json_input import load_json
from casekit.query.models import CaseView
from casekit.services.messages import split_addresses
from casekit_flask.api.common import PROBLEM, ApiBlueprint, etag, if_match, json_body
from casekit_flask.api.schemas import (
    AUDIENCES,
    ID_RANGE,
    SIDES,
    CaseCreateSchema,
    CaseListArgsSchema,
    CasePageSchema,
    CaseSchema,
    CaseUpdateSchema,
    EntrySchema,
    LiveSchema,
    MergeSchema,
    MessageSchema,
    OwnerSchema,
    ProblemSchema,
    TimelineSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_cases",
    __name__,
    url_prefix="/cases",
    description="Cases: open, list, read, change; their timeline and messages.",
)


def problems(*codes: int) -> Callable[[Any], Any]:
    """Document the problem responses an operation may give."""

    def decorate(func: Any) -> Any:
        for code in codes:
            func = blp.alt_response(
                code, schema=ProblemSchema, content_type=PROBLEM, description=_REASONS[code]
            )(func)
        return func

    return decorate


_REASONS = {
    400: "Bad input; `errors` names each field",
    401: "No or bad credentials",
    403: "Not allowed (an API key's scope, or the action)",
    404: "No such thing, or the caller may not see it",
    409: "The case changed meanwhile (If-Match), or was merged into another (`merged_into`)",
    413: "The upload is too large",
}

COMMON = (400, 401, 403, 404)


def actor() -> Actor:
    from casekit_flask.api import api_actor

    return api_actor()


def _case_response(view: CaseView, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    headers = {"ETag": etag(view.version)}
    if status == 201:
        headers["Location"] = url_for(".case", number=view.number)
    return view, status, headers


@blp.route("", methods=["GET"])
@blp.arguments(CaseListArgsSchema, location="query", as_kwargs=True, unknown=RAISE)
@blp.response(200, CasePageSchema)
@problems(*COMMON)
def list_cases(**args: Any) -> dict[str, Any]:
    """List cases: a view with filters, search and sort, one page at a time (keyset paging)."""
    kit = current_kit()
    me = actor()
    query: dict[str, Any] = {}
    if "saved_view" in args:
        query = _query_of_saved(me, args["saved_view"])
    for name in ("view", "search"):
        if name in args:
            query[name] = args[name]
    if "q" in args and "search" not in args:
        query["search"] = args["q"]
    if "sort" in args or "direction" in args:
        query["sort"] = {
            "field": args.get("sort", "relevance" if query.get("search") else "created_at"),
            "direction": args.get("direction", "desc"),
        }
    if "filters" in args:
        query["filters"] = load_json(args["filters"], field="filters")
    for name in ("priority", "tag"):
        if args.get(name):
            extra = {"field": name, "op": "in", "value": args[name]}
            kept = query.get("filters")
            query["filters"] = [*(kept if isinstance(kept, list) else []), extra]
    page = kit.views.list(me, query, limit=args["limit"], cursor=args.get("cursor"))
    return {"cases": page.rows, "next_cursor": page.next_cursor}


def _query_of_saved(me: Actor, view_id: int) -> dict[str, Any]:
    from casekit.schemas.views import dump_query

    try:
        return dump_query(current_kit().views.query_of(me, view_id))
    except InvalidInput as error:
        raise InvalidInput(
            {"saved_view": [m for ms in error.errors.values() for m in ms]}
        ) from None


@blp.route("", methods=["POST"])
@blp.arguments(CaseCreateSchema)
@blp.response(201, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
@problems(*COMMON)
def open_case(data: dict[str, Any]) -> Any:
    """Open a case (source `api` for an API key); the caller's side owns it when a user."""
    view = current_kit().cases.open(actor(), **data)
    return _case_response(view, 201)


@blp.route("/<number>", methods=["GET"])
@blp.response(200, CaseSchema)
@problems(*COMMON)
def case(number: str) -> Any:
    """One case as the caller sees it; its ETag is the case's version."""
    return _case_response(current_kit().cases.get(actor(), _number(number)))


@blp.route("/<number>", methods=["PATCH"])
@blp.arguments(CaseUpdateSchema)
@blp.response(200, CaseSchema)
@problems(*COMMON, 409)
def update_case(data: dict[str, Any], number: str) -> Any:
    """Change the type, the status (solving and reopening too), the carrier and whether
    it collaborates, the shipment, the CRM number, the priority and the caller's tags.

    All of them or, on any error, none. Send `If-Match` with the ETag you
    read to be told (409, nothing written) when someone changed the case
    meanwhile; without it the change applies to the case as it is then. The
    changes apply in the order type, status, carrier, carrier_collaborating,
    shipment, CRM number, priority, tags; each is its own change on the case's
    timeline. `tags` sets exactly the caller's organization's tags on the case;
    `add_tags` and `remove_tags` change some (not with `tags`). `custom_fields`
    sets values of the caller's organization's custom fields by key (null clears
    one); a new `type` asks for the values the caller's organization requires.
    `carrier` and `carrier_collaborating` are the shipper's staff's (403
    otherwise); a case linked to a shipment that names its carrier keeps it
    unless `shipment` links another in the same request. The carrier's
    collaborator address for the pair is set with
    `PUT /collaborator-addresses`.
    """
    if not data:
        raise InvalidInput(
            {
                "body": [
                    "give type, status, carrier, carrier_collaborating, shipment, "
                    "crm_number, priority, tags, add_tags, remove_tags or custom_fields"
                ]
            }
        )
    view = current_kit().cases.change(actor(), _number(number), data, expected_version=if_match())
    return _case_response(view)


@blp.route("/<number>/timeline", methods=["GET"])
@blp.response(200, TimelineSchema)
@problems(*COMMON)
def timeline(number: str) -> dict[str, Any]:
    """The case's messages and events the caller may read, oldest first."""
    return {"entries": current_kit().cases.timeline(actor(), _number(number))}


@blp.route("/<number>/live", methods=["GET"])
@blp.response(200, LiveSchema)
@problems(*COMMON)
def live(number: str) -> Any:
    """The case's live state: poll it and compare `signal`, which changes only when
    something the caller may read changes (a new entry, a share, the status it sees)."""
    return current_kit().live.state(actor(), _number(number))


MESSAGE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": "MessageSchema"},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["body"],
                "properties": {
                    "body": {"type": "string"},
                    "audience": {"type": "string", "enum": AUDIENCES},
                    "cc": {
                        "type": "string",
                        "description": "addresses to Cc, separated by commas",
                    },
                    "attachments": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                    },
                },
            }
        },
    },
}


@blp.route("/<number>/messages", methods=["POST"])
@blp.doc(requestBody=MESSAGE_BODY)
@blp.response(201, EntrySchema)
@problems(*COMMON, 413)
def post_message(number: str) -> Any:
    """Post a message with an audience: JSON, or multipart with attachments."""
    number = _number(number)
    uploads: list[Upload] = []
    if request.mimetype == "multipart/form-data":
        raw: Any = dict(request.form.items())
        if "cc" in request.form:
            raw["cc"] = split_addresses(request.form.getlist("cc"))
        for f in request.files.getlist("attachments"):
            if f.filename:
                uploads.append(
                    Upload(
                        filename=f.filename,
                        stream=cast(BinaryIO, f.stream),
                        content_type=f.mimetype or "application/octet-stream",
                    )
                )
        unknown = set(request.files) - {"attachments"}
        if unknown:
            raise InvalidInput({name: ["unknown file field"] for name in sorted(unknown)})
    elif request.is_json:
        raw = json_body()
    else:
        raise InvalidInput({"body": ["send JSON (or multipart/form-data)"]})
    try:
        data = MessageSchema().load(raw)
    except ValidationError as error:
        from casekit_flask.api import _flatten

        raise InvalidInput(_flatten(error.messages)) from None
    entry = current_kit().messages.post(
        actor(),
        number,
        data["body"],
        audience=data.get("audience"),
        attachments=uploads,
        cc=data.get("cc", ()),
    )
    return entry, 201


@blp.route("/<number>/entries/<int:entry_id>/share", methods=["POST"])
@blp.response(200, EntrySchema)
@problems(*COMMON)
def share_entry(number: str, entry_id: int) -> Any:
    """Share a message of the shipper's conversation with its customer (audience
    `customer`) with the case's carrier: the shipper's staff only. From then on
    the carrier reads it, attachments included; the timeline records who shared
    it. Sharing it again changes nothing. Answers the entry, with `shared_at`."""
    return current_kit().cases.share_with_carrier(
        actor(), _number(number), _id(entry_id, "entry_id")
    )


@blp.route("/<number>/attachments/<int:attachment_id>", methods=["GET"])
@blp.response(200, content_type="application/octet-stream", description="The file, as a download")
@problems(*COMMON)
def attachment(number: str, attachment_id: int) -> Response:
    """Download an attachment of a message the caller may read."""
    from casekit_flask.files import send_attachment

    _id(attachment_id, "attachment_id")
    return send_attachment(actor(), _number(number), attachment_id)


@blp.route("/<number>/owners/<side>", methods=["PUT"])
@blp.arguments(OwnerSchema)
@blp.response(200, CaseSchema)
@problems(*COMMON, 409)
def set_owner(data: dict[str, Any], number: str, side: str) -> Any:
    """Give a side's owner slot to a user of that side, or empty it (`user_id: null`)."""
    if side not in SIDES:
        raise InvalidInput({"side": ["shipper or carrier"]})
    view = current_kit().cases.set_owner(
        actor(), _number(number), data["user_id"], side=side, expected_version=if_match()
    )
    return _case_response(view)


@blp.route("/<number>/watchers/<int:user_id>", methods=["PUT"])
@blp.response(200, CaseSchema)
@problems(*COMMON)
def watch(number: str, user_id: int) -> Any:
    """Add a user of the caller's organization to the watchers."""
    view = current_kit().cases.watch(actor(), _number(number), _id(user_id, "user_id"))
    return _case_response(view)


@blp.route("/<number>/watchers/<int:user_id>", methods=["DELETE"])
@blp.response(200, CaseSchema)
@problems(*COMMON)
def unwatch(number: str, user_id: int) -> Any:
    """Remove a user of the caller's organization from the watchers."""
    view = current_kit().cases.unwatch(actor(), _number(number), _id(user_id, "user_id"))
    return _case_response(view)


@blp.route("/<number>/contact-share", methods=["POST"])
@blp.response(200, CaseSchema)
@problems(*COMMON, 409)
def share_contact(number: str) -> Any:
    """Share the case's customer's contact details (name, email, phone) with the
    case's carrier: the shipper's staff only. The carrier reads them on this case
    (its `contact`) until they are withdrawn; the timeline records who shared them.
    Honours `If-Match`."""
    view = current_kit().cases.share_contact(actor(), _number(number), expected_version=if_match())
    return _case_response(view)


@blp.route("/<number>/contact-share", methods=["DELETE"])
@blp.response(200, CaseSchema)
@problems(*COMMON, 409)
def withdraw_contact(number: str) -> Any:
    """Withdraw the customer's contact details from the carrier: the shipper's staff
    only. Honours `If-Match`."""
    view = current_kit().cases.withdraw_contact(
        actor(), _number(number), expected_version=if_match()
    )
    return _case_response(view)


@blp.route("/<number>/merge", methods=["POST"])
@blp.arguments(MergeSchema)
@blp.response(200, CaseSchema)
@problems(*COMMON, 409)
def merge(data: dict[str, Any], number: str) -> Any:
    """Merge this case, a duplicate, into the case `into` (the original): its
    timeline, attachments, watchers, participants, CRM numbers, tags, and its
    shipment and order where the original has none, move with their audiences
    intact; the duplicate is solved and says `merged_into`. Staff of the same
    party on both cases only; the original must have every party of the
    duplicate (else a 400 on `into`). Honours `If-Match` (the duplicate's
    version). Answers the original."""
    view = current_kit().cases.merge(
        actor(), _number(number), into=data["into"], expected_version=if_match()
    )
    return _case_response(view)


def _number(number: str) -> str:
    if not number or len(number) > 40 or "\x00" in number:
        raise InvalidInput({"number": ["a case number"]})
    return number


def _id(value: int, field: str) -> int:
    try:
        ID_RANGE(value)
    except ValidationError:
        raise InvalidInput({field: ["an id from 1 to 2147483647"]}) from None
    return value
