"""Canned replies: keep them, render one for a case, apply one to cases, their usage."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields, validate

from casekit import Conflict, InvalidInput, NotFound, PermissionDenied
from casekit.domain.canned_replies import ACTIONS, MAX_BODY, MAX_TITLE, VARIABLES
from casekit.services.canned_replies import CannedReplyView
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    AUDIENCES,
    CaseSchema,
    EntrySchema,
    ProblemSchema,
    StrictSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_canned_replies",
    __name__,
    url_prefix="/canned-replies",
    description="Canned replies: the organization's and the caller's own; render one for a "
    "case, apply one to cases in one step, and how often each was used.",
)

#: Cases one apply request may name (the list page's bulk action sends at most this many).
MAX_CASES = 500


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class ReplyActionsSchema(Schema):
    type = fields.String(metadata={"description": "a case type code"})
    status = fields.String(metadata={"description": "a status to set (not new)"})
    owner = fields.Raw(
        metadata={"description": 'the owner of the caller\'s side: "me", "nobody" or a user id'}
    )
    watchers = fields.List(
        fields.Raw(), metadata={"description": 'watchers to add: "me" or user ids'}
    )
    priority = fields.String(
        metadata={"description": "the case's priority to set: low, normal, high or urgent"}
    )
    add_tags = fields.List(
        fields.Integer(),
        metadata={"description": "ids of the caller's organization's tags to put on"},
    )
    remove_tags = fields.List(
        fields.Integer(),
        metadata={"description": "ids of the caller's organization's tags to take off"},
    )


class CannedReplySchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "a template (see variables)"})
    audience = fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    actions = fields.Nested(ReplyActionsSchema, required=True)
    personal = fields.Boolean(
        required=True, metadata={"description": "the caller's own (else the organization's)"}
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CannedReplyListSchema(Schema):
    replies = fields.List(fields.Nested(CannedReplySchema), required=True)
    variables = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "the variables a body may use, each with what it holds"},
    )


class CannedReplyWriteSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TITLE))
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_BODY))
    audience = fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    actions = fields.Dict(
        load_default=None,
        allow_none=True,
        metadata={"description": f"some of {', '.join(ACTIONS)}"},
    )


class CannedReplyCreateSchema(CannedReplyWriteSchema):
    personal = fields.Boolean(
        load_default=False, metadata={"description": "the caller's own reply (a user's)"}
    )


class RenderReplySchema(StrictSchema):
    case = fields.String(required=True, validate=validate.Length(min=1, max=64))
    audience = fields.String(
        validate=validate.OneOf(AUDIENCES),
        metadata={"description": "render for this audience instead of the reply's"},
    )


class RenderedReplySchema(Schema):
    reply_id = fields.Integer(required=True)
    audience = fields.String(required=True)
    body = fields.String(required=True)
    actions = fields.Nested(ReplyActionsSchema, required=True)


class ApplyReplySchema(StrictSchema):
    cases = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=MAX_CASES),
    )
    body = fields.String(
        validate=validate.Length(min=1, max=MAX_BODY),
        metadata={"description": "the message to post instead of the reply rendered"},
    )
    audience = fields.String(
        validate=validate.OneOf(AUDIENCES),
        metadata={"description": "post for this audience instead of the reply's"},
    )


class ReplyOutcomeSchema(Schema):
    number = fields.String(required=True)
    applied = fields.Boolean(required=True)
    status = fields.Integer(
        required=True, metadata={"description": "200, or the status a request for it alone gets"}
    )
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    entry = fields.Nested(EntrySchema)
    case = fields.Nested(CaseSchema)


class AppliedReplySchema(Schema):
    results = fields.List(fields.Nested(ReplyOutcomeSchema), required=True)


class ReplyUsageArgsSchema(StrictSchema):
    since = fields.AwareDateTime(metadata={"description": "uses from this moment"})
    until = fields.AwareDateTime(metadata={"description": "uses before this moment"})


class ReplyUseSchema(Schema):
    reply_id = fields.Integer(required=True)
    title = fields.String(required=True)
    personal = fields.Boolean(required=True)
    uses = fields.Integer(required=True)
    inserted = fields.Integer(required=True)
    applied = fields.Integer(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    last_used_by = fields.String(allow_none=True)
    by_user = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ReplyUsageSchema(Schema):
    replies = fields.List(fields.Nested(ReplyUseSchema), required=True)


def _wire(reply: CannedReplyView) -> dict[str, Any]:
    return {
        "id": reply.id,
        "title": reply.title,
        "body": reply.body,
        "audience": reply.audience.value,
        "actions": reply.actions.as_json(),
        "personal": reply.personal,
        "created_at": reply.created_at,
        "updated_at": reply.updated_at,
    }


@blp.route("", methods=["GET"])
@blp.response(200, CannedReplyListSchema)
@_problems
def list_replies() -> dict[str, Any]:
    """The organization's replies, then the caller's own, by title; and the variables."""
    replies = current_kit().canned_replies.list(actor())
    return {"replies": [_wire(r) for r in replies], "variables": VARIABLES}


@blp.route("", methods=["POST"])
@blp.arguments(CannedReplyCreateSchema)
@blp.response(201, CannedReplySchema)
@_problems
def create_reply(data: dict[str, Any]) -> Any:
    """Create a reply: the organization's (its managers and API keys) or the caller's own."""
    reply = current_kit().canned_replies.save(actor(), **data)
    location = url_for(".reply", reply_id=reply.id)
    return _wire(reply), 201, {"Location": location}


@blp.route("/<int:reply_id>", methods=["GET"])
@blp.response(200, CannedReplySchema)
@_problems
def reply(reply_id: int) -> dict[str, Any]:
    """One reply the caller may use."""
    return _wire(current_kit().canned_replies.get(actor(), reply_id))


@blp.route("/<int:reply_id>", methods=["PATCH"])
@blp.arguments(CannedReplyWriteSchema)
@blp.response(200, CannedReplySchema)
@_problems
def update_reply(data: dict[str, Any], reply_id: int) -> dict[str, Any]:
    """Change a reply: its title, body, audience and actions, all given."""
    return _wire(current_kit().canned_replies.save(actor(), reply_id, **data))


@blp.route("/<int:reply_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def delete_reply(reply_id: int) -> Any:
    """Remove a reply, with its usage figures."""
    current_kit().canned_replies.remove(actor(), reply_id)
    return "", 204


@blp.route("/<int:reply_id>/render", methods=["POST"])
@blp.arguments(RenderReplySchema)
@blp.response(200, RenderedReplySchema)
@_problems
def render(data: dict[str, Any], reply_id: int) -> dict[str, Any]:
    """The reply rendered for a case, to insert into a composer (counted as a use)."""
    rendered = current_kit().canned_replies.render(
        actor(), reply_id, data["case"], audience=data.get("audience")
    )
    return {
        "reply_id": rendered.reply_id,
        "audience": rendered.audience.value,
        "body": rendered.body,
        "actions": rendered.actions.as_json(),
    }


@blp.route("/<int:reply_id>/apply", methods=["POST"])
@blp.arguments(ApplyReplySchema)
@blp.response(200, AppliedReplySchema)
@_problems
def apply(data: dict[str, Any], reply_id: int) -> dict[str, Any]:
    """Apply the reply to each case: post it and run its actions, each case in one step.

    A case refused (not found, not allowed, bad input, changed meanwhile) is left as it
    was and answered with the status a request for it alone would get; the others go on.
    """
    kit, me = current_kit(), actor()
    kit.canned_replies.get(me, reply_id)  # a reply the caller may not use: 404
    results = []
    for number in dict.fromkeys(data["cases"]):
        outcome: dict[str, Any] = {"number": number, "applied": False}
        try:
            done = kit.canned_replies.apply(
                me, reply_id, number, body=data.get("body"), audience=data.get("audience")
            )
        except InvalidInput as error:
            outcome |= {"status": 400, "errors": error.errors}
        except NotFound as error:
            outcome |= {"status": 404, "detail": str(error)}
        except PermissionDenied as error:
            outcome |= {"status": 403, "detail": str(error)}
        except Conflict as error:
            outcome |= {"status": 409, "detail": str(error)}
        else:
            outcome |= {"applied": True, "status": 200, "entry": done.entry, "case": done.case}
        results.append(outcome)
    return {"results": results}


@blp.route("/usage", methods=["GET"])
@blp.arguments(ReplyUsageArgsSchema, location="query")
@blp.response(200, ReplyUsageSchema)
@_problems
def usage(args: dict[str, Any]) -> dict[str, Any]:
    """How often each reply the caller may use was used, most used first."""
    uses = current_kit().canned_replies.usage(
        actor(), since=args.get("since"), until=args.get("until")
    )
    return {"replies": uses}
