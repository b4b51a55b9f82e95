"""What a feed's order and shipment facts may hold, so that the store can keep them.

Adapters declare their own wire formats (a CSV row, a Shopify payload) with
these pieces: :class:`Line`, a field of one line of text, and the longest
text each column of the order and shipment store takes, read from its
tables, so an adapter accepts only what fits; :func:`read_json` reads JSON
text with every failure a ``ValueError``.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Table

from casekit.store import tables


def _lengths(table: Table) -> dict[str, int]:
    lengths = {column.name: getattr(column.type, "length", None) for column in table.columns}
    return {name: length for name, length in lengths.items() if isinstance(length, int)}


#: The longest text of each column of ``casekit_orders``, by OrderFacts field.
ORDER_LENGTHS = _lengths(tables.orders)
#: The longest text of each column of ``casekit_shipments``, by ShipmentFacts field.
SHIPMENT_LENGTHS = _lengths(tables.shipments)
#: The longest external id of an organization (a fact's ``shipper`` and ``carrier``).
EXTERNAL_ID_LENGTH = _lengths(tables.organizations)["external_id"]

#: Characters that break a line (what ``str.splitlines`` splits on).
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _kind(value: Any) -> str:
    """What a value read from JSON is, in words: for 'text expected, not ...'."""
    if isinstance(value, bool):
        return "true or false"
    names = {dict: "an object", list: "a list", float: "a decimal number"}
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


class Line(fields.String):
    """One line of text, stripped of the spaces around it.

    A string, or an integer (written as its digits, as JSON exports write
    order numbers). Refused: any other type, a line break, a control
    character, and text that is not UTF-8 (bytes that did not decode, kept
    as lone surrogates). ``max_length`` adds the length check.
    """

    default_error_messages = {
        "invalid": "text expected, not {kind}",
        "line_break": "one line expected; this value holds a line break",
        "control": "holds the control character U+{code:04X}",
        "not_text": "holds bytes that are not UTF-8 text",
    }

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_length is not None:
            self.validators.insert(
                0, validate.Length(max=max_length, error="at most {max} characters")
            )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise self.make_error("invalid", kind=_kind(value))
        text: str = value.strip()
        for char in text:
            if char in LINE_BREAKS:
                raise self.make_error("line_break")
            category = unicodedata.category(char)
            if category == "Cs":
                raise self.make_error("not_text")
            if category == "Cc":
                raise self.make_error("control", code=ord(char))
        return text


def read_json(text: str | bytes) -> Any:
    """``json.loads``, with every way it fails a ValueError that says why.

    Text that is not JSON or not UTF-8, JSON nested deeper than Python's
    reader goes, a number of more digits than Python converts: each is a
    ValueError whose message starts "not JSON".
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("not JSON casekit reads: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise ValueError(f"not JSON: {error}") from None
