"""Service levels: targets, and the clocks that count working time toward them.

A **target** is an organization's promise for the cases that meet its
conditions: answer first within so much working time, answer each new
message of the other side within so much, solve within so much. An
organization's targets are tried in order; the first whose conditions a case
meets applies to that organization's side of the case.

A **clock** is one side's count of working time toward one of those times on
one case (:class:`ClockKind`). Clocks are not kept by adding up moments as
they pass: :func:`replay` computes them from the case's timeline (what
:class:`Happening` lists) and the side's calendar, so an entry that arrives
late, a target or a calendar that changes, gives the same clocks as if it
had always been so.

================= ============================= ==================================
clock             runs from                     stops at
================= ============================= ==================================
first_response    the side joined the case      the side's first response, or
                  (opening; a carrier named     the side's solving
                  later: when it was named)
next_response     the other side's message      the side's next response, or the
                  that waits for an answer,     side's solving
                  once the side has answered
                  once
resolution        the side joined the case      the side's solving; reopening
                                                runs it on from where it stopped
================= ============================= ==================================

A **response** of a side is a message of its organization that another party
reads (an internal note answers nobody; the message that opens a case
answers nobody); a message **of the other side** is one the side reads whose
author is not of its organization (the other party, the customer, the host).
With ``pause_when_waiting`` the resolution clock stops counting while the
side waits on another party: while its status is ``waiting`` (the shipper
waits on its customer) or while its own latest response is later than the
latest message of the other side.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from attrs import define, field, frozen

from casekit.domain.case import Side
from casekit.domain.workflow import Status


class ClockKind(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ClockKind.FIRST_RESPONSE: "First response",
    ClockKind.NEXT_RESPONSE: "Next response",
    ClockKind.RESOLUTION: "Resolution",
}


class ClockState(enum.StrEnum):
    """Where a clock stands: stored (``running``, ``paused``, ``stopped``)."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class DueState(enum.StrEnum):
    """How a clock reads at a moment, in the words of the lists and the case page."""

    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"

    @property
    def label(self) -> str:
        return _DUE_LABELS[self]


_DUE_LABELS = {
    DueState.ON_TRACK: "On track",
    DueState.DUE_SOON: "Due soon",
    DueState.BREACHED: "Breached",
    DueState.PAUSED: "Paused",
    DueState.MET: "Met",
}


def due_state(
    due_at: datetime | None,
    warn_at: datetime | None,
    now: datetime,
    *,
    state: ClockState = ClockState.RUNNING,
    breached: bool = False,
) -> DueState:
    """How a clock with ``due_at`` and ``warn_at`` reads at ``now``.

    A clock is breached once its due time has passed: an answer at the due
    time itself is in time.
    """
    if state is ClockState.STOPPED:
        return DueState.BREACHED if breached else DueState.MET
    if state is ClockState.PAUSED or due_at is None:
        return DueState.BREACHED if breached else DueState.PAUSED
    if due_at < now:
        return DueState.BREACHED
    if warn_at is not None and warn_at <= now:
        return DueState.DUE_SOON
    return DueState.ON_TRACK


class WorkingTime(Protocol):
    """What the clocks need of a calendar (:class:`casekit.domain.calendar.BusinessCalendar`)."""

    def working_seconds(self, start: datetime, end: datetime) -> float: ...

    def add(self, start: datetime, seconds: float) -> datetime: ...


#: The conditions a target may set, each a list of values the case's must be among.
CONDITION_FIELDS: tuple[str, ...] = ("types", "partners", "brands", "modes", "sources", "segments")


@frozen
class TargetFacts:
    """What a target's conditions test, as one side sees the case."""

    type: str
    partner_org_id: int | None
    brand: str | None
    mode: str | None
    source: str
    segment: str | None

    def value(self, condition: str) -> Any:
        return {
            "types": self.type,
            "partners": self.partner_org_id,
            "brands": self.brand,
            "modes": self.mode,
            "sources": self.source,
            "segments": self.segment,
        }[condition]


