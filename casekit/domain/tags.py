"""Tags and priority.

A **tag** is an organization's own label on a case, from the list its
managers keep (a name and a colour; archived tags stay on the cases that
carry them but are no longer applied). Like its CRM number, an
organization's tags are its own: the other party and the customer never
see them, on any surface. A **priority** is one value per case that both
sides share: ``low``, ``normal`` (every case's to begin with), ``high`` or
``urgent``; the list sorts urgent first.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from attrs import define, field, frozen

from casekit.errors import InvalidInput

#: At most this many characters in a tag's name.
MAX_TAG_NAME = 50
#: At most this many tags in an organization's list (archived ones too).
MAX_TAGS = 500
#: At most this many of an organization's tags on one case.
MAX_CASE_TAGS = 20


class Priority(enum.StrEnum):
    """How soon a case needs work; both sides read and set the same value."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """What the database stores and sorts by: urgent highest."""
        return _RANKS[self]

    @classmethod
    def of_rank(cls, rank: int) -> Priority:
        return _BY_RANK[rank]


_RANKS = {Priority.LOW: 1, Priority.NORMAL: 2, Priority.HIGH: 3, Priority.URGENT: 4}
_BY_RANK = {rank: priority for priority, rank in _RANKS.items()}


class TagColour(enum.StrEnum):
    """The colours a tag may have: a palette whose badges keep their text readable."""

    GREY = "grey"
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"
    TEAL = "teal"
    BLUE = "blue"
    PURPLE = "purple"
    PINK = "pink"


@define(slots=False, eq=False)
class Tag:
    """One entry of an organization's tag list."""

    org_id: int
    name: str
    colour: TagColour
    created_at: datetime
    updated_at: datetime
    #: When a manager archived it (None: in use). An archived tag stays on the
    #: cases that carry it and in filters, but is applied no more.
    archived_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


@frozen
class TagRef:
    """A tag as a case or a list row shows it."""

    id: int
    name: str
    colour: TagColour


def parse_priority(value: object, field_name: str = "priority") -> Priority:
    """The priority ``value`` names; InvalidInput naming ``field_name`` otherwise."""
    if isinstance(value, str):
        try:
            return Priority(value.strip().lower())
        except ValueError:
            pass
    raise InvalidInput({field_name: [f"one of {', '.join(p.value for p in Priority)}"]})


def parse_colour(value: object) -> TagColour:
    if isinstance(value, str):
        try:
            return TagColour(value.strip().lower())
        except ValueError:
            pass
    raise InvalidInput({"colour": [f"one of {', '.join(c.value for c in TagColour)}"]})


def clean_tag_name(value: object) -> str:
    """A tag's name as kept: single spaces, 1 to :data:`MAX_TAG_NAME` characters."""
    if not isinstance(value, str):
        raise InvalidInput({"name": ["text"]})
    clean = " ".join(value.split())
    if not 1 <= len(clean) <= MAX_TAG_NAME:
        raise InvalidInput({"name": [f"1 to {MAX_TAG_NAME} characters"]})
    return clean


def parse_tag_ids(value: object, field_name: str = "tags") -> tuple[int, ...]:
    """A list of tag ids, each once, in the order given; InvalidInput otherwise."""
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | dict):
        raise InvalidInput({field_name: ["a list of tag ids"]})
    items = list(value)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in items):
        raise InvalidInput({field_name: ["a list of tag ids"]})
    unique = tuple(dict.fromkeys(items))
    if len(unique) > MAX_CASE_TAGS:
        raise InvalidInput({field_name: [f"at most {MAX_CASE_TAGS} tags on a case"]})
    return unique
