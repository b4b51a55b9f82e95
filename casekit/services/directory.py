"""Organizations, users and customers: the host's accounts, mapped into casekit."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from casekit.domain.actor import Actor
from casekit.domain.directory import (
    Customer,
    CustomerRecord,
    DirectoryChange,
    Organization,
    OrganizationRecord,
    OrgRole,
    Subject,
    SyncReport,
    User,
    UserRecord,
    UserRole,
    clean_email,
    clean_phone,
    clean_text,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.services import directory_sync
from casekit.services.directory_keys import DirectoryKeys, org_with_key, user_with_key
from casekit.services.directory_sync import Changes, change_from_row, records
from casekit.services.directory_upkeep import DirectoryUpkeep, acting_user
from casekit.store import tables


class DirectoryService(DirectoryKeys, DirectoryUpkeep):
    """Maps the host's accounts to casekit. Reach it as ``kit.directory``.

    The host (``Actor.host()``) adds organizations; an organization's
    managers and admins (or the host) add its users; its staff (or the host) add customers.
    Each has an optional ``external_id``: the host's own key, to find it by.
    Adding, reading, the audit trail and the sync are here; changing what is
    there comes from ``directory_upkeep.DirectoryUpkeep``, and finding by
    the host's keys from ``directory_keys.DirectoryKeys``.
    """

    def add_organization(
        self, actor: Actor, *, name: str, role: OrgRole | str, external_id: str | None = None
    ) -> Organization:
        if not actor.is_unrestricted:
            raise PermissionDenied("only the host adds organizations")
        errors: dict[str, list[str]] = {}
        name = clean_text(errors, "name", name, 200)
        try:
            org_role = OrgRole(role)
        except ValueError:
            errors["role"] = [f"unknown role {role!r}; shipper or carrier"]
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            if external_id is not None and org_with_key(uow.session, external_id):
                raise InvalidInput({"external_id": [f"{external_id!r} is taken"]})
            org = Organization(
                name=name, role=org_role, external_id=external_id, created_at=self._now()
            )
            uow.session.add(org)
            uow.flush()
            assert org.id is not None
            changes = Changes(actor, self._now())
            changes.add(org.id, Subject.ORGANIZATION, org.id, "created", None, name)
            changes.write(uow.session)
            uow.commit()
            return org

    def add_user(
        self,
        actor: Actor,
        *,
        org_id: int,
        name: str,
        email: str,
        role: UserRole | str = UserRole.AGENT,
        external_id: str | None = None,
    ) -> User:
        if not (actor.is_unrestricted or (actor.org_id == org_id and actor.is_manager)):
            raise PermissionDenied("only the host or the organization's managers add its users")
        errors: dict[str, list[str]] = {}
        name = clean_text(errors, "name", name, 200)
        email = clean_email(errors, "email", email)
        try:
            user_role = UserRole(role)
        except ValueError:
            errors["role"] = [f"unknown role {role!r}; agent, manager or admin"]
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            if uow.session.get(Organization, org_id) is None:
                raise InvalidInput({"org_id": [f"no organization {org_id}"]})
            if external_id is not None and user_with_key(uow.session, org_id, external_id):
                raise InvalidInput({"external_id": [f"{external_id!r} is taken"]})
            user = User(
                org_id=org_id,
                name=name,
                email=email,
                role=user_role,
                external_id=external_id,
                created_at=self._now(),
            )
            uow.session.add(user)
            uow.flush()
            assert user.id is not None
            changes = Changes(actor, self._now())
            changes.add(org_id, Subject.USER, user.id, "created", None, name)
            changes.write(uow.session)
            uow.commit()
            return user

    def add_customer(
        self,
        actor: Actor,
        *,
        shipper_org_id: int,
        email: str,
        name: str = "",
        external_id: str | None = None,
        phone: str | None = None,
    ) -> Customer:
        """Add a customer to a shipper: the host or the shipper's staff.
        ``phone`` is free-form but bounded (``casekit.domain.directory.clean_phone``)."""
        if not (actor.is_unrestricted or (actor.org_id == shipper_org_id and actor.is_staff)):
            raise PermissionDenied("only the host or the shipper's staff add its customers")
        errors: dict[str, list[str]] = {}
        email = clean_email(errors, "email", email)
        phone = clean_phone(errors, "phone", phone)
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            org = uow.session.get(Organization, shipper_org_id)
            if org is None or org.role is not OrgRole.SHIPPER:
                raise InvalidInput({"shipper_org_id": [f"no shipper {shipper_org_id}"]})
            customer = Customer(
                shipper_org_id=shipper_org_id,
                email=email,
                name=name.strip(),
                external_id=external_id,
                created_at=self._now(),
                phone=phone,
            )
            uow.session.add(customer)
            uow.flush()
            assert customer.id is not None
            changes = Changes(actor, self._now())
            changes.add(shipper_org_id, Subject.CUSTOMER, customer.id, "created", None, email)
            changes.write(uow.session)
            uow.commit()
            return customer

    def organization(self, actor: Actor, org_id: int) -> Organization:
        """An organization by id: the actor's own or any, for the host and staff."""
        with self._uow(write=False) as uow:
            org = uow.session.get(Organization, org_id)
            if org is None or actor.is_customer:
                raise NotFound("organization", org_id)
            return org

    def user(self, actor: Actor, user_id: int) -> User:
        """A user: visible to the host and to staff of the same organization."""
        with self._uow(write=False) as uow:
            user = uow.session.get(User, user_id)
            if user is None or not (actor.is_unrestricted or actor.org_id == user.org_id):
                raise NotFound("user", user_id)
            return user

    def customer(self, actor: Actor, customer_id: int) -> Customer:
        """A customer: visible to the host, its shipper's staff, and itself."""
        with self._uow(write=False) as uow:
            found = uow.session.get(Customer, customer_id)
            if found is None or not (
                actor.is_unrestricted
                or actor.org_id == found.shipper_org_id
                or actor.customer_id == customer_id
            ):
                raise NotFound("customer", customer_id)
            return found

    def customer_by_email(self, actor: Actor, email: str) -> Customer:
        """The actor's shipper's customer with ``email`` (the shipper's staff only).

        The first one added, should the host have added the address twice.
        """
        address = email.strip().lower()
        if actor.org_id is None or actor.is_customer or not address:
            raise NotFound("customer", email)
        k = tables.customers.c
        stmt = (
            select(Customer)
            .where(k.shipper_org_id == actor.org_id, k.email == address)
            .order_by(k.id)
            .limit(1)
        )
        with self._uow(write=False) as uow:
            found = uow.session.scalars(stmt).first()
            if found is None:
                raise NotFound("customer", email)
            return found

    def organizations(self, actor: Actor, role: OrgRole | str) -> list[Organization]:
        """The organizations of ``role``, by name: for staff choosing a party or a filter.

        Like :meth:`organization`, open to the host and to staff, not to customers.
        """
        try:
            wanted = OrgRole(role)
        except ValueError:
            raise InvalidInput({"role": [f"unknown role {role!r}; shipper or carrier"]}) from None
        if actor.is_customer or not (actor.is_unrestricted or actor.is_staff):
            raise PermissionDenied("organizations are listed for staff")
        g = tables.organizations.c
        stmt = select(Organization).where(g.role == wanted).order_by(g.name, g.id)
        with self._uow(write=False) as uow:
            return list(uow.session.scalars(stmt))

    def users(
        self, actor: Actor, org_id: int | None = None, *, include_deactivated: bool = False
    ) -> list[User]:
        """The active users of ``org_id`` (the actor's own by default), by name.

        Staff list their own organization's colleagues (to hand a case over or
        add a watcher); the host lists any organization's. Deactivated users
        are left out unless ``include_deactivated``.
        """
        wanted = org_id if org_id is not None else actor.org_id
        if wanted is None or actor.is_customer:
            raise NotFound("organization", org_id)
        if not (actor.is_unrestricted or actor.org_id == wanted):
            raise NotFound("organization", wanted)
        u = tables.users.c
        stmt = select(User).where(u.org_id == wanted).order_by(u.name, u.id)
        if not include_deactivated:
            stmt = stmt.where(u.active.is_(True))
        with self._uow(write=False) as uow:
            return list(uow.session.scalars(stmt))

    def set_feedback_portal(self, actor: Actor, org_id: int, enabled: bool) -> Organization:
        """Turn the customer feedback portal of shipper ``org_id`` on or off.

        The host or a manager of that shipper may; it is off by default, so
        that no feedback arrives before someone is there to read it.
        """
        if not (actor.is_unrestricted or (actor.org_id == org_id and actor.is_manager)):
            raise PermissionDenied(
                "only the host or the organization's managers change its settings"
            )
        with self._uow() as uow:
            org = uow.session.get(Organization, org_id)
            if org is None:
                raise NotFound("organization", org_id)
            if org.role is not OrgRole.SHIPPER:
                raise InvalidInput(
                    {"feedback_portal": ["only a shipper has a customer feedback portal"]}
                )
            org.feedback_portal = bool(enabled)
            uow.commit()
            return org

    def feedback_portal(self, actor: Actor, shipper_org_id: int | None = None) -> bool:
        """Whether customers may send feedback to the shipper from the portal.

        A customer asks about their own shipper (``shipper_org_id`` is not
        needed); staff and the host name the shipper.
        """
        with self._uow(write=False) as uow:
            if actor.is_customer:
                customer = uow.session.get(Customer, actor.customer_id)
                if customer is None:
                    raise NotFound("customer", actor.customer_id)
                if shipper_org_id not in (None, customer.shipper_org_id):
                    raise NotFound("organization", shipper_org_id)
                shipper_org_id = customer.shipper_org_id
            if shipper_org_id is None:
                raise InvalidInput({"shipper_org_id": ["say which shipper"]})
            org = uow.session.get(Organization, shipper_org_id)
            if org is None:
                raise NotFound("organization", shipper_org_id)
            return org.role is OrgRole.SHIPPER and bool(org.feedback_portal)

    # -- the audit trail and the host's sync ------------------------------------------
    def changes(
        self, actor: Actor, org_id: int, *, before: int | None = None, limit: int = 100
    ) -> builtins.list[DirectoryChange]:
        """The changes to ``org_id``'s directory, newest first: ``limit`` of them
        (at most 500), older than change ``before`` if given.

        For the host and the organization's managers, admins and API keys.
        """
        if not (actor.is_unrestricted or (actor.org_id == org_id and actor.is_manager)):
            raise NotFound("organization", org_id)
        if not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["between 1 and 500"]})
        d = tables.directory_changes.c
        stmt = select(tables.directory_changes).where(d.org_id == org_id)
        if before is not None:
            stmt = stmt.where(d.id < before)
        stmt = stmt.order_by(d.id.desc()).limit(limit)
        with self._uow(write=False) as uow:
            return [change_from_row(row) for row in uow.session.execute(stmt)]

    def sync(
        self,
        actor: Actor,
        *,
        organizations: Iterable[OrganizationRecord | Mapping[str, Any]] = (),
        users: Iterable[UserRecord | Mapping[str, Any]] = (),
        customers: Iterable[CustomerRecord | Mapping[str, Any]] = (),
    ) -> SyncReport:
        """Upsert organizations, users and customers keyed by the host's ``external_id``.

        What the host's user sync calls. A record that exists is updated
        where it differs, one that does not is created; a user with
        ``active=False`` is deactivated (as :meth:`deactivate_user`), one
        with ``active=True`` reactivated. Records not named are left alone.
        All or nothing: a bad record is InvalidInput naming it
        (``users.3.email``) and nothing is written. Running it twice changes
        nothing the second time: the report then counts only ``unchanged``.

        The host syncs everything; an organization's API key or admin syncs
        its own users (and, for a shipper, its customers), not organizations.
        Each change is audited (:meth:`changes`).
        """
        org_items = records(OrganizationRecord, organizations, "organizations")
        user_items = records(UserRecord, users, "users")
        customer_items = records(CustomerRecord, customers, "customers")
        with self._uow() as uow:
            acting = acting_user(uow.session, actor)
            if not (
                actor.is_unrestricted
                or (actor.is_system and actor.org_id is not None)
                or (acting is not None and acting.role is UserRole.ADMIN)
            ):
                raise PermissionDenied("only the host and an organization's admins sync users")
            report = directory_sync.sync(
                uow.session,
                actor,
                self._now(),
                organizations=org_items,
                users=user_items,
                customers=customer_items,
            )
            uow.commit()
            return report
