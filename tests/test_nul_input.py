"""Text with a NUL character is refused by every service, naming the field.

PostgreSQL cannot store NUL in text; without this check such input reached
the database and failed there (a 500 behind the API). The check is made once,
in :class:`casekit.services.base.Service`, for every public service method.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from casekit import Actor, InvalidInput
from casekit.domain.shipment import ShipmentFacts
from casekit.services.base import Service, nul_field

BAD = "bad\x00text"


def _calls(kit: Any, w: Any, number: str, bad: str = BAD) -> list[tuple[str, Any]]:
    shipper, manager = w.shipper_actor, w.shipper_manager_actor
    return [
        ("subject", lambda: kit.cases.open(shipper, type="lost", subject=bad)),
        ("message", lambda: kit.cases.open(shipper, type="lost", message=bad)),
        ("type", lambda: kit.cases.open(shipper, type=bad)),
        ("number", lambda: kit.cases.get(shipper, f"CV{bad}")),
        ("body", lambda: kit.messages.post(shipper, number, bad)),
        ("cc.0", lambda: kit.messages.post(shipper, number, "hi", cc=[bad])),
        ("crm_number", lambda: kit.cases.set_crm_number(shipper, number, bad)),
        ("name", lambda: kit.views.save(shipper, bad, {})),
        ("text", lambda: kit.views.search(shipper, bad)),
        (
            "query.filters.0.value",
            lambda: kit.views.save(
                shipper, "v", {"filters": [{"field": "subject", "op": "contains", "value": bad}]}
            ),
        ),
        ("name", lambda: kit.api_keys.create(manager, org_id=w.shipper.id, name=bad)),
        (
            "text",
            lambda: kit.notifications.set_template(manager, "case_opened", subject="s", text=bad),
        ),
        (
            "url",
            lambda: kit.webhooks.subscribe(
                manager, url=f"https://x.example/{bad}", events=["case_opened"]
            ),
        ),
        ("definition.name", lambda: kit.rules.create(manager, {"name": bad})),
        (
            "body",
            lambda: kit.canned_replies.save(manager, title="t", body=bad, audience="internal"),
        ),
        (
            "facts.0.reference",
            lambda: kit.shipments.upsert_shipments(
                Actor.host(), [ShipmentFacts(reference=bad, shipper=w.shipper.id)]
            ),
        ),
        (
            "external_id",
            lambda: kit.directory.add_organization(
                Actor.host(), name="Org", role="shipper", external_id=bad
            ),
        ),
    ]


def test_every_service_refuses_nul_naming_the_field(kit, world) -> None:
    case = kit.cases.open(world.shipper_actor, type="lost", subject="Fine")
    before = kit.cases.get(world.shipper_actor, case.number)
    for field, call in _calls(kit, world, case.number):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.errors == {field: ["contains a NUL character"]}, field
    # Nothing was written on the way.
    assert kit.cases.get(world.shipper_actor, case.number) == before
    assert [v.name for v in kit.views.saved(world.shipper_actor)] == []


def test_every_public_method_of_every_service_checks(kit) -> None:
    services = [v for v in vars(kit).values() if isinstance(v, Service)]
    assert len(services) >= 11
    for service in services:
        for name, member in inspect.getmembers(type(service), inspect.isfunction):
            if not name.startswith("_"):
                assert getattr(member, "__casekit_refuses_nul__", False), (service, name)


def test_every_service_refuses_a_lone_surrogate_naming_the_field(kit, world) -> None:
    """Text JSON's ``"\\ud800"`` decodes to: not UTF-8, so no database stores it."""
    case = kit.cases.open(world.shipper_actor, type="lost", subject="Fine")
    before = kit.cases.get(world.shipper_actor, case.number)
    for field, call in _calls(kit, world, case.number, bad="bad\ud800text"):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.errors == {field: ["contains a lone surrogate (not Unicode text)"]}
    assert kit.cases.get(world.shipper_actor, case.number) == before
    assert [v.name for v in kit.views.saved(world.shipper_actor)] == []


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("fine", None),
        ("a\x00", "x"),
        ({"a": ["ok", {"b": "\x00"}]}, "x.a.1.b"),
        ({"k\x00": "v"}, "x"),
        ({"a": ["ok", "\udfff"]}, "x.a.1"),
        ("caf\u00e9 \U0001f600", None),
        (("ok", b"\x00"), None),  # bytes are not text
    ],
)
def test_nul_field_names_the_path(value, found) -> None:
    assert nul_field(value, "x") == found
