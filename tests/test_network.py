"""Network benchmarks: the job, the disclosure rules, opting out, what each organization reads."""

from __future__ import annotations

import threading
from datetime import timedelta

import attrs
import pytest
from sqlalchemy import func, select

from casekit import Actor, hookimpl
from casekit.domain.network import (
    ALL_TYPES,
    DisclosureRules,
    Metric,
    Side,
    Suppression,
    complement_check,
    disclose,
    parse_period,
    period_bounds,
    period_of,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.sample import World
from casekit.store import tables

HOST = Actor.host()


class Volumes:
    """The host's shipments per organization (by external id), for every period."""

    def __init__(self) -> None:
        self.shipments: dict[str, int] = {}
        self.computed: list[tuple[str, list]] = []

    @hookimpl
    def casekit_network_volumes(self, period, start, end):
        return dict(self.shipments)

    @hookimpl
    def casekit_network_computed(self, period, figures):
        self.computed.append((period, list(figures)))


@pytest.fixture
def volumes(kit):
    plugin = Volumes()
    kit.plugin_manager.register(plugin)
    kit.settings = attrs.evolve(kit.settings, network_benchmarks=True)
    yield plugin
    kit.plugin_manager.unregister(plugin)


def build_worlds(kit, volumes, count: int) -> list[World]:
    worlds = [World.build(kit, tag=str(i)) for i in range(count)]
    for w in worlds:
        volumes.shipments[w.shipper.external_id] = 1000
        volumes.shipments[w.carrier.external_id] = 1000
    return worlds


def open_cases(kit, clock, world: World, case_type: str, count: int, *, solve: bool = True):
    """``count`` cases of ``world``'s shipper with its carrier: the carrier answers
    after an hour, and the case is solved two hours after opening."""
    for _ in range(count):
        case = kit.cases.open(
            world.shipper_actor, type=case_type, carrier=world.carrier.id, message="Where is it?"
        )
        clock.advance(hours=1)
        kit.messages.post(world.carrier_actor, case.number, "On its way", audience="partners")
        clock.advance(hours=1)
        if solve:
            kit.cases.solve(world.shipper_actor, case.number)
        clock.advance(minutes=-120)


def network_figures(kit, side: Side, metric: Metric) -> dict[str, tuple]:
    f = tables.network_figures.c
    with kit.engine.connect() as conn:
        rows = conn.execute(
            select(f.case_type, f.value, f.cases, f.organizations, f.suppressed).where(
                f.org_id.is_(None), f.side == side.value, f.metric == metric.value
            )
        ).all()
    return {row.case_type: tuple(row)[1:] for row in rows}


def comparison(benchmarks, metric: Metric, case_type: str = ALL_TYPES):
    return next(
        c for c in benchmarks.comparisons if c.metric is metric and c.case_type == case_type
    )


# -- the rules alone ---------------------------------------------------------------------


RULES = DisclosureRules(min_organizations=5, max_share_percent=50, min_cases=10)


def test_a_group_of_four_is_suppressed_and_of_five_published():
    assert disclose({1: 3, 2: 3, 3: 3, 4: 3}, RULES) is Suppression.FEW_ORGANIZATIONS
    assert disclose({1: 3, 2: 3, 3: 3, 4: 3, 5: 3}, RULES) is None


def test_a_dominated_group_is_suppressed():
    assert disclose({1: 6, 2: 1, 3: 1, 4: 1, 5: 1}, RULES) is Suppression.DOMINATED
    assert disclose({1: 5, 2: 2, 3: 1, 4: 1, 5: 1}, RULES) is None  # exactly half


def test_a_small_cell_is_suppressed():
    assert disclose({1: 1, 2: 2, 3: 2, 4: 2, 5: 2}, RULES) is Suppression.FEW_CASES
    # The organizations of a rate count those with shipments but no case of the type.
    assert disclose({1: 4, 2: 4, 3: 4}, RULES, organizations=5) is None


def test_a_total_is_suppressed_when_its_suppressed_parts_could_be_read_from_it():
    dominated = {1: 8, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1}
    assert complement_check([dominated], RULES) is Suppression.COMPLEMENT
    assert complement_check([{1: 0, 2: 0}], RULES) is None
    assert complement_check([], RULES) is None
    # Two suppressed parts whose sum passes the rules may stay behind a published total.
    assert complement_check([{1: 4, 2: 1, 3: 1}, {4: 3, 5: 3}], RULES) is None


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-01", "2026-1", "", "x" * 50])
def test_a_bad_period_names_the_field(text):
    with pytest.raises(InvalidInput) as caught:
        parse_period(text)
    assert set(caught.value.errors) == {"period"}


def test_periods_are_calendar_months_in_utc():
    start, end = period_bounds("2026-12")
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00+00:00",
        "2027-01-01T00:00:00+00:00",
    )
    assert period_of(start, 12) == "2025-12"
    assert period_of(start, 0) == "2026-12"


# -- the job, on every database ----------------------------------------------------------


