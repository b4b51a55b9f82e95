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

``reply_received`` and ``waiting`` are about the shipper's conversation with
its customer, which the carrier does not read: the carrier sees both as
``open`` (:func:`status_for_carrier`), and a move between the statuses it
sees alike is not on its timeline.
"""

from __future__ import annotations

import enum

from casekit.domain.audience import Audience


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
        return self.value.replace("_", " ").capitalize()


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


def status_move_audience(old: Status, new: Status) -> Audience:
    """Who reads of a move from ``old`` to ``new``: a move the carrier sees as
    none (between statuses of the shipper's conversation with its customer)
    is for the shipper and the customer (``customer``); any other, everyone."""
    seen_alike = status_for_carrier(old) is status_for_carrier(new)
    return Audience.CUSTOMER if seen_alike else Audience.EVERYONE


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
