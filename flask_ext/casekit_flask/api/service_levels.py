"""The organization's business calendars and service-level targets (``kit.service_levels``).

Its staff and keys read them; its managers (and its write keys) change them,
as on the settings pages. A calendar goes over the wire in the JSON form of
:class:`~casekit.domain.calendar.BusinessCalendar` (``to_json``); a target's
times are whole seconds of working time. The clocks themselves are the
case's: ``clocks`` in every case answer (:mod:`casekit_flask.api.schemas`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from flask import Response, url_for
from marshmallow import Schema, fields, validate

from casekit.domain.sla import CONDITION_FIELDS, Target
from casekit.errors import InvalidInput, NotFound
from casekit.services.service_levels import MAX_SECONDS, MAX_VALUES, CalendarSetting
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import (
    ID_RANGE,
    MAX_TEXT,
    ProblemSchema,
    StrictBoolean,
    StrictSchema,
)
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_service_levels",
    __name__,
    url_prefix="/settings",
    description="Business calendars (the organization's own and one per partner) and "
    "service-level targets.",
)

#: The time fields of a target on the wire, by the name the core takes them as.
DURATIONS = {
    "first_response": "first_response_seconds",
    "next_response": "next_response_seconds",
    "resolution": "resolution_seconds",
    "warn_before": "warn_before_seconds",
}


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


class ObjectField(fields.Nested):
    """A nested object: a value that is no object is refused naming this field itself."""

    default_error_messages = {"not_an_object": "an object"}

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        partial: bool | Sequence[str] | AbstractSet[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        if not isinstance(value, Mapping):
            raise self.make_error("not_an_object")
        return super()._deserialize(value, attr, data, partial, **kwargs)


# -- calendars -------------------------------------------------------------------------------
class HolidaysSchema(StrictSchema):
    country = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "an ISO 3166 country code the `holidays` library knows: US"},
    )
    subdivision = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "a subdivision of that country: TX"},
    )


_HOURS = (
    "working hours per weekday (mon ... sun): a list of [start, end] local times "
    '"HH:MM"; an end not after its start runs into the next day; "24:00" ends at '
    "midnight; a weekday left out is closed"
)


class CalendarSchema(StrictSchema):
    """A business calendar in its JSON form (docs: Service levels, Business calendars)."""

    time_zone = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "an IANA time zone: America/Chicago (UTC if left out)"},
    )
    hours = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": _HOURS, "example": {"mon": [["08:00", "17:00"]]}},
    )
    holidays = ObjectField(
        HolidaysSchema,
        allow_none=True,
        metadata={"description": "the public holidays the calendar is closed on; null: none"},
    )
    closed_days = fields.List(
        fields.String(validate=validate.Length(max=10), metadata={"format": "date"}),
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": 'the organization\'s own closed days, "YYYY-MM-DD"'},
    )


class PartnerCalendarSchema(CalendarSchema):
    share_clocks = StrictBoolean(
        load_default=False,
        metadata={
            "description": "show the organization's clocks on its cases with this partner "
            "to the partner's staff (target names too)"
        },
    )


class CalendarSettingSchema(Schema):
    partner_org_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "the partner organization; null: the organization's own"},
    )
    share_clocks = fields.Boolean(required=True)
    calendar = fields.Nested(CalendarSchema, required=True)
    updated_at = fields.DateTime(required=True)
    updated_by = fields.String(required=True)


class CalendarListSchema(Schema):
    calendars = fields.List(
        fields.Nested(CalendarSettingSchema),
        required=True,
        metadata={"description": "the organization's own first, then one per partner"},
    )


def _setting(setting: CalendarSetting) -> dict[str, Any]:
    return {
        "partner_org_id": setting.partner_org_id,
        "share_clocks": setting.share_clocks,
        "calendar": setting.calendar.to_json(),
        "updated_at": setting.updated_at,
        "updated_by": setting.updated_by,
    }


def _calendar_errors(error: InvalidInput) -> InvalidInput:
    """The core's errors on the calendar, named as the body's fields (``calendar.hours.mon``
    is ``hours.mon`` here: the body is the calendar)."""
    named: dict[str, Any] = {}
    for name, messages in error.errors.items():
        if name == "calendar":
            name = "body"
        elif name.startswith("calendar."):
            name = name.removeprefix("calendar.")
        named[name] = messages
    return InvalidInput(named)


def _set_calendar(data: dict[str, Any], partner_org_id: int | None) -> dict[str, Any]:
    share = data.pop("share_clocks", False)
    try:
        setting = current_kit().service_levels.set_calendar(
            actor(), data, partner_org_id=partner_org_id, share_clocks=share
        )
    except InvalidInput as error:
        raise _calendar_errors(error) from None
    return _setting(setting)


def _found(partner_org_id: int | None) -> dict[str, Any]:
    setting = current_kit().service_levels.calendar(actor(), partner_org_id=partner_org_id)
    if setting is None:
        raise NotFound("calendar", partner_org_id or "own")
    return _setting(setting)


@blp.route("/calendars", methods=["GET"])
@blp.response(200, CalendarListSchema)
@_problems
def calendars() -> Any:
    """The organization's calendars: its own, then the one per partner where it keeps one."""
    return {"calendars": [_setting(s) for s in current_kit().service_levels.calendars(actor())]}


