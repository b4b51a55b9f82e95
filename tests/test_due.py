"""When cases are due, in the lists: the Due column, the due filters, the due sort and
the "Due soon" view (casekit.query.due), on every backend.

Each side reads its own clocks only: a carrier's due filter never matches on the
shipper's clock, nor the other way round; the host reads the side due first; a
customer reads none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from casekit import Actor, InvalidInput
from casekit.domain.audience import Audience
from casekit.domain.sla import DueState
from casekit.query.due import DUE_STATES
from casekit.query.listing import BuiltinView, ListQuery
from casekit.schemas.views import dump_query
from casekit.store import tables

HOUR = 3600


def rows(kit, actor, view="all_cases", *filters, **extra) -> list[Any]:
    query = {"view": view, "filters": list(filters), **extra}
    page = kit.views.list(actor, query, limit=500)
    assert kit.views.count(actor, query) == len(page.rows)
    return list(page.rows)


def numbers(kit, actor, view="all_cases", *filters, **extra) -> list[str]:
    return [row.number for row in rows(kit, actor, view, *filters, **extra)]


def state(*values: str, op: str = "in") -> dict[str, Any]:
    return {"field": "due_state", "op": op, "value": list(values)}


def due_between(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    value = {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None}
    return {"field": "due_at", "op": "between", "value": value}


@pytest.fixture
def due(kit, world, clock) -> dict[str, Any]:
    """Four cases with both sides' targets: the carrier answers first within 4 h
    (warned 1 h before), the shipper solves within 10 h (warned 2 h before).

    A opens at t0, B at t0 + 1 h, C and D at t0 + 2 h; the carrier answers C a
    minute later (its clock met, none running); D has no carrier. The clock
    stops at t0 + 2 h 1 min.
    """
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {"name": "Answer", "first_response": 4 * HOUR, "warn_before": HOUR},
    )
    kit.service_levels.save_target(
        world.shipper_manager_actor,
        {"name": "Solve", "resolution": 10 * HOUR, "warn_before": 2 * HOUR},
    )
    t0 = clock.now()
    made: dict[str, Any] = {"t0": t0}

    def open_case(carrier: bool = True) -> str:
        return kit.cases.open(
            world.shipper_actor,
            type="osd_damaged",
            carrier=world.carrier.id if carrier else None,
            message="Pallet arrived crushed.",
            audience=Audience.PARTNERS,
        ).number

    made["A"] = open_case()
    clock.advance(hours=1)
    made["B"] = open_case()
    clock.advance(hours=1)
    made["C"] = open_case()
    made["D"] = open_case(carrier=False)
    clock.advance(minutes=1)
    kit.messages.post(world.carrier_actor, made["C"], body="On it.", audience=Audience.PARTNERS)
    return made


def test_each_side_reads_its_own_clocks(kit, world, clock, due):
    s, c = world.shipper_actor, world.carrier_actor
    t0 = due["t0"]
    A, B, C, D = (due[n] for n in "ABCD")
    clock.advance(minutes=90)  # t0 + 3 h 31 min
    carrier_rows = {r.number: r for r in rows(kit, c)}
    assert set(carrier_rows) == {A, B, C}
    assert carrier_rows[A].due_at == t0 + timedelta(hours=4)
    assert carrier_rows[A].due_state is DueState.DUE_SOON
    assert carrier_rows[A].due_time_zone == "UTC"
    assert carrier_rows[A].cell("due") == t0 + timedelta(hours=4)
    assert carrier_rows[B].due_state is DueState.ON_TRACK
    assert (carrier_rows[C].due_at, carrier_rows[C].due_state) == (None, None)
    assert carrier_rows[C].due_time_zone is None
    shipper_rows = {r.number: r for r in rows(kit, s)}
    assert shipper_rows[A].due_at == t0 + timedelta(hours=10)
    assert {r.due_state for r in shipper_rows.values()} == {DueState.ON_TRACK}

    # The carrier's filters read the carrier's clocks, the shipper's the shipper's.
    assert numbers(kit, c, "all_cases", state("due_soon")) == [A]
    assert numbers(kit, c, "all_cases", state("none")) == [C]
    assert set(numbers(kit, c, "all_cases", state("on_track", "none"))) == {B, C}
    assert set(numbers(kit, c, "all_cases", state("due_soon", op="not_in"))) == {B, C}
    assert numbers(kit, c, "all_cases", {"field": "due_state", "op": "empty", "value": True}) == [C]
    assert numbers(kit, s, "all_cases", state("due_soon")) == []
    assert set(numbers(kit, s, "all_cases", state("on_track"))) == {A, B, C, D}
    assert numbers(kit, c, "due_soon") == [A]
    assert numbers(kit, s, "due_soon") == []

    clock.advance(hours=1)  # t0 + 4 h 31 min: A breached for the carrier, B due soon
    assert numbers(kit, c, "all_cases", state("breached")) == [A]
    assert numbers(kit, c, "due_soon") == [A, B]  # soonest due first, breached too
    assert numbers(kit, c, "due_soon", state("due_soon")) == [B]
    assert numbers(kit, s, "all_cases", state("breached")) == []

    clock.advance(hours=6)  # t0 + 10 h 31 min
    assert numbers(kit, s, "all_cases", state("breached")) == [A]
    # C and D are due at the same time: in the order of their ids.
    assert numbers(kit, s, "due_soon") == [A, B, C, D]
    assert numbers(kit, s, "due_soon", sort={"field": "due_at", "direction": "desc"}) == [
        D,
        C,
        B,
        A,
    ]
    assert set(numbers(kit, c, "all_cases", state("breached"))) == {A, B}
    # The due time's filter, the end excluded.
    window = due_between(t0 + timedelta(hours=10), t0 + timedelta(hours=12))
    assert numbers(kit, s, "all_cases", window) == [B, A]
    assert numbers(kit, c, "all_cases", window) == []
    assert numbers(kit, c, "all_cases", due_between(t0 + timedelta(hours=4), None)) == [B, A]
    assert numbers(kit, c, "all_cases", {"field": "due_at", "op": "empty", "value": True}) == [C]

    # The badge counts agree with each view's own count.
    for actor in (s, c):
        counts = kit.views.counts(actor)
        for view in BuiltinView:
            assert counts[view.value] == kit.views.count(actor, {"view": view.value}), view
    assert kit.views.counts(s)["due_soon"] == 4
    assert kit.views.counts(c)["due_soon"] == 2

    # Solving stops the shipper's clock: the case leaves its Due soon view.
    kit.cases.solve(s, A)
    assert numbers(kit, s, "due_soon") == [B, C, D]
    assert numbers(kit, s, "all_cases", state("none")) == [A]


def test_the_due_sort_puts_cases_without_a_running_clock_last_and_pages(kit, world, clock, due):
    c = world.carrier_actor
    A, B, C = due["A"], due["B"], due["C"]
    up = {"field": "due_at", "direction": "asc"}
    down = {"field": "due_at", "direction": "desc"}
    assert numbers(kit, c, sort=up) == [A, B, C]
    assert numbers(kit, c, sort=down) == [B, A, C]
    for sort, expected in ((up, [A, B, C]), (down, [B, A, C])):
        seen: list[str] = []
        cursor = None
        while True:
            page = kit.views.list(c, {"view": "all_cases", "sort": sort}, limit=1, cursor=cursor)
            seen += [r.number for r in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
    clock.advance(hours=4)
    paged = kit.views.list(c, {"view": "due_soon"}, limit=1)
    assert [r.number for r in paged.rows] == [A]
    rest = kit.views.list(c, {"view": "due_soon"}, limit=1, cursor=paged.next_cursor)
    assert [r.number for r in rest.rows] == [B]
    assert rest.next_cursor is None


def test_the_due_time_zone_is_the_calendars(kit, world, clock, due):
    every_day = {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    kit.service_levels.set_calendar(
        world.carrier_manager_actor, {"time_zone": "America/New_York", "hours": every_day}
    )
    zones = {r.number: r.due_time_zone for r in rows(kit, world.carrier_actor)}
    assert zones == {due["A"]: "America/New_York", due["B"]: "America/New_York", due["C"]: None}
    assert {r.due_time_zone for r in rows(kit, world.shipper_actor)} == {"UTC"}


def test_the_host_reads_the_side_due_first_and_a_customer_none(kit, world, clock):
    kit.service_levels.save_target(
        world.carrier_manager_actor, {"name": "Answer", "first_response": HOUR}
    )
    kit.service_levels.save_target(
        world.shipper_manager_actor, {"name": "Solve", "resolution": 3 * HOUR}
    )
    number = kit.cases.open(
        world.shipper_actor,
        type="lost",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
        audience=Audience.EVERYONE,
    ).number
    opened = clock.now()
    host = Actor.host()
    (row,) = rows(kit, host)
    assert row.due_at == opened + timedelta(hours=1)  # the carrier's, due first
    clock.advance(minutes=30)
    kit.messages.post(world.carrier_actor, number, body="On it.", audience=Audience.PARTNERS)
    (row,) = rows(kit, host)
    assert (row.due_at, row.due_state) == (opened + timedelta(hours=3), DueState.ON_TRACK)
    clock.advance(hours=2)
    assert numbers(kit, host, "all_cases", state("due_soon")) == [number]
    assert numbers(kit, host, "due_soon") == [number]
    clock.advance(hours=1)
    assert numbers(kit, host, "all_cases", state("breached")) == [number]

    customer = world.customer_actor
    (row,) = rows(kit, customer)
    assert (row.due_at, row.due_state, row.due_time_zone) == (None, None, None)
    assert numbers(kit, customer, "all_cases", state("none")) == [number]
    assert numbers(kit, customer, "all_cases", state("on_track", "due_soon", "breached")) == []
    assert numbers(kit, customer, "all_cases", state("none", op="not_in")) == []
    assert numbers(kit, customer, "all_cases", due_between(opened, None)) == []
    assert numbers(kit, customer, "due_soon") == []
    assert numbers(kit, customer, "all_cases", sort={"field": "due_at"}) == [number]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"filters": [{"field": "due_state", "op": "in", "value": ["late"]}]}, "filters.0.value"),
        ({"filters": [{"field": "due_state", "op": "between", "value": {}}]}, "filters.0.op"),
        (
            {"filters": [{"field": "due_at", "op": "between", "value": {"from": "soon"}}]},
            "filters.0.value",
        ),
        ({"filters": [{"field": "due_at", "op": "in", "value": ["x"]}]}, "filters.0.op"),
        ({"sort": {"field": "due", "direction": "asc"}}, "sort.field"),
        ({"view": "due_later"}, "view"),
        ({"columns": ["number", "due_state"]}, "columns.1"),
    ],
)
def test_bad_due_queries_name_the_field(kit, world, query, field):
    with pytest.raises(InvalidInput) as caught:
        kit.views.list(world.carrier_actor, query)
    assert field in caught.value.errors


def test_the_due_soon_view_sorts_soonest_first_and_shows_the_due_column(kit, world):
    me = world.carrier_actor
    loaded = ListQuery(view=BuiltinView.DUE_SOON)
    assert (loaded.sort.field, loaded.sort.descending) == ("due_at", False)
    saved = kit.views.save(me, "Mine due", {"view": "due_soon"})
    query = kit.views.query_of(me, saved.id)
    assert (query.view, query.sort.field, query.sort.descending) == (
        BuiltinView.DUE_SOON,
        "due_at",
        False,
    )
    assert dump_query(query)["sort"] == {"field": "due_at", "direction": "asc"}
    chosen = kit.views.columns(me, view="due_soon")
    assert chosen[:3] == ("number", "status", "due")
    assert "due" not in kit.views.columns(me)
    kit.views.set_columns(me, ["number", "type"])
    assert kit.views.columns(me, view="due_soon") == ("number", "due", "type")
    kit.views.set_columns(me, ["number", "due", "type"])
    assert kit.views.columns(me, view="due_soon") == ("number", "due", "type")
    # A sort asked for wins over the view's own.
    newest = kit.views.query_of(
        me, kit.views.save(me, "Newest", {"view": "due_soon", "sort": {}}).id
    )
    assert (newest.sort.field, newest.sort.descending) == ("created_at", True)


def test_the_csv_export_has_the_due_time(kit, world, clock, due):
    import csv
    import io

    text = "".join(kit.views.export_csv(world.carrier_actor, {"view": "all_cases"}))
    found = list(csv.reader(io.StringIO(text)))
    column = found[0].index("due")
    by_number = {line[0]: line[column] for line in found[1:]}
    assert by_number[due["A"]] == (due["t0"] + timedelta(hours=4)).isoformat()
    assert by_number[due["C"]] == ""


# -- each side's clocks only: a property ---------------------------------------------------

SIDES = ("shipper", "carrier")
#: A side's running clock due first, relative to now: (due in minutes, warned so many before).
RUNNING = st.tuples(st.integers(-600, 600), st.integers(0, 300))


@pytest.fixture
def eight(kit, world) -> list[tuple[int, str, bool]]:
    """Eight cases of the shipper: (id, number, whether the carrier is on it);
    the customer's on half of them."""
    made = []
    for k in range(8):
        carried = k % 4 != 3
        view = kit.cases.open(
            world.shipper_actor,
            type="lost",
            carrier=world.carrier.id if carried else None,
            customer=world.customer.id if k % 2 else None,
            message="m",
            audience=Audience.EVERYONE if k % 2 else Audience.PARTNERS,
        )
        made.append((view.id, view.number, carried))
    return made


