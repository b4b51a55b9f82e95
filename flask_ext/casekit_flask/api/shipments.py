"""Order and shipment facts and tracking events, for adapters over HTTP (``kit.shipments``).

Each item is checked on its own: a bad one is rejected with its position
and reasons, and the others are stored, as the core's batch upserts do.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import date, datetime
from typing import Any

import attrs
from marshmallow import Schema, ValidationError, fields, validate

from casekit.domain.shipment import OrderFacts, ShipmentEvent, ShipmentFacts
from casekit.services.shipments import Rejected
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import MAX_TEXT, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

MAX_ITEMS = 1000

blp = ApiBlueprint(
    "casekit_api_shipments",
    __name__,
    url_prefix="",
    description="Shipment and order facts and tracking events, as adapters send them.",
)


def _problems(func: Any) -> Any:
    for code in (*COMMON, 409):
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _field(kind: Any, required: bool) -> fields.Field[Any]:
    """The marshmallow field of one attrs attribute type."""
    args = typing.get_args(kind)
    optional = type(None) in args
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        kind = next(a for a in args if a is not type(None))
    common: dict[str, Any] = {"required": required, "allow_none": optional}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return fields.String(validate=validate.OneOf([m.value for m in kind]), **common)
    if kind is datetime:
        return fields.AwareDateTime(**common)
    if kind is date:
        return fields.Date(**common)
    return fields.String(validate=validate.Length(max=MAX_TEXT), **common)


def schema_of(cls: type, name: str) -> type[Schema]:
    """A strict schema with one field per attribute of the attrs class ``cls``."""
    hints = typing.get_type_hints(cls)
    members: dict[str, Any] = {
        a.name: _field(hints[a.name], a.default is attrs.NOTHING) for a in attrs.fields(cls)
    }
    members["__doc__"] = (cls.__doc__ or "").strip().split("\n")[0]
    return type(name, (StrictSchema,), members)


ShipmentFactsSchema = schema_of(ShipmentFacts, "ShipmentFactsSchema")
OrderFactsSchema = schema_of(OrderFacts, "OrderFactsSchema")
ShipmentEventSchema = schema_of(ShipmentEvent, "ShipmentEventSchema")


class RejectedSchema(Schema):
    index = fields.Integer(required=True)
    key = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class UpsertReportSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedSchema), required=True)


class EventReportSchema(Schema):
    recorded = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedSchema), required=True)
    opened = fields.List(fields.String(), required=True, metadata={"description": "case numbers"})
    solved = fields.List(fields.String(), required=True)


class ItemsSchema(StrictSchema):
    items = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=MAX_ITEMS))


def _load(
    schema: Schema, cls: type, items: list[Any], key: str
) -> tuple[list[Any], list[int], list[Rejected]]:
    """The items that load, their positions, and the rejected ones."""
    good: list[Any] = []
    positions: list[int] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(items):
        try:
            data = schema.load(raw)
        except ValidationError as error:
            from casekit_flask.api import _flatten

            name = raw.get(key) if isinstance(raw, dict) else None
            rejected.append(
                Rejected(index, name if isinstance(name, str) else None, _flatten(error.messages))
            )
            continue
        good.append(cls(**data))
        positions.append(index)
    return good, positions, rejected


def _merge(
    core: list[Rejected], positions: list[int], ours: list[Rejected]
) -> list[dict[str, Any]]:
    moved = [Rejected(positions[r.index], r.key, r.errors) for r in core]
    return [attrs.asdict(r) for r in sorted(ours + moved, key=lambda r: r.index)]


@blp.route("/shipments", methods=["POST"])
@blp.arguments(ItemsSchema)
@blp.response(200, UpsertReportSchema)
@blp.doc(
    requestBody={
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ShipmentBatch"}}}
    }
)
@_problems
def upsert_shipments(data: dict[str, Any]) -> Any:
    """Create or refresh shipments (ShipmentFacts), keyed by shipper and reference."""
    good, positions, ours = _load(ShipmentFactsSchema(), ShipmentFacts, data["items"], "reference")
    report = current_kit().shipments.upsert_shipments(actor(), good) if good else None
    return _upsert_out(report, positions, ours)


@blp.route("/orders", methods=["POST"])
@blp.arguments(ItemsSchema)
@blp.response(200, UpsertReportSchema)
@blp.doc(
    requestBody={
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderBatch"}}}
    }
)
@_problems
def upsert_orders(data: dict[str, Any]) -> Any:
    """Create or refresh orders (OrderFacts), keyed by shipper and number: an order feed."""
    good, positions, ours = _load(OrderFactsSchema(), OrderFacts, data["items"], "number")
    report = current_kit().shipments.upsert_orders(actor(), good) if good else None
    return _upsert_out(report, positions, ours)


def _upsert_out(report: Any, positions: list[int], ours: list[Rejected]) -> dict[str, Any]:
    return {
        "created": report.created if report else 0,
        "updated": report.updated if report else 0,
        "unchanged": report.unchanged if report else 0,
        "rejected": _merge(report.rejected if report else [], positions, ours),
    }


@blp.route("/shipments/events", methods=["POST"])
@blp.arguments(ItemsSchema)
@blp.response(200, EventReportSchema)
@blp.doc(
    requestBody={
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ShipmentEventBatch"}}
        }
    }
)
@_problems
def record_events(data: dict[str, Any]) -> Any:
    """Record tracking events (ShipmentEvent); the shippers' rules look at what moved."""
    good, positions, ours = _load(ShipmentEventSchema(), ShipmentEvent, data["items"], "key")
    report = current_kit().shipments.record_events(actor(), good) if good else None
    return {
        "recorded": report.recorded if report else 0,
        "duplicates": report.duplicates if report else 0,
        "rejected": _merge(report.rejected if report else [], positions, ours),
        "opened": report.opened if report else [],
        "solved": report.solved if report else [],
    }


def register_components(spec: Any) -> None:
    """The item schemas and the batch bodies, for the OpenAPI document."""
    for schema, name in (
        (ShipmentFactsSchema, "ShipmentFacts"),
        (OrderFactsSchema, "OrderFacts"),
        (ShipmentEventSchema, "ShipmentEvent"),
    ):
        spec.components.schema(name, schema=schema)
        spec.components.schema(
            name.replace("Facts", "") + "Batch",
            {
                "type": "object",
                "required": ["items"],
                "additionalProperties": False,
                "properties": {
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_ITEMS,
                        "items": {"$ref": f"#/components/schemas/{name}"},
                    }
                },
            },
        )