@blp.route("/calendar", methods=["GET"])
@blp.response(200, CalendarSettingSchema)
@_problems
def own_calendar() -> Any:
    """The organization's own calendar (404: none; its clocks count every hour)."""
    return _found(None)


@blp.route("/calendar", methods=["PUT"])
@blp.arguments(CalendarSchema)
@blp.response(200, CalendarSettingSchema)
@_problems
def set_own_calendar(data: dict[str, Any]) -> Any:
    """Set the organization's own calendar (managers); its open cases' clocks are
    recomputed with it. A bad field is a 400 naming it (``hours.mon[0]``)."""
    return _set_calendar(data, None)


@blp.route("/calendar", methods=["DELETE"])
@blp.response(204)
@_problems
def remove_own_calendar() -> Any:
    """Remove the organization's own calendar: its clocks count every hour again."""
    current_kit().service_levels.remove_calendar(actor())
    return Response(status=204)


@blp.route("/calendars/<int:partner_org_id>", methods=["GET"])
@blp.response(200, CalendarSettingSchema)
@_problems
def partner_calendar(partner_org_id: int) -> Any:
    """The calendar the organization keeps for its cases with one partner (404: none)."""
    return _found(_id(partner_org_id, "partner_org_id"))


@blp.route("/calendars/<int:partner_org_id>", methods=["PUT"])
@blp.arguments(PartnerCalendarSchema)
@blp.response(200, CalendarSettingSchema)
@_problems
def set_partner_calendar(data: dict[str, Any], partner_org_id: int) -> Any:
    """Set the calendar of the organization's cases with one partner organization of the
    other role (managers); ``share_clocks`` shows its clocks on those cases to that partner."""
    return _set_calendar(data, _id(partner_org_id, "partner_org_id"))


@blp.route("/calendars/<int:partner_org_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def remove_partner_calendar(partner_org_id: int) -> Any:
    """Remove the partner's calendar: those cases count in the organization's own again,
    and its clocks are no longer shown to the partner."""
    current_kit().service_levels.remove_calendar(
        actor(), partner_org_id=_id(partner_org_id, "partner_org_id")
    )
    return Response(status=204)


# -- targets ---------------------------------------------------------------------------------
def _texts(description: str) -> fields.List[Any]:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_TEXT)),
        allow_none=True,
        validate=validate.Length(max=MAX_VALUES),
        metadata={"description": description},
    )


class ConditionsSchema(StrictSchema):
    """What a case must be for the target to apply: each a list the case's value must be
    among; a condition left out, null or empty matches every case."""

    types = _texts("case types (codes of the catalogue)")
    partners = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        allow_none=True,
        validate=validate.Length(max=MAX_VALUES),
        metadata={"description": "the other party: organization ids of the other role"},
    )
    brands = _texts("brands of the case's shipment")
    modes = _texts("modes of the case's shipment (parcel, ltl...)")
    sources = _texts("sources: api, email, rule, user, portal")
    segments = _texts("customer segments of the case's shipment")


class EscalationSchema(StrictSchema):
    watchers = fields.List(
        fields.Integer(strict=True, validate=ID_RANGE),
        allow_none=True,
        validate=validate.Length(max=MAX_VALUES),
        metadata={"description": "users of the organization who watch a case once it breaches"},
    )
    hand_over_to = fields.Integer(
        strict=True,
        allow_none=True,
        validate=ID_RANGE,
        metadata={"description": "the user the side's owner slot goes to at a breach"},
    )


def _seconds(description: str, *, minimum: int = 60, allow_none: bool = True) -> fields.Integer:
    return fields.Integer(
        strict=True,
        allow_none=allow_none,
        validate=validate.Range(min=minimum, max=MAX_SECONDS),
        metadata={"description": description},
    )


class ServiceLevelSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    position = fields.Integer(required=True, metadata={"description": "tried in this order"})
    enabled = fields.Boolean(required=True)
    conditions = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CONDITION_FIELDS)),
        values=fields.List(fields.Raw()),
        required=True,
        metadata={"description": "the conditions set, each a list (see ConditionsSchema)"},
    )
    first_response_seconds = fields.Integer(required=True, allow_none=True)
    next_response_seconds = fields.Integer(required=True, allow_none=True)
    resolution_seconds = fields.Integer(required=True, allow_none=True)
    pause_when_waiting = fields.Boolean(required=True)
    warn_before_seconds = fields.Integer(required=True)
    escalation = fields.Nested(EscalationSchema, required=True)
    updated_at = fields.DateTime(required=True)
    updated_by = fields.String(required=True)


