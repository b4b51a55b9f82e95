"""The organization's webhook subscriptions (``kit.webhooks``) and delivery logs.

Managers' business: a manager's session, or a key of the organization
(read scope to read, write scope to change). A case's notification log is
under ``/cases/<number>/deliveries``: the notifications to the caller's
own people, each with its attempts.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from casekit.services.webhooks import WebhookCreated, WebhookView
from casekit.webhooks import WebhookEvent
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import MAX_TEXT, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_webhooks",
    __name__,
    url_prefix="",
    description="Webhook subscriptions (the secret shown once), their delivery logs, "
    "and a case's notification log.",
)

EVENTS = [e.value for e in WebhookEvent]


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class WebhookSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    updated_at = fields.DateTime(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(
        required=True,
        metadata={
            "description": "the signing secret, shown this once: a Standard Webhooks secret "
            "(`whsec_` and base64) that verifies both the `webhook-signature` and the "
            "`X-Casekit-Signature` headers"
        },
    )


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema), required=True)


class WebhookCreateSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENTS)),
    )
    description = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))


class WebhookUpdateSchema(StrictSchema):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        validate=validate.Length(min=1, max=len(EVENTS)),
    )
    description = fields.String(validate=validate.Length(max=MAX_TEXT))
    active = fields.Boolean()


class AttemptSchema(Schema):
    attempted_at = fields.DateTime(required=True)
    ok = fields.Boolean(required=True)
    status_code = fields.Integer(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)


class _DeliveryStateSchema(Schema):
    """Where an outbox row stands: what webhook and notification deliveries share."""

    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)
    sent_at = fields.DateTime(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)


class WebhookDeliverySchema(_DeliveryStateSchema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    event = fields.String(required=True)
    payload = fields.Dict(required=True)
    history = fields.List(fields.Nested(AttemptSchema), required=True)


class WebhookDeliveryListSchema(Schema):
    deliveries = fields.List(fields.Nested(WebhookDeliverySchema), required=True)


class DeliveryArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))


class NotificationAttemptSchema(Schema):
    attempted_at = fields.DateTime(required=True)
    ok = fields.Boolean(required=True)
    error = fields.String(allow_none=True, required=True)


class NotificationDeliverySchema(_DeliveryStateSchema):
    id = fields.Integer(allow_none=True, required=True)
    event = fields.String(required=True)
    template = fields.String(required=True)
    recipient_kind = fields.String(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    user_id = fields.Integer(allow_none=True, required=True)
    customer_id = fields.Integer(allow_none=True, required=True)
    history = fields.List(fields.Nested(NotificationAttemptSchema), required=True)


class NotificationDeliveryListSchema(Schema):
    deliveries = fields.List(fields.Nested(NotificationDeliverySchema), required=True)


def _wire(view: WebhookView) -> dict[str, Any]:
    return {
        "id": view.id,
        "url": view.url,
        "events": [e.value for e in view.events],
        "description": view.description,
        "active": view.active,
        "disabled_reason": view.disabled_reason,
        "created_at": view.created_at,
        "created_by": view.created_by,
        "updated_at": view.updated_at,
    }


def _with_secret(created: WebhookCreated) -> dict[str, Any]:
    return {**_wire(created.webhook), "secret": created.secret}


@blp.route("/webhooks", methods=["GET"])
@blp.response(200, WebhookListSchema)
@_problems
def list_webhooks() -> Any:
    """The organization's subscriptions (never a secret)."""
    return {"webhooks": [_wire(h) for h in current_kit().webhooks.list(actor())]}


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookCreatedSchema)
@_problems
def subscribe(data: dict[str, Any]) -> Any:
    """Subscribe an HTTPS endpoint to events; the signing `secret` is in this answer only."""
    created = current_kit().webhooks.subscribe(
        actor(), url=data["url"], events=data["events"], description=data["description"]
    )
    return _with_secret(created), 201


@blp.route("/webhooks/<int:webhook_id>", methods=["GET"])
@blp.response(200, WebhookSchema)
@_problems
def webhook(webhook_id: int) -> Any:
    """One subscription."""
    return _wire(current_kit().webhooks.get(actor(), _id(webhook_id, "webhook_id")))


@blp.route("/webhooks/<int:webhook_id>", methods=["PATCH"])
@blp.arguments(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
@_problems
def update_webhook(data: dict[str, Any], webhook_id: int) -> Any:
    """Change the URL, events or description; `active: true` turns a disabled one back on."""
    view = current_kit().webhooks.update(actor(), _id(webhook_id, "webhook_id"), **data)
    return _wire(view)


@blp.route("/webhooks/<int:webhook_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def delete_webhook(webhook_id: int) -> Any:
    """Remove the subscription and its delivery log."""
    current_kit().webhooks.delete(actor(), _id(webhook_id, "webhook_id"))
    return "", 204


@blp.route("/webhooks/<int:webhook_id>/secret", methods=["POST"])
@blp.response(200, WebhookCreatedSchema)
@_problems
def rotate_secret(webhook_id: int) -> Any:
    """A new signing secret, in this answer only; later requests are signed with it."""
    return _with_secret(
        current_kit().webhooks.rotate_secret(actor(), _id(webhook_id, "webhook_id"))
    )


@blp.route("/webhooks/<int:webhook_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveryArgsSchema, location="query", as_kwargs=True)
@blp.response(200, WebhookDeliveryListSchema)
@_problems
def webhook_deliveries(webhook_id: int, **args: Any) -> Any:
    """The subscription's delivery log, newest first, each request with its attempts."""
    log = current_kit().webhooks.deliveries(actor(), _id(webhook_id, "webhook_id"), **args)
    return {"deliveries": log}


@blp.route("/cases/<number>/deliveries", methods=["GET"])
@blp.response(200, NotificationDeliveryListSchema)
@_problems
def case_deliveries(number: str) -> Any:
    """The notifications of the case to the caller's own people (its organization's
    users and address; a customer's own), oldest first, each with its attempts."""
    return {"deliveries": current_kit().notifications.deliveries(actor(), number)}