def _reads(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return "none"
    if due_at < now:  # at the due time itself, not yet breached
        return "breached"
    if warn_at is not None and warn_at <= now:
        return "due_soon"
    return "on_track"


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    clocks=st.lists(
        st.fixed_dictionaries({side: st.none() | RUNNING for side in SIDES}),
        min_size=8,
        max_size=8,
    ),
    wanted=st.sets(st.sampled_from(DUE_STATES), min_size=1, max_size=3),
    negative=st.booleans(),
    window=st.tuples(st.integers(-600, 600), st.integers(0, 600)),
)
def test_a_sides_due_filters_never_read_the_other_sides_clock(
    kit, world, clock, eight, clocks, wanted, negative, window
):
    """Random due times for each side of each case: every actor's due state filter,
    due time filter, Due soon view, Due column and due sort read its own side only
    (the host the side due first, a customer none)."""
    now = clock.now()
    c = tables.cases.c
    model: dict[str, dict[str, tuple[datetime | None, datetime | None]]] = {}
    with kit.engine.begin() as conn:
        for (case_id, number, carried), sides in zip(eight, clocks, strict=True):
            values: dict[str, Any] = {}
            model[number] = {}
            for side in SIDES:
                running = sides[side] if side == "shipper" or carried else None
                due_at = warn_at = None
                if running is not None:
                    due_at = now + timedelta(minutes=running[0])
                    warn_at = due_at - timedelta(minutes=running[1])
                values[f"{side}_due_at"], values[f"{side}_warn_at"] = due_at, warn_at
                model[number][side] = (due_at, warn_at)
            conn.execute(update(tables.cases).where(c.id == case_id).values(**values))

    def host_side(number: str) -> tuple[datetime | None, datetime | None]:
        shipper, carrier = model[number]["shipper"], model[number]["carrier"]
        if carrier[0] is not None and (shipper[0] is None or carrier[0] < shipper[0]):
            return carrier
        return shipper

    readers: dict[str, tuple[Actor, Any]] = {
        "shipper": (world.shipper_actor, lambda n: model[n]["shipper"]),
        "carrier": (world.carrier_actor, lambda n: model[n]["carrier"]),
        "host": (Actor.host(), host_side),
        "customer": (world.customer_actor, lambda n: (None, None)),
    }
    start = now + timedelta(minutes=window[0])
    end = start + timedelta(minutes=window[1])
    chosen = set(DUE_STATES) - wanted if negative else wanted
    flt = state(*sorted(wanted), op="not_in" if negative else "in")
    for name, (actor, reads) in readers.items():
        listed = rows(kit, actor, "all_cases")
        seen = {row.number: reads(row.number) for row in listed}
        for row in listed:
            due_at, warn_at = seen[row.number]
            assert row.due_at == due_at, (name, row.number)
            expected = None if due_at is None else DueState(_reads(due_at, warn_at, now))
            assert row.due_state is expected, (name, row.number)
        assert set(numbers(kit, actor, "all_cases", flt)) == {
            n for n, (d, w) in seen.items() if _reads(d, w, now) in chosen
        }, name
        assert set(numbers(kit, actor, "all_cases", due_between(start, end))) == {
            n for n, (d, _w) in seen.items() if d is not None and start <= d < end
        }, name
        due_soon = sorted(
            ((d, n) for n, (d, w) in seen.items() if w is not None and w <= now),
            key=lambda pair: (pair[0], _id_of(eight, pair[1])),
        )
        assert numbers(kit, actor, "due_soon") == [n for _d, n in due_soon], name
        ordered = sorted(
            seen, key=lambda n: (seen[n][0] is None, seen[n][0] or now, _id_of(eight, n))
        )
        assert numbers(kit, actor, "all_cases", sort={"field": "due_at", "direction": "asc"}) == (
            ordered
        ), name


