"""Rule conditions on the shipment's cases: their priority and the shipper's own tags.

On every database: the conditions are checked field by field, name only the
shipper's tags, hold on one active case of the shipment, and decide alike as
tracking events arrive, in the sweep and in the dry run (the SQL and the
Python forms agree). A rule never reads another side's tags.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_rules import move, ship

from casekit import CaseKit, InvalidInput, NotFound, Priority
from casekit.domain.rule_cases import CaseConditions, CaseFacts
from casekit.domain.rules import parse_rule
from casekit.testing import World


def test_the_conditions_hold_on_one_active_case() -> None:
    vip, key, hold = 1, 2, 3
    rule = CaseConditions(min_priority=Priority.HIGH, tags_all=(vip, key), tags_none=(hold,))
    urgent_vip_key = CaseFacts(Priority.URGENT, frozenset({vip, key}))
    assert rule.hold([urgent_vip_key])
    assert not rule.hold([])  # a shipment without a case has no such case
    assert not rule.hold([urgent_vip_key, CaseFacts(Priority.LOW, frozenset({hold}))])
    # Urgent here, both tags there: not one case that meets them.
    assert not rule.hold(
        [CaseFacts(Priority.URGENT), CaseFacts(Priority.NORMAL, frozenset({vip, key}))]
    )
    assert not rule.hold([CaseFacts(Priority.URGENT, frozenset({vip}))])
    only_none = CaseConditions(tags_none=(hold,))
    assert only_none.hold([])
    assert only_none.hold([CaseFacts(Priority.NORMAL)])
    assert only_none
    assert not only_none.needs_a_case
    assert CaseConditions(priorities=(Priority.LOW, Priority.NORMAL)).hold(
        [CaseFacts(Priority.NORMAL)]
    )
    assert not CaseConditions(tags_any=(vip, key)).hold([CaseFacts(Priority.URGENT)])


def test_the_conditions_are_checked_field_by_field(kit: CaseKit) -> None:
    base = {"name": "x", "case_type": "lost", "exceptions": ["lost"]}
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            base
            | {
                "case_priorities": ["soon"],
                "case_min_priority": 3,
                "case_tags_any": ["VIP"],
                "case_tags_all": [True],
                "case_tags_none": "1",
            },
            case_types=kit.case_types,
        )
    assert set(caught.value.errors) == {
        "case_priorities",
        "case_min_priority",
        "case_tags_any",
        "case_tags_all",
        "case_tags_none",
    }
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            base
            | {
                "case_priorities": ["high"],
                "case_min_priority": "high",
                "case_tags_any": [1, 2],
                "case_tags_none": [2],
            },
            case_types=kit.case_types,
        )
    assert set(caught.value.errors) == {"case_min_priority", "case_tags_none"}
    spec = parse_rule(
        base | {"case_min_priority": "High", "case_tags_all": [4, 4, 5], "case_tags_none": [6]},
        case_types=kit.case_types,
    )
    assert spec.case_min_priority is Priority.HIGH
    assert spec.case_tags_all == (4, 5)
    assert spec.as_json()["case_min_priority"] == "high"
    assert parse_rule(spec.as_json(), case_types=kit.case_types) == spec


def _open(kit: CaseKit, world: World, ref: str, priority: str, *tags: int) -> str:
    view = kit.cases.open(
        world.shipper_actor, type="other", shipment=ref, priority=priority, tags=list(tags)
    )
    return view.number


def test_a_rule_names_only_its_shippers_tags(kit: CaseKit, world: World) -> None:
    mia, max_ = world.shipper_manager_actor, world.carrier_manager_actor
    vip = kit.tags.create(mia, "VIP").id or 0
    theirs = kit.tags.create(max_, "VIP").id or 0
    base: dict[str, Any] = {"name": "Escalate", "case_type": "lost", "exceptions": ["lost"]}
    refusals = {}
    for unknown in (theirs, 10**6):
        for name in ("case_tags_any", "case_tags_all", "case_tags_none"):
            with pytest.raises(InvalidInput) as caught:
                kit.rules.create(mia, base | {name: [vip, unknown]})
            assert list(caught.value.errors) == [name]
            refusals[unknown, name] = caught.value.errors[name][0].replace(str(unknown), "N")
    # The carrier's tag is refused as a tag that does not exist: nothing tells it is there.
    assert {m for (_, _), m in refusals.items()} == {"not tags of the shipper: [N]"}
    # A carrier holds no rules: naming the shipper's tag gets it nowhere.
    with pytest.raises(InvalidInput) as caught:
        kit.rules.create(max_, base | {"case_tags_any": [vip]})
    assert "org_id" in caught.value.errors
    with pytest.raises(NotFound):
        kit.rules.create(max_, base | {"case_tags_any": [vip]}, org_id=world.shipper.id)
    with pytest.raises(NotFound):
        kit.rules.dry_run(max_, base | {"case_tags_any": [vip]}, org_id=world.shipper.id)
    # Nor may a dry run name another organization's tag.
    with pytest.raises(InvalidInput) as caught:
        kit.rules.dry_run(mia, base | {"case_tags_any": [theirs]})
    assert list(caught.value.errors) == ["case_tags_any"]
    # An archived tag stays on the cases that carry it: a condition may name it.
    kit.tags.update(mia, vip, archived=True)
    rule = kit.rules.create(mia, base | {"case_tags_none": [vip]})
    assert rule.spec.case_tags_none == (vip,)
    with pytest.raises(InvalidInput) as caught:
        kit.rules.update(mia, rule.id, base | {"case_tags_all": [theirs]})
    assert list(caught.value.errors) == ["case_tags_all"]


def test_events_the_sweep_and_the_dry_run_read_the_shipments_cases(
    kit: CaseKit, world: World, clock: Any
) -> None:
    mia, sam, max_ = world.shipper_manager_actor, world.shipper_actor, world.carrier_manager_actor
    vip = kit.tags.create(mia, "VIP").id or 0
    key = kit.tags.create(mia, "Key account").id or 0
    hold = kit.tags.create(mia, "Hold").id or 0
    theirs = kit.tags.create(max_, "Hold").id or 0  # the carrier's own, never read
    escalate = kit.rules.create(
        mia,
        {
            "name": "Escalate damaged VIP",
            "exceptions": ["damaged"],
            "case_type": "osd_damaged",
            "case_min_priority": "high",
            "case_tags_any": [vip, key],
            "case_tags_none": [hold],
        },
    )
    refs = ["NONE", "YES", "HELD", "SPLIT", "SOLVED", "LOW", "THEIRS"]
    ship(kit, world, *refs)
    t = clock.now()
    for ref in refs:
        move(kit, world, ref, "in_transit", t - timedelta(hours=60))
    _open(kit, world, "YES", "urgent", key)
    _open(kit, world, "HELD", "high", vip, hold)
    _open(kit, world, "SPLIT", "urgent")
    _open(kit, world, "SPLIT", "low", vip)
    kit.cases.solve(sam, _open(kit, world, "SOLVED", "urgent", vip))
    _open(kit, world, "LOW", "normal", vip)
    marked = _open(kit, world, "THEIRS", "high", vip)
    kit.cases.change(max_, marked, {"add_tags": [theirs]})  # the carrier's Hold, not the shipper's
    expected = {"YES", "THEIRS"}
    assert set(kit.rules.dry_run(sam, escalate.id)) == set()  # no shipment is damaged yet
    opened: dict[str, list[str]] = {}
    for ref in refs:
        opened[ref] = move(kit, world, ref, "exception", t, "damaged").opened
    assert {ref for ref, numbers in opened.items() if numbers} == expected
    case = kit.cases.get(sam, opened["YES"][0])
    assert case.type == "osd_damaged"

    # A time rule: the sweep's SQL and the dry run decide as the events did.
    kit.rules.disable(mia, escalate.id)
    stalled = kit.rules.create(
        mia,
        {
            "name": "Stalled and urgent",
            "time_condition": "stalled_in_transit",
            "hours": 48,
            "case_type": "where_is_my_order",
            "case_priorities": ["urgent"],
            "case_tags_all": [key],
        },
    )
    free = {
        "name": "Stalled, not held",
        "time_condition": "stalled_in_transit",
        "hours": 48,
        "case_type": "where_is_my_order",
        "case_tags_none": [hold],
    }
    for ref in ("A", "B", "C"):
        ship(kit, world, ref)
        move(kit, world, ref, "in_transit", t - timedelta(hours=50))
    _open(kit, world, "A", "urgent", key, vip)
    _open(kit, world, "B", "high", key)
    held = _open(kit, world, "C", "normal", hold)
    assert kit.rules.dry_run(sam, stalled.id) == ["A"]
    assert kit.rules.dry_run(sam, free) == ["A", "B"]  # C's case is held
    kit.cases.change(sam, held, {"remove_tags": [hold]})
    assert kit.rules.dry_run(sam, free) == ["A", "B", "C"]
    kit.cases.change(sam, held, {"add_tags": [hold]})
    swept = kit.rules.sweep()
    assert [kit.cases.get(sam, n).subject for n in swept.opened] == ["Stalled and urgent: A"]
    assert kit.rules.dry_run(sam, stalled.id) == []  # its case is open
