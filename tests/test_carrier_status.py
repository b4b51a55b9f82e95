"""The carrier's own status and last update.

The shipper's conversation with its customer moves the shipper's status and
last update only: a new case stays new for the carrier, a solved one solved,
until a change the carrier reads brings both sides together. On every
backend; the pure rule is at the end.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from casekit import Actor, Audience, CaseKit, EventKind, InvalidInput, ShipmentFacts, Status
from casekit.domain.workflow import StatusMove, status_for_carrier, status_moves
from casekit.testing import FrozenClock, World

STATUS_EVENTS = (EventKind.STATUS_CHANGED, EventKind.SOLVED, EventKind.REOPENED)


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    """A new case between the shipper, the carrier and the customer."""
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Damage noted at delivery",
    ).number


def moves(kit: CaseKit, actor: Actor, number: str) -> list[tuple[str, str | None, str | None]]:
    """The status events ``actor`` reads on the case, oldest first."""
    return [
        (str(e.event), e.old_value, e.new_value)
        for e in kit.cases.timeline(actor, number)
        if e.event in STATUS_EVENTS
    ]


def statuses(kit: CaseKit, world: World, number: str) -> tuple[Status, Status]:
    """The case's status as the shipper's and the carrier's staff read it, each
    the same in the case view, the list row and the status filter."""
    found = []
    for actor in (world.shipper_actor, world.carrier_actor):
        status = kit.cases.get(actor, number).status
        (row,) = kit.views.list(actor, {"view": "all_cases"}).rows
        assert row.status is status
        query = {
            "view": "all_cases",
            "filters": [{"field": "status", "op": "in", "value": [status.value]}],
        }
        assert kit.views.count(actor, query) == 1
        found.append(status)
    return found[0], found[1]


def test_the_customer_conversation_leaves_a_new_case_new_for_the_carrier(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    w = world
    opened = clock.now()
    clock.advance(minutes=5)
    kit.messages.post(w.customer_actor, number, "Where is my sofa?")
    assert statuses(kit, w, number) == (Status.REPLY_RECEIVED, Status.NEW)
    clock.advance(minutes=5)
    kit.messages.post(w.shipper_actor, number, "Checking with the carrier", audience="customer")
    assert statuses(kit, w, number) == (Status.WAITING, Status.NEW)
    # Nothing of it on the carrier's timeline, nor in its last update.
    assert moves(kit, w.carrier_actor, number) == []
    assert kit.cases.get(w.carrier_actor, number).updated_at == opened
    assert kit.cases.get(w.shipper_actor, number).updated_at == clock.now()
    # A message for partners brings the carrier to open: its own move, which
    # the shipper (still waiting for its customer) does not read.
    clock.advance(minutes=5)
    kit.messages.post(w.shipper_actor, number, "Please call the customer", audience="partners")
    assert statuses(kit, w, number) == (Status.WAITING, Status.OPEN)
    assert moves(kit, w.carrier_actor, number) == [("status_changed", "new", "open")]
    assert moves(kit, w.shipper_actor, number) == [
        ("status_changed", "new", "reply_received"),
        ("status_changed", "reply_received", "waiting"),
    ]
    (own,) = [e for e in kit.cases.timeline(Actor.host(), number) if e.old_value == "new"][1:]
    assert (own.audience, own.org_id) == (Audience.INTERNAL, w.carrier.id)
    assert kit.cases.get(w.carrier_actor, number).updated_at == clock.now()


def test_a_case_the_carrier_sees_solved_stays_solved_while_the_customer_talks(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    w = world
    kit.messages.post(w.carrier_actor, number, "Photos attached")
    kit.cases.solve(w.shipper_actor, number)
    solved = clock.now()
    assert statuses(kit, w, number) == (Status.SOLVED, Status.SOLVED)
    clock.advance(minutes=5)
    kit.messages.post(w.customer_actor, number, "The cover is still torn")
    kit.messages.post(w.shipper_actor, number, "A new cover ships today", audience="customer")
    assert statuses(kit, w, number) == (Status.WAITING, Status.SOLVED)
    carrier_view = kit.cases.get(w.carrier_actor, number)
    assert carrier_view.updated_at == solved
    assert moves(kit, w.carrier_actor, number) == [
        ("status_changed", "new", "open"),
        ("solved", "open", "solved"),
    ]
    # Its views, counts and category filter: solved, not active.
    counts = kit.views.counts(w.carrier_actor)
    assert (counts["all_active"], counts["all_cases"]) == (0, 1)
    assert kit.views.counts(w.shipper_actor)["all_active"] == 1
    solved_only = {
        "view": "all_cases",
        "filters": [{"field": "category", "op": "in", "value": ["solved"]}],
    }
    assert kit.views.count(w.carrier_actor, solved_only) == 1
    assert kit.views.count(w.shipper_actor, solved_only) == 0
    # Its dashboard counts it solved, and nothing in its backlog.
    span = {"from": "2026-01-01", "to": "2027-01-01", "timezone": "UTC"}
    report = kit.reports.dashboard(w.carrier_actor, span)
    assert {t.key: t.count for t in report.section("volume").totals}["active"] == 0
    assert {r.key: r.count for r in report.table("backlog_by_status").rows} == {}
    # Solving it again is nothing for the carrier (it is solved for it) and
    # leaves the shipper's conversation alone.
    version = kit.cases.get(Actor.host(), number).version
    assert kit.cases.change_status(w.carrier_actor, number, "solved").status is Status.SOLVED
    assert kit.cases.get(Actor.host(), number).version == version
    # A message for partners brings both together: reopened, for the carrier.
    clock.advance(minutes=5)
    kit.messages.post(w.shipper_actor, number, "Carrier, please collect the old cover")
    assert statuses(kit, w, number) == (Status.WAITING, Status.OPEN)
    assert moves(kit, w.carrier_actor, number)[-1] == ("reopened", "solved", "open")
    assert kit.cases.get(w.carrier_actor, number).updated_at == clock.now()
    assert "reopened" not in [m[0] for m in moves(kit, w.shipper_actor, number)[-1:]]


def test_the_carrier_reopens_what_it_sees_solved_for_both_sides(
    kit: CaseKit, world: World, number: str
) -> None:
    w = world
    kit.cases.solve(w.carrier_actor, number)
    kit.messages.post(w.customer_actor, number, "It is broken again")
    assert statuses(kit, w, number) == (Status.REPLY_RECEIVED, Status.SOLVED)
    with pytest.raises(InvalidInput):
        kit.cases.reopen(w.shipper_actor, number)  # not solved for the shipper
    kit.cases.reopen(w.carrier_actor, number)
    assert statuses(kit, w, number) == (Status.OPEN, Status.OPEN)
    assert moves(kit, w.carrier_actor, number)[-1] == ("reopened", "solved", "open")
    # The shipper reads its own move, reply_received -> open, for it and its customer.
    assert moves(kit, w.shipper_actor, number)[-1] == ("status_changed", "reply_received", "open")
    assert moves(kit, w.customer_actor, number)[-1] == ("status_changed", "reply_received", "open")
    with pytest.raises(InvalidInput):
        kit.cases.reopen(w.carrier_actor, number)


def test_each_side_sorts_by_its_own_last_update(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    w = world
    clock.advance(minutes=1)
    other = kit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id).number
    clock.advance(minutes=1)
    kit.messages.post(w.customer_actor, number, "Any news?")
    by_update = {"view": "all_cases", "sort": {"field": "updated_at"}}

    def order(actor: Actor) -> list[tuple[str, datetime]]:
        return [(r.number, r.updated_at) for r in kit.views.list(actor, by_update).rows]

    shipper, carrier = order(w.shipper_actor), order(w.carrier_actor)
    assert [n for n, _ in shipper] == [number, other]
    assert [n for n, _ in carrier] == [other, number]
    assert dict(carrier)[number] < dict(shipper)[number]
    ascending = {"view": "all_cases", "sort": {"field": "updated_at", "direction": "asc"}}
    assert [r.number for r in kit.views.list(w.carrier_actor, ascending).rows] == [number, other]


def test_without_a_carrier_its_status_follows_and_a_carrier_linked_later_starts_there(
    kit: CaseKit, world: World
) -> None:
    w = world
    number = kit.cases.open(
        w.shipper_actor, type="osd_damaged", customer=w.customer.id, message="Torn"
    ).number
    kit.messages.post(w.customer_actor, number, "Refund please")
    kit.cases.solve(w.shipper_actor, number)
    kit.messages.post(w.customer_actor, number, "Not refunded yet")
    kit.cases.link_shipment(
        w.shipper_actor, number, ShipmentFacts(reference="SHP-L", shipper="acme", carrier="fast")
    )
    assert statuses(kit, w, number) == (Status.REPLY_RECEIVED, Status.OPEN)
    host = kit.cases.get(Actor.host(), number)
    assert kit.cases.get(w.carrier_actor, number).updated_at == host.updated_at


# -- the pure rule ----------------------------------------------------------------------


def test_the_status_moves_of_both_sides() -> None:
    for old, new, carrier_old, carrier_new in itertools.product(Status, repeat=4):
        found = status_moves(old, new, carrier_old, carrier_new)
        alike = (
            carrier_old is not carrier_new
            and carrier_old is status_for_carrier(old)
            and carrier_new is status_for_carrier(new)
        )
        shipper = [m for m in found if not m.carrier]
        carrier = [m for m in found if m.carrier]
        # The shipper's move is one event when it moved: for everyone when the
        # carrier's moved alike, else for the shipper and its customer.
        if old is new:
            assert shipper == []
        else:
            audience = Audience.EVERYONE if alike else Audience.CUSTOMER
            assert shipper == [StatusMove(old, new, audience)]
        # The carrier's own move is an internal event, unless told alike.
        if carrier_old is carrier_new or alike:
            assert carrier == []
        else:
            assert carrier == [StatusMove(carrier_old, carrier_new, Audience.INTERNAL, True)]
        assert found == (*shipper, *carrier)
    assert StatusMove(Status.OPEN, Status.SOLVED, Audience.EVERYONE).kind == "solved"
    assert StatusMove(Status.SOLVED, Status.OPEN, Audience.EVERYONE).kind == "reopened"
    assert StatusMove(Status.NEW, Status.OPEN, Audience.EVERYONE).kind == "status_changed"


def test_the_carrier_keeps_its_solved_time_while_the_shipper_reopens_with_its_customer(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    """The customer's message reopens the case for the shipper only: the carrier's
    view, list row, solved-date filter and sort and its dashboard keep the time it
    read the case solved; the carrier's own reopening clears it."""
    w = world
    clock.advance(days=1)
    solved = clock.now()
    kit.cases.solve(w.carrier_actor, number)
    clock.advance(days=1)
    kit.messages.post(w.customer_actor, number, "It is still broken")
    assert statuses(kit, w, number) == (Status.REPLY_RECEIVED, Status.SOLVED)
    day = {"from": "2026-01-06", "to": "2026-01-06", "timezone": "UTC"}
    in_range = {
        "view": "all_cases",
        "filters": [{"field": "closed_at", "op": "between", "value": {"from": "2026-01-06"}}],
        "sort": {"field": "closed_at"},
    }

    def solved_seen(actor: Actor) -> tuple[datetime | None, datetime | None, int, int]:
        (row,) = kit.views.list(actor, in_range | {"filters": []}).rows
        report = kit.reports.dashboard(actor, day, sections=["volume"])
        return (
            kit.cases.get(actor, number).solved_at,
            row.solved_at,
            kit.views.count(actor, in_range),
            sum(r.count for r in report.table("solved").rows),
        )

    assert solved_seen(w.carrier_actor) == (solved, solved, 1, 1)
    assert solved_seen(w.shipper_actor) == (None, None, 0, 0)
    clock.advance(hours=1)
    kit.cases.reopen(w.carrier_actor, number)
    assert solved_seen(w.carrier_actor) == (None, None, 0, 0)


