"""The search box's identifiers: case numbers, shipment and order numbers, CRM numbers.

What a person types is rarely the stored value: ``5046`` or ``cv46`` for the
case ``CV005046``, ``nw-50`` for the order ``NW-5046``. An identifier
matches when it *starts with* the text, whatever its case:

- a case number by its digits without the leading zeros (a case's number
  is the prefix and its id, zero-padded: ``5046`` is the id 5046 or any id
  whose digits start with them, ranges of the primary key), with the
  letters typed before them (``CV``) matching the start of the number;
- the shipment's tracking, BOL, PO, reference, RA and order numbers and its
  own reference, the order's number, and the CRM number the actor's own
  organization recorded (never another's), each a range of the index of
  its lower-cased key (:func:`casekit.store.tables._key`);
- a carrier, by its whole name.

Each branch starts from the small side (the matching shipments, orders or
CRM numbers) and reaches their cases through the cases' own indexes; the
caller applies the actor's scope.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, union

from casekit.domain.case import NUMBER_WIDTH
from casekit.store import tables

c = tables.cases.c
s = tables.shipments.c
o = tables.orders.c

#: Case ids have at most this many digits (a BIGINT has 19; a million cases a day
#: for a thousand years stays under 12).
MAX_DIGITS = 12
#: A case number as typed: letters (the prefix, or its start), a dash or spaces, digits.
_NUMBER = re.compile(r"([A-Za-z]*)[-\s]*(\d+)")
#: The shipment identifiers' keys, then the order's number's.
_KEYS = tuple(s[name] for name in tables.SHIPMENT_KEYS)


def number_ranges(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The letters typed before a case number's digits and the id ranges they start.

    Digits without leading zeros are the start of an id: ``"CV46"`` gives
    ``("CV", [(46, 47), (460, 470), (4600, 4700), …])``. Digits with leading
    zeros are the start of the zero-padded number: ``"CV000046"`` is the id
    46 alone, ``"0004"`` the ids 40 to 49. Text that is not letters and
    digits gives no ranges.
    """
    found = _NUMBER.fullmatch(text.strip())
    if found is None:
        return "", []
    letters, typed = found.group(1).upper(), found.group(2)
    digits = typed.lstrip("0")
    if not digits or len(typed) > MAX_DIGITS:
        return letters, []
    start = int(digits)
    if typed.startswith("0"):
        if len(typed) > NUMBER_WIDTH:  # longer ids are not padded
            return letters, []
        scale = 10 ** (NUMBER_WIDTH - len(typed))
        return letters, [(start * scale, (start + 1) * scale)]
    return letters, [
        (start * 10**k, (start + 1) * 10**k) for k in range(MAX_DIGITS - len(digits) + 1)
    ]


def prefix_range(text: str) -> tuple[str, str]:
    """The lower-cased text and the first string after all that start with it
    (in code point order, which is byte order in UTF-8)."""
    low = text.strip().lower()
    return low, low[:-1] + chr(ord(low[-1]) + 1)


def params(text: str, org_id: int | None) -> dict[str, Any]:
    """The values of :func:`matches`'s parameters for ``text`` (``org_id``: whose
    CRM numbers, None: none)."""
    q = text.strip()
    low, high = prefix_range(q)
    letters, ranges = number_ranges(q)
    values: dict[str, Any] = {
        "search_upper": q.upper(),
        "search_lower": low,
        "search_high": high,
        "search_letters": f"{letters}%",
    }
    for i, (start, end) in enumerate(ranges):
        values[f"search_from_{i}"], values[f"search_to_{i}"] = start, end
    if org_id is not None:
        values["search_org"] = org_id
    return values


def shape(text: str, org_id: int | None) -> tuple[bool, int]:
    """What :func:`matches` is built from for ``text``."""
    return org_id is not None, len(number_ranges(text)[1])


def _starts(key: Any) -> Any:
    return and_(key >= bindparam("search_lower"), key < bindparam("search_high"))


@functools.cache
def matches(own_crm: bool, ranges: int) -> Any:
    """The ids of the cases any of whose identifiers starts with the text (a subquery).

    Built once per shape (:func:`shape`); its values come from :func:`params`.
    """
    n, org = tables.crm_numbers.c, tables.organizations.c
    upper = bindparam("search_upper", type_=c.number.type)
    number = [c.number == upper]
    if ranges:
        by_id = or_(
            *(
                and_(c.id >= bindparam(f"search_from_{i}"), c.id < bindparam(f"search_to_{i}"))
                for i in range(ranges)
            )
        )
        number.append(and_(by_id, func.upper(c.number).like(bindparam("search_letters"))))
    ids: list[Select[Any]] = [select(c.id).where(or_(*number))]
    if own_crm:
        ids.append(
            select(n.case_id).where(n.org_id == bindparam("search_org"), _starts(n.number_key))
        )
    for key in _KEYS:
        ids.append(select(c.id).where(c.shipment_id.in_(select(s.id).where(_starts(key)))))
    ids.append(select(c.id).where(c.order_id.in_(select(o.id).where(_starts(o.number_key)))))
    lower = bindparam("search_lower", type_=s.carrier_key.type)
    ids.append(select(c.id).where(c.shipment_id.in_(select(s.id).where(s.carrier_key == lower))))
    carriers = select(org.id).where(func.lower(org.name) == lower)
    ids.append(select(c.id).where(c.carrier_org_id.in_(carriers)))
    return union(*ids).subquery()


@functools.cache
def hits(own_crm: bool, ranges: int) -> Select[Any]:
    """The first ``:search_limit`` ids of :func:`matches`."""
    return select(matches(own_crm, ranges).c.id).limit(bindparam("search_limit"))
