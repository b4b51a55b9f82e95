"""Who may read a message: the four audiences and the rule that applies them."""

from __future__ import annotations

import enum


class Audience(enum.StrEnum):
    """Who can read an entry of a case.

    ``internal``
        staff of the author's organization only;
    ``partners``
        staff of both party organizations (the shipper and the carrier);
    ``customer``
        the shipper's staff and the case's customer, never the carrier (unless
        the shipper shares that one entry with it);
    ``everyone``
        both party organizations' staff and the case's customer.
    """

    INTERNAL = "internal"
    PARTNERS = "partners"
    CUSTOMER = "customer"
    EVERYONE = "everyone"

    @property
    def reaches_customer(self) -> bool:
        """The case's customer reads entries of this audience."""
        return self in _CUSTOMER_READS

    @property
    def reaches_carrier(self) -> bool:
        """The carrier's staff read entries of this audience (unshared)."""
        return self in _CARRIER_READS


_CUSTOMER_READS = frozenset({Audience.CUSTOMER, Audience.EVERYONE})
_CARRIER_READS = frozenset({Audience.PARTNERS, Audience.EVERYONE})


def audiences_for_customer() -> frozenset[Audience]:
    """The audiences a customer reads."""
    return _CUSTOMER_READS


def entry_visible(
    audience: Audience,
    entry_org_id: int | None,
    *,
    viewer_org_id: int | None,
    viewer_is_customer: bool,
    viewer_is_carrier: bool,
    shared: bool = False,
    viewer_unrestricted: bool = False,
) -> bool:
    """The audience rule for one entry and one viewer who can see its case.

    ``viewer_is_carrier`` says the viewer acts for the case's carrier;
    ``shared`` that the shipper shared this (``customer``) entry with the
    carrier. The scoped query layer applies the same rule in SQL; this pure
    form is the reference the tests hold it to.
    """
    if viewer_unrestricted:
        return True
    if viewer_is_customer:
        return audience.reaches_customer
    if audience is Audience.INTERNAL:
        return entry_org_id is not None and entry_org_id == viewer_org_id
    if audience is Audience.CUSTOMER and viewer_is_carrier:
        return shared
    return True
