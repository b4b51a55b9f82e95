"""Case addresses: the mailboxes whose mail opens cases, for shippers and carriers.

Reach it as ``kit.case_addresses``. Each organization sees and edits only its
own addresses (its managers edit, its staff read); the host sees and edits all.
:func:`address_for` is what inbound mail is routed by.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from casekit.domain.actor import Actor
from casekit.domain.case_address import CaseAddress, UnknownSenders
from casekit.domain.directory import Organization, OrgRole, User, clean_email
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.services.base import Service
from casekit.store import tables

__all__ = ["UNCHANGED", "CaseAddressService", "address_for"]

_a = tables.case_addresses.c
_o = tables.organizations.c
_SELECT = select(tables.case_addresses, _o.role).join(tables.organizations, _o.id == _a.org_id)


class _Unchanged:
    """The default of an option :meth:`CaseAddressService.update` leaves as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def _view(row: Any) -> CaseAddress:
    return CaseAddress(
        email=row.email,
        org_id=int(row.org_id),
        role=OrgRole(row.role),
        case_type=row.case_type,
        owner_id=row.owner_user_id,
        partner_id=row.partner_org_id,
        unknown_senders=UnknownSenders(row.unknown_senders),
        created_at=row.created_at,
    )


def address_for(connection: Connection, recipients: Iterable[str]) -> CaseAddress | None:
    """The case address among ``recipients`` (lower case), the first by address; or None."""
    wanted = list(recipients)
    if not wanted:
        return None
    row = connection.execute(_SELECT.where(_a.email.in_(wanted)).order_by(_a.email)).first()
    return None if row is None else _view(row)


