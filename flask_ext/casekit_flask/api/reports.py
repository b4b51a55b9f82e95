"""Reports (``kit.reports``) as JSON, and notification settings (``kit.notifications``)."""

from __future__ import annotations

from typing import Any

import attrs
from marshmallow import RAISE, Schema, fields, validate

from casekit.domain.case import Side
from casekit.errors import InvalidInput
from casekit.json_input import load_json
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    ID_RANGE,
    ActionReportSchema,
    DayRangeArgsSchema,
    ProblemSchema,
    StrictSchema,
    utc_days,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_reports",
    __name__,
    url_prefix="",
    description="Reports, organization settings, subscriptions, collaborator addresses.",
)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class ReportArgsSchema(StrictSchema):
    """The query string of ``GET /reports``: the core's report query, flattened."""

    start = fields.String(
        required=True, data_key="from", metadata={"description": "first local day (ISO date)"}
    )
    end = fields.String(
        required=True, data_key="to", metadata={"description": "last local day, included"}
    )
    timezone = fields.String(validate=validate.Length(max=64))
    granularity = fields.String(validate=validate.OneOf(["day", "week"]))
    filters = fields.String(
        metadata={"description": 'JSON: {"brand": [...], "carrier": [ids], "type": [...], ...}'}
    )
    sections = fields.String(metadata={"description": "comma-separated sections; all by default"})


class ReportSchema(Schema):
    """A report: its query, when, the UTC range it covers, and its sections of tables."""

    query = fields.Dict(required=True)
    generated_at = fields.String(required=True)
    range_start = fields.String(required=True)
    range_end = fields.String(required=True)
    sections = fields.List(fields.Dict(), required=True)


@blp.route("/reports", methods=["GET"])
@blp.arguments(ReportArgsSchema, location="query", unknown=RAISE)
@blp.response(200, ReportSchema)
@_problems
def report(args: dict[str, Any]) -> Any:
    """The dashboard's numbers for the caller, scoped like the list (JSON)."""
    query: dict[str, Any] = {"from": args["start"], "to": args["end"]}
    for name in ("timezone", "granularity"):
        if name in args:
            query[name] = args[name]
    if "filters" in args:
        query["filters"] = load_json(args["filters"], field="filters")
    kwargs: dict[str, Any] = {}
    if "sections" in args:
        kwargs["sections"] = [s.strip() for s in args["sections"].split(",") if s.strip()]
    return current_kit().reports.dashboard(actor(), query, **kwargs).to_json()


@blp.route("/reports/actions", methods=["GET"])
@blp.arguments(DayRangeArgsSchema, location="query", unknown=RAISE)
@blp.response(200, ActionReportSchema)
@_problems
def action_report(args: dict[str, Any]) -> Any:
    """Appointments accepted, kept and missed by carrier; dispositions by choice; the
    storage charged on them by currency: over the cases the caller sees, for actions
    taken in the days `from`..`to` (UTC, both included; all time without them)."""
    start, end = args["start"], args["end"]
    if start is not None and end is not None and end < start:
        raise InvalidInput({"to": ["the last day comes after the first"]})
    since, until = utc_days(start, end)
    found = current_kit().actions.report(actor(), start=since, end=until)
    return {
        "start": start,
        "end": end,
        "appointments": [
            {**attrs.asdict(row), "kept_rate": row.kept_rate} for row in found.appointments
        ],
        "dispositions": [attrs.asdict(row) for row in found.dispositions],
        "storage": [attrs.asdict(row) for row in found.storage],
    }


class SubscriptionSchema(Schema):
    event = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    default = fields.Boolean(required=True)


class SubscriptionsSchema(Schema):
    user_id = fields.Integer(required=True)
    subscriptions = fields.List(fields.Nested(SubscriptionSchema), required=True)


class SubscriptionChangesSchema(StrictSchema):
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Boolean(allow_none=True),
        required=True,
        metadata={"description": "event kind: true, false, or null for the default"},
    )


