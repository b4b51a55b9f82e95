"""Clocks: timezone-aware UTC, injectable, and the only source of the times casekit stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from casekit import Audience, FrozenClock, Status, SystemClock


def test_frozen_clock_starts_at_a_fixed_time():
    assert FrozenClock().now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_frozen_clock_does_not_move_by_itself():
    clock = FrozenClock()
    assert clock.now() == clock.now()


def test_frozen_clock_rejects_a_naive_start():
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2026, 1, 5, 9, 0))


def test_frozen_clock_keeps_time_in_utc():
    berlin = timezone(timedelta(hours=1))
    clock = FrozenClock(datetime(2026, 1, 5, 10, 0, tzinfo=berlin))
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().tzinfo is UTC


def test_frozen_clock_advances():
    clock = FrozenClock()
    start = clock.now()
    assert clock.advance(timedelta(minutes=5)) == start + timedelta(minutes=5)
    assert clock.now() == start + timedelta(minutes=5)
    assert clock.advance(hours=1, seconds=30) == start + timedelta(hours=1, minutes=5, seconds=30)
    assert clock.now().tzinfo is UTC


def test_system_clock_is_aware_utc_now():
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= after


# -- the services stamp times from the kit's clock -----------------------------------------


def test_services_use_the_kits_clock(kit, world, clock):
    assert kit.clock is clock
    opened_at = clock.now()
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
    )
    assert case.created_at == opened_at
    assert case.updated_at == opened_at
    assert case.latest_message_at == opened_at

    posted_at = clock.advance(minutes=7, microseconds=123457)
    entry = kit.messages.post(world.carrier_actor, case.number, "Out for delivery")
    assert entry.created_at == posted_at

    solved_at = clock.advance(days=2)
    kit.cases.solve(world.shipper_actor, case.number)

    # read back from the database, not from the objects the calls returned
    stored = kit.cases.get(world.shipper_actor, case.number)
    assert stored.created_at == opened_at
    assert stored.latest_message_at == posted_at
    assert stored.solved_at == solved_at
    assert stored.updated_at == solved_at
    assert stored.status is Status.SOLVED
    for value in (stored.created_at, stored.latest_message_at, stored.solved_at):
        assert value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
    times = [e.created_at for e in kit.cases.timeline(world.shipper_actor, case.number)]
    assert times == sorted(times)
    assert set(times) == {opened_at, posted_at, solved_at}


def test_times_do_not_come_from_the_system_clock(kit, world, clock):
    clock.advance(timedelta(days=365 * 10))  # ten years ahead of the real time
    case = kit.cases.open(world.shipper_actor, type="lost")
    assert case.created_at == clock.now()
    assert case.created_at > datetime.now(UTC) + timedelta(days=365 * 9)


def test_an_internal_note_moves_updated_but_not_latest_message(kit, world, clock):
    case = kit.cases.open(world.shipper_actor, type="lost", message="First")
    clock.advance(hours=1)
    kit.messages.post(world.shipper_actor, case.number, "note", audience=Audience.INTERNAL)
    stored = kit.cases.get(world.shipper_actor, case.number)
    assert stored.updated_at == clock.now()
    assert stored.latest_message_at == case.created_at
