"""The customer's words: a status as the customer reads it, and a case's title in the portal.

Staff work with the workflow's statuses ("Waiting", "Reply Received"); a
customer reads what they mean for them. :data:`CUSTOMER_STATUS` maps each
status, as the customer sees it (the shipper's, :mod:`casekit.domain.workflow`),
to a short label and one sentence about what comes next:

====================== ======================== =============================================
status                 the customer reads       and
====================== ======================== =============================================
``new``                Received                 We have your message and will answer soon.
``open``               In progress              We are looking into it.
``reply_received``     We will answer soon      We have your reply and will answer soon.
``waiting``            Waiting for your reply   We answered you: please reply below.
``solved``             Resolved                 We consider this settled. Reply below if you
                                                need more help: your reply reopens it.
====================== ======================== =============================================
"""

from __future__ import annotations

import re

from attrs import frozen

from casekit.domain.workflow import Status

__all__ = ["CUSTOMER_STATUS", "TITLE_LENGTH", "CustomerStatus", "customer_status", "portal_title"]

#: The longest text of a title after its order number, in characters.
TITLE_LENGTH = 60


@frozen
class CustomerStatus:
    """A status in the customer's words: a short label, and what comes next."""

    label: str
    hint: str


CUSTOMER_STATUS: dict[Status, CustomerStatus] = {
    Status.NEW: CustomerStatus("Received", "We have your message and will answer soon."),
    Status.OPEN: CustomerStatus("In progress", "We are looking into it."),
    Status.REPLY_RECEIVED: CustomerStatus(
        "We will answer soon", "We have your reply and will answer soon."
    ),
    Status.WAITING: CustomerStatus(
        "Waiting for your reply", "We answered you: please reply below."
    ),
    Status.SOLVED: CustomerStatus(
        "Resolved",
        "We consider this settled. Reply below if you need more help: your reply reopens it.",
    ),
}


def customer_status(status: Status | str) -> CustomerStatus:
    """The customer's words for ``status`` (a :class:`Status` or its value)."""
    return CUSTOMER_STATUS[Status(status)]


# Markdown's marks that mean nothing in a one-line title: emphasis, code, a
# heading's or a quote's leading marks.
_MARKS = re.compile(r"(\*\*|__|`+|^\s*(?:#{1,6}|>+)\s*)", re.MULTILINE)


def _plain(text: str) -> str:
    return " ".join(_MARKS.sub("", text).split())


def _shorten(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    space = cut.rfind(" ")
    if space > length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def portal_title(
    order_number: str | None,
    subject: str | None,
    first_message: str | None,
    *,
    length: int = TITLE_LENGTH,
) -> str:
    """A case's title for its customer: the order, then the subject or else the
    first message they read, shortened to ``length`` characters.

    >>> portal_title("NW-5046", "", "The box arrived **crushed**, the lid open, two mugs broken")
    'Order NW-5046: The box arrived crushed, the lid open, two mugs broken'
    >>> portal_title("NW-5046", "", "The box arrived crushed and wet. " * 3)
    'Order NW-5046: The box arrived crushed and wet. The box arrived crushed…'
    >>> portal_title(None, "", None)
    'Your feedback'
    """
    text = _shorten(_plain(subject or "") or _plain(first_message or ""), length)
    if order_number:
        return f"Order {order_number}: {text}" if text else f"Order {order_number}"
    return text or "Your feedback"
