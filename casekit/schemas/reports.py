"""The JSON form of a report query.

::

    {
      "from": "2026-03-01",
      "to": "2026-03-31",
      "timezone": "America/New_York",
      "granularity": "day",
      "filters": {"brand": ["Acme Home"], "carrier": [12], "type": ["lost"],
                  "source": ["email"], "owner": [7], "shipper": [3]}
    }

``from`` and ``to`` are the viewer's local dates, both included; at most
:data:`MAX_DAYS` days. Unknown keys, fields and values are rejected with an
error that names them.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from casekit.query.filters import Filter
from casekit.query.report_models import ReportQuery
from casekit.query.timing import Granularity
from casekit.schemas.views import FilterSchema

MAX_DAYS = 731
#: A day whose local midnights, and the next day's, are UTC moments in any zone.
FIRST_DAY = date(1, 1, 2)
LAST_DAY = date(9999, 12, 30)
#: The list filters a report takes, each as "is one of".
REPORT_FILTERS = ("brand", "carrier", "shipper", "type", "source", "owner")


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError when there is none by that name."""
    try:
        if not name or name != name.strip() or ".." in name or name.startswith("/"):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}; give an IANA name like Europe/Paris"
        ) from None


class ReportFiltersSchema(Schema):
    brand = fields.Raw()
    carrier = fields.Raw()
    shipper = fields.Raw()
    type = fields.Raw()
    source = fields.Raw()
    owner = fields.Raw()

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> tuple[Filter, ...]:
        made: list[Filter] = []
        errors: dict[str, Any] = {}
        for name in REPORT_FILTERS:
            if name not in data:
                continue
            try:
                made.append(FilterSchema().load({"field": name, "op": "in", "value": data[name]}))
            except ValidationError as error:
                messages = error.messages
                errors[name] = (
                    messages.get("value", messages) if isinstance(messages, dict) else messages
                )
        if errors:
            raise ValidationError(errors)
        return tuple(made)


class ReportQuerySchema(Schema):
    """Loads the JSON form into a :class:`~casekit.query.report_models.ReportQuery`."""

    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    timezone = fields.String(load_default="UTC")
    granularity = fields.String(
        load_default=Granularity.DAY.value,
        validate=validate.OneOf([g.value for g in Granularity]),
    )
    filters = fields.Nested(ReportFiltersSchema, load_default=dict)

    @validates_schema
    def _check(self, data: dict[str, Any], **_kwargs: Any) -> None:
        try:
            zone_of(data.get("timezone", "UTC"))
        except ValueError as error:
            raise ValidationError(str(error), "timezone") from None
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        for key, day in (("from", start), ("to", end)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise ValidationError(f"a day from {FIRST_DAY} to {LAST_DAY}", key)
        if start is not None and end is not None:
            if end < start:
                raise ValidationError("to is before from", "to")
            if (end - start).days + 1 > MAX_DAYS:
                raise ValidationError(f"at most {MAX_DAYS} days", "to")

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> ReportQuery:
        filters = data["filters"]
        return ReportQuery(
            start=data["start"],
            end=data["end"],
            timezone=data["timezone"],
            granularity=Granularity(data["granularity"]),
            filters=filters if isinstance(filters, tuple) else (),
        )