def test_the_carrier_keeps_who_solved_it_while_the_shipper_reopens_with_its_customer(
    kit: CaseKit, world: World, number: str, clock: FrozenClock
) -> None:
    """The carrier's view and its dashboard's "solved by" load keep the carrier's
    solver when the customer's message reopens the case for the shipper; the
    carrier's own reopening clears it."""
    w = world
    clock.advance(days=1)
    kit.cases.solve(w.carrier_actor, number)
    clock.advance(days=1)
    kit.messages.post(w.customer_actor, number, "It is still broken")
    solver = f"user:{w.carrier_agent.id}"
    day = {"from": "2026-01-06", "to": "2026-01-06", "timezone": "UTC"}

    def solved_by(actor: Actor) -> tuple[str | None, int, int]:
        (row,) = [
            r
            for r in kit.reports.load(actor, day).table("load").rows
            if r.user_id == w.carrier_agent.id
        ]
        drilled = kit.views.count(actor, row.solved_query)
        return kit.cases.get(actor, number).solved_by, row.solved, drilled

    assert kit.cases.get(w.shipper_actor, number).solved_by is None
    assert solved_by(w.carrier_actor) == (solver, 1, 1)
    kit.cases.reopen(w.carrier_actor, number)
    assert solved_by(w.carrier_actor) == (None, 0, 0)