class CaseAddressService(Service):
    """Case addresses of shippers and carriers. Reach it as ``kit.case_addresses``."""

    def list(self, actor: Actor, org_id: int | None = None) -> builtins.list[CaseAddress]:
        """The case addresses of ``org_id`` (default: the actor's organization).

        Staff read their own organization's; the host any (every
        organization's when ``org_id`` is None).
        """
        _staff(actor)
        if org_id is None and not actor.is_unrestricted:
            org_id = actor.org_id
        if not (actor.is_unrestricted or (actor.is_staff and actor.org_id == org_id)):
            raise NotFound("organization", org_id)
        query = _SELECT.order_by(_a.email)
        if org_id is not None:
            query = query.where(_a.org_id == org_id)
        with self.kit.engine.connect() as conn:
            return [_view(row) for row in conn.execute(query)]

    def get(self, actor: Actor, email: str) -> CaseAddress:
        """One case address of the actor's organization; NotFound for anyone else's."""
        with self.kit.engine.connect() as conn:
            return self._visible(conn, actor, email)

    def add(
        self,
        actor: Actor,
        email: str,
        *,
        org_id: int | None = None,
        case_type: str | None = None,
        owner_id: int | None = None,
        partner_id: int | None = None,
        unknown_senders: UnknownSenders | str | None = None,
    ) -> CaseAddress:
        """Make ``email`` a case address of ``org_id`` (default: the actor's organization).

        The host or the organization's managers only. ``unknown_senders``
        defaults to ``open`` where it can: a carrier's address opens cases for
        unknown senders only with a partner shipper, and triages without one.
        """
        _staff(actor)
        org_id = org_id if org_id is not None else actor.org_id
        if org_id is None:
            raise InvalidInput({"org_id": ["say which organization the address is for"]})
        may_manage(actor, org_id)
        errors: dict[str, builtins.list[str]] = {}
        address = clean_email(errors, "email", email)
        with self._uow() as uow:
            org = uow.session.get(Organization, org_id)
            if org is None:
                raise InvalidInput({"org_id": [f"no organization {org_id}"]})
            if unknown_senders is None:
                can_open = org.role is OrgRole.SHIPPER or partner_id is not None
                unknown_senders = UnknownSenders.OPEN if can_open else UnknownSenders.TRIAGE
            options = self._options(
                uow.session, errors, org, case_type, owner_id, partner_id, unknown_senders
            )
            if errors:
                raise InvalidInput(errors)
            conn = uow.session.connection()
            taken = conn.execute(select(_a.org_id).where(_a.email == address)).scalar()
            if taken is not None:
                theirs = "yours already" if taken == org_id else "another organization's"
                raise InvalidInput({"email": [f"{address} is {theirs}"]})
            row = {"email": address, "org_id": org_id, "created_at": self._now(), **options}
            try:
                conn.execute(insert(tables.case_addresses), row)
                uow.commit()
            except IntegrityError:  # added by someone else at the same moment
                raise InvalidInput({"email": [f"{address} is taken"]}) from None
        return self.get(Actor.host(), address)

    def update(
        self,
        actor: Actor,
        email: str,
        *,
        case_type: str | None = UNCHANGED,
        owner_id: int | None = UNCHANGED,
        partner_id: int | None = UNCHANGED,
        unknown_senders: UnknownSenders | str = UNCHANGED,
    ) -> CaseAddress:
        """Change the options given (None clears one); the others stay."""
        with self._uow() as uow:
            conn = uow.session.connection()
            current = self._visible(conn, actor, email, lock=True)
            may_manage(actor, current.org_id)
            org = uow.session.get(Organization, current.org_id)
            assert org is not None

            def given(value: Any, now: Any) -> Any:
                return now if value is UNCHANGED else value

            errors: dict[str, list[str]] = {}
            options = self._options(
                uow.session,
                errors,
                org,
                given(case_type, current.case_type),
                given(owner_id, current.owner_id),
                given(partner_id, current.partner_id),
                given(unknown_senders, current.unknown_senders),
            )
            if errors:
                raise InvalidInput(errors)
            conn.execute(
                update(tables.case_addresses).where(_a.email == current.email).values(**options)
            )
            uow.commit()
        return self.get(Actor.host(), current.email)

    def remove(self, actor: Actor, email: str) -> None:
        """Stop opening cases from mail to ``email``; NotFound if it is not the actor's."""
        with self._uow() as uow:
            conn = uow.session.connection()
            current = self._visible(conn, actor, email, lock=True)
            may_manage(actor, current.org_id)
            conn.execute(delete(tables.case_addresses).where(_a.email == current.email))
            uow.commit()

    # -- helpers -----------------------------------------------------------------------
    def _visible(
        self, conn: Connection, actor: Actor, email: str, *, lock: bool = False
    ) -> CaseAddress:
        _staff(actor)
        address = email.strip().lower() if isinstance(email, str) else ""
        query = _SELECT.where(_a.email == address)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None or not (
            actor.is_unrestricted or (actor.is_staff and actor.org_id == row.org_id)
        ):
            raise NotFound("case address", address)
        return _view(row)

    def _options(
        self,
        session: Any,
        errors: dict[str, builtins.list[str]],
        org: Organization,
        case_type: str | None,
        owner_id: int | None,
        partner_id: int | None,
        unknown_senders: UnknownSenders | str,
    ) -> dict[str, object]:
        """The stored options, checked; a message per bad field in ``errors``."""
        if case_type is not None and case_type not in self.kit.case_types:
            errors["case_type"] = [f"unknown case type {str(case_type)[:80]!r}"]
        if owner_id is not None:
            owner = _get(session, User, owner_id)
            if owner is None or owner.org_id != org.id or not owner.active:
                errors["owner_id"] = [f"user {owner_id} is not an active user of {org.name}"]
        other = OrgRole.CARRIER if org.role is OrgRole.SHIPPER else OrgRole.SHIPPER
        if partner_id is not None:
            partner = _get(session, Organization, partner_id)
            if partner is None or partner.role is not other:
                errors["partner_id"] = [f"organization {partner_id} is not a {other}"]
        try:
            senders = UnknownSenders(unknown_senders)
        except ValueError:
            choices = ", ".join(s.value for s in UnknownSenders)
            errors["unknown_senders"] = [f"one of {choices}"]
            senders = UnknownSenders.TRIAGE
        if senders is UnknownSenders.OPEN and org.role is OrgRole.CARRIER and partner_id is None:
            errors["unknown_senders"] = [
                "a carrier's address opens cases for unknown senders only with a partner shipper"
            ]
        return {
            "case_type": case_type,
            "owner_user_id": owner_id,
            "partner_org_id": partner_id,
            "unknown_senders": senders.value,
        }


def _get(session: Any, kind: type, key: object) -> Any:
    """``session.get`` that takes any id a caller sent (a wrong type reads as missing)."""
    if not isinstance(key, int) or isinstance(key, bool):
        return None
    return session.get(kind, key)


def _staff(actor: Actor) -> None:
    if not (actor.is_unrestricted or actor.is_staff):
        raise PermissionDenied("case addresses are an organization's, for its staff")


def may_manage(actor: Actor, org_id: int) -> None:
    """PermissionDenied unless ``actor`` is the host or a manager of ``org_id``."""
    if actor.is_unrestricted or (actor.org_id == org_id and actor.is_manager and actor.is_staff):
        return
    raise PermissionDenied("only the host or the organization's managers change its case addresses")
