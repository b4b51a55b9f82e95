"""CSV cells that a spreadsheet shows as text, never runs as a formula.

A customer's reply, a CRM number, a brand from an order feed: any text
casekit writes to a CSV may have been typed by someone else, and a
spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a
tab or a carriage return before one) as a formula. Every CSV casekit writes
— the list export, the report tables, casekit-orderfeed's rejected rows —
passes its cells through :func:`cell`, which prefixes such text with a
single quote, as the OWASP guidance on CSV injection describes: the
spreadsheet then shows the text, quote first, instead of running it.

Only text is changed. A number casekit computes (a count, a negative
duration) is written as the number it is; text that merely looks like a
number (``-2``) is someone's typing and gets the quote like any other.
"""

from __future__ import annotations

from typing import TypeVar

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def cell(value: T) -> T | str:
    """``value`` for a CSV cell: text beginning with one of :data:`FORMULA_STARTS`
    prefixed with ``'``; anything else (numbers, dates, None) as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


__all__ = ["FORMULA_STARTS", "cell"]
