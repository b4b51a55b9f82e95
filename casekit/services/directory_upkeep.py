"""Upkeep of the directory: renames, roles, leavers, moved addresses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.directory import (
    Customer,
    Organization,
    Subject,
    User,
    UserRole,
    clean_email,
    clean_phone,
    clean_text,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.services import directory_sync
from casekit.services.base import Service
from casekit.services.directory_keys import org_with_key, user_with_key
from casekit.services.directory_sync import Changes
from casekit.store import tables


class _Unchanged:
    """The default of a field a change leaves as it is (``None`` clears an ``external_id``)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


_UNSET: Any = _Unchanged()


def acting_user(session: Session, actor: Actor) -> User | None:
    """The user ``actor`` is (None for the host, a key, a customer); the session
    refused them already if they were deactivated."""
    return session.get(User, actor.user_id) if actor.user_id is not None else None


class DirectoryUpkeep(Service):
    """The part of ``kit.directory`` that changes what is there."""

    def update_organization(
        self,
        actor: Actor,
        org_id: int,
        *,
        name: str | None = None,
        external_id: str | None = _UNSET,
    ) -> Organization:
        """Rename organization ``org_id`` or change its ``external_id`` (the host only).

        Each changed field is audited (:meth:`changes`); an unchanged one is not.
        """
        if not actor.is_unrestricted:
            raise PermissionDenied("only the host changes organizations")
        errors: dict[str, list[str]] = {}
        if name is not None:
            name = clean_text(errors, "name", name, tables.NAME)
        if external_id is not _UNSET and external_id is not None:
            external_id = clean_text(errors, "external_id", external_id, tables.KEY)
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            org = uow.session.get(Organization, org_id)
            if org is None:
                raise NotFound("organization", org_id)
            changes = Changes(actor, self._now())
            if name is not None:
                changes.set(org, org_id, Subject.ORGANIZATION, "name", name)
            if external_id is not _UNSET and external_id != org.external_id:
                if external_id is not None:
                    holder = org_with_key(uow.session, external_id)
                    if holder is not None and holder.id != org_id:
                        raise InvalidInput({"external_id": [f"{external_id!r} is taken"]})
                changes.set(org, org_id, Subject.ORGANIZATION, "external_id", external_id)
            changes.write(uow.session)
            uow.commit()
            return org

    def update_user(
        self,
        actor: Actor,
        user_id: int,
        *,
        name: str | None = None,
        email: str | None = None,
        role: UserRole | str | None = None,
        external_id: str | None = _UNSET,
        active: bool | None = None,
    ) -> User:
        """Change a user's name, email, role or ``external_id``; ``active=False``
        deactivates them (:meth:`deactivate_user`), ``active=True`` reactivates them.

        The host, an API key of the user's organization, or an admin of that
        organization may; never anyone of another organization (NotFound, as
        if the user did not exist). An admin cannot demote the organization's
        last active admin. Each changed field is audited.
        """
        errors: dict[str, list[str]] = {}
        if name is not None:
            name = clean_text(errors, "name", name, tables.NAME)
        if email is not None:
            email = clean_email(errors, "email", email)
        new_role: UserRole | None = None
        if role is not None:
            try:
                new_role = UserRole(role)
            except ValueError:
                errors["role"] = [f"unknown role {role!r}; agent, manager or admin"]
        if external_id is not _UNSET and external_id is not None:
            external_id = clean_text(errors, "external_id", external_id, tables.KEY)
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            user = self._user_to_manage(uow.session, actor, user_id)
            assert user.id is not None
            changes = Changes(actor, self._now())
            for field, value in (("name", name), ("email", email)):
                if value is not None:
                    changes.set(user, user.org_id, Subject.USER, field, value)
            if new_role is not None and new_role is not user.role:
                if user.role is UserRole.ADMIN:
                    self._keep_an_admin(uow.session, actor, user, "role")
                changes.set(user, user.org_id, Subject.USER, "role", new_role)
            if external_id is not _UNSET and external_id != user.external_id:
                if external_id is not None:
                    holder = user_with_key(uow.session, user.org_id, external_id)
                    if holder is not None and holder.id != user.id:
                        raise InvalidInput({"external_id": [f"{external_id!r} is taken"]})
                changes.set(user, user.org_id, Subject.USER, "external_id", external_id)
            if active is False and user.active:
                if actor.user_id == user_id:
                    raise PermissionDenied("a user cannot deactivate themselves")
                if user.role is UserRole.ADMIN:
                    self._keep_an_admin(uow.session, actor, user, "active")
                directory_sync.deactivate(uow.session, user, actor, self._now(), changes)
            elif active is True and not user.active:
                directory_sync.reactivate(user, changes)
            changes.write(uow.session)
            uow.commit()
            return user

    def deactivate_user(self, actor: Actor, user_id: int) -> User:
        """Deactivate a user who left; they keep their name on their history.

        From then on the user can no longer act (PermissionDenied), the API
        keys they created (and the keys those created) are revoked, and they
        are neither notified nor offered as an owner or a watcher. Who may:
        as :meth:`update_user`; nobody deactivates themselves, and an admin
        cannot deactivate the organization's last active admin. Deactivating
        twice changes nothing.
        """
        return self.update_user(actor, user_id, active=False)

    def reactivate_user(self, actor: Actor, user_id: int) -> User:
        """Let a deactivated user act again (their revoked API keys stay revoked)."""
        return self.update_user(actor, user_id, active=True)

    def update_customer(
        self,
        actor: Actor,
        customer_id: int,
        *,
        email: str | None = None,
        name: str | None = None,
        external_id: str | None = _UNSET,
        phone: str | None = _UNSET,
    ) -> Customer:
        """Move a customer to a new email address, rename them, change their
        ``external_id`` or their phone (None clears it).

        The customer keeps their cases. The host, or the shipper's managers,
        admins and API keys may. An address another customer of the same
        shipper already has is refused (InvalidInput naming ``email``).
        """
        errors: dict[str, list[str]] = {}
        if email is not None:
            email = clean_email(errors, "email", email)
        if name is not None:
            name = name.strip()
            if len(name) > tables.NAME:
                errors["name"] = [f"at most {tables.NAME} characters"]
        if external_id is not _UNSET and external_id is not None:
            external_id = clean_text(errors, "external_id", external_id, tables.KEY)
        if phone is not _UNSET:
            phone = clean_phone(errors, "phone", phone)
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            customer = uow.session.get(Customer, customer_id)
            if customer is None or not (
                actor.is_unrestricted
                or (actor.org_id == customer.shipper_org_id and actor.is_staff)
            ):
                raise NotFound("customer", customer_id)
            if not (actor.is_unrestricted or actor.is_manager):
                raise PermissionDenied(
                    "only the shipper's managers and admins change its customers"
                )
            assert customer.id is not None
            org_id = customer.shipper_org_id
            k = tables.customers.c
            changes = Changes(actor, self._now())
            if email is not None and email != customer.email:
                clash = uow.session.scalars(
                    select(k.id).where(
                        k.shipper_org_id == org_id, k.email == email, k.id != customer_id
                    )
                ).first()
                if clash is not None:
                    raise InvalidInput(
                        {"email": [f"{email!r} belongs to another customer of this shipper"]}
                    )
                changes.set(customer, org_id, Subject.CUSTOMER, "email", email)
            if name is not None:
                changes.set(customer, org_id, Subject.CUSTOMER, "name", name)
            if external_id is not _UNSET and external_id != customer.external_id:
                if external_id is not None:
                    clash = uow.session.scalars(
                        select(k.id).where(
                            k.shipper_org_id == org_id,
                            k.external_id == external_id,
                            k.id != customer_id,
                        )
                    ).first()
                    if clash is not None:
                        raise InvalidInput({"external_id": [f"{external_id!r} is taken"]})
                changes.set(customer, org_id, Subject.CUSTOMER, "external_id", external_id)
            if phone is not _UNSET and phone != customer.phone:
                changes.set(customer, org_id, Subject.CUSTOMER, "phone", phone)
            changes.write(uow.session)
            uow.commit()
            return customer

    def _user_to_manage(self, session: Session, actor: Actor, user_id: int) -> User:
        """The user ``actor`` may change: NotFound across organizations,
        PermissionDenied for a colleague who is not an admin."""
        acting = acting_user(session, actor)
        user = session.get(User, user_id)
        if user is None or not (actor.is_unrestricted or actor.org_id == user.org_id):
            raise NotFound("user", user_id)
        if actor.is_customer:
            raise NotFound("user", user_id)
        if actor.is_unrestricted or actor.is_system:
            return user
        if acting is None or acting.role is not UserRole.ADMIN:
            raise PermissionDenied("only the organization's admins (or the host) change its users")
        return user

    @staticmethod
    def _keep_an_admin(session: Session, actor: Actor, user: User, field: str) -> None:
        """An admin of the organization may not remove its last active admin (the host may)."""
        if actor.is_unrestricted:
            return
        u = tables.users.c
        others = session.scalar(
            select(func.count()).where(
                u.org_id == user.org_id,
                u.role == UserRole.ADMIN,
                u.active.is_(True),
                u.id != user.id,
            )
        )
        if not others:
            raise InvalidInput(
                {field: ["the organization's last active admin; make another user admin first"]}
            )
