"""Statuses, their categories, and the moves between them.

============== ========== ====================================================
status         category   reached by
============== ========== ====================================================
new            active     opening a case (its opening message moves nothing)
open           active     a staff message for partners on a new case; a manual
                          change; reopening
reply_received active     a customer's message (on any status, solved included)
waiting        active     a staff message to the customer (audience everyone),
                          from any active status, new included
solved         solved     solving, by any party; records who and when
============== ========== ====================================================

A staff message on a solved case never reopens it: the parties have agreed it
is done. A customer's message does, because the customer is waiting again.
Internal notes never move the status. Any active status may be changed to any
other status by hand except back to ``new``.
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
    if audience is Audience.EVERYONE:
        return Status.WAITING
    if current is Status.NEW:
        return Status.OPEN
    return current


def can_set_status(current: Status, target: Status) -> bool:
    """Whether a person may move a case from ``current`` to ``target`` by hand."""
    return target is not current and target is not Status.NEW
