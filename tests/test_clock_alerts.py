"""Service-level warnings: the sweep, who hears it, exactly once, escalation, delivery.

On every backend: a warning at the threshold then one at the breach, each
once across sweeps, recomputes and two sweepers at once; the owner, else the
collaborator address, else the managers; escalation through a change of the
case; one case delivered through a real SMTP server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casekit import Actor, CaseKit, signals
from casekit.domain.audience import Audience
from casekit.domain.case import Side
from casekit.domain.clock_alerts import AlertState, Threshold, due_warning, next_alert
from casekit.domain.directory import UserRole
from casekit.services import clock_alerts
from casekit.store import clocks as store_clocks
from casekit.store import tables
from casekit.testing import FrozenClock, SignalRecorder, SmtpSink, World

HOUR = 3600
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A calendar in which every hour counts, in Chicago's time.
CHICAGO = {"time_zone": "America/Chicago", "hours": {d: [["00:00", "24:00"]] for d in DAYS}}


def _open(kit: CaseKit, world: World, subject: str = "Damaged pallet") -> str:
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        subject=subject,
        carrier=world.carrier.id,
        message="Pallet arrived crushed.",
        audience=Audience.PARTNERS,
    ).number


def _carrier_target(kit: CaseKit, world: World, **values: object) -> None:
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {"name": "Damage", "first_response": 4 * HOUR, "warn_before": HOUR, **values},
    )


def _warnings(kit: CaseKit, number: str | None = None) -> list[tuple[str, str, str]]:
    """(event, recipient's address, clock kind) of every warning in the outbox."""
    o = tables.outbox.c
    stmt = select(o.event, o.email, o.old_value, o.case_id).where(
        o.event.in_(["clock_due_soon", "clock_breached"])
    )
    with kit.sessions(write=False) as session:
        rows = list(session.execute(stmt.order_by(o.id)))
        ids = {}
        if number is not None:
            c = tables.cases.c
            ids = {session.execute(select(c.id).where(c.number == number)).scalar_one()}
    return [(r.event, r.email, r.old_value) for r in rows if number is None or r.case_id in ids]


def test_the_due_warning_of_a_clock_pure() -> None:
    at = FrozenClock().now()
    due, warn = at + timedelta(hours=4), at + timedelta(hours=3)
    fresh = AlertState(due, warn, None, None)
    assert due_warning(fresh, at) is None
    assert next_alert(fresh) == warn
    assert due_warning(fresh, warn) is Threshold.DUE_SOON
    warned = AlertState(due, warn, warn, None)
    assert due_warning(warned, warn + timedelta(minutes=59)) is None
    assert next_alert(warned) == due
    # At the due time: the breach, also for a clock never warned (its warning is spent).
    assert due_warning(warned, due) is Threshold.BREACHED
    assert due_warning(fresh, due) is Threshold.BREACHED
    assert due_warning(AlertState(due, warn, warn, due), due + timedelta(days=9)) is None
    assert next_alert(AlertState(due, warn, warn, due)) is None
    # warn_before as long as the target: the warning time is the start, no due-soon apart.
    assert next_alert(AlertState(due, due, None, None)) == due
    assert due_warning(AlertState(None, None, None, None), due) is None


_MOMENTS = st.one_of(
    st.none(), st.integers(0, 4).map(lambda h: FrozenClock().now() + timedelta(hours=h))
)


@settings(max_examples=200, deadline=None)
@given(due=_MOMENTS, warn=_MOMENTS, warned=_MOMENTS, breach=_MOMENTS, at=_MOMENTS)
def test_the_sweep_and_the_recompute_agree_on_the_warning_owed(
    due: datetime | None,
    warn: datetime | None,
    warned: datetime | None,
    breach: datetime | None,
    at: datetime | None,
) -> None:
    """``next_alert_at`` as the recompute writes it is the sweep's rule, and a clock
    owes a warning at a moment exactly when that moment has reached it."""
    state = AlertState(due, warn, warned, breach)
    values = {
        "state": "running",
        "due_at": due,
        "warn_at": warn,
        "warned_at": warned,
        "breach_warned_at": breach,
    }
    assert store_clocks._next_alert(values) == next_alert(state)
    if at is not None:
        owed = next_alert(state)
        assert (due_warning(state, at) is not None) == (owed is not None and owed <= at)


def test_a_warning_at_the_threshold_then_one_at_the_breach_each_once(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    _carrier_target(kit, world)
    number = _open(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    cal = world.carrier_agent.email
    clock.advance(hours=2, minutes=59)
    assert kit.service_levels.sweep().clocks == 0
    clock.advance(minutes=1)
    first = kit.service_levels.sweep()
    assert (first.clocks, first.due_soon, first.breached, first.notifications) == (1, 1, 0, 1)
    assert kit.service_levels.sweep().clocks == 0
    clock.advance(minutes=59)
    assert kit.service_levels.sweep().clocks == 0
    clock.advance(minutes=1)
    assert kit.service_levels.sweep().breached == 1
    clock.advance(days=3)
    assert kit.service_levels.sweep().clocks == 0
    assert _warnings(kit) == [
        ("clock_due_soon", cal, "first_response"),
        ("clock_breached", cal, "first_response"),
    ]
    # The carrier's delivery log shows them; the shipper's does not.
    carrier_log = [d.event for d in kit.notifications.deliveries(world.carrier_actor, number)]
    assert carrier_log.count("clock_due_soon") == carrier_log.count("clock_breached") == 1
    shipper_log = [d.event for d in kit.notifications.deliveries(world.shipper_actor, number)]
    assert not {"clock_due_soon", "clock_breached"} & set(shipper_log)


def test_each_warning_written_is_announced_with_its_case(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    _carrier_target(kit, world)
    number = _open(kit, world)
    clock.advance(hours=3)
    with SignalRecorder([signals.notification_queued]) as recorded:
        assert kit.service_levels.sweep().notifications == 1
    [sent] = recorded.of(signals.notification_queued)
    assert sent["case"].number == number
    assert sent["actor"] == Actor.system_actor("sla", org_id=world.carrier.id)
    assert (sent["notification"].event, sent["notification"].email) == (
        "clock_due_soon",
        world.carrier_manager.email,
    )
    assert sent["notification"].id is not None
    assert _warnings(kit) == [("clock_due_soon", world.carrier_manager.email, "first_response")]


def test_a_late_sweep_sends_the_breach_only(kit: CaseKit, world: World, clock: FrozenClock) -> None:
    _carrier_target(kit, world)
    number = _open(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    clock.advance(hours=5)
    outcome = kit.service_levels.sweep()
    assert (outcome.due_soon, outcome.breached) == (0, 1)
    assert kit.service_levels.sweep().clocks == 0
    assert [w[0] for w in _warnings(kit)] == ["clock_breached"]


def test_exactly_once_across_recomputes_and_a_new_round_warns_again(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {"name": "Answers", "next_response": 2 * HOUR, "warn_before": HOUR},
    )
    number = _open(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    clock.advance(minutes=1)
    kit.messages.post(world.carrier_actor, number, body="Looking.", audience=Audience.PARTNERS)
    clock.advance(minutes=5)
    kit.messages.post(world.shipper_actor, number, body="When?", audience=Audience.PARTNERS)
    clock.advance(hours=1)
    assert kit.service_levels.sweep().due_soon == 1
    # Changes of the case and of the target recompute the clock: the warning stays sent.
    kit.messages.post(world.carrier_actor, number, body="note", audience=Audience.INTERNAL)
    target = kit.service_levels.targets(world.carrier_manager_actor)[0]
    kit.service_levels.save_target(
        world.carrier_manager_actor, {"warn_before": 90 * 60}, target_id=target.id
    )
    kit.service_levels.recompute(Actor.host())
    assert kit.service_levels.sweep().clocks == 0
    # The carrier answers; the shipper asks again: a new round, its own warnings.
    kit.messages.post(world.carrier_actor, number, body="Tomorrow.", audience=Audience.PARTNERS)
    clock.advance(minutes=5)
    kit.messages.post(world.shipper_actor, number, body="Which time?", audience=Audience.PARTNERS)
    clock.advance(minutes=31)
    assert kit.service_levels.sweep().due_soon == 1
    clock.advance(hours=2)
    assert kit.service_levels.sweep().breached == 1
    assert [w[0] for w in _warnings(kit)] == ["clock_due_soon", "clock_due_soon", "clock_breached"]


def test_a_target_moved_later_after_its_warning_warns_no_more(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    _carrier_target(kit, world)
    number = _open(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    clock.advance(hours=3)
    assert kit.service_levels.sweep().due_soon == 1
    target = kit.service_levels.targets(world.carrier_manager_actor)[0]
    kit.service_levels.save_target(
        world.carrier_manager_actor, {"first_response": 8 * HOUR}, target_id=target.id
    )
    clock.advance(hours=4)  # past the first due time, before the new one
    assert kit.service_levels.sweep().clocks == 0
    clock.advance(hours=1)
    assert kit.service_levels.sweep().breached == 1


def test_a_stale_claim_writes_nothing(kit: CaseKit, world: World, clock: FrozenClock) -> None:
    """The compare-and-set: a sweeper that read a clock before another warned it
    writes no warning of its own."""
    _carrier_target(kit, world)
    _open(kit, world)
    clock.advance(hours=3)
    now = clock.now()
    with kit.sessions(write=False) as session:
        stale = clock_alerts._claim(session.connection(), now, 10, ())
    assert len(stale) == 1
    assert kit.service_levels.sweep().due_soon == 1
    with kit.sessions(write=True) as session:
        conn = session.connection()
        assert not clock_alerts.mark_warned(conn, [(stale[0]["id"], Threshold.DUE_SOON)], now)
        session.rollback()
    assert len(_warnings(kit)) == 1


def test_two_sweepers_at_once_warn_each_clock_once(
    kit: CaseKit, world: World, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _carrier_target(kit, world)
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=world.shipper.id,  # type: ignore[arg-type]
        carrier_org_id=world.carrier.id,  # type: ignore[arg-type]
        side=Side.CARRIER,
        email="desk@fast.test",
    )
    numbers = [_open(kit, world, f"Case {i}") for i in range(24)]
    clock.advance(hours=3)
    monkeypatch.setattr(clock_alerts, "BATCH", 4)  # many small batches, interleaved
    start = threading.Barrier(2)
    outcomes: list[clock_alerts.SweepOutcome] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            start.wait()
            outcomes.append(kit.service_levels.sweep())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sum(o.due_soon for o in outcomes) == len(numbers)
    assert sorted(_warnings(kit)) == [("clock_due_soon", "desk@fast.test", "first_response")] * 24
    assert kit.service_levels.sweep().clocks == 0


def test_the_owner_else_the_collaborator_address_else_the_managers(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    host = Actor.host()
    for side in (Side.SHIPPER, Side.CARRIER):
        kit.service_levels.save_target(
            Actor.of_user(world.shipper_manager if side is Side.SHIPPER else world.carrier_manager),
            {"name": f"{side} answers", "first_response": 4 * HOUR, "resolution": 8 * HOUR},
        )
    lead = kit.directory.add_user(
        host, org_id=world.carrier.id, name="Lea Lead", email="lea@fast.test", role=UserRole.ADMIN
    )
    number = _open(kit, world)
    clock.advance(hours=7)
    kit.service_levels.sweep()
    # The shipper's agent owns the shipper side (resolution: the shipper opened it, so
    # it owes no first response); the carrier side has no owner and no address: its managers.
    managers = sorted([world.carrier_manager.email, lead.email])
    assert sorted(_warnings(kit, number)) == sorted(
        [("clock_due_soon", world.shipper_agent.email, "resolution")]
        + [("clock_breached", m, "first_response") for m in managers]
        + [("clock_due_soon", m, "resolution") for m in managers]
    )
    # An address for the carrier side: it hears, the managers no more.
    kit.notifications.set_collaborator_address(
        host,
        shipper_org_id=world.shipper.id,  # type: ignore[arg-type]
        carrier_org_id=world.carrier.id,  # type: ignore[arg-type]
        side=Side.CARRIER,
        email="desk@fast.test",
    )
    second = _open(kit, world, "Second")
    clock.advance(hours=3, minutes=30)
    kit.service_levels.sweep()
    assert sorted(_warnings(kit, second)) == [
        ("clock_due_soon", "desk@fast.test", "first_response")
    ]
    # A deactivated owner leaves the side to its address; a user who turned a warning off
    # hears none of it (the shipper's agent, owner of the shipper's side).
    third = _open(kit, world, "Third")
    kit.cases.set_owner(world.carrier_manager_actor, third, world.carrier_agent.id)
    kit.directory.deactivate_user(host, world.carrier_agent.id)  # type: ignore[arg-type]
    kit.notifications.set_subscriptions(world.shipper_actor, {"clock_due_soon": False})
    clock.advance(hours=7)
    kit.service_levels.sweep()
    assert sorted(_warnings(kit, third)) == [
        ("clock_breached", "desk@fast.test", "first_response"),
        ("clock_due_soon", "desk@fast.test", "resolution"),
    ]


def test_a_breach_escalates_once_through_a_change_of_the_case(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    host = Actor.host()
    senior = kit.directory.add_user(
        host, org_id=world.carrier.id, name="Sid Senior", email="sid@fast.test"
    )
    _carrier_target(
        kit,
        world,
        escalation={"watchers": [world.carrier_manager.id], "hand_over_to": senior.id},
    )
    number = _open(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    version = kit.cases.get(host, number).version
    clock.advance(hours=3)
    with SignalRecorder() as early:
        assert kit.service_levels.sweep().escalated == 0  # the due-soon warning does not escalate
    assert signals.owner_changed.name not in early.names()
    clock.advance(hours=1)
    with SignalRecorder() as recorded:
        outcome = kit.service_levels.sweep()
    assert (outcome.breached, outcome.escalated) == (1, 1)
    view = kit.cases.get(world.carrier_actor, number)
    assert view.carrier_owner_id == senior.id
    assert world.carrier_manager.id in view.watcher_ids
    assert view.version > version
    assert recorded.of(signals.owner_changed)[0]["new"] == senior.id
    assert recorded.of(signals.watcher_changed)[0]["user_id"] == world.carrier_manager.id
    # Audited on the carrier's timeline, by the carrier's service levels; not the shipper's.
    events = [
        (e.event, e.system)
        for e in kit.cases.timeline(world.carrier_actor, number)
        if e.event in ("owner_changed", "watcher_added") and e.system == "sla"
    ]
    assert sorted(str(e) for e, _ in events) == ["owner_changed", "watcher_added"]
    shipper_sees = {str(e.event) for e in kit.cases.timeline(world.shipper_actor, number)}
    assert not {"watcher_added"} & shipper_sees
    assert not any(e.system == "sla" for e in kit.cases.timeline(world.shipper_actor, number))
    # The owner at the breach, the watcher added and the new owner hear of it, once.
    breached = sorted(w[1] for w in _warnings(kit) if w[0] == "clock_breached")
    assert breached == sorted(
        [world.carrier_agent.email, world.carrier_manager.email, senior.email]
    )
    clock.advance(hours=5)
    again = kit.service_levels.sweep()
    assert (again.clocks, again.escalated) == (0, 0)
    assert kit.cases.get(world.carrier_actor, number).carrier_owner_id == senior.id


def test_an_escalation_to_a_user_gone_since_keeps_the_owner(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    host = Actor.host()
    senior = kit.directory.add_user(
        host, org_id=world.carrier.id, name="Sid Senior", email="sid@fast.test"
    )
    _carrier_target(kit, world, escalation={"hand_over_to": senior.id})
    number = _open(kit, world)
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    kit.directory.deactivate_user(host, senior.id)  # type: ignore[arg-type]
    clock.advance(hours=4)
    assert kit.service_levels.sweep().breached == 1
    assert kit.cases.get(host, number).carrier_owner_id == world.carrier_agent.id
    assert [w[1] for w in _warnings(kit)] == [world.carrier_agent.email]


def test_a_warning_delivered_through_smtp_shows_the_due_time_in_the_clocks_zone(
    mailing_kit: Callable[..., CaseKit], world: World, clock: FrozenClock, sink: SmtpSink
) -> None:
    kit = mailing_kit(case_url="https://cases.example.test/cases/{number}")
    kit.service_levels.set_calendar(world.carrier_manager_actor, CHICAGO)
    _carrier_target(kit, world)
    number = _open(kit, world)  # 2026-01-05 09:00 UTC: 03:00 in Chicago
    kit.cases.set_owner(world.carrier_manager_actor, number, world.carrier_agent.id)
    kit.notifications.deliver()
    sink.clear()
    clock.advance(hours=3)
    kit.service_levels.sweep()
    kit.notifications.deliver()
    [mail] = sink.to(world.carrier_agent.email)
    assert isinstance(mail, EmailMessage)
    due = "Mon 05 Jan 2026 07:00 (America/Chicago)"
    assert mail["Subject"] == f"[{number}] Due soon: First response by {due}"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"First response is due by {due} (Damage)" in text
    assert f"https://cases.example.test/cases/{number}" in text
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"<strong>{due}</strong>" in html
    assert sink.to(world.shipper_agent.email) == []


def test_the_worker_sweeps_when_it_starts_and_then_every_interval(
    kit: CaseKit, world: World, clock: FrozenClock
) -> None:
    _carrier_target(kit, world)
    _open(kit, world)
    clock.advance(hours=3)
    worker = kit.notifications.worker(sweep=True)
    assert worker.sweep_seconds == kit.settings.sla_sweep_seconds == 60
    seconds = [0.0]
    worker.timer = lambda: seconds[0]
    worker.run(once=True)  # sweeps at 0 s, then delivers what it wrote
    assert [w[0] for w in _warnings(kit)] == ["clock_due_soon"]
    o = tables.outbox.c
    with kit.sessions(write=False) as session:
        assert session.execute(select(o.attempts).where(o.event == "clock_due_soon")).scalar() == 1
    clock.advance(hours=1)
    seconds[0] = 59.0
    worker.sweep_due()
    assert len(_warnings(kit)) == 1
    seconds[0] = 60.0
    worker.sweep_due()
    assert [w[0] for w in _warnings(kit)] == ["clock_due_soon", "clock_breached"]
    # A worker of deliver() sweeps nothing.
    assert kit.notifications.worker().sweep_seconds == 0


def test_a_template_override_of_a_warning_is_checked_with_its_variables(
    kit: CaseKit, world: World
) -> None:
    preview = kit.notifications.preview_template(
        world.carrier_manager_actor,
        "clock_breached",
        subject="{{ clock.target }} missed: {{ clock.kind_label }} due {{ clock.due_at_iso }}",
    )
    assert preview.subject == "Damaged freight missed: First response due 2026-01-12T11:55:00-06:00"