def _user_id(user_id: int) -> int:
    try:
        ID_RANGE(user_id)
    except Exception:
        raise InvalidInput({"user_id": ["an id from 1 to 2147483647"]}) from None
    return user_id


@blp.route("/users/<int:user_id>/subscriptions", methods=["GET"])
@blp.response(200, SubscriptionsSchema)
@_problems
def subscriptions(user_id: int) -> Any:
    """A user's notification subscriptions (their own, or a colleague's for a manager)."""
    found = current_kit().notifications.subscriptions(actor(), _user_id(user_id))
    return {"user_id": user_id, "subscriptions": found}


@blp.route("/users/<int:user_id>/subscriptions", methods=["PATCH"])
@blp.arguments(SubscriptionChangesSchema)
@blp.response(200, SubscriptionsSchema)
@_problems
def set_subscriptions(data: dict[str, Any], user_id: int) -> Any:
    """Turn kinds of events on or off; null goes back to the default."""
    found = current_kit().notifications.set_subscriptions(
        actor(), data["changes"], user_id=_user_id(user_id)
    )
    return {"user_id": user_id, "subscriptions": found}


class CollaboratorAddressSchema(Schema):
    shipper_org_id = fields.Integer(required=True)
    carrier_org_id = fields.Integer(required=True)
    side = fields.String(required=True)
    email = fields.String(required=True)
    updated_at = fields.DateTime(required=True)
    updated_by = fields.String(required=True)


class CollaboratorAddressesSchema(Schema):
    addresses = fields.List(fields.Nested(CollaboratorAddressSchema), required=True)


class CollaboratorAddressSetSchema(StrictSchema):
    shipper_org_id = fields.Integer(required=True, validate=ID_RANGE)
    carrier_org_id = fields.Integer(required=True, validate=ID_RANGE)
    side = fields.String(required=True, validate=validate.OneOf([s.value for s in Side]))
    email = fields.String(
        required=True,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"description": "null clears it"},
    )


@blp.route("/collaborator-addresses", methods=["GET"])
@blp.response(200, CollaboratorAddressesSchema)
@_problems
def collaborator_addresses() -> Any:
    """The collaborator addresses of the pairs the caller's organization is part of."""
    return {"addresses": current_kit().notifications.collaborator_addresses(actor())}


@blp.route("/collaborator-addresses", methods=["PUT"])
@blp.arguments(CollaboratorAddressSetSchema)
@blp.response(200, CollaboratorAddressesSchema)
@_problems
def set_collaborator_address(data: dict[str, Any]) -> Any:
    """Set (or clear) the address notified for a side of a shipper-carrier pair."""
    kit, me = current_kit(), actor()
    kit.notifications.set_collaborator_address(me, **data)
    return {"addresses": kit.notifications.collaborator_addresses(me)}


class SettingsSchema(Schema):
    org_id = fields.Integer(required=True)
    feedback_portal = fields.Boolean(required=True)


class SettingsUpdateSchema(StrictSchema):
    feedback_portal = fields.Boolean(required=True)


def _own_org() -> int:
    org_id = actor().org_id
    if org_id is None or actor().is_customer:
        from casekit.errors import PermissionDenied

        raise PermissionDenied("settings are an organization's")
    return org_id


@blp.route("/organization/settings", methods=["GET"])
@blp.response(200, SettingsSchema)
@_problems
def settings() -> Any:
    """The caller's organization's settings: the customer feedback portal switch."""
    org_id = _own_org()
    enabled = current_kit().directory.feedback_portal(actor(), org_id)
    return {"org_id": org_id, "feedback_portal": enabled}


@blp.route("/organization/settings", methods=["PATCH"])
@blp.arguments(SettingsUpdateSchema)
@blp.response(200, SettingsSchema)
@_problems
def set_settings(data: dict[str, Any]) -> Any:
    """Turn the feedback portal on or off (a shipper's managers)."""
    org_id = _own_org()
    org = current_kit().directory.set_feedback_portal(actor(), org_id, data["feedback_portal"])
    return {"org_id": org_id, "feedback_portal": org.feedback_portal}
