"""schemathesis against the served OpenAPI document: no 5xx, responses match it.

Bounded (20 examples per operation, or ``CASEKIT_SCHEMATHESIS_EXAMPLES``) and
deterministic (derandomized), with a shipper's write key, a case of the
shipper and its carrier, and a saved view.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("CASEKIT_SCHEMATHESIS_EXAMPLES", "20"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_app(app, kit, world):
    kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1", message="Hello")
    token = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="fuzz", scope="write"
    ).token
    app.config["TEST_TOKEN"] = token
    return app


def test_api_against_its_openapi_document(api_app):
    token = api_app.config["TEST_TOKEN"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        run()