@define(slots=False, eq=False)
class Target:
    """An organization's service level for the cases that meet ``conditions``.

    ``conditions`` maps a name of :data:`CONDITION_FIELDS` to the values the
    case's must be among (a missing or empty list: any). Times are working
    seconds of the calendar that applies; a time left None has no clock.
    ``warn_before_seconds`` is how long before a breach (in working time) the
    owner is warned. ``escalation`` says what a breach does besides warning:
    ``{"watchers": [user ids], "hand_over_to": user id}``.
    """

    org_id: int
    name: str
    position: int
    updated_at: datetime
    updated_by: str
    conditions: dict[str, list[Any]] = field(factory=dict)
    first_response_seconds: int | None = None
    next_response_seconds: int | None = None
    resolution_seconds: int | None = None
    pause_when_waiting: bool = False
    warn_before_seconds: int = 3600
    escalation: dict[str, Any] = field(factory=dict)
    enabled: bool = True
    id: int | None = field(default=None, kw_only=True)

    def matches(self, facts: TargetFacts) -> bool:
        """Whether a case with ``facts`` meets every condition."""
        for name in CONDITION_FIELDS:
            wanted = self.conditions.get(name)
            if wanted and facts.value(name) not in wanted:
                return False
        return True

    def seconds(self, kind: ClockKind) -> int | None:
        return {
            ClockKind.FIRST_RESPONSE: self.first_response_seconds,
            ClockKind.NEXT_RESPONSE: self.next_response_seconds,
            ClockKind.RESOLUTION: self.resolution_seconds,
        }[kind]


def target_for(targets: Iterable[Target], facts: TargetFacts) -> Target | None:
    """The first enabled target (by position) whose conditions ``facts`` meet."""
    for target in sorted(targets, key=lambda t: (t.position, t.id or 0)):
        if target.enabled and target.matches(facts):
            return target
    return None


class Happening(enum.Enum):
    """What moves one side's clocks, read off the timeline."""

    RESPONSE = "response"  # a message of the side that another party reads
    INCOMING = "incoming"  # a message the side reads, not of its organization
    STATUS = "status"  # the side's status became ``status``


@frozen
class Point:
    """One happening on one side's timeline."""

    at: datetime
    what: Happening
    status: Status | None = None


@frozen
class Clock:
    """One clock as :func:`replay` computes it at ``now``.

    ``due_at`` and ``warn_at`` are set while it runs: when it breaches (or
    breached) and when its warning is due, were it to run on without pause.
    ``breached_at`` is when it went past its target (None: it has not).
    ``elapsed_seconds`` is the working time counted until it stopped, or
    until ``now``.
    """

    kind: ClockKind
    side: Side
    target_seconds: int
    warn_before_seconds: int
    state: ClockState
    started_at: datetime
    stopped_at: datetime | None
    elapsed_seconds: float
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None

    def reads(self, now: datetime) -> DueState:
        return due_state(
            self.due_at,
            self.warn_at,
            now,
            state=self.state,
            breached=self.breached_at is not None,
        )


class _Counter:
    """One clock counted through the side's timeline."""

    def __init__(
        self,
        kind: ClockKind,
        side: Side,
        target: int,
        warn_before: int,
        calendar: WorkingTime,
    ) -> None:
        self.kind = kind
        self.side = side
        self.target = target
        self.warn_before = min(warn_before, target)
        self.calendar = calendar
        self.started_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.running_since: datetime | None = None
        self.elapsed = 0.0
        self.breached_at: datetime | None = None
        self.warned_from: datetime | None = None

    def start(self, at: datetime, *, fresh: bool = False) -> None:
        """Run from ``at`` (``fresh``: a new round, counted from zero)."""
        if fresh:
            self.elapsed, self.breached_at, self.stopped_at = 0.0, None, None
            self.started_at = None
        if self.started_at is None:
            self.started_at = at
        self.stopped_at = None
        if self.running_since is None:
            self.running_since = at

    def pause(self, at: datetime) -> None:
        self._count(at)
        self.running_since = None

    def stop(self, at: datetime) -> None:
        if self.running_since is not None or self.stopped_at is None:
            self._count(at)
            self.running_since = None
            self.stopped_at = at

    def _count(self, until: datetime) -> None:
        since = self.running_since
        if since is None or until <= since:
            return
        seconds = self.calendar.working_seconds(since, until)
        if self.breached_at is None and self.elapsed + seconds > self.target:
            self.breached_at = self.calendar.add(since, self.target - self.elapsed)
        self.elapsed += seconds
        self.running_since = until

    def result(self, now: datetime) -> Clock | None:
        if self.started_at is None:
            return None
        running = self.running_since is not None
        due_at = warn_at = None
        if running:
            self._count(now)
            since = self.running_since or now
            if self.breached_at is not None:
                due_at = self.breached_at
            else:
                due_at = self.calendar.add(since, self.target - self.elapsed)
            warn_left = self.target - self.warn_before - self.elapsed
            warn_at = min(self.calendar.add(since, warn_left) if warn_left > 0 else since, due_at)
        state = (
            ClockState.RUNNING
            if running
            else ClockState.STOPPED
            if self.stopped_at is not None
            else ClockState.PAUSED
        )
        return Clock(
            kind=self.kind,
            side=self.side,
            target_seconds=self.target,
            warn_before_seconds=self.warn_before,
            state=state,
            started_at=self.started_at,
            stopped_at=self.stopped_at if state is ClockState.STOPPED else None,
            elapsed_seconds=self.elapsed,
            due_at=due_at,
            warn_at=warn_at,
            breached_at=self.breached_at,
        )


