"""The eighteen starter rules: each with its tier, mode, trigger and case type, each
firing on a shipment of its mode and not on the other; tiers and the mode conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casekit import Actor, InvalidInput, ShipmentEvent, ShipmentFacts, ShipmentStatus
from casekit.domain.rule_starters import STARTER_RULES
from casekit.domain.rules import Tier, TimeCondition, parse_rule

#: The starter set as the issue's table gives it: name → (tier, mode, trigger, case type).
#: A trigger is an exception, ``status:...`` or a time condition.
TABLE: dict[str, tuple[int, str, str, str]] = {
    "Address Issue (parcel)": (1, "parcel", "address_issue", "general_status_update"),
    "Held at Terminal (parcel)": (1, "parcel", "held_at_terminal", "general_status_update"),
    "Damaged (parcel)": (1, "parcel", "damaged", "osd_damaged"),
    "Lost (parcel)": (1, "parcel", "lost", "lost"),
    "Delivery Scheduling (freight)": (
        1,
        "freight",
        "delivery_scheduling_needed",
        "delivery_scheduling",
    ),
    "Held at Terminal (freight)": (1, "freight", "held_at_terminal", "general_status_update"),
    "Damaged (freight)": (1, "freight", "damaged", "osd_damaged"),
    "Stalled Pre-Transit (freight)": (1, "freight", "stalled_pre_transit", "general_status_update"),
    "Stalled In Transit (freight)": (1, "freight", "stalled_in_transit", "general_status_update"),
    "Undeliverable (parcel)": (2, "parcel", "undeliverable", "other"),
    "Return to Sender (parcel)": (2, "parcel", "status:returning_to_sender", "return_to_sender"),
    "Canceled (freight)": (2, "freight", "canceled", "cancel"),
    "Refused (freight)": (2, "freight", "refused", "refused_by_receiver"),
    "Missed Appointment (freight)": (2, "freight", "missed_appointment", "delivery_scheduling"),
    "Will Miss EDD (freight)": (2, "freight", "will_miss_estimated", "general_status_update"),
    "Missed EDD (freight)": (2, "freight", "missed_estimated", "general_status_update"),
    "Will Miss Promise (freight)": (2, "freight", "will_miss_promised", "general_status_update"),
    "Missed Promise (freight)": (2, "freight", "missed_promised", "general_status_update"),
}
BY_NAME = {definition["name"]: definition for definition in STARTER_RULES}
# Missed Appointment reads the exception the actions' sweep records (casekit.services.actions).
TIMED = {t.value for t in TimeCondition} - {"missed_appointment"}


def test_the_starter_set_is_the_eighteen_of_the_table(kit):
    assert [d["name"] for d in STARTER_RULES] == list(TABLE)
    for definition in STARTER_RULES:
        spec = parse_rule(definition, case_types=kit.case_types)
        tier, mode, trigger, case_type = TABLE[spec.name]
        assert (spec.tier, spec.case_type) == (tier, case_type), spec.name
        if mode == "parcel":
            assert (spec.modes, spec.not_modes) == (("parcel",), ()), spec.name
        else:  # freight and any other mode: anything but parcel
            assert (spec.modes, spec.not_modes) == ((), ("parcel",)), spec.name
        if trigger in TIMED:
            assert (spec.time_condition, spec.statuses, spec.exceptions) == (trigger, (), ())
        elif trigger.startswith("status:"):
            assert (spec.statuses, spec.exceptions) == ((trigger[7:],), ())
            assert spec.time_condition is None
        else:
            assert (spec.exceptions, spec.statuses) == ((trigger,), ())
            assert spec.time_condition is None


def test_starters_install_disabled_by_tier_and_once(kit, world):
    manager = world.shipper_manager_actor
    kit.rules.create(manager, {**BY_NAME["Lost (parcel)"], "case_type": "other"})
    installed = kit.rules.install_starters(manager)
    assert len(installed) == 17  # the name the shipper uses is skipped, its rule untouched
    assert not any(rule.enabled for rule in installed)
    assert kit.rules.install_starters(manager) == []
    listed = kit.rules.list(world.shipper_actor)
    assert [r.tier for r in listed] == sorted(r.tier for r in listed)
    assert [r.name for r in listed if r.tier is Tier.ACT_NOW] == sorted(
        name for name, row in TABLE.items() if row[0] == 1
    )
    assert next(r for r in listed if r.name == "Lost (parcel)").spec.case_type == "other"


def _trigger(kit, world, clock, trigger: str, refs: list[str]) -> list[str]:
    """Bring ``refs`` (shipped already) to ``trigger``; the cases opened."""
    carrier = Actor.system_actor("api", org_id=world.carrier.id)
    now = clock.now()

    def events(status: str, at, exception: str | None = None, **more):
        return kit.shipments.record_events(
            carrier,
            [
                ShipmentEvent(
                    reference=ref,
                    status=ShipmentStatus(status),
                    exception=exception,
                    occurred_at=at,
                    **more,
                )
                for ref in refs
            ],
        ).opened

    if trigger.startswith("status:"):
        return events(trigger[7:], now)
    if trigger not in TIMED:
        return events("exception", now, trigger)
    if trigger == "stalled_pre_transit":
        events("scheduled", now - timedelta(hours=49))
    elif trigger == "stalled_in_transit":
        events("in_transit", now - timedelta(hours=73))
    else:  # the dates were given with the shipment
        events("in_transit", now - timedelta(hours=1))
    return kit.rules.sweep().opened


def _dates(trigger: str, today) -> dict:
    day = timedelta(days=1)
    return {
        "will_miss_estimated": {"estimated_date": today},
        "missed_estimated": {"estimated_date": today - day},
        "will_miss_promised": {"promised_date": today + day, "estimated_date": today + 3 * day},
        "missed_promised": {"promised_date": today - day},
    }.get(trigger, {})


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("name", list(TABLE))
def test_each_starter_fires_on_its_mode_only(kit, world, clock, name):
    """Parcel rules open a case for a parcel only; freight rules for freight and a
    shipment of no known mode (any mode but parcel), never for a parcel."""
    tier, mode, trigger, case_type = TABLE[name]
    manager = world.shipper_manager_actor
    rule = kit.rules.create(manager, BY_NAME[name])
    assert (rule.enabled, rule.tier) == (True, tier)
    feed = Actor.system_actor("api", org_id=world.shipper.id)
    dates = _dates(trigger, clock.now().date())
    facts = {"parcel": {"mode": "parcel"}, "freight": {"mode": "freight"}, "unknown": {}}
    kit.shipments.upsert_shipments(
        feed,
        [
            ShipmentFacts(reference=ref, carrier="fast", **given, **dates)
            for ref, given in facts.items()
        ],
    )
    opened = _trigger(kit, world, clock, trigger, list(facts))
    cases = [kit.cases.get(Actor.host(), number) for number in opened]
    wanted = ["parcel"] if mode == "parcel" else ["freight", "unknown"]
    assert sorted(case.subject for case in cases) == [f"{name}: {ref}" for ref in wanted]
    assert {case.type for case in cases} == {case_type}
    # The rule's SQL form agrees: a dry run of its definition finds the same shipments.
    assert sorted(kit.rules.dry_run(manager, BY_NAME[name])) == wanted


def test_not_modes_in_sql_and_in_python(kit, world, clock):
    """``not_modes`` keeps a shipment of no known mode; ``modes`` does not."""
    feed = Actor.system_actor("api", org_id=world.shipper.id)
    kit.shipments.upsert_shipments(
        feed,
        [
            ShipmentFacts(reference="P", carrier="fast", mode="parcel"),
            ShipmentFacts(reference="F", carrier="fast", mode="freight"),
            ShipmentFacts(reference="U", carrier="fast"),
        ],
    )
    carrier = Actor.system_actor("api", org_id=world.carrier.id)
    kit.shipments.record_events(
        carrier,
        [
            ShipmentEvent(reference=ref, status=ShipmentStatus.IN_TRANSIT, occurred_at=clock.now())
            for ref in "PFU"
        ],
        evaluate_rules=False,
    )
    manager = world.shipper_manager_actor
    base = {"name": "t", "statuses": ["in_transit"], "case_type": "other"}
    assert kit.rules.dry_run(manager, base | {"not_modes": ["parcel"]}) == ["F", "U"]
    assert kit.rules.dry_run(manager, base | {"not_modes": ["parcel", "freight"]}) == ["U"]
    assert kit.rules.dry_run(manager, base | {"modes": ["freight"]}) == ["F"]
    spec = parse_rule(base | {"not_modes": ["parcel"]}, case_types=kit.case_types)
    now = clock.now()
    row = {"shipment_status": "in_transit"}
    assert [spec.matches(row | {"mode": m}, now) for m in ("parcel", "freight", None)] == [
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"tier": 3}, "tier"),
        ({"tier": 0}, "tier"),
        ({"tier": "1"}, "tier"),
        ({"tier": True}, "tier"),
        ({"tier": None}, "tier"),
        ({"not_modes": ["ship"]}, "not_modes"),
        ({"modes": ["parcel"], "not_modes": ["parcel"]}, "not_modes"),
    ],
)
def test_a_bad_tier_or_mode_condition_is_named(kit, extra, field):
    with pytest.raises(InvalidInput) as caught:
        parse_rule(
            {"name": "x", "exceptions": ["lost"], "case_type": "lost", **extra},
            case_types=kit.case_types,
        )
    assert set(caught.value.errors) == {field}


def test_a_rule_is_tier_2_unless_it_says_and_its_tier_moves(kit, world):
    manager = world.shipper_manager_actor
    plain = {"name": "Plain", "exceptions": ["lost"], "case_type": "lost"}
    spec = parse_rule(plain, case_types=kit.case_types)
    assert spec.tier is Tier.WATCH
    assert spec.as_json()["tier"] == 2
    assert parse_rule(spec.as_json(), case_types=kit.case_types) == spec
    rule = kit.rules.create(manager, plain)
    other = kit.rules.create(manager, plain | {"name": "Another", "tier": 2})
    assert [r.name for r in kit.rules.list(manager)] == ["Another", "Plain"]
    moved = kit.rules.update(manager, rule.id, tier=1)
    assert (moved.tier, moved.spec.exceptions, moved.enabled) == (Tier.ACT_NOW, ("lost",), True)
    assert [r.name for r in kit.rules.list(manager)] == ["Plain", "Another"]
    # The tier given wins over the definition's; a bad one is named and changes nothing.
    both = kit.rules.update(manager, other.id, plain | {"name": "Another", "tier": 2}, tier=1)
    assert both.tier is Tier.ACT_NOW
    for bad in (3, "2", False):
        with pytest.raises(InvalidInput) as caught:
            kit.rules.update(manager, rule.id, tier=bad)
        assert set(caught.value.errors) == {"tier"}
    assert kit.rules.get(manager, rule.id).tier is Tier.ACT_NOW
    with pytest.raises(InvalidInput):
        kit.rules.update(world.shipper_manager_actor, rule.id, plain | {"tier": 7})
    assert kit.rules.get(manager, rule.id).spec.tier is Tier.ACT_NOW
