"""Who may read a message: the three audiences and the rule that applies them."""

from __future__ import annotations

import enum


class Audience(enum.StrEnum):
    """Who can read an entry.

    ``internal``
        staff of the author's organization only;
    ``partners``
        staff of every party organization of the case;
    ``everyone``
        the party organizations' staff and the case's customer.
    """

    INTERNAL = "internal"
    PARTNERS = "partners"
    EVERYONE = "everyone"


def audiences_for_customer() -> frozenset[Audience]:
    return frozenset({Audience.EVERYONE})


def entry_visible(
    audience: Audience,
    entry_org_id: int | None,
    *,
    viewer_org_id: int | None,
    viewer_is_customer: bool,
    viewer_unrestricted: bool = False,
) -> bool:
    """The audience rule for one entry and one viewer who can see its case.

    The scoped query layer applies the same rule in SQL; this pure form is
    the reference the tests hold it to.
    """
    if viewer_unrestricted:
        return True
    if viewer_is_customer:
        return audience is Audience.EVERYONE
    if audience is Audience.INTERNAL:
        return entry_org_id is not None and entry_org_id == viewer_org_id
    return True
