"""Custom fields on every database: the managed list, typed values and their
validation, required fields per case type, the audit, filters and webhooks.

An organization's private fields are its own: the other party and the
customer never read them, on the case, the timeline, a filter or a webhook.
A shared field is read by both parties' staff and set by its organization's.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from casekit import (
    Actor,
    CaseKit,
    EventKind,
    FieldKind,
    FieldVisibility,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from casekit.domain.audience import Audience
from casekit.schemas.views import ListQuerySchema
from casekit.store import tables
from casekit.testing import World


def numbers(kit: CaseKit, actor: Actor, *filters: dict[str, Any]) -> list[str]:
    loaded = ListQuerySchema().load({"view": "all_cases", "filters": list(filters)})
    found = sorted(row.number for row in kit.views.list(actor, loaded).rows)
    assert kit.views.count(actor, loaded) == len(found)
    return found


def cf(op: str, **value: Any) -> dict[str, Any]:
    return {"field": "custom_field", "op": op, "value": value}


def setup_fields(kit: CaseKit, world: World) -> dict[str, Any]:
    mia, max_ = world.shipper_manager_actor, world.carrier_manager_actor
    return {
        "po": kit.custom_fields.create(mia, "po_ref", "PO reference", "text"),
        "value": kit.custom_fields.create(
            mia, "goods_value", "Goods value", "number", required_for=["osd_damaged"]
        ),
        "bay": kit.custom_fields.create(
            mia, "dock", "Dock", "choice", choices=["A", "B", "C"], visibility="shared"
        ),
        "parts": kit.custom_fields.create(
            mia, "parts", "Parts", "multi_choice", choices=["lid", "base", "box"]
        ),
        "claim": kit.custom_fields.create(
            max_, "claim_due", "Claim due", "date", visibility=FieldVisibility.SHARED
        ),
        "seal": kit.custom_fields.create(max_, "seal_ok", "Seal intact", "checkbox"),
    }


def test_values_are_typed_validated_audited_and_read_by_whom_they_may(
    kit: CaseKit, world: World
) -> None:
    mia, sam, cal = world.shipper_manager_actor, world.shipper_actor, world.carrier_actor
    f = setup_fields(kit, world)
    assert [x.key for x in kit.custom_fields.list(sam)] == [
        "po_ref",
        "goods_value",
        "dock",
        "parts",
    ]
    assert f["bay"].kind is FieldKind.CHOICE
    assert f["bay"].shared
    # Managers keep the list; keys are checked; another organization's is not found.
    with pytest.raises(PermissionDenied):
        kit.custom_fields.create(sam, "x", "X", "text")
    for outsider in (world.customer_actor, Actor.host()):
        with pytest.raises(PermissionDenied):
            kit.custom_fields.list(outsider)
    for args, more, field in (
        (("po_ref", "Again", "text"), {}, "key"),
        (("Bad Key", "X", "text"), {}, "key"),
        (("x", " ", "text"), {}, "label"),
        (("x", "X", "colour"), {}, "kind"),
        (("x", "X", "choice"), {}, "choices"),
        (("x", "X", "text"), {"choices": ["a"]}, "choices"),
        (("x", "X", "choice"), {"choices": ["a", "A"]}, "choices"),
        (("x", "X", "text"), {"required_for": ["nope"]}, "required_for"),
        (("x", "X", "text"), {"visibility": "public"}, "visibility"),
    ):
        with pytest.raises(InvalidInput) as raised:
            kit.custom_fields.create(mia, *args, **more)
        assert field in raised.value.errors
    with pytest.raises(NotFound):
        kit.custom_fields.update(mia, f["claim"].id, label="Mine now")

    # Required on its case type for a user who opens a case; each error names the field.
    with pytest.raises(InvalidInput) as raised:
        kit.cases.open(sam, type="osd_damaged", carrier=world.carrier.id, subject="Crushed")
    assert raised.value.errors == {"custom_fields.goods_value": ["required on osd_damaged cases"]}
    for bad, name in (
        ({"goods_value": "lots"}, "custom_fields.goods_value"),
        ({"goods_value": 1, "dock": "Z"}, "custom_fields.dock"),
        ({"goods_value": 1, "parts": ["lid", "roof"]}, "custom_fields.parts"),
        ({"goods_value": 1, "claim_due": "2026-12-24"}, "custom_fields.claim_due"),
        ({"goods_value": 1, "carrier.claim_due": "2026-12-24"}, "custom_fields.carrier.claim_due"),
        ({"goods_value": 1, "po_ref": "x" * 501}, "custom_fields.po_ref"),
    ):
        with pytest.raises(InvalidInput) as raised:
            kit.cases.open(
                sam, type="osd_damaged", carrier=world.carrier.id, subject="x", custom_fields=bad
            )
        assert list(raised.value.errors) == [name]
    case = kit.cases.open(
        sam, type="osd_damaged", carrier=world.carrier.id, customer=world.customer.id,
        subject="Crushed", custom_fields={
            "po_ref": " PO-77 ", "goods_value": "1,250.50", "dock": "B", "parts": ["box", "lid"],
        },
    )  # fmt: skip
    assert case.custom_field_values == {
        "po_ref": "PO-77",
        "goods_value": 1250.5,
        "dock": "B",
        "parts": ["lid", "box"],
    }
    # The carrier reads the shipper's shared field only, and sets its own.
    seen = kit.cases.get(cal, case.number)
    assert seen.custom_field_values == {"shipper.dock": "B"}
    with pytest.raises(InvalidInput) as raised:
        kit.cases.change(cal, case.number, {"custom_fields": {"shipper.dock": "A"}})
    assert "custom_fields.shipper.dock" in raised.value.errors
    with pytest.raises(InvalidInput) as raised:
        kit.cases.change(cal, case.number, {"custom_fields": {"dock": "A"}})
    assert raised.value.errors == {"custom_fields.dock": ["not one of your organization's fields"]}
    changed = kit.cases.change(
        cal, case.number, {"custom_fields": {"claim_due": "2026-12-24", "seal_ok": False}}
    )
    assert changed.custom_field_values == {
        "claim_due": "2026-12-24",
        "seal_ok": False,
        "shipper.dock": "B",
    }
    assert kit.cases.get(sam, case.number).custom_field_values == {
        "po_ref": "PO-77",
        "goods_value": 1250.5,
        "dock": "B",
        "parts": ["lid", "box"],
        "carrier.claim_due": "2026-12-24",
    }
    # The host reads as the shipper does; a customer reads none and sets none.
    host_view = kit.cases.get(Actor.host(), case.number).custom_field_values
    assert host_view == kit.cases.get(sam, case.number).custom_field_values
    assert kit.cases.get(world.customer_actor, case.number).custom_fields == ()
    with pytest.raises(PermissionDenied):
        kit.cases.change(world.customer_actor, case.number, {"custom_fields": {"po_ref": "x"}})

    # Clearing, and a required value is kept when the type changes to one requiring it.
    kit.cases.change(sam, case.number, {"custom_fields": {"po_ref": None, "parts": []}})
    other = kit.cases.open(sam, type="where_is_my_order", subject="Where?")
    with pytest.raises(InvalidInput) as raised:
        kit.cases.change(sam, other.number, {"type": "osd_damaged"})
    assert "custom_fields.goods_value" in raised.value.errors
    retyped = kit.cases.change(
        sam, other.number, {"type": "osd_damaged", "custom_fields": {"goods_value": 9}}
    )
    assert retyped.type == "osd_damaged"
    assert retyped.custom_field_values == {"goods_value": 9}

    # The audit: a private field's change is internal to its organization, a
    # shared one's for partners; the customer reads none.
    def events(actor: Actor) -> list[tuple[str | None, str | None, Audience]]:
        return [
            (e.old_value, e.new_value, e.audience)
            for e in kit.cases.timeline(actor, case.number)
            if e.event is EventKind.CUSTOM_FIELD_CHANGED
        ]

    internal, partners = Audience.INTERNAL, Audience.PARTNERS
    assert events(sam) == [
        (None, "PO reference: PO-77", internal),
        (None, "Goods value: 1250.5", internal),
        (None, "Dock: B", partners),
        (None, "Parts: lid, box", internal),
        (None, "Claim due: 2026-12-24", partners),
        ("PO reference: PO-77", None, internal),
        ("Parts: lid, box", None, internal),
    ]
    assert events(cal) == [
        (None, "Dock: B", partners),
        (None, "Claim due: 2026-12-24", partners),
        (None, "Seal intact: No", internal),
    ]
    assert events(world.customer_actor) == []

    # A choice in use stays; a field in use is archived rather than deleted.
    with pytest.raises(InvalidInput) as raised:
        kit.custom_fields.update(mia, f["bay"].id, choices=["A", "C"])
    assert raised.value.errors == {"choices": ["cases hold B: keep it"]}
    assert kit.custom_fields.update(mia, f["bay"].id, choices=["A", "B", "D"]).choices == (
        "A",
        "B",
        "D",
    )
    assert kit.custom_fields.delete(mia, f["bay"].id) is False
    assert kit.custom_fields.get(sam, f["bay"].id).archived
    assert kit.custom_fields.delete(mia, f["po"].id) is True  # cleared above: no case holds it
    assert [x.key for x in kit.custom_fields.list(sam, archived=True)] == [
        "goods_value",
        "dock",
        "parts",
    ]
    with pytest.raises(InvalidInput) as raised:
        kit.cases.change(sam, case.number, {"custom_fields": {"dock": "A"}})
    assert raised.value.errors == {"custom_fields.dock": ["the field is archived"]}
    assert kit.cases.get(cal, case.number).custom_field_values["shipper.dock"] == "B"
    # Made private, the carrier reads it no more.
    kit.custom_fields.update(mia, f["bay"].id, visibility="private")
    assert "shipper.dock" not in kit.cases.get(cal, case.number).custom_field_values


def test_filters_read_only_the_fields_the_reader_reads(kit: CaseKit, world: World) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    setup_fields(kit, world)

    def open_(value: float, dock: str, parts: list[str], **more: Any) -> str:
        values = {"goods_value": value, "dock": dock, "parts": parts, **more}
        return kit.cases.open(
            sam, type="osd_damaged", carrier=world.carrier.id, subject="x", custom_fields=values
        ).number

    one = open_(10, "A", ["lid"], po_ref="Blue crate")
    two = open_(250.5, "B", ["lid", "base"])
    three = open_(1000, "B", [])
    kit.cases.change(cal, three, {"custom_fields": {"claim_due": "2026-12-24", "seal_ok": True}})
    assert numbers(kit, sam, cf("in", name="dock", values=["B"])) == [two, three]
    assert numbers(kit, sam, cf("not_in", name="dock", values=["B"])) == [one]
    assert numbers(kit, sam, cf("in", name="parts", values=["base", "box"])) == [two]
    assert numbers(kit, sam, cf("empty", name="parts")) == [three]
    assert numbers(kit, sam, cf("between", name="goods_value", **{"from": 100})) == [two, three]
    assert numbers(kit, sam, cf("between", name="goods_value", to=250.5)) == [one, two]
    assert numbers(kit, sam, cf("contains", name="po_ref", text="CRATE")) == [one]
    assert numbers(kit, sam, cf("between", name="carrier.claim_due", **{"from": "2026-12-01"})) == [
        three
    ]
    # The carrier filters by its own and by the shipper's shared field, never by a
    # private one of the shipper's (the name finds none of its fields).
    assert numbers(kit, cal, cf("in", name="seal_ok", values=[True])) == [three]
    assert numbers(kit, cal, cf("in", name="shipper.dock", values=["A"])) == [one]
    assert numbers(kit, cal, cf("between", name="shipper.goods_value", **{"from": 0})) == []
    assert numbers(kit, cal, cf("contains", name="shipper.po_ref", text="crate")) == []
    assert numbers(kit, sam, cf("in", name="carrier.seal_ok", values=[True])) == []
    assert numbers(kit, world.customer_actor, cf("in", name="dock", values=["A", "B"])) == []
    for bad in (
        cf("in", name="dock", values="B"),
        cf("in", name="Dock!", values=["B"]),
        cf("in", name="agent.dock", values=["B"]),
        cf("between", name="goods_value"),
        cf("between", name="goods_value", **{"from": "soon"}),
        cf("between", name="goods_value", **{"from": 5, "to": 1}),
        cf("contains", name="po_ref", values=["x"]),
        cf("starts_with", name="po_ref", text="x"),
        {"field": "custom_field", "op": "in", "value": ["B"]},
    ):
        with pytest.raises(ValidationError) as raised:
            ListQuerySchema().load({"filters": [bad]})
        assert "value" in raised.value.messages["filters"][0] or "op" in str(raised.value)


def test_webhooks_tell_each_party_the_fields_it_reads(kit: CaseKit, world: World) -> None:
    mia, sam = world.shipper_manager_actor, world.shipper_actor
    setup_fields(kit, world)
    kit.settings = attrs.evolve(kit.settings, webhook_allow_private_addresses=True)
    hooks = {
        "shipper": kit.webhooks.subscribe(
            mia, url="https://127.0.0.1/acme", events=["custom_fields_changed"]
        ),
        "carrier": kit.webhooks.subscribe(
            world.carrier_manager_actor,
            url="https://127.0.0.1/fast",
            events=["custom_fields_changed"],
        ),
    }
    case = kit.cases.open(
        sam, type="where_is_my_order", carrier=world.carrier.id, subject="x",
        custom_fields={"po_ref": "PO-1"},
    )  # fmt: skip
    kit.cases.change(sam, case.number, {"custom_fields": {"dock": "C", "po_ref": "PO-2"}})
    o = tables.webhook_outbox.c
    with kit.engine.connect() as conn:
        rows = conn.execute(select(o.webhook_id, o.payload).order_by(o.id)).all()
    got: dict[str, list[dict[str, Any]]] = {"shipper": [], "carrier": []}
    for hook_id, payload in rows:
        side = "shipper" if hook_id == hooks["shipper"].webhook.id else "carrier"
        got[side].append(json.loads(payload))
    assert [p["fields"] for p in got["shipper"]] == [
        {"po_ref": {"old": None, "new": "PO-1"}},
        {"dock": {"old": None, "new": "C"}, "po_ref": {"old": "PO-1", "new": "PO-2"}},
    ]
    assert got["shipper"][-1]["case"]["custom_fields"] == {"po_ref": "PO-2", "dock": "C"}
    # The carrier hears of the shared field alone, and its case carries that alone.
    assert [p["fields"] for p in got["carrier"]] == [{"shipper.dock": {"old": None, "new": "C"}}]
    assert got["carrier"][0]["case"]["custom_fields"] == {"shipper.dock": "C"}
    assert "PO-" not in json.dumps(got["carrier"])
