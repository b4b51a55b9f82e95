"""A shipper's rules (``kit.rules``): list, define, enable, delete, dry-run."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from casekit.domain.rules import Tier
from casekit.services.rules import Rule
from casekit_flask.api.cases import COMMON, _id, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import ID_RANGE, ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_rules",
    __name__,
    url_prefix="/rules",
    description="The shipper's rules that open cases on their own.",
)

DEFINITION = (
    "a rule definition (docs: Rules): name, case_type, tier, statuses, exceptions, modes, "
    "not_modes, directions, carriers, brands, customer_segments, regions, case_priorities, "
    "case_min_priority, case_tags_any, case_tags_all, case_tags_none, time_condition, hours, "
    "subject, message, owner, owner_ids, watcher_ids, priority, tag_ids, carrier_collaborating, "
    "auto_solve, solve_on; the core checks it and names each bad field"
)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


TIER = "1 (act now) or 2 (watch); the definition's tier, which this replaces"


def _tier() -> fields.Integer:
    return fields.Integer(
        strict=True, validate=validate.OneOf([int(t) for t in Tier]), metadata={"description": TIER}
    )


class RuleSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    tier = fields.Integer(
        required=True, metadata={"description": "1 (act now) or 2 (watch), as the definition says"}
    )
    enabled = fields.Boolean(required=True)
    definition = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class RuleListSchema(Schema):
    rules = fields.List(fields.Nested(RuleSchema), required=True)


class RuleCreateSchema(StrictSchema):
    definition = fields.Dict(required=True, metadata={"description": DEFINITION})
    enabled = fields.Boolean(load_default=True)
    tier = _tier()


class RuleUpdateSchema(StrictSchema):
    definition = fields.Dict(metadata={"description": DEFINITION})
    enabled = fields.Boolean()
    tier = _tier()


class DryRunSchema(StrictSchema):
    rule_id = fields.Integer(validate=ID_RANGE, metadata={"description": "a saved rule"})
    definition = fields.Dict(metadata={"description": "or a definition not saved yet"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10_000))

    @validates_schema
    def _one(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("rule_id" in data) == ("definition" in data):
            raise SchemaError("give rule_id or definition", "rule_id")


class DryRunResultSchema(Schema):
    references = fields.List(fields.String(), required=True)


def _wire(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "tier": int(rule.tier),
        "enabled": rule.enabled,
        "definition": rule.spec.as_json(),
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


@blp.route("", methods=["GET"])
@blp.response(200, RuleListSchema)
@_problems
def list_rules() -> Any:
    """The caller's organization's rules, Tier 1 first, each tier by name (its staff may
    read them)."""
    return {"rules": [_wire(r) for r in current_kit().rules.list(actor())]}


@blp.route("", methods=["POST"])
@blp.arguments(RuleCreateSchema)
@blp.response(201, RuleSchema)
@_problems
def create_rule(data: dict[str, Any]) -> Any:
    """Define a rule (a manager's, or a key's)."""
    rule = current_kit().rules.create(
        actor(), data["definition"], enabled=data["enabled"], tier=data.get("tier")
    )
    return _wire(rule), 201


@blp.route("/<int:rule_id>", methods=["GET"])
@blp.response(200, RuleSchema)
@_problems
def rule(rule_id: int) -> Any:
    """One rule."""
    return _wire(current_kit().rules.get(actor(), _id(rule_id, "rule_id")))


@blp.route("/<int:rule_id>", methods=["PATCH"])
@blp.arguments(RuleUpdateSchema)
@blp.response(200, RuleSchema)
@_problems
def update_rule(data: dict[str, Any], rule_id: int) -> Any:
    """Replace the definition, enable or disable the rule, and/or move it to another tier."""
    rule = current_kit().rules.update(
        actor(),
        _id(rule_id, "rule_id"),
        data.get("definition"),
        enabled=data.get("enabled"),
        tier=data.get("tier"),
    )
    return _wire(rule)


@blp.route("/<int:rule_id>", methods=["DELETE"])
@blp.response(204)
@_problems
def delete_rule(rule_id: int) -> Any:
    """Delete the rule (the cases it opened stay)."""
    current_kit().rules.delete(actor(), _id(rule_id, "rule_id"))
    return "", 204


@blp.route("/dry-run", methods=["POST"])
@blp.arguments(DryRunSchema)
@blp.response(200, DryRunResultSchema)
@_problems
def dry_run(data: dict[str, Any]) -> Any:
    """The shipments a rule would open cases for now; nothing is written."""
    rule: int | dict[str, Any] = data["rule_id"] if "rule_id" in data else data["definition"]
    references = current_kit().rules.dry_run(actor(), rule, limit=data["limit"])
    return {"references": references}