class ServiceLevelListSchema(Schema):
    targets = fields.List(
        fields.Nested(ServiceLevelSchema), required=True, metadata={"description": "in order"}
    )


class ServiceLevelChangeSchema(StrictSchema):
    """The fields of a target; a change (``PATCH``) sets those it names."""

    name = fields.String(validate=validate.Length(min=1, max=MAX_TEXT))
    position = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=1_000_000),
        metadata={"description": "tried in this order (a new target goes last)"},
    )
    enabled = StrictBoolean()
    conditions = ObjectField(ConditionsSchema)
    first_response_seconds = _seconds(
        "from when the side joined the case to its first response, in working seconds"
    )
    next_response_seconds = _seconds(
        "from a message of another party to the side's next response, in working seconds"
    )
    resolution_seconds = _seconds("from when the side joined the case to solved")
    pause_when_waiting = StrictBoolean(
        metadata={"description": "the resolution clock stops while the side waits on another"}
    )
    warn_before_seconds = _seconds(
        "how long before a breach the owner is warned, in working seconds (a new target's "
        "unless set: an hour, or a quarter of its shortest time when that is less)",
        minimum=0,
        allow_none=False,
    )
    escalation = ObjectField(EscalationSchema, allow_none=True)


class ServiceLevelCreateSchema(ServiceLevelChangeSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


def _target(target: Target) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "position": target.position,
        "enabled": target.enabled,
        "conditions": dict(target.conditions),
        "first_response_seconds": target.first_response_seconds,
        "next_response_seconds": target.next_response_seconds,
        "resolution_seconds": target.resolution_seconds,
        "pause_when_waiting": target.pause_when_waiting,
        "warn_before_seconds": target.warn_before_seconds,
        "escalation": {
            "watchers": list(target.escalation.get("watchers", [])),
            "hand_over_to": target.escalation.get("hand_over_to"),
        },
        "updated_at": target.updated_at,
        "updated_by": target.updated_by,
    }


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """The body as the core's ``save_target`` takes it."""
    values = {_core(name): value for name, value in data.items()}
    for name in ("conditions", "escalation"):
        if values.get(name) is not None:
            values[name] = {k: v for k, v in values[name].items() if v is not None}
    return values


def _core(name: str) -> str:
    return next((core for core, wire in DURATIONS.items() if wire == name), name)


def _save(data: dict[str, Any], target_id: int | None = None) -> Target:
    try:
        return current_kit().service_levels.save_target(actor(), _values(data), target_id=target_id)
    except InvalidInput as error:
        raise InvalidInput(
            {DURATIONS.get(name, name): messages for name, messages in error.errors.items()}
        ) from None


@blp.route("/service-levels", methods=["GET"])
@blp.response(200, ServiceLevelListSchema)
@_problems
def targets() -> Any:
    """The organization's targets, in the order they are tried on a case."""
    return {"targets": [_target(t) for t in current_kit().service_levels.targets(actor())]}


@blp.route("/service-levels", methods=["POST"])
@blp.arguments(ServiceLevelCreateSchema)
@blp.response(201, ServiceLevelSchema)
@_problems
def create_target(data: dict[str, Any]) -> Any:
    """Add a target (managers): a name, at least one of the three times; its conditions.
    The open cases' clocks are recomputed with it."""
    saved = _save(data)
    location = url_for(".target", target_id=saved.id)
    return _target(saved), 201, {"Location": location}


@blp.route("/service-levels/<int:target_id>", methods=["GET"])
@blp.response(200, ServiceLevelSchema)
@_problems
def target(target_id: int) -> Any:
    """One target of the organization (another's is a 404)."""
    return _target(current_kit().service_levels.target(actor(), _id(target_id, "target_id")))


@blp.route("/service-levels/<int:target_id>", methods=["PATCH"])
@blp.arguments(ServiceLevelChangeSchema)
@blp.response(200, ServiceLevelSchema)
@_problems
def update_target(data: dict[str, Any], target_id: int) -> Any:
    """Change the fields sent (managers); ``null`` clears a time, a condition or the
    escalation. The open cases' clocks are recomputed with it."""
    return _target(_save(data, _id(target_id, "target_id")))


@blp.route("/service-levels/<int:target_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def delete_target(target_id: int) -> Any:
    """Remove the target; its cases' clocks go with it (or move to the next that fits)."""
    current_kit().service_levels.remove_target(actor(), _id(target_id, "target_id"))
    return Response(status=204)
