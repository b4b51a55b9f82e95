"""Service-level clocks as pages show them: due times in the clock's own time zone.

A due time is shown in the time zone of the calendar its clock counts in
(``ClockView.time_zone``, a list row's ``due_time_zone``), not the reader's:
a carrier in New York working 08:00-17:00 reads "Mon 7 Dec 11:55 EST"
wherever its dispatcher sits. Each state is written in words beside its
colour ("Due soon", "Breached"), never by colour alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from casekit.domain.sla import ClockKind, ClockState, DueState
from casekit.labels import label
from casekit.query.models import ClockView

MINUTE = 60
HOUR = 3600
DAY = 86400


def zoned(moment: datetime, zone: str | None) -> str:
    """``moment`` as "Mon 7 Dec 11:55 EST" in ``zone`` (an IANA name; UTC when unknown)."""
    day, time = _zoned_parts(moment, zone)
    return f"{day} {time}"


def _zoned_parts(moment: datetime, zone: str | None) -> tuple[str, str]:
    """The day ("Mon 7 Dec") and the time ("11:55 EST") of ``moment`` in ``zone``."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b}", f"{local:%H:%M} {local.tzname()}"


def span(seconds: float) -> str:
    """A length of time in few words: "2 d 19 h", "2 h 5 min", "5 min", "less than a minute"."""
    whole = int(abs(seconds))
    if whole < MINUTE:
        return "less than a minute"
    days, rest = divmod(whole, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // MINUTE
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _time(moment: datetime, zone: str | None) -> Markup:
    """A ``<time>`` the page's script leaves as it is (``data-style="zoned"``); a
    narrow column breaks it between the day and the time only."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    iso = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    day, time = _zoned_parts(moment, zone)
    return Markup(
        '<time datetime="{}" data-style="zoned"><span class="ck-nowrap">{}</span> '
        '<span class="ck-nowrap">{}</span></time>'
    ).format(iso, day, time)


def state_badge(state: DueState) -> Markup:
    """The state in words, styled by its class (``ck-due-<state>``)."""
    return Markup('<span class="ck-due-state ck-due-{}">{}</span>').format(state.value, state.label)


def due_cell(
    due_at: datetime | None, state: DueState | None, zone: str | None, now: datetime
) -> Markup:
    """The list's Due cell: the state and the due time, or a dash without a running clock."""
    if due_at is None or state is None:
        return Markup('<span class="ck-muted">—</span>')
    return Markup('{} {} <span class="ck-due-in">{}</span>').format(
        state_badge(state), _time(due_at, zone), relative(due_at, now)
    )


def relative(due_at: datetime, now: datetime) -> str:
    """ "in 2 h 5 min" before the due time, "3 h ago" after it."""
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    seconds = (due_at - now).total_seconds()
    if seconds > 0:
        return f"in {span(seconds)}"
    return "now" if seconds > -MINUTE else f"{span(seconds)} ago"


def clock_line(clock: ClockView, now: datetime, *, own: bool = True) -> Markup:
    """One clock on the case page, after its state badge.

    "First response due Mon 7 Dec 11:55 EST — in 2 h 5 min", "Resolution
    paused — 6 h 50 min of working time left", "First response met Mon 7 Dec
    10:05 EST". The other side's clocks (shown where that side shares them)
    name their side: "Carrier's first response ...".
    """
    kind = clock.kind.label if own else f"{label('side', clock.side)}'s {_lower(clock.kind)}"
    zone = clock.time_zone
    if clock.state is ClockState.RUNNING and clock.due_at is not None:
        if clock.due_state is DueState.BREACHED:
            return Markup("{} was due {} — breached {}").format(
                kind, _time(clock.due_at, zone), relative(clock.due_at, now)
            )
        return Markup("{} due {} — {}").format(
            kind, _time(clock.due_at, zone), relative(clock.due_at, now)
        )
    if clock.state is ClockState.STOPPED:
        ended = clock.stopped_at or now
        if clock.breached_at is not None:
            return Markup("{} breached at {}, ended {}").format(
                kind, _time(clock.breached_at, zone), _time(ended, zone)
            )
        return Markup("{} met {}").format(kind, _time(ended, zone))
    left = max(0, clock.target_seconds - clock.elapsed_seconds)
    if clock.breached_at is not None:
        return Markup("{} paused, breached at {}").format(kind, _time(clock.breached_at, zone))
    return Markup("{} paused — {} of working time left").format(kind, escape(span(left)))


def _lower(kind: ClockKind) -> str:
    label = kind.label
    return label[:1].lower() + label[1:]
