"""Bringing a carrier in later: naming, changing or removing the carrier of a
case, and switching whether it collaborates (parts of ``kit.cases.change``).

A carrier that leaves a case takes its private layer with it: its owner and
watchers on the case, its CRM case number and tags, the addresses it brought in and
the unsubscriptions of its people go; its internal notes stay its own (an
internal entry is read by its author's organization only, and that
organization no longer sees the case). The new carrier reads what a carrier
reads (partners and everyone entries, and customer entries the shipper
shared) from the start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select

from casekit import signals
from casekit.domain import policy
from casekit.domain.case import EventKind, Side
from casekit.domain.directory import Organization, OrgRole
from casekit.domain.shipment import Shipment
from casekit.errors import InvalidInput
from casekit.services.base import Edit, deny
from casekit.store import tables

_u = tables.users.c
_w = tables.watchers.c
_p = tables.participants.c
_un = tables.unsubscriptions.c
_crm = tables.crm_numbers.c
_ca = tables.collaborator_addresses.c


def carrier_id(value: Any) -> int | None:
    """A ``carrier`` change as given: an organization id, or None to remove the carrier."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput({"carrier": ["a carrier organization's id, or null to remove it"]})
    return value


def collaborating(value: Any) -> bool:
    """A ``carrier_collaborating`` change as given: true or false."""
    if not isinstance(value, bool):
        raise InvalidInput({"carrier_collaborating": ["true or false"]})
    return value


def change_carrier(edit: Edit, new: int | None, *, relinking: bool) -> None:
    """Make ``new`` the case's carrier (None: no carrier).

    A case linked to a shipment that names its carrier keeps that carrier
    unless the same change links another shipment (``relinking``), which is
    then checked against the new carrier.
    """
    case = edit.case
    deny(policy.may_change_carrier(edit.actor, case))
    old = case.carrier_org_id
    if new == old:
        return
    session = edit.uow.session
    if new is not None:
        org = session.get(Organization, new)
        if org is None or org.role is not OrgRole.CARRIER:
            raise InvalidInput({"carrier": [f"organization {new} is not a carrier"]})
    if case.shipment_id is not None and not relinking:
        shipment = session.get(Shipment, case.shipment_id)
        if shipment is not None and shipment.carrier_org_id not in (None, new):
            raise InvalidInput(
                {
                    "carrier": [
                        f"shipment {shipment.reference} is carried by another carrier; "
                        "link the case to the new carrier's shipment in the same change"
                    ]
                }
            )
    if old is not None:
        _let_go(edit, old)
    name_carrier(edit, new, old=old)


def name_carrier(edit: Edit, new: int | None, *, old: int | None) -> None:
    """Record ``new`` as the case's carrier, in place of ``old`` (whose private
    layer is already gone): the event, the signal."""
    case = edit.case
    case.carrier_org_id = new
    case.carrier_starts_over()
    case.touch(edit.now)
    edit.event(EventKind.CARRIER_CHANGED, old=old, new=new)
    edit.emit(signals.case_updated, change=EventKind.CARRIER_CHANGED)


def set_collaborating(edit: Edit, value: bool) -> None:
    """Switch whether the case's carrier collaborates (hears of the case by mail)."""
    case = edit.case
    deny(policy.may_change_carrier(edit.actor, case))
    if case.carrier_org_id is None:
        raise InvalidInput({"carrier_collaborating": ["the case has no carrier; name one first"]})
    if case.carrier_collaborating is value:
        return
    case.carrier_collaborating = value
    case.touch(edit.now)
    edit.event(EventKind.CARRIER_COLLABORATING, old=not value, new=value)
    edit.emit(signals.case_updated, change=EventKind.CARRIER_COLLABORATING)


def announce(edit: Edit, old: int | None, was_collaborating: bool) -> None:
    """Tell of a change of the carrier or of its collaborating, once per change:
    the ``carrier_changed`` signal, which also brings the carrier's mail."""
    case = edit.case
    if (old, was_collaborating) != (case.carrier_org_id, case.carrier_collaborating):
        edit.emit(
            signals.carrier_changed,
            old=old,
            new=case.carrier_org_id,
            was_collaborating=was_collaborating,
            collaborating=case.carrier_collaborating,
        )


def _let_go(edit: Edit, old: int) -> None:
    """Remove what carrier ``old`` kept on the case: its owner, its watchers, its
    CRM number, the addresses it brought in and its people's unsubscriptions."""
    case = edit.case
    assert case.id is not None
    conn = edit.uow.connection()
    case.set_owner(Side.CARRIER, None)
    its_users = select(_u.id).where(_u.org_id == old)
    # The addresses its people were reached at on this case (the pair's carrier
    # address, those it brought in) and its users: their unsubscriptions go.
    addresses = {
        f"a:{email.lower()}"
        for email in conn.scalars(
            select(_p.email).where(_p.case_id == case.id, _p.org_id == old, _p.email.is_not(None))
        )
    }
    collaborator = conn.scalar(
        select(_ca.email).where(
            _ca.shipper_org_id == case.shipper_org_id,
            _ca.carrier_org_id == old,
            _ca.side == Side.CARRIER.value,
        )
    )
    if collaborator is not None:
        addresses.add(f"a:{collaborator.lower()}")
    unsubscribed = conn.execute(select(_un.id, _un.recipient).where(_un.case_id == case.id)).all()
    users = {int(key[1:]) for _id, key in unsubscribed if key[:1] == "u" and key[1:].isdigit()}
    theirs = {f"u{i}" for i in conn.scalars(its_users.where(_u.id.in_(users)))} if users else set()
    gone = [row_id for row_id, key in unsubscribed if key in addresses or key in theirs]
    if gone:
        conn.execute(delete(tables.unsubscriptions).where(_un.id.in_(gone)))
    conn.execute(delete(tables.watchers).where(_w.case_id == case.id, _w.user_id.in_(its_users)))
    conn.execute(
        delete(tables.participants).where(
            _p.case_id == case.id, or_(_p.org_id == old, _p.user_id.in_(its_users))
        )
    )
    conn.execute(delete(tables.crm_numbers).where(_crm.case_id == case.id, _crm.org_id == old))
    ct = tables.case_tags.c
    conn.execute(delete(tables.case_tags).where(ct.case_id == case.id, ct.org_id == old))
