"""The sweep: service-level warnings written to the outbox, and escalation at a breach.

:func:`sweep` (``kit.service_levels.sweep()``, ``casekit sla sweep``, and the
built-in worker every ``sla_sweep_seconds``) takes the clocks whose next
warning is due (``casekit_clocks.next_alert_at <= now``, one index range)
:data:`BATCH` at a time. For each it decides the warning
(:func:`casekit.domain.clock_alerts.due_warning`) and its recipients, then,
in one transaction per batch, marks the warning sent (``warned_at`` or
``breach_warned_at``, and ``next_alert_at`` moved on) with a compare-and-set
on the mark still being empty, and writes one outbox row per recipient:
delivered, rendered and retried like every notification
(:mod:`casekit.services.worker`).

Safe from several processes: a batch is claimed with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL and MariaDB 10.6+ (each clock with its case's row,
so a change of the case, which locks that row and recomputes its clocks,
and the sweep take turns), and a batch whose compare-and-set finds a mark
already set is rolled back whole and claimed again: a second sweeper never
sends a warning twice. SQLite runs writing transactions one at a time.

A breach whose target escalates (:attr:`casekit.domain.sla.Target.escalation`)
is a change of the case: it goes through :class:`casekit.services.base.Edit`
as the system actor ``sla`` of the side, in one transaction per clock that
marks the breach, adds the watchers and hands the side's owner slot over
(audited events internal to the side, with their signals and webhooks), and
writes the warnings.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import Connection, Table, and_, func, insert, null, or_, select, update

from casekit import signals
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Case, EventKind, Side, Watcher
from casekit.domain.clock_alerts import (
    AlertState,
    SidePeople,
    Threshold,
    due_warning,
    next_alert,
    warning_recipients,
)
from casekit.domain.directory import UserRole
from casekit.domain.notify import NotifyEvent, Recipient, UserInfo
from casekit.domain.sla import ClockState
from casekit.errors import NotFound
from casekit.services.outbox import QUEUED, delivery_view
from casekit.services.worker import Worker
from casekit.store import tables
from casekit.store.uow import UnitOfWork

if TYPE_CHECKING:
    from casekit.kit import CaseKit

log = logging.getLogger(__name__)

#: Clocks claimed (and warned) per transaction. Each batch costs about ten statements and
#: a commit, whatever its size; its transaction holds its cases' rows while it runs
#: (about half a second for 1,000 on a busy two-core machine), so a change of one of
#: them waits that long at most. 1,000 rather than 500: a third less time for a
#: sweep of 3,000 warnings at 1,000,000 cases (benchmarks/README.md, ``sla``).
BATCH = 1000

k = tables.clocks.c
c = tables.cases.c
u = tables.users.c
_s = tables.subscriptions.c
_ca = tables.collaborator_addresses.c
_un = tables.unsubscriptions.c
_t = tables.sla_targets.c

_EVENTS = [NotifyEvent.CLOCK_DUE_SOON.value, NotifyEvent.CLOCK_BREACHED.value]
_RUNNING = ClockState.RUNNING.value


@frozen
class SweepOutcome:
    """What one sweep did.

    ``clocks``: clocks whose warning was written (``due_soon`` and
    ``breached`` of them); ``notifications``: outbox rows written;
    ``escalated``: breaches that escalated; ``raced``: clocks another
    sweeper (or a change of the case) took first, left to it;
    ``failed``: clocks whose escalation failed (logged; tried again by the
    next sweep).
    """

    clocks: int = 0
    due_soon: int = 0
    breached: int = 0
    notifications: int = 0
    escalated: int = 0
    raced: int = 0
    failed: int = 0
    seconds: float = 0.0


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)

    def warned(self, threshold: Threshold, notifications: int) -> None:
        self.counts["clocks"] += 1
        self.counts[threshold.value] += 1
        self.counts["notifications"] += notifications

    def outcome(self, seconds: float) -> SweepOutcome:
        n = self.counts
        return SweepOutcome(
            clocks=n["clocks"],
            due_soon=n[Threshold.DUE_SOON.value],
            breached=n[Threshold.BREACHED.value],
            notifications=n["notifications"],
            escalated=n["escalated"],
            raced=n["raced"],
            failed=n["failed"],
            seconds=seconds,
        )


def sweep(kit: CaseKit, *, now: datetime | None = None, limit: int | None = None) -> SweepOutcome:
    """Write every service-level warning due at ``now`` (the kit's clock by default).

    ``limit`` stops after that many clocks (None: all that are due). Returns
    what was done (:class:`SweepOutcome`).
    """
    started = time.perf_counter()
    at = now or kit.clock.now()
    tally = _Tally()
    skip: set[int] = set()  # escalations that failed in this sweep
    handled = 0
    while limit is None or handled < limit:
        size = BATCH if limit is None else min(BATCH, limit - handled)
        claimed, escalations = _batch(kit, at, size, skip, tally)
        if not claimed:
            break
        handled += claimed
        for row in escalations:
            try:
                _escalate(kit, row, at, tally)
            except Exception:
                log.exception(
                    "casekit: the escalation of clock %s (case %s) failed; the next sweep "
                    "tries again",
                    row["id"],
                    row["number"],
                )
                skip.add(row["id"])
                tally.counts["failed"] += 1
    outcome = tally.outcome(time.perf_counter() - started)
    if outcome.clocks or outcome.raced or outcome.failed:
        log.info(
            "casekit: service-level sweep: %d warning(s) of %d clock(s) written, "
            "%d escalated, %d raced, %d failed",
            outcome.notifications,
            outcome.clocks,
            outcome.escalated,
            outcome.raced,
            outcome.failed,
        )
    return outcome


# -- the batch ------------------------------------------------------------------------


def _claim(
    conn: Connection, now: datetime, size: int, skip: Collection[int]
) -> list[dict[str, Any]]:
    """Up to ``size`` running clocks whose next warning is due, each with its case's
    parties and owners; locked with their cases' rows where the database can skip
    locked rows."""
    stmt = (
        select(
            k.id,
            k.case_id,
            k.org_id,
            k.side,
            k.kind,
            k.target_id,
            k.due_at,
            k.warn_at,
            k.warned_at,
            k.breach_warned_at,
            c.number,
            c.shipper_org_id,
            c.carrier_org_id,
            c.shipper_owner_id,
            c.carrier_owner_id,
        )
        .select_from(tables.clocks.join(tables.cases, c.id == k.case_id))
        .where(k.next_alert_at <= now, k.state == _RUNNING)
        .order_by(k.next_alert_at, k.id)
        .limit(size)
    )
    if skip:
        stmt = stmt.where(k.id.not_in(sorted(skip)))
    locking = Worker._locking(conn.dialect)
    if locking is not None:
        stmt = stmt.with_for_update(skip_locked=locking)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def _state(row: Mapping[str, Any]) -> AlertState:
    return AlertState(row["due_at"], row["warn_at"], row["warned_at"], row["breach_warned_at"])


def _escalation(conn: Connection, target_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The escalation of each target that has one, by target id."""
    if not target_ids:
        return {}
    rows = conn.execute(select(_t.id, _t.escalation).where(_t.id.in_(sorted(target_ids))))
    found = {}
    for target_id, escalation in rows:
        value = json.loads(escalation or "{}")
        if value.get("watchers") or value.get("hand_over_to") is not None:
            found[target_id] = value
    return found


def _batch(
    kit: CaseKit, now: datetime, size: int, skip: Collection[int], tally: _Tally
) -> tuple[int, list[dict[str, Any]]]:
    """Claim and warn one batch in one transaction; returns how many clocks were
    claimed, and the breaches that escalate (each warned in a change of its own)."""
    with kit.sessions(write=True) as session:
        conn = session.connection()
        claimed = _claim(conn, now, size, skip)
        if not claimed:
            return 0, []
        due = [(row, due_warning(_state(row), now)) for row in claimed]
        # A clock whose next_alert_at is stale owes nothing now: moved to what it owes.
        stale = [row for row, threshold in due if threshold is None]
        breaches = {row["target_id"] for row, t in due if t is Threshold.BREACHED}
        escalating = _escalation(conn, breaches)
        escalations = [
            row
            for row, threshold in due
            if threshold is Threshold.BREACHED and row["target_id"] in escalating
        ]
        escalating_ids = {row["id"] for row in escalations}
        warned = [
            (row, threshold)
            for row, threshold in due
            if threshold is not None and row["id"] not in escalating_ids
        ]
        for row in stale:
            conn.execute(
                update(tables.clocks)
                .where(k.id == row["id"])
                .values(next_alert_at=next_alert(_state(row)))
            )
        if not mark_warned(conn, [(row["id"], t) for row, t in warned], now):
            session.rollback()
            tally.counts["raced"] += len(warned)
            return len(claimed), escalations
        people = read_people(conn, [row for row, _ in warned])
        rows = []
        for row, threshold in warned:
            chosen = warning_recipients(threshold, people[row["id"]])
            if not chosen:
                log.warning(
                    "casekit: case %s: the %s warning of the %s's %s clock reaches nobody "
                    "(no owner, collaborator address or manager who hears it)",
                    row["number"],
                    threshold.value,
                    row["side"],
                    row["kind"],
                )
            rows += [warning_row(row, r, now) for r in chosen]
            tally.warned(threshold, len(chosen))
        written = write_outbox(conn, rows)
        session.commit()
    announce(kit, written)
    return len(claimed), escalations


def mark_warned(
    conn: Connection,
    warned: Sequence[tuple[int, Threshold]],
    now: datetime,
    table: Table = tables.clocks,
) -> bool:
    """Mark each clock's warning sent, if it still was not (compare-and-set), and move
    its ``next_alert_at`` on; False when any was marked meanwhile (nothing is kept then:
    the caller rolls back). ``table``: the clocks' table (``casekit_clocks``, or the
    claims' ``casekit_claim_clocks``, which has the same warning columns)."""
    k = table.c
    soon = [i for i, t in warned if t is Threshold.DUE_SOON]
    breached = [i for i, t in warned if t is Threshold.BREACHED]
    if soon:
        done = conn.execute(
            update(table)
            .where(k.id.in_(soon), k.warned_at.is_(None), k.state == _RUNNING)
            .values(warned_at=now, next_alert_at=k.due_at)
        )
        if done.rowcount != len(soon):
            return False
    if breached:
        done = conn.execute(
            update(table)
            .where(k.id.in_(breached), k.breach_warned_at.is_(None), k.state == _RUNNING)
            .values(
                breach_warned_at=now,
                warned_at=func.coalesce(k.warned_at, now),
                next_alert_at=null(),
            )
        )
        if done.rowcount != len(breached):
            return False
    return True


# -- who hears it ---------------------------------------------------------------------


def _user(row: Any) -> UserInfo:
    return UserInfo(row.id, row.org_id, row.email, row.name, UserRole(row.role), bool(row.active))


def _owner_id(row: Mapping[str, Any]) -> int | None:
    owner: int | None = row[f"{Side(row['side']).value}_owner_id"]
    return owner


def read_people(
    conn: Connection,
    clocks: Sequence[Mapping[str, Any]],
    escalated: Mapping[int, Sequence[int]] | None = None,
) -> dict[int, SidePeople]:
    """The people of each clock's side (by clock id), read for all ``clocks`` at once:
    the owners, the pairs' collaborator addresses and the managers of the sides that
    need them, the subscriptions to the warnings and the unsubscriptions.
    ``escalated``: the users a breach's escalation adds, by clock id."""
    if not clocks:
        return {}
    extra = escalated or {}
    wanted = {i for row in clocks if (i := _owner_id(row)) is not None}
    wanted.update(i for ids in extra.values() for i in ids)
    users = {
        row.id: _user(row)
        for row in conn.execute(
            select(u.id, u.org_id, u.email, u.name, u.role, u.active).where(
                u.id.in_(sorted(wanted))
            )
        )
    }

    def owner_of(row: Mapping[str, Any]) -> UserInfo | None:
        owner = _owner_id(row)
        found = users.get(owner) if owner is not None else None
        return found if found is not None and found.active else None

    ownerless = [row for row in clocks if owner_of(row) is None]
    addresses: dict[tuple[int, int, str], str] = {}
    paired = [row for row in ownerless if row["carrier_org_id"] is not None]
    if paired:
        stmt = select(_ca.shipper_org_id, _ca.carrier_org_id, _ca.side, _ca.email).where(
            _ca.shipper_org_id.in_(sorted({r["shipper_org_id"] for r in paired})),
            _ca.carrier_org_id.in_(sorted({r["carrier_org_id"] for r in paired})),
        )
        for shipper, carrier, side, email in conn.execute(stmt):
            addresses[(shipper, carrier, Side(side).value)] = email

    def address_of(row: Mapping[str, Any]) -> str | None:
        if row["carrier_org_id"] is None:
            return None
        key = (row["shipper_org_id"], row["carrier_org_id"], Side(row["side"]).value)
        return addresses.get(key)

    leaderless = {row["org_id"] for row in ownerless if address_of(row) is None}
    managers: dict[int, list[UserInfo]] = defaultdict(list)
    if leaderless:
        stmt = (
            select(u.id, u.org_id, u.email, u.name, u.role, u.active)
            .where(
                u.org_id.in_(sorted(leaderless)),
                u.role != UserRole.AGENT.value,
                u.active.is_(True),
            )
            .order_by(u.id)
        )
        for found in conn.execute(stmt):
            info = _user(found)
            users.setdefault(info.id, info)
            managers[info.org_id].append(info)
    subscriptions: dict[tuple[int, str], bool] = {}
    if users:
        stmt = select(_s.user_id, _s.event, _s.enabled).where(
            _s.user_id.in_(sorted(users)), _s.event.in_(_EVENTS)
        )
        subscriptions = {(r.user_id, r.event): bool(r.enabled) for r in conn.execute(stmt)}
    unsubscribed: dict[int, set[str]] = defaultdict(set)
    by_shipper: dict[int, set[str]] = defaultdict(set)
    unsubscriptions = select(_un.case_id, _un.org_id, _un.recipient).where(
        or_(
            _un.case_id.in_(sorted({r["case_id"] for r in clocks})),
            and_(
                _un.case_id.is_(None),
                _un.org_id.in_(sorted({r["shipper_org_id"] for r in clocks})),
            ),
        )
    )
    for case_id, org_id, recipient in conn.execute(unsubscriptions):
        if case_id is not None:
            unsubscribed[case_id].add(recipient.lower())
        else:
            by_shipper[org_id].add(recipient.lower())
    people = {}
    for row in clocks:
        people[row["id"]] = SidePeople(
            org_id=row["org_id"],
            owner=owner_of(row),
            address=address_of(row),
            managers=managers.get(row["org_id"], ()),
            escalated=[users[i] for i in extra.get(row["id"], ()) if i in users],
            subscriptions=subscriptions,
            unsubscribed=frozenset(
                unsubscribed.get(row["case_id"], set())
                | by_shipper.get(row["shipper_org_id"], set())
            ),
        )
    return people


# -- the outbox -------------------------------------------------------------------------


def sla_actor(org_id: int) -> Actor:
    """The system actor of one side's service levels (who escalates, who warns)."""
    return Actor.system_actor(SystemName.SLA, org_id=org_id)


def warning_row(clock: Mapping[str, Any], recipient: Recipient, now: datetime) -> dict[str, Any]:
    """The outbox row of one warning: ``old_value`` is the clock's kind, ``new_value``
    its due time (ISO 8601, UTC), which the mail shows in the clock's time zone."""
    due_at: datetime = clock["due_at"]
    return {
        "case_id": clock["case_id"],
        "entry_id": None,
        "event": recipient.event.value,
        "template": recipient.event.value,
        "recipient_kind": recipient.kind.value,
        "user_id": recipient.user_id,
        "customer_id": None,
        "email": recipient.email,
        "name": recipient.name,
        "org_id": clock["org_id"],
        "author_org_id": clock["org_id"],
        "actor": sla_actor(clock["org_id"]).describe(),
        "old_value": clock["kind"],
        "new_value": due_at.isoformat(),
        "status": QUEUED,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def write_outbox(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert ``rows``; with a receiver of ``notification_queued``, one at a time
    (for their ids), and return them to announce after the commit."""
    if not rows:
        return []
    if not signals.notification_queued.receivers:
        conn.execute(insert(tables.outbox), rows)
        return []
    for row in rows:
        result = conn.execute(insert(tables.outbox), row)
        row["id"] = int(result.inserted_primary_key[0])  # type: ignore[index]
    return rows


def announce(kit: CaseKit, rows: Sequence[dict[str, Any]]) -> None:
    """Send ``notification_queued`` for each written warning, with the host's view
    of its case and the side's service-level actor."""
    if not rows:
        return
    from casekit.query.scoped import Scope
    from casekit.store.rows import load_cases, select_cases

    sender = kit._unbound or kit
    with kit.sessions(write=False) as session:
        found = load_cases(
            session.connection(),
            select_cases(c.id.in_(sorted({r["case_id"] for r in rows}))),
        )
        views = Scope(session, Actor.host()).views(found)
    by_id = {view.id: view for view in views}
    for row in rows:
        signals.send(
            signals.notification_queued,
            sender,
            case=by_id.get(row["case_id"]),
            actor=sla_actor(row["org_id"]),
            notification=delivery_view(row, ()),
        )


# -- escalation -------------------------------------------------------------------------


def _escalate(kit: CaseKit, clock: dict[str, Any], now: datetime, tally: _Tally) -> None:
    """Warn of one breach whose target escalates, and escalate, in one change of the
    case: the breach is marked (compare-and-set), the watchers added and the side's
    owner slot handed over as the side's ``sla`` system actor, the warnings written."""
    from casekit.query.scoped import Scope
    from casekit.services.base import Edit

    side = Side(clock["side"])
    org_id: int = clock["org_id"]
    actor = sla_actor(org_id)
    written: list[dict[str, Any]] = []
    with UnitOfWork(kit.sessions) as uow:
        case = Scope(uow.session, actor).case(clock["number"], lock=True)
        conn = uow.connection()
        done = conn.execute(
            update(tables.clocks)
            .where(
                k.id == clock["id"],
                k.breach_warned_at.is_(None),
                k.state == _RUNNING,
                k.due_at <= now,
            )
            .values(
                breach_warned_at=now,
                warned_at=func.coalesce(k.warned_at, now),
                next_alert_at=null(),
            )
        )
        if done.rowcount != 1:
            tally.counts["raced"] += 1
            return  # warned meanwhile: rolled back
        escalation = _escalation(conn, [clock["target_id"]]).get(clock["target_id"], {})
        edit = Edit(kit, uow, actor, case, now)
        # Who hears the breach: the side's people as they were, and whom it adds.
        clock = {**clock, f"{side.value}_owner_id": case.owner_of(side)}
        added = _escalate_case(edit, side, org_id, escalation)
        people = read_people(conn, [clock], {clock["id"]: added})[clock["id"]]
        chosen = warning_recipients(Threshold.BREACHED, people)
        written = write_outbox(conn, [warning_row(clock, r, now) for r in chosen])
        tally.warned(Threshold.BREACHED, len(chosen))
        tally.counts["escalated"] += 1
        edit.finish(view=False)
    announce(kit, written)


def _escalate_case(edit: Any, side: Side, org_id: int, escalation: Mapping[str, Any]) -> list[int]:
    """Add the escalation's watchers and hand the side's owner slot over, each an
    audited event internal to the side; returns the users it added (an inactive
    user, or one of another organization now, is passed over and logged)."""
    case: Case = edit.case
    added: list[int] = []
    for user_id in escalation.get("watchers") or ():
        try:
            edit.scope.colleague(org_id, user_id)
        except NotFound:
            log.warning(
                "casekit: case %s: escalation watcher %s is not an active user of organization "
                "%s; passed over",
                case.number,
                user_id,
                org_id,
            )
            continue
        added.append(user_id)
        if edit.scope.is_watching(case, user_id) is not None:
            continue
        edit.uow.session.add(Watcher(case_id=case.id, user_id=user_id, created_at=edit.now))  # type: ignore[arg-type]
        case.touch(edit.now)
        edit.event(EventKind.WATCHER_ADDED, new=user_id, audience=Audience.INTERNAL, org_id=org_id)
        edit.emit(signals.watcher_changed, user_id=user_id, watching=True)
        edit.emit(signals.case_updated, change=EventKind.WATCHER_ADDED)
    new_owner = escalation.get("hand_over_to")
    if new_owner is not None:
        try:
            edit.scope.colleague(org_id, new_owner)
        except NotFound:
            log.warning(
                "casekit: case %s: escalation hands over to user %s, not an active user of "
                "organization %s; the owner stays",
                case.number,
                new_owner,
                org_id,
            )
        else:
            added.append(new_owner)
            old = case.owner_of(side)
            if old != new_owner:
                case.set_owner(side, new_owner)
                case.touch(edit.now)
                edit.event(
                    EventKind.OWNER_CHANGED,
                    old=old,
                    new=new_owner,
                    audience=Audience.INTERNAL,
                    org_id=org_id,
                )
                edit.emit(signals.owner_changed, side=side, old=old, new=new_owner)
                edit.emit(signals.case_updated, change=EventKind.OWNER_CHANGED)
    return added


__all__ = [
    "BATCH",
    "SweepOutcome",
    "announce",
    "mark_warned",
    "read_people",
    "sweep",
    "warning_row",
    "write_outbox",
]