def test_off_by_default(kit, world):
    with pytest.raises(NotFound):
        kit.network.compute(HOST)
    with pytest.raises(NotFound):
        kit.network.benchmarks(world.shipper_actor)


def test_a_published_network_beside_the_organizations_own(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 6)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    period = period_of(clock.now())
    result = kit.network.compute(HOST, [period])
    assert result.cases == 12
    rates = network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)
    assert rates["lost"] == (2.0, 12, 6, None)
    mine = kit.network.benchmarks(worlds[0].shipper_actor)
    assert mine.participating
    assert mine.period == period
    assert mine.side is Side.SHIPPER
    lost = comparison(mine, Metric.CASE_RATE, "lost")
    assert (lost.own, lost.own_cases, lost.network, lost.organizations) == (2.0, 2, 2.0, 6)
    solve = comparison(mine, Metric.SOLVE_HOURS)
    assert (solve.own, solve.network) == (2.0, 2.0)
    # Its carrier's response time, beside the carriers' network.
    response = comparison(mine, Metric.RESPONSE_HOURS)
    assert (response.own, response.network) == (1.0, 1.0)
    assert [(p.partner_org_id, p.value, p.cases) for p in mine.partners] == [
        (worlds[0].carrier.id, 1.0, 2)
    ]
    carrier = kit.network.benchmarks(worlds[3].carrier_actor)
    assert carrier.side is Side.CARRIER
    assert comparison(carrier, Metric.RESPONSE_HOURS, "lost").network == 1.0
    assert carrier.partners == []


def test_a_group_of_four_organizations_is_not_published(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 4)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 3)
    kit.network.compute(HOST, [period_of(clock.now())])
    for side in Side:
        for metric in Metric:
            for case_type, (value, cases, orgs, reason) in network_figures(
                kit, side, metric
            ).items():
                assert (value, cases, orgs) == (None, None, 4), (side, metric, case_type)
                assert reason == Suppression.FEW_ORGANIZATIONS.value
    mine = kit.network.benchmarks(worlds[0].shipper_actor)
    assert comparison(mine, Metric.CASE_RATE, "lost").own == 3.0
    assert all(c.network is None and c.organizations is None for c in mine.comparisons)
    # A fifth organization publishes them.
    fifth = World.build(kit, tag="5")
    volumes.shipments[fifth.shipper.external_id] = 1000
    volumes.shipments[fifth.carrier.external_id] = 1000
    open_cases(kit, clock, fifth, "lost", 3)
    kit.network.compute(HOST, [period_of(clock.now())])
    assert network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)["lost"] == (3.0, 15, 5, None)


def test_a_group_dominated_by_one_organization_is_not_published(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 6)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    open_cases(kit, clock, worlds[0], "osd_damaged", 7)
    for w in worlds[1:]:
        open_cases(kit, clock, w, "osd_damaged", 1)
    kit.network.compute(HOST, [period_of(clock.now())])
    rates = network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)
    assert rates["osd_damaged"] == (None, None, 6, Suppression.DOMINATED.value)
    solve = network_figures(kit, Side.SHIPPER, Metric.SOLVE_HOURS)
    assert solve["osd_damaged"][3] == Suppression.DOMINATED.value
    carriers = network_figures(kit, Side.CARRIER, Metric.RESPONSE_HOURS)
    assert carriers["osd_damaged"][3] == Suppression.DOMINATED.value
    assert carriers["lost"][3] is None


def test_a_dominated_type_cannot_be_read_as_the_total_less_the_published_types(kit, clock, volumes):
    """All types pass the rules on their own, but all types less "lost" would be the
    dominated "osd_damaged": the total is suppressed too. The guarded case: no
    published rates of a period add up to a suppressed one."""
    worlds = build_worlds(kit, volumes, 6)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    open_cases(kit, clock, worlds[0], "osd_damaged", 7)
    for w in worlds[1:]:
        open_cases(kit, clock, w, "osd_damaged", 1)
    kit.network.compute(HOST, [period_of(clock.now())])
    rates = network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)
    # 24 cases, the first shipper's 9 of them: the total passes the rules by itself.
    assert disclose({1: 9, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3}, RULES) is None
    assert rates[ALL_TYPES] == (None, None, 6, Suppression.COMPLEMENT.value)
    assert rates["lost"][0] == 2.0
    for actor in (worlds[0].shipper_actor, worlds[1].shipper_actor):
        shown = kit.network.benchmarks(actor)
        published = {
            c.case_type: c.network
            for c in shown.comparisons
            if c.metric is Metric.CASE_RATE and c.network is not None
        }
        assert published == {"lost": 2.0}
    # Without a dominating organization every type and the total are published, and
    # the total is the sum of the types.
    open_cases(kit, clock, worlds[1], "osd_damaged", 3)
    open_cases(kit, clock, worlds[2], "osd_damaged", 3)
    kit.network.compute(HOST, [period_of(clock.now())])
    rates = network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)
    assert rates["osd_damaged"][3] is None
    assert rates[ALL_TYPES][0] == pytest.approx(rates["lost"][0] + rates["osd_damaged"][0])


