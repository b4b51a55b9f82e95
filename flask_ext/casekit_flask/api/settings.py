"""The organization's mail template overrides (with a preview) and report targets.

Its staff read them; its managers (and its keys) change them, as on the
settings and targets pages. The report targets are deprecated: they are the
organization's service levels of one case type each
(:mod:`casekit.services.type_targets`).
"""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from casekit.domain.reports import ReportTarget
from casekit.services.type_targets import set_type_target, type_targets
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import MAX_BODY, MAX_TEXT, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_settings",
    __name__,
    url_prefix="",
    description="Mail template overrides with a sandboxed preview, and report targets.",
)

MAX_TARGET = 366 * 24 * 3600


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class TemplateSchema(Schema):
    name = fields.String(required=True)
    subject = fields.String(required=True)
    text = fields.String(required=True)
    html = fields.String(required=True)
    overridden = fields.Boolean(required=True)


class TemplateListSchema(Schema):
    templates = fields.List(fields.Nested(TemplateSchema), required=True)


class TemplateSetSchema(StrictSchema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT * 5))
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_BODY))
    html = fields.String(load_default="", validate=validate.Length(max=MAX_BODY))


class TemplatePreviewArgsSchema(StrictSchema):
    subject = fields.String(validate=validate.Length(max=MAX_TEXT * 5))
    text = fields.String(validate=validate.Length(max=MAX_BODY))
    html = fields.String(validate=validate.Length(max=MAX_BODY))


class RenderedSchema(Schema):
    subject = fields.String(required=True)
    text = fields.String(required=True)
    html = fields.String(required=True)


class TargetSchema(Schema):
    case_type = fields.String(required=True)
    first_response_seconds = fields.Integer(allow_none=True, required=True)
    resolution_seconds = fields.Integer(allow_none=True, required=True)
    updated_at = fields.DateTime(required=True)
    updated_by = fields.String(required=True)


class TargetListSchema(Schema):
    targets = fields.List(fields.Nested(TargetSchema), required=True)


class TargetSetSchema(StrictSchema):
    first_response_seconds = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=60, max=MAX_TARGET)
    )
    resolution_seconds = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=60, max=MAX_TARGET)
    )


@blp.route("/templates", methods=["GET"])
@blp.response(200, TemplateListSchema)
@_problems
def templates() -> Any:
    """Every mail template as the organization uses it, overridden or shipped."""
    return {"templates": current_kit().notifications.templates(actor())}


@blp.route("/templates/<name>", methods=["GET"])
@blp.response(200, TemplateSchema)
@_problems
def template(name: str) -> Any:
    """One template."""
    return current_kit().notifications.template(actor(), name)


@blp.route("/templates/<name>", methods=["PUT"])
@blp.arguments(TemplateSetSchema)
@blp.response(200, TemplateSchema)
@_problems
def set_template(data: dict[str, Any], name: str) -> Any:
    """Override the template (managers); a part that does not render is a 400 naming it."""
    return current_kit().notifications.set_template(actor(), name, **data)


@blp.route("/templates/<name>", methods=["DELETE"])
@blp.response(200, TemplateSchema)
@_problems
def reset_template(name: str) -> Any:
    """Drop the override: the shipped template applies again (and is answered)."""
    return current_kit().notifications.reset_template(actor(), name)


@blp.route("/templates/<name>/preview", methods=["POST"])
@blp.arguments(TemplatePreviewArgsSchema)
@blp.response(200, RenderedSchema)
@_problems
def preview_template(data: dict[str, Any], name: str) -> Any:
    """Render the template with sample values, in the sandbox; parts given are drafts."""
    return current_kit().notifications.preview_template(actor(), name, **data)


def _target(target: ReportTarget) -> dict[str, Any]:
    return {
        "case_type": target.case_type,
        "first_response_seconds": target.first_response_seconds,
        "resolution_seconds": target.resolution_seconds,
        "updated_at": target.updated_at,
        "updated_by": target.updated_by,
    }


@blp.route("/report-targets", methods=["GET"])
@blp.doc(deprecated=True)
@blp.response(200, TargetListSchema)
@_problems
def targets() -> Any:
    """The organization's first-response and resolution targets, by case type (deprecated).

    Each is the organization's service level whose only condition is that
    case type; the service levels hold every target now.
    """
    return {"targets": [_target(t) for t in type_targets(current_kit(), actor())]}


@blp.route("/report-targets/<case_type>", methods=["PUT"])
@blp.doc(deprecated=True)
@blp.arguments(TargetSetSchema)
@blp.response(200, TargetSchema)
@blp.alt_response(204, description="both targets unset: the setting is removed")
@_problems
def set_target(data: dict[str, Any], case_type: str) -> Any:
    """Set the case type's targets in seconds of working time (managers); both ``null``
    removes them (deprecated).

    Changes the organization's service level of that one case type, adding
    one (tried after its others) when there is none.
    """
    target = set_type_target(
        current_kit(),
        actor(),
        case_type,
        first_response=data["first_response_seconds"],
        resolution=data["resolution_seconds"],
    )
    if target is None:
        return Response(status=204)
    return _target(target)
