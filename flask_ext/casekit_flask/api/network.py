"""Network benchmarks (``kit.network``): the caller's organization's figures beside the network's.

Reads only the tables the job (``casekit network compute``) wrote. A
host with benchmarks off answers 404; a customer 403.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from casekit.domain.network import Metric, Side
from casekit.services.network import Benchmarks
from casekit_flask.api.cases import COMMON, actor
from casekit_flask.api.common import PROBLEM, ApiBlueprint
from casekit_flask.api.schemas import ProblemSchema, StrictSchema
from casekit_flask.extension import current_kit

blp = ApiBlueprint(
    "casekit_api_network",
    __name__,
    url_prefix="/network",
    description="Network benchmarks: the caller's organization's figures beside the network's "
    "published ones.",
)

METRICS = [m.value for m in Metric]


class BenchmarkArgsSchema(StrictSchema):
    period = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="a month as YYYY-MM"),
        metadata={"description": "the month (YYYY-MM); the newest computed by default"},
    )


class ComparisonSchema(Schema):
    """One figure of the organization's beside the network's."""

    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    case_type = fields.String(
        required=True, metadata={"description": "a case type; empty: every type"}
    )
    own = fields.Float(
        required=True, allow_none=True, metadata={"description": "the organization's figure"}
    )
    own_cases = fields.Integer(required=True, allow_none=True)
    network = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "the network's figure; null when not published"},
    )
    organizations = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "how many organizations the published network figure comes from"},
    )


class PartnerSchema(Schema):
    """A shipper's figure about one of its carriers."""

    partner_org_id = fields.Integer(required=True)
    partner_name = fields.String(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    value = fields.Float(required=True, allow_none=True)
    cases = fields.Integer(required=True, allow_none=True)


class BenchmarksSchema(Schema):
    side = fields.String(required=True, validate=validate.OneOf([s.value for s in Side]))
    participating = fields.Boolean(required=True)
    period = fields.String(required=True, allow_none=True)
    computed_at = fields.DateTime(required=True, allow_none=True)
    periods = fields.List(fields.String(), required=True)
    comparisons = fields.List(fields.Nested(ComparisonSchema), required=True)
    partners = fields.List(fields.Nested(PartnerSchema), required=True)


class ParticipationSchema(StrictSchema):
    participating = fields.Boolean(required=True)


def _problems(func: Any) -> Any:
    for code in COMMON:
        func = blp.alt_response(code, schema=ProblemSchema, content_type=PROBLEM)(func)
    return func


def _wire(shown: Benchmarks) -> dict[str, Any]:
    return {
        "side": shown.side.value,
        "participating": shown.participating,
        "period": shown.period,
        "computed_at": shown.computed_at,
        "periods": shown.periods,
        "comparisons": [
            {
                "metric": c.metric.value,
                "case_type": c.case_type,
                "own": c.own,
                "own_cases": c.own_cases,
                "network": c.network,
                "organizations": c.organizations,
            }
            for c in shown.comparisons
        ],
        "partners": [
            {
                "partner_org_id": p.partner_org_id,
                "partner_name": p.partner_name,
                "metric": p.metric.value,
                "value": p.value,
                "cases": p.cases,
            }
            for p in shown.partners
        ],
    }


@blp.route("/benchmarks", methods=["GET"])
@blp.arguments(BenchmarkArgsSchema, location="query", as_kwargs=True)
@blp.response(200, BenchmarksSchema)
@_problems
def benchmarks(period: str | None) -> Any:
    """The caller's organization's figures of a month beside the network's published ones."""
    return _wire(current_kit().network.benchmarks(actor(), period))


@blp.route("/participation", methods=["GET"])
@blp.response(200, ParticipationSchema)
@_problems
def participation() -> Any:
    """Whether the caller's organization takes part in network benchmarks."""
    return {"participating": current_kit().network.participating(actor())}


@blp.route("/participation", methods=["PUT"])
@blp.arguments(ParticipationSchema)
@blp.response(200, ParticipationSchema)
@_problems
def set_participation(data: dict[str, Any]) -> Any:
    """Opt the caller's organization in or out (a manager's, or a write key's)."""
    kit = current_kit()
    return {"participating": kit.network.set_participation(actor(), data["participating"])}
