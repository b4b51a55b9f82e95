"""The list's filters on a side's clocks, ``has_clock`` and ``breached``, on every database.

The story is tests/test_report_targets.py's (its module docstring tells it).
"""

from __future__ import annotations

from typing import Any

import pytest
from test_report_targets import at, clock, story  # noqa: F401  (fixtures)

from casekit import Actor, CaseKit, InvalidInput
from casekit.clock import FrozenClock
from casekit.schemas.views import ListQuerySchema
from casekit.testing import World


def numbers(kit: CaseKit, actor: Actor, *filters: dict[str, Any]) -> set[str]:
    query = ListQuerySchema().load({"view": "all_cases", "filters": list(filters)})
    found = {row.number for row in kit.views.list(actor, query).rows}
    assert kit.views.count(actor, query) == len(found)
    return found


def test_each_side_filters_on_its_own_clocks(
    kit: CaseKit,
    world: World,
    story: dict[str, Any],  # noqa: F811
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    p, q, r, s, o = (story[n] for n in "PQRSO")

    def has(*kinds: str, op: str = "in") -> dict[str, Any]:
        return {"field": "has_clock", "op": op, "value": list(kinds)}

    def breached(*kinds: str, op: str = "in") -> dict[str, Any]:
        return {"field": "breached", "op": op, "value": list(kinds)}

    # The shipper: first response owed on P only (Q, R and S were its own).
    assert numbers(kit, sam, has("first_response")) == {p}
    assert numbers(kit, sam, has("next_response")) == {q, r}
    assert numbers(kit, sam, has("resolution")) == {p, q, r, s}
    assert numbers(kit, sam, has("first_response", op="not_in")) == {q, r, s}
    # Breached: P solved late; Q's answer and resolution are past due by now;
    # S (lost, carrier Fast, opened 03-01 12:00, nobody wrote since) is 96 h old.
    assert numbers(kit, sam, breached("resolution")) == {p, q, s}
    assert numbers(kit, sam, breached("next_response", "first_response")) == {q}
    assert numbers(kit, sam, breached("resolution", op="not_in")) == {r}
    assert numbers(kit, sam, {"field": "breached", "op": "empty", "value": True}) == {r}
    # The carrier reads its own: no next-response clocks; O is the other shipper's.
    assert numbers(kit, cal, has("next_response")) == set()
    assert numbers(kit, cal, has("first_response")) == {r, o, s}
    assert numbers(kit, cal, breached("first_response")) == {o, s}
    assert numbers(kit, cal, {"field": "has_clock", "op": "empty", "value": True}) == set()
    # Slow Parcel has no targets, so no clocks: Q has none of its.
    sid: Actor = story["sid"]
    assert numbers(kit, sid, has("resolution")) == set()
    assert numbers(kit, sid, {"field": "has_clock", "op": "empty", "value": True}) == {q}
    # The host tests every side's clocks; a customer has none.
    assert numbers(kit, Actor.host(), has("first_response")) == {p, r, o, s}
    customer = Actor.of_customer(world.customer)
    assert kit.views.count(customer, ListQuerySchema().load({"filters": [has("resolution")]})) == 0


def test_a_running_clock_breaches_when_its_due_time_comes(
    kit: CaseKit,
    world: World,
    story: dict[str, Any],  # noqa: F811
    clock: FrozenClock,  # noqa: F811
) -> None:
    """R's resolution (48 h from 03-04 10:00) is due 03-06 10:00: the same kept
    statement counts it breached once that moment has come, with no change to the case."""
    sam, r = world.shipper_actor, story["R"]
    query = ListQuerySchema().load(
        {
            "view": "all_cases",
            "filters": [{"field": "breached", "op": "in", "value": ["resolution"]}],
        }
    )
    assert r not in {row.number for row in kit.views.list(sam, query).rows}
    clock.advance(at(6, 10) - clock.now())
    assert r in {row.number for row in kit.views.list(sam, query).rows}
    assert kit.views.count(sam, query) == 4


@pytest.mark.parametrize(
    "value",
    [["resolved"], [], ["first_response", 1]],
)
def test_bad_values_name_the_field(kit: CaseKit, world: World, value: list[Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        kit.views.list(
            world.shipper_actor, {"filters": [{"field": "breached", "op": "in", "value": value}]}
        )
    assert any(key.startswith("filters") for key in caught.value.errors), caught.value.errors