def replay(
    points: Sequence[Point],
    *,
    side: Side,
    joined_at: datetime,
    status: Status,
    target: Target,
    calendar: WorkingTime,
    now: datetime,
    opened_by_side: bool = False,
) -> list[Clock]:
    """The side's clocks at ``now`` toward ``target``, from its timeline.

    ``points`` are the side's happenings (in any order: they are sorted by
    time, responses before other happenings of the same moment); ``joined_at``
    is when the side joined the case and ``status`` its status then.
    Happenings before ``joined_at`` only set the status the side joins with.
    ``opened_by_side``: the side opened the case itself, so its opening
    message is its first word and it owes no first response.
    """
    counters: dict[ClockKind, _Counter] = {}
    for kind in ClockKind:
        seconds = target.seconds(kind)
        if seconds is not None:
            counters[kind] = _Counter(kind, side, seconds, target.warn_before_seconds, calendar)
    order = {Happening.STATUS: 0, Happening.RESPONSE: 1, Happening.INCOMING: 2}
    timeline = sorted(points, key=lambda p: (p.at, order[p.what]))

    first = counters.get(ClockKind.FIRST_RESPONSE)
    following = counters.get(ClockKind.NEXT_RESPONSE)
    resolution = counters.get(ClockKind.RESOLUTION)
    answered = opened_by_side  # the side has spoken to the others once
    waiting_for_answer = False  # a message of the other side waits for the side's answer
    last_response: datetime | None = None
    last_incoming: datetime | None = None

    for point in timeline:
        if point.at >= joined_at:
            break
        if point.what is Happening.STATUS and point.status is not None:
            status = point.status

    def solved() -> bool:
        return status is Status.SOLVED

    def paused() -> bool:
        if not target.pause_when_waiting:
            return False
        if status is Status.WAITING:
            return True
        return last_response is not None and (
            last_incoming is None or last_response > last_incoming
        )

    def move_resolution(at: datetime) -> None:
        if resolution is None:
            return
        if solved():
            resolution.stop(at)
        elif paused():
            if resolution.started_at is None or resolution.stopped_at is not None:
                resolution.start(at)  # not started yet, or reopened straight into waiting
            resolution.pause(at)
        else:
            resolution.start(at)

    if not solved() and not answered and first is not None:
        first.start(joined_at)
    move_resolution(joined_at)

    for point in timeline:
        at = point.at
        if at < joined_at:
            continue
        if point.what is Happening.STATUS and point.status is not None:
            status = point.status
            if solved():
                for counter in (first, following):
                    if counter is not None and counter.running_since is not None:
                        counter.stop(at)
                waiting_for_answer = False
            elif first is not None and not answered and first.running_since is None:
                first.start(at)  # reopened before any answer: the first answer is still owed
        elif point.what is Happening.RESPONSE:
            if at == joined_at:
                # the message that opens a case answers nobody
                continue
            last_response = at
            if not answered:
                answered = True
                if first is not None:
                    first.stop(at)
            if following is not None and following.running_since is not None:
                following.stop(at)
            waiting_for_answer = False
        elif point.what is Happening.INCOMING:
            last_incoming = at
            if answered and not waiting_for_answer and not solved():
                waiting_for_answer = True
                if following is not None:
                    following.start(at, fresh=True)
        move_resolution(at)

    return [clock for counter in counters.values() if (clock := counter.result(now)) is not None]


def earliest_due(clocks: Iterable[Clock]) -> tuple[datetime | None, datetime | None]:
    """The due time of the running clock due first, and the time its warning is due."""
    running = [c for c in clocks if c.state is ClockState.RUNNING and c.due_at is not None]
    if not running:
        return None, None
    first = min(running, key=lambda c: (c.due_at, c.kind.value))
    return first.due_at, first.warn_at


def conditions_from(data: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """The conditions of a target without the empty ones, in a stable order."""
    data = data or {}
    return {name: list(data[name]) for name in CONDITION_FIELDS if data.get(name)}
