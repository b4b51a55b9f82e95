"""Statuses, their categories, and the moves between them.

============== ========== ====================================================
status         category   reached by
============== ========== ====================================================
new            active     opening a case (its opening message moves nothing)
open           active     a staff message for partners on a new case; a manual
                          change; reopening
reply_received active     a customer's message (on any status, solved included)
waiting        active     a staff message to the customer (audience customer
                          or everyone), from any active status, new included
solved         solved     solving, by any party; records who and when
============== ========== ====================================================

A staff message on a solved case never reopens it: the parties have agreed it
is done. A customer's message does, because the customer is waiting again.
Internal notes never move the status. Any active status may be changed to any
other status by hand except back to ``new``; the carrier's staff, who do not
talk with the shipper's customer, may choose ``open`` and ``solved`` only.

Each side keeps its own status. ``status`` is the shipper's (and the
customer's); ``carrier_status`` is the carrier's, which never is
``reply_received`` or ``waiting`` (those are about the shipper's conversation
with its customer, which the carrier does not read: :func:`status_for_carrier`):

================================== =========== ===============================
what happens                       ``status``  ``carrier_status``
================================== =========== ===============================
a change by hand, by either side   moves       moves alike
solving (by hand or by a rule)     moves       moves alike
a message for partners or everyone moves       becomes ``status`` as it sees it
a message for ``customer``         moves       stays
an internal note                   stays       stays
================================== =========== ===============================

So a carrier that sees a case solved keeps seeing it solved while the
shipper and its customer talk (the customer's message reopens it for the
shipper only), and a new case stays new for it; a later message the carrier
reads, or a change by hand, brings both sides together again. While a case
has no carrier, the carrier's status follows the shipper's as the carrier
would see it, so that a carrier linked later starts from where the case is.
A move of the carrier's status is on the carrier's timeline only; a move of
both sides alike is one event for everyone (:func:`status_moves`).
"""

from __future__ import annotations

import enum

from attrs import frozen

from casekit.domain.audience import Audience
from casekit.labels import VOCABULARIES

STATUS_WORDS = VOCABULARIES["status"]


class Category(enum.StrEnum):
    ACTIVE = "active"
    SOLVED = "solved"


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    REPLY_RECEIVED = "reply_received"
    WAITING = "waiting"
    SOLVED = "solved"

    @property
    def category(self) -> Category:
        return Category.SOLVED if self is Status.SOLVED else Category.ACTIVE

    @property
    def is_active(self) -> bool:
        return self is not Status.SOLVED

    @property
    def label(self) -> str:
        """The status in casekit's words (:mod:`casekit.labels`): "Reply received"."""
        return STATUS_WORDS[self.value]


ACTIVE_STATUSES = frozenset(s for s in Status if s.is_active)


def status_after_message(current: Status, *, by_customer: bool, audience: Audience) -> Status:
    """The status a case moves to when a message is posted on it."""
    if by_customer:
        return Status.REPLY_RECEIVED
    if audience is Audience.INTERNAL or current is Status.SOLVED:
        return current
    if audience.reaches_customer:
        return Status.WAITING
    if current is Status.NEW:
        return Status.OPEN
    return current


def can_set_status(current: Status, target: Status) -> bool:
    """Whether a person may move a case from ``current`` to ``target`` by hand."""
    return target is not current and target is not Status.NEW


#: The statuses of the shipper's conversation with its customer.
CUSTOMER_STATUSES = frozenset({Status.REPLY_RECEIVED, Status.WAITING})


def status_for_carrier(status: Status) -> Status:
    """``status`` as the case's carrier sees it: the statuses of the shipper's
    conversation with its customer are ``open`` to it."""
    return Status.OPEN if status in CUSTOMER_STATUSES else status


def carrier_status_after(carrier: Status, status: Status, *, carrier_reads: bool) -> Status:
    """The carrier's status once the shipper's has become ``status``: that
    status as the carrier sees it when the carrier reads the change (a manual
    change, a message for partners or everyone, a case without a carrier),
    otherwise unchanged (the shipper's conversation with its customer)."""
    return status_for_carrier(status) if carrier_reads else carrier


@frozen
class StatusMove:
    """One status move as the timeline records it.

    ``carrier`` says it is the carrier's own move, recorded for the carrier's
    staff only; otherwise it is the shipper's, read by ``audience``:
    ``everyone`` when the carrier's status moved alike, ``customer`` (the
    shipper and its customer) when the carrier's did not move.
    """

    old: Status
    new: Status
    audience: Audience
    carrier: bool = False

    SOLVED = "solved"
    REOPENED = "reopened"
    CHANGED = "status_changed"

    @property
    def kind(self) -> str:
        """``solved``, ``reopened`` or ``status_changed``: the event that records it."""
        if self.new is Status.SOLVED:
            return self.SOLVED
        if self.old is Status.SOLVED:
            return self.REOPENED
        return self.CHANGED


def status_moves(
    old: Status, new: Status, carrier_old: Status, carrier_new: Status
) -> tuple[StatusMove, ...]:
    """The events of a change that moved the shipper's status from ``old`` to
    ``new`` and the carrier's from ``carrier_old`` to ``carrier_new``."""
    moves: list[StatusMove] = []
    carrier_moved = carrier_old is not carrier_new
    alike = (
        carrier_moved
        and carrier_old is status_for_carrier(old)
        and carrier_new is status_for_carrier(new)
    )
    if old is not new:
        moves.append(StatusMove(old, new, Audience.EVERYONE if alike else Audience.CUSTOMER))
    if carrier_moved and not alike:
        moves.append(StatusMove(carrier_old, carrier_new, Audience.INTERNAL, carrier=True))
    return tuple(moves)


def status_value_for_carrier(value: str | None) -> str | None:
    """A stored status value (an event's or a notification's old or new value)
    as the case's carrier reads it; anything that is no status stays as it is."""
    if value is None or value not in _VALUES:
        return value
    return status_for_carrier(Status(value)).value


_VALUES = frozenset(status.value for status in Status)


def carrier_may_set(target: Status) -> bool:
    """Whether the carrier's staff may move a case to ``target`` by hand."""
    return target not in CUSTOMER_STATUSES