def _id_of(made: list[tuple[int, str, bool]], number: str) -> int:
    return next(case_id for case_id, n, _carried in made if n == number)


# -- the plan ------------------------------------------------------------------------------


@pytest.mark.backends("postgresql")
def test_the_due_soon_page_reads_the_sides_index_in_order(kit, world, clock):
    """With a few thousand cases, a fifth with a running clock, PostgreSQL finds the
    carrier's Due soon page by walking (carrier, due time, warning) in order."""
    kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id, message="m")
    now = clock.now()
    c = tables.cases.c
    copied = [col.name for col in tables.cases.columns if col.name not in ("id", "number")]
    with kit.engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO casekit_cases (number, {', '.join(copied)}) "
            f"SELECT 'CVX' || g, {', '.join(copied)} FROM casekit_cases, "
            "generate_series(1, 5000) AS g"
        )
        conn.execute(
            update(tables.cases)
            .where(c.id % 5 == 0)
            .values(
                carrier_due_at=now + (c.id - 2500) * timedelta(minutes=1),
                carrier_warn_at=now + (c.id - 2560) * timedelta(minutes=1),
            )
        )
        conn.exec_driver_sql("ANALYZE casekit_cases")
    captured: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and "casekit_cases.carrier_warn_at <=" in statement:
            captured.append((statement, parameters))

    event.listen(kit.engine, "before_cursor_execute", keep)
    try:
        page = kit.views.list(world.carrier_actor, {"view": "due_soon"})
    finally:
        event.remove(kit.engine, "before_cursor_execute", keep)
    assert len(page.rows) == 50
    due_times = [r.due_at for r in page.rows]
    assert due_times == sorted(due_times)
    assert {r.due_state for r in page.rows} == {DueState.BREACHED}
    ((statement, parameters),) = captured
    with kit.engine.connect() as conn:
        conn.exec_driver_sql("SET max_parallel_workers_per_gather = 0")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    # The page's ids (the subquery "page"; its rows are then read by id): the
    # index walked from the carrier's first due time, only ties sorted by id.
    lines = plan.splitlines()
    start = next(i for i, line in enumerate(lines) if "Subquery Scan on page" in line)
    depth = len(lines[start]) - len(lines[start].lstrip())
    finding = [lines[start]]
    for line in lines[start + 1 :]:
        if len(line) - len(line.lstrip()) <= depth:
            break
        finding.append(line.strip())
    nodes = [line.lstrip("-> ").split("  (")[0] for line in finding if "(cost=" in line]
    assert nodes == [
        "Subquery Scan on page",
        "Limit",
        "Incremental Sort",
        "Index Scan using ix_casekit_cases_carrier_due on casekit_cases casekit_cases_1",
    ], plan
    assert "Presorted Key: casekit_cases_1.carrier_due_at" in finding, plan
