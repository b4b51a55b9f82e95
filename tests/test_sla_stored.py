"""The clocks the store keeps are the clocks the case's story gives, on every backend.

Random stories of a case (messages of each party for each audience, status
changes by hand, time passing, targets and calendars changing) run through
the services. The test keeps its own account of what each side lived
through (a response, a message of another party to answer, its status) and
replays it with :func:`casekit.domain.sla.replay`; after every step the
clocks stored (``casekit_clocks`` and the cases' due columns) must be what
that account gives.

The seeded stories start on the default Monday in January; the hypothesis
property draws stories that start the evening before the clocks change in
New York (spring and autumn 2026), with calendars whose shifts run across
midnight and across the change, so that what is stored on each database is
checked through daylight saving time as well.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casekit import Actor, CaseKit
from casekit.domain.audience import Audience
from casekit.domain.calendar import BusinessCalendar
from casekit.domain.case import Side
from casekit.domain.sla import Happening, Point, earliest_due, replay
from casekit.domain.workflow import Status
from casekit.store import tables
from casekit.testing import FrozenClock, World

HOUR = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
CALENDARS = [
    {"time_zone": "America/New_York", "hours": {d: [["08:00", "17:00"]] for d in WEEKDAYS}},
    {
        "time_zone": "Asia/Tokyo",
        "hours": {d: [["22:00", "06:00"]] for d in WEEKDAYS},
        "closed_days": ["2026-01-07"],
    },
    # A Saturday night shift across the change of the clocks (2:00 on the second
    # Sunday of March and the first of November), and Sunday office hours.
    {
        "time_zone": "America/New_York",
        "hours": {
            "sat": [["20:00", "04:00"]],
            "sun": [["09:00", "17:00"]],
            "mon": [["08:00", "17:00"]],
        },
    },
    # Every hour of every day in Berlin: its days of 23 and 25 hours are late March and October.
    {
        "time_zone": "Europe/Berlin",
        "hours": {
            d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
    },
]
MOVES = (
    "shipper_partners",
    "shipper_customer",
    "shipper_internal",
    "carrier_partners",
    "carrier_internal",
    "customer",
    "status",
    "target",
    "calendar",
)
MINUTES = (0, 7, 45, 130, 600, 1500)
#: One step of a story: minutes to let pass, the move, and a number its choices come from.
Step = tuple[int, str, int]


def _stored(kit: CaseKit, case_id: int) -> dict[tuple[int, str], dict[str, object]]:
    k = tables.clocks.c
    with kit.engine.connect() as conn:
        rows = conn.execute(select(tables.clocks).where(k.case_id == case_id)).mappings()
        return {(r["org_id"], r["kind"]): dict(r) for r in rows}


def _due_columns(kit: CaseKit, case_id: int) -> dict[str, datetime | None]:
    c = tables.cases.c
    with kit.engine.connect() as conn:
        row = conn.execute(select(*(c[n] for n in tables.DUE_COLUMNS)).where(c.id == case_id)).one()
    return dict(zip(tables.DUE_COLUMNS, row, strict=True))


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_clocks_follow_the_story_of_the_case(
    kit: CaseKit, world: World, clock: FrozenClock, seed: int
) -> None:
    rng = random.Random(seed)
    steps = [(rng.choice(MINUTES), rng.choice(MOVES), rng.randrange(2**16)) for _ in range(14)]
    _story(kit, world, clock, steps)


#: The evenings before the clocks change in New York: Saturday 7 March 2026 18:00 EST
#: (they go forward at 2:00 on Sunday) and Saturday 31 October 2026 18:00 EDT (back).
BEFORE_THE_CHANGE = (
    datetime(2026, 3, 7, 23, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 22, 0, tzinfo=UTC),
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(BEFORE_THE_CHANGE),
    side=st.sampled_from([0, 1]),
    across=st.sampled_from([2, 3]),
    steps=st.lists(
        st.tuples(st.sampled_from(MINUTES), st.sampled_from(MOVES), st.integers(0, 2**16 - 1)),
        min_size=4,
        max_size=10,
    ),
)
def test_stored_clocks_follow_stories_across_daylight_saving(
    kit: CaseKit,
    world: World,
    clock: FrozenClock,
    start: datetime,
    side: int,
    across: int,
    steps: list[Step],
) -> None:
    """Each example is a new case, from the evening before a change of the clocks; the
    examples share the database, so each starts from the organizations' settings as
    the seeded stories do (no calendar) and ends with the case solved on both sides."""
    for manager in (world.shipper_manager_actor, world.carrier_manager_actor):
        if kit.service_levels.calendar(manager) is not None:
            kit.service_levels.remove_calendar(manager)
    clock.advance(start - clock.now())
    # One side counts in a calendar with a shift across the change from the start.
    number = _story(kit, world, clock, [(0, "calendar", side + 2 * across), *steps])
    event(f"crossed the change: {clock.now() - start >= timedelta(hours=9)}")
    # Solved on both sides: no later example's settings recompute it at an earlier moment.
    for actor in (world.shipper_actor, world.carrier_actor):
        if kit.cases.get(actor, number).status is not Status.SOLVED:
            kit.cases.change_status(actor, number, Status.SOLVED)


def _story(kit: CaseKit, world: World, clock: FrozenClock, steps: Sequence[Step]) -> str:
    """Tell a case's story and check the stored clocks after every step; its number."""
    shipper_manager, carrier_manager = world.shipper_manager_actor, world.carrier_manager_actor
    customer = Actor.of_customer(world.customer)
    targets = {
        Side.SHIPPER: {"first_response": 2 * HOUR, "next_response": HOUR, "resolution": 20 * HOUR},
        Side.CARRIER: {
            "first_response": 4 * HOUR,
            "next_response": 2 * HOUR,
            "resolution": 30 * HOUR,
        },
    }
    ids = {}
    for side, manager in ((Side.SHIPPER, shipper_manager), (Side.CARRIER, carrier_manager)):
        kept = kit.service_levels.targets(manager)  # an earlier example's, set back
        ids[side] = kit.service_levels.save_target(
            manager,
            {"name": side.value, "pause_when_waiting": True, **targets[side]},
            target_id=kept[0].id if kept else None,
        ).id
    calendars = {Side.SHIPPER: BusinessCalendar.ALWAYS, Side.CARRIER: BusinessCalendar.ALWAYS}
    orgs = {Side.SHIPPER: world.shipper.id, Side.CARRIER: world.carrier.id}
    staff = {Side.SHIPPER: world.shipper_actor, Side.CARRIER: world.carrier_actor}
    view = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        subject="Late parcel",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
        audience=Audience.PARTNERS,
    )
    number, opened = view.number, clock.now()
    points: dict[Side, list[Point]] = {Side.SHIPPER: [], Side.CARRIER: []}
    statuses = dict.fromkeys(Side, Status.NEW)

    def record_statuses() -> None:
        for side in Side:
            now_status = kit.cases.get(staff[side], number).status
            if now_status is not statuses[side]:
                points[side].append(Point(clock.now(), Happening.STATUS, now_status))
                statuses[side] = now_status

    managers = {Side.SHIPPER: shipper_manager, Side.CARRIER: carrier_manager}
    # what the stored clocks were last computed with: a solved case keeps the
    # clocks it stopped with when a target or calendar changes later
    in_force = {
        side: (kit.service_levels.target(managers[side], ids[side]), calendars[side], opened)
        for side in Side
    }

    for minutes, move, pick in steps:
        clock.advance(minutes=minutes)
        at = clock.now()
        side = list(Side)[pick % 2]
        pick //= 2
        if move == "shipper_partners":
            kit.messages.post(world.shipper_actor, number, body="x", audience=Audience.PARTNERS)
            points[Side.SHIPPER].append(Point(at, Happening.RESPONSE))
            points[Side.CARRIER].append(Point(at, Happening.INCOMING))
        elif move == "shipper_customer":
            kit.messages.post(world.shipper_actor, number, body="x", audience=Audience.CUSTOMER)
            points[Side.SHIPPER].append(Point(at, Happening.RESPONSE))
        elif move == "shipper_internal":
            kit.messages.post(world.shipper_actor, number, body="x", audience=Audience.INTERNAL)
        elif move == "carrier_partners":
            kit.messages.post(world.carrier_actor, number, body="x", audience=Audience.PARTNERS)
            points[Side.CARRIER].append(Point(at, Happening.RESPONSE))
            points[Side.SHIPPER].append(Point(at, Happening.INCOMING))
        elif move == "carrier_internal":
            kit.messages.post(world.carrier_actor, number, body="x", audience=Audience.INTERNAL)
        elif move == "customer":
            kit.messages.post(customer, number, body="x")
            points[Side.SHIPPER].append(Point(at, Happening.INCOMING))
        elif move == "status":
            choices = [Status.OPEN, Status.SOLVED] + (
                [Status.WAITING] if side is Side.SHIPPER else []
            )
            wanted = choices[pick % len(choices)]
            if wanted is statuses[side]:
                wanted = Status.OPEN if wanted is Status.SOLVED else Status.SOLVED
            kit.cases.change_status(staff[side], number, wanted)
        elif move == "target":
            targets[side] = {
                name: (HOUR, 3 * HOUR, 9 * HOUR)[(pick // 3**i) % 3]
                for i, name in enumerate(targets[side])
            }
            kit.service_levels.save_target(managers[side], targets[side], target_id=ids[side])
        else:
            definition = CALENDARS[pick % len(CALENDARS)]
            kit.service_levels.set_calendar(managers[side], definition)
            calendars[side] = BusinessCalendar.from_json(definition)
        before = _stored(kit, view.id)
        record_statuses()
        for side in Side:
            open_clock = any(
                org == orgs[side] and row["state"] != "stopped" for (org, _k), row in before.items()
            )
            settings_move = move in ("target", "calendar")
            if (
                not settings_move
                or open_clock
                or not all(status is Status.SOLVED for status in statuses.values())
            ):
                in_force[side] = (
                    kit.service_levels.target(managers[side], ids[side]),
                    calendars[side],
                    clock.now(),
                )

        stored = _stored(kit, view.id)
        due = _due_columns(kit, view.id)
        for side in Side:
            target, calendar, computed_at = in_force[side]
            expected = replay(
                points[side],
                side=side,
                joined_at=opened,
                status=Status.NEW,
                target=target,
                calendar=calendar,
                now=computed_at,
                opened_by_side=side is Side.SHIPPER,
            )
            kinds = {c.kind.value for c in expected}
            mine = {kind: row for (org, kind), row in stored.items() if org == orgs[side]}
            assert set(mine) == kinds, (move, side, mine, expected)
            for clock_ in expected:
                row = mine[clock_.kind.value]
                assert row["state"] == clock_.state.value, (move, side, clock_, row)
                assert row["started_at"] == clock_.started_at
                assert row["stopped_at"] == clock_.stopped_at
                assert row["due_at"] == clock_.due_at, (move, side, clock_, row)
                assert row["breached_at"] == clock_.breached_at
                assert row["elapsed_seconds"] == round(clock_.elapsed_seconds)
                assert row["time_zone"] == calendar.time_zone
            due_at, warn_at = earliest_due(expected)
            assert due[f"{side.value}_due_at"] == due_at
            assert due[f"{side.value}_warn_at"] == warn_at
    return number


def test_a_case_solved_and_reopened_straight_into_waiting(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    """The story hypothesis found: the shipper solves the case and reopens it as waiting
    on its customer. The shipper's resolution clock is paused (not stopped: the case
    is not solved); the carrier, to which waiting on the customer reads open, runs on."""
    clock.advance(BEFORE_THE_CHANGE[0] - clock.now())
    steps = [
        (0, "calendar", 4),
        (0, "shipper_partners", 0),
        (0, "shipper_partners", 0),
        (0, "status", 0),  # open already: solved
        (30, "status", 214),  # waiting
    ]
    number = _story(kit, world, clock, steps)
    case_id = kit.cases.get(world.shipper_actor, number).id
    states = {kind: row["state"] for kind, row in _stored(kit, case_id).items()}
    assert states == {
        (world.shipper.id, "resolution"): "paused",
        (world.carrier.id, "first_response"): "running",
        (world.carrier.id, "resolution"): "running",
    }
    assert kit.cases.get(world.shipper_actor, number).status is Status.WAITING