def test_an_organization_that_opts_out_neither_contributes_nor_sees(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 6)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    period = period_of(clock.now())
    kit.network.compute(HOST, [period])
    leaver = worlds[5]
    with pytest.raises(PermissionDenied):  # an agent may not decide it
        kit.network.set_participation(leaver.shipper_actor, False)
    kit.network.set_participation(leaver.shipper_manager_actor, False)
    assert kit.network.participating(leaver.shipper_actor) is False
    gone = kit.network.benchmarks(leaver.shipper_actor)
    assert (gone.participating, gone.comparisons, gone.periods) == (False, [], [])
    f = tables.network_figures.c
    with kit.engine.connect() as conn:
        assert not conn.scalar(select(func.count()).where(f.org_id == leaver.shipper.id)), (
            "its own figures are deleted"
        )
    kit.network.compute(HOST, [period])
    # Five shippers left. Its cases are out of its carrier's figures too (the carrier
    # still takes part, with its shipments and no case of that shipper's).
    assert network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)["lost"] == (2.0, 10, 5, None)
    assert network_figures(kit, Side.CARRIER, Metric.CASE_RATE)["lost"] == (1.667, 10, 6, None)
    assert network_figures(kit, Side.CARRIER, Metric.RESPONSE_HOURS)["lost"] == (1.0, 10, 5, None)
    with kit.engine.connect() as conn:
        assert not conn.scalar(select(func.count()).where(f.org_id == leaver.shipper.id))
        assert not conn.scalar(
            select(func.count()).where(
                f.org_id == leaver.carrier.id, f.metric == Metric.RESPONSE_HOURS.value
            )
        )
    kit.network.set_participation(HOST, True, org_id=leaver.shipper.id)
    kit.network.compute(HOST, [period])
    assert network_figures(kit, Side.SHIPPER, Metric.CASE_RATE)["lost"][2] == 6


def test_who_reads_what(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 5)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    kit.network.compute(HOST)
    customer = Actor.of_customer(worlds[0].customer)
    with pytest.raises(PermissionDenied):
        kit.network.benchmarks(customer)
    with pytest.raises(PermissionDenied):
        kit.network.benchmarks(HOST)
    with pytest.raises(PermissionDenied):
        kit.network.compute(worlds[0].shipper_manager_actor)
    with pytest.raises(NotFound):
        kit.network.set_participation(
            worlds[0].shipper_manager_actor, False, org_id=worlds[1].shipper.id
        )
    with pytest.raises(InvalidInput) as caught:
        kit.network.benchmarks(worlds[0].shipper_actor, "2026-13")
    assert set(caught.value.errors) == {"period"}
    with pytest.raises(NotFound):
        kit.network.benchmarks(worlds[0].shipper_actor, "1999-01")
    with pytest.raises(InvalidInput) as caught:
        kit.network.compute(HOST, months=0)
    assert set(caught.value.errors) == {"months"}
    # An organization's own figures are its own: no other organization's reach it.
    mine = kit.network.benchmarks(worlds[0].shipper_actor)
    assert {c.own_cases for c in mine.comparisons if c.own_cases is not None} == {2}
    assert [p.partner_org_id for p in mine.partners] == [worlds[0].carrier.id]


def test_the_host_exports_what_was_computed(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 4)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 3)
    period = period_of(clock.now())
    kit.network.compute(HOST, [period])
    [(told, figures)] = volumes.computed
    assert told == period
    network = [f for f in figures if f.org_id is None]
    assert network
    assert all(f.value is None and f.cases is None for f in network)
    own = [f for f in figures if f.org_id == worlds[0].shipper.id]
    assert {f.value for f in own if f.metric is Metric.CASE_RATE} == {3.0}


def test_a_run_that_read_earlier_never_writes_over_a_later_one(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 5)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    period = period_of(clock.now())
    assert kit.network.compute(HOST, [period]).figures[period]
    clock.advance(minutes=-5)
    assert kit.network.compute(HOST, [period]).figures == {period: None}
    clock.advance(minutes=10)
    assert kit.network.compute(HOST, [period]).figures[period]


def test_runs_at_the_same_time_leave_one_set_of_figures(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 5)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    period = period_of(clock.now())
    single = kit.network.compute(HOST, [period]).figures[period]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            kit.network.compute(HOST, [period])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    f = tables.network_figures.c
    with kit.engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(f.period == period)) == single


def test_the_latest_months_by_default(kit, clock, volumes):
    worlds = build_worlds(kit, volumes, 5)
    for w in worlds:
        open_cases(kit, clock, w, "lost", 2)
    clock.advance(timedelta(days=40))
    result = kit.network.compute(HOST, months=2)
    assert list(result.figures) == [period_of(clock.now()), period_of(clock.now(), 1)]
    assert result.cases == 10
    shown = kit.network.benchmarks(worlds[0].shipper_actor)
    assert shown.periods == sorted(result.figures, reverse=True)
    assert shown.period == period_of(clock.now())
