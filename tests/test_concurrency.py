"""Concurrency is handled by the database, not by luck.

Case numbers stay unique when many workers open cases at once; a change
made against a version of a case that is no longer current is refused with
:class:`casekit.Conflict`; posting messages never conflicts and loses
nothing. Every worker is a thread with its own :class:`CaseKit` (its own
engine and connections), as separate web workers would be, except where a
test says it shares one kit between threads, as a threaded host does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest

from casekit import Actor, Audience, CaseKit, CaseView, Conflict, EventKind, Status
from casekit.domain.case import EntryKind
from casekit.testing import FrozenClock, World, make_kit

WORKERS = 8
CASES_PER_WORKER = 25
TIMEOUT = 120  # seconds; a deadlock must fail the test, not hang the run


@pytest.fixture
def kits(database_url: str, tmp_path: Path, kit: CaseKit) -> Iterator[Callable[[], CaseKit]]:
    """Makes more kits on the test's database, one per worker, closed afterwards.

    Depends on ``kit`` so the tables are emptied after the test.
    """
    made: list[CaseKit] = []

    def new_kit() -> CaseKit:
        other = make_kit(
            database_url,
            attachment_dir=tmp_path / "attachments",
            clock=FrozenClock(),
            create_schema=False,
        )
        made.append(other)
        return other

    yield new_kit
    for other in made:
        other.close()


def run_together(jobs: Sequence[Callable[[], object]]) -> list[object]:
    """Run ``jobs`` in as many threads, released at the same moment.

    Returns each job's result or the exception it raised, in order.
    """
    start = threading.Barrier(len(jobs), timeout=TIMEOUT)

    def run(job: Callable[[], object]) -> object:
        start.wait()
        try:
            return job()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        return [future.result(timeout=TIMEOUT) for future in futures]


def open_cases_in_parallel(
    kit: CaseKit, world: World, kits: Callable[[], CaseKit], workers: int, per_worker: int
) -> None:
    worker_kits = [kits() for _ in range(workers)]
    actors = [world.shipper_actor, world.shipper_manager_actor, world.carrier_actor]

    def worker(index: int) -> list[str]:
        own_kit, actor = worker_kits[index], actors[index % len(actors)]
        numbers = []
        for n in range(per_worker):
            case = own_kit.cases.open(
                actor,
                type="where_is_my_order",
                shipper=world.shipper.id if actor.org_id == world.carrier.id else None,
                carrier=world.carrier.id if actor.org_id == world.shipper.id else None,
                message=f"worker {index} case {n}",
            )
            numbers.append(case.number)
        return numbers

    results = run_together([partial(worker, i) for i in range(workers)])
    assert [r for r in results if isinstance(r, BaseException)] == []
    numbers = [n for r in results if isinstance(r, list) for n in r]

    total = workers * per_worker
    assert len(numbers) == total
    assert len(set(numbers)) == total, "two cases got the same number"
    assert all(re.fullmatch(r"CV\d{6}", n) for n in numbers), numbers
    serials = sorted(int(n[2:]) for n in numbers)
    assert serials[-1] - serials[0] == total - 1, "the numbers have gaps or repeats"

    # Every case is really there, with its number, its opening event and message.
    host = Actor.host()
    stored = kit.cases.list(host, limit=500)
    assert sorted(c.number for c in stored) == sorted(numbers)
    for number in numbers[:: max(1, total // 20)]:
        timeline = kit.cases.timeline(host, number)
        assert [e.event for e in timeline if e.kind is EntryKind.EVENT] == [EventKind.OPENED]
        assert len([e for e in timeline if e.kind is EntryKind.MESSAGE]) == 1


@pytest.mark.backends("postgresql", "mysql")
def test_eight_workers_open_cases_with_unique_numbers(
    kit: CaseKit, world: World, kits: Callable[[], CaseKit]
) -> None:
    open_cases_in_parallel(kit, world, kits, WORKERS, CASES_PER_WORKER)


@pytest.mark.backends("sqlite")
def test_parallel_openers_queue_on_sqlite(
    kit: CaseKit, world: World, kits: Callable[[], CaseKit]
) -> None:
    # SQLite has one writer at a time: BEGIN IMMEDIATE and the busy timeout
    # make the others wait their turn instead of failing.
    open_cases_in_parallel(kit, world, kits, 4, 10)


def open_case(kit: CaseKit, world: World) -> str:
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
    )
    return case.number


def test_a_change_to_a_stale_version_conflicts(kit: CaseKit, world: World) -> None:
    number = open_case(kit, world)
    mine = kit.cases.get(world.shipper_actor, number)
    theirs = kit.cases.get(world.carrier_actor, number)
    assert mine.version == theirs.version
    seen = mine.version

    changed = kit.cases.change_status(
        world.shipper_actor, number, Status.WAITING, expected_version=seen
    )
    assert changed.version > seen

    with pytest.raises(Conflict) as conflict:
        kit.cases.change_status(world.carrier_actor, number, Status.SOLVED, expected_version=seen)
    assert conflict.value.current_version == changed.version

    # The refused change left no trace: not on the case, not on its timeline.
    now = kit.cases.get(world.shipper_actor, number)
    assert now.status is Status.WAITING
    assert now.version == changed.version
    assert now.solved_at is None
    events = [e.event for e in kit.cases.timeline(Actor.host(), number)]
    assert EventKind.SOLVED not in events

    # Reloading and trying again with the current version works.
    solved = kit.cases.change_status(
        world.carrier_actor, number, Status.SOLVED, expected_version=conflict.value.current_version
    )
    assert solved.status is Status.SOLVED


def test_other_changes_check_the_version_too(kit: CaseKit, world: World) -> None:
    number = open_case(kit, world)
    seen = kit.cases.get(world.shipper_actor, number).version
    kit.cases.change_type(world.shipper_actor, number, "lost", expected_version=seen)
    with pytest.raises(Conflict):
        kit.cases.take(world.shipper_manager_actor, number, expected_version=seen)
    with pytest.raises(Conflict):
        kit.cases.solve(world.carrier_actor, number, expected_version=seen)
    with pytest.raises(Conflict):
        kit.cases.change_type(world.carrier_actor, number, "other", expected_version=seen)
    case = kit.cases.get(world.shipper_actor, number)
    assert case.type == "lost"
    assert case.status is Status.NEW
    assert case.shipper_owner_id == world.shipper_agent.id


def test_of_two_simultaneous_changes_to_one_version_exactly_one_wins(
    kit: CaseKit, world: World, kits: Callable[[], CaseKit]
) -> None:
    number = open_case(kit, world)
    shipper_kit, carrier_kit = kits(), kits()
    for _ in range(5):
        seen = kit.cases.get(world.shipper_actor, number)
        assert seen.status is not Status.SOLVED
        target = Status.WAITING if seen.status is not Status.WAITING else Status.OPEN
        version = seen.version

        def change(target: Status = target, version: int = version) -> CaseView:
            return shipper_kit.cases.change_status(
                world.shipper_actor, number, target, expected_version=version
            )

        def solve(version: int = version) -> CaseView:
            return carrier_kit.cases.solve(world.carrier_actor, number, expected_version=version)

        results = run_together([change, solve])
        conflicts = [r for r in results if isinstance(r, Conflict)]
        wins = [r for r in results if isinstance(r, CaseView)]
        assert len(conflicts) == 1, results
        assert len(wins) == 1, results
        assert conflicts[0].current_version == wins[0].version
        after = kit.cases.get(world.shipper_actor, number)
        assert after.status is wins[0].status
        if after.status is Status.SOLVED:
            kit.cases.reopen(world.shipper_actor, number)


def test_concurrent_messages_never_conflict_and_all_land(
    kit: CaseKit, world: World, kits: Callable[[], CaseKit]
) -> None:
    number = open_case(kit, world)
    posters = [
        (world.shipper_actor, Audience.PARTNERS),
        (world.carrier_actor, Audience.PARTNERS),
        (world.shipper_manager_actor, Audience.INTERNAL),
        (world.customer_actor, Audience.EVERYONE),
    ]
    messages = 10

    def post(index: int) -> int:
        own_kit = kits()
        actor, audience = posters[index]
        for n in range(messages):
            own_kit.messages.post(actor, number, f"poster {index} message {n}", audience=audience)
        return messages

    results = run_together([partial(post, i) for i in range(len(posters))])
    assert [r for r in results if isinstance(r, BaseException)] == []

    timeline = kit.cases.timeline(Actor.host(), number)
    bodies = [e.body for e in timeline if e.kind is EntryKind.MESSAGE]
    expected = {f"poster {i} message {n}" for i in range(len(posters)) for n in range(messages)}
    assert len(bodies) == 1 + len(expected)
    assert set(bodies) == expected | {"Where is it?"}


def test_threads_sharing_one_kit_post_without_conflict(kit: CaseKit, world: World) -> None:
    number = open_case(kit, world)
    actors = [world.shipper_actor, world.carrier_actor, world.customer_actor]
    messages = 8

    def post(index: int) -> int:
        for n in range(messages):
            kit.messages.post(actors[index], number, f"shared {index}/{n}")
        return messages

    results = run_together([partial(post, i) for i in range(len(actors))])
    assert [r for r in results if isinstance(r, BaseException)] == []
    bodies = {e.body for e in kit.cases.timeline(Actor.host(), number)}
    assert {f"shared {i}/{n}" for i in range(len(actors)) for n in range(messages)} <= bodies
