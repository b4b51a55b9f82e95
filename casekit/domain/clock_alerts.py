"""Warnings of service-level clocks: which is due, and who hears it, pure.

A running clock (:mod:`casekit.domain.sla`) owes two warnings: **due soon**
when its warning time comes (``warn_before`` ahead of its due time) and
**breached** when its due time passes. Each is sent once per clock and
round: the clock row remembers it (``warned_at``, ``breach_warned_at``),
and a recompute keeps that unless a new round starts (a next-response
clock's next message to answer). A clock found already past its due time
gets the breach warning only: its due-soon warning is marked as spent.

A warning goes to the people of the clock's side only: its owner; with no
owner (or one deactivated), the side's collaborator email address for the
case's pair; with neither, the side's managers. A breach that escalates
(:attr:`casekit.domain.sla.Target.escalation`) also tells the watchers it
adds and the user it hands the case over to. A user's subscription to the
warning's event and an unsubscribed recipient are respected as for every
notification (:mod:`casekit.domain.notify`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from attrs import field, frozen

from casekit.domain.audience import Audience
from casekit.domain.notify import (
    Happening,
    NotifyEvent,
    Recipient,
    RecipientKind,
    UserInfo,
    default_subscription,
)


class Threshold(enum.StrEnum):
    """Which of a clock's two warnings."""

    DUE_SOON = "due_soon"
    BREACHED = "breached"

    @property
    def event(self) -> NotifyEvent:
        return (
            NotifyEvent.CLOCK_DUE_SOON if self is Threshold.DUE_SOON else NotifyEvent.CLOCK_BREACHED
        )


@frozen
class AlertState:
    """What a clock row says about its warnings."""

    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    breach_warned_at: datetime | None


def due_warning(clock: AlertState, now: datetime) -> Threshold | None:
    """The warning ``clock`` owes at ``now``, or None.

    The breach warning once its due time has passed, else the due-soon
    warning once its warning time has come (and is before its due time);
    nothing more once the breach was warned (a target moved later since
    warns no one again).
    """
    due_at, warn_at = clock.due_at, clock.warn_at
    if due_at is None or clock.breach_warned_at is not None:
        return None
    if due_at <= now:
        return Threshold.BREACHED
    if clock.warned_at is None and warn_at is not None and warn_at < due_at and warn_at <= now:
        return Threshold.DUE_SOON
    return None


def next_alert(clock: AlertState) -> datetime | None:
    """The earliest warning ``clock`` still owes (the sweep's ``next_alert_at``):
    its warning time, then its due time; None when both are spent.

    The same rule as :func:`casekit.store.clocks.recompute` keeps for a running clock.
    """
    due_at, warn_at = clock.due_at, clock.warn_at
    if due_at is None or clock.breach_warned_at is not None:
        return None  # a breach warned spends the due-soon warning too
    if clock.warned_at is None and warn_at is not None and warn_at < due_at:
        return warn_at
    return due_at


@frozen
class SidePeople:
    """The people of one side of one case a warning may reach.

    ``owner`` is the side's owner (None: the slot is empty); ``address`` the
    side's collaborator address for the case's pair; ``managers`` the side's
    active managers and admins; ``escalated`` the users a breach's
    escalation adds (the watchers, the user it hands over to).
    """

    org_id: int
    owner: UserInfo | None = None
    address: str | None = None
    managers: Sequence[UserInfo] = ()
    escalated: Sequence[UserInfo] = ()
    #: explicit subscriptions: (user_id, event) -> on/off.
    subscriptions: Mapping[tuple[int, str], bool] = field(factory=dict)
    #: the keys (:attr:`Recipient.key`, lower case) of those who unsubscribed from the case.
    unsubscribed: frozenset[str] = frozenset()


def _subscribed(people: SidePeople, user: UserInfo, event: NotifyEvent) -> bool:
    chosen = people.subscriptions.get((user.id, event.value))
    return default_subscription(event, user.role) if chosen is None else chosen


def primary(people: SidePeople) -> tuple[RecipientKind, Sequence[UserInfo], str | None]:
    """Whom a side's warning is for: its owner; else its collaborator address; else its
    managers. Returns the kind and the users (or the address)."""
    owner = people.owner
    if owner is not None and owner.active:
        return RecipientKind.USER, (owner,), None
    if people.address:
        return RecipientKind.ADDRESS, (), people.address
    return RecipientKind.USER, tuple(m for m in people.managers if m.active), None


def warning_recipients(threshold: Threshold, people: SidePeople) -> list[Recipient]:
    """One recipient per person for ``threshold``'s warning of a clock of ``people``'s side."""
    event = threshold.event
    happening = Happening(event, audience=Audience.INTERNAL, author_org_id=people.org_id)
    kind, users, address = primary(people)
    chosen: list[Recipient] = []
    seen: set[str] = set()

    def add(recipient: Recipient) -> None:
        email = recipient.email.lower()
        if recipient.key in seen or email in seen or recipient.key.lower() in people.unsubscribed:
            return
        seen.update({recipient.key, email})
        chosen.append(recipient)

    if kind is RecipientKind.ADDRESS and address:
        add(Recipient(RecipientKind.ADDRESS, address, "", event, happening, people.org_id))
    extra: Iterable[UserInfo] = people.escalated if threshold is Threshold.BREACHED else ()
    for user in (*users, *extra):
        if user.active and user.org_id == people.org_id and _subscribed(people, user, event):
            add(
                Recipient(
                    RecipientKind.USER,
                    user.email,
                    user.name,
                    event,
                    happening,
                    people.org_id,
                    user_id=user.id,
                )
            )
    return chosen


__all__ = [
    "AlertState",
    "SidePeople",
    "Threshold",
    "due_warning",
    "next_alert",
    "primary",
    "warning_recipients",
]
