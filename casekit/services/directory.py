"""Organizations, users and customers: the host's accounts, mapped into casekit."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor, ActorKind, SystemName
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
    clean_text,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.services import directory_sync
from casekit.services.base import Service, asks_about_actor
from casekit.services.directory_sync import Changes, change_from_row, records
from casekit.store import tables
from casekit.store.acting import refuse_inactive


class _Unchanged:
    """The default of a field a change leaves as it is (``None`` clears an ``external_id``)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


_UNSET: Any = _Unchanged()


def _text(errors: dict[str, list[str]], field: str, value: str, limit: int) -> str:
    return clean_text(errors, field, value, limit)


def _email(errors: dict[str, list[str]], value: str, field: str = "email") -> str:
    return clean_email(errors, field, value)


def _acting_user(session: Session, actor: Actor) -> User | None:
    """The user ``actor`` is (None for the host, a key, a customer); the session
    refused them already if they were deactivated."""
    return session.get(User, actor.user_id) if actor.user_id is not None else None


class DirectoryService(Service):
    """Maps the host's accounts to casekit. Reach it as ``kit.directory``.

    The host (``Actor.host()``) adds organizations; an organization's
    managers and admins (or the host) add its users; its staff (or the host) add customers.
    Each has an optional ``external_id``: the host's own key, to find it by.
    """

    def add_organization(
        self, actor: Actor, *, name: str, role: OrgRole | str, external_id: str | None = None
    ) -> Organization:
        if not actor.is_unrestricted:
            raise PermissionDenied("only the host adds organizations")
        errors: dict[str, list[str]] = {}
        name = _text(errors, "name", name, 200)
        try:
            org_role = OrgRole(role)
        except ValueError:
            errors["role"] = [f"unknown role {role!r}; shipper or carrier"]
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            if external_id is not None and self._org_by_external_id(uow.session, external_id):
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
        name = _text(errors, "name", name, 200)
        email = _email(errors, email)
        try:
            user_role = UserRole(role)
        except ValueError:
            errors["role"] = [f"unknown role {role!r}; agent, manager or admin"]
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            if uow.session.get(Organization, org_id) is None:
                raise InvalidInput({"org_id": [f"no organization {org_id}"]})
            if external_id is not None and self._user_by_external_id(
                uow.session, org_id, external_id
            ):
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
    ) -> Customer:
        if not (actor.is_unrestricted or (actor.org_id == shipper_org_id and actor.is_staff)):
            raise PermissionDenied("only the host or the shipper's staff add its customers")
        errors: dict[str, list[str]] = {}
        email = _email(errors, email)
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

    def organization_by_external_id(self, actor: Actor, external_id: str) -> Organization:
        with self._uow(write=False) as uow:
            org = self._org_by_external_id(uow.session, external_id)
            if org is None or actor.is_customer:
                raise NotFound("organization", external_id)
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

    # -- upkeep: renames, roles, leavers, moved addresses --------------------------
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
            name = _text(errors, "name", name, tables.NAME)
        if external_id is not _UNSET and external_id is not None:
            external_id = _text(errors, "external_id", external_id, tables.KEY)
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
                    holder = self._org_by_external_id(uow.session, external_id)
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
            name = _text(errors, "name", name, tables.NAME)
        if email is not None:
            email = _email(errors, email)
        new_role: UserRole | None = None
        if role is not None:
            try:
                new_role = UserRole(role)
            except ValueError:
                errors["role"] = [f"unknown role {role!r}; agent, manager or admin"]
        if external_id is not _UNSET and external_id is not None:
            external_id = _text(errors, "external_id", external_id, tables.KEY)
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
                    holder = self._user_by_external_id(uow.session, user.org_id, external_id)
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
    ) -> Customer:
        """Move a customer to a new email address, rename them, or change their ``external_id``.

        The customer keeps their cases. The host, or the shipper's managers,
        admins and API keys may. An address another customer of the same
        shipper already has is refused (InvalidInput naming ``email``).
        """
        errors: dict[str, list[str]] = {}
        if email is not None:
            email = _email(errors, email)
        if name is not None:
            name = name.strip()
            if len(name) > tables.NAME:
                errors["name"] = [f"at most {tables.NAME} characters"]
        if external_id is not _UNSET and external_id is not None:
            external_id = _text(errors, "external_id", external_id, tables.KEY)
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
            changes.write(uow.session)
            uow.commit()
            return customer

    # -- the host's keys -------------------------------------------------------------
    def user_by_external_id(
        self, actor: Actor, external_id: str, *, org_id: int | None = None
    ) -> User:
        """The user of ``org_id`` (the actor's own by default) with the host's ``external_id``.

        Visible to the host and the user's colleagues, as :meth:`user`. The
        host may leave out ``org_id`` when the key names one user only.
        """
        wanted = org_id if org_id is not None else actor.org_id
        if actor.is_customer or not (actor.is_unrestricted or wanted == actor.org_id):
            raise NotFound("user", external_id)
        with self._uow(write=False) as uow:
            found = self._users_by_external_id(uow.session, external_id, wanted)
            if not found:
                raise NotFound("user", external_id)
            if len(found) > 1:
                raise InvalidInput(
                    {"org_id": [f"{external_id!r} names users of several organizations; say which"]}
                )
            return found[0]

    def customer_by_external_id(
        self, actor: Actor, external_id: str, *, shipper_org_id: int | None = None
    ) -> Customer:
        """The customer of ``shipper_org_id`` (the actor's own by default) with the
        host's ``external_id``: for the host and the shipper's staff."""
        wanted = shipper_org_id if shipper_org_id is not None else actor.org_id
        if actor.is_customer or not (actor.is_unrestricted or wanted == actor.org_id):
            raise NotFound("customer", external_id)
        k = tables.customers.c
        stmt = select(Customer).where(k.external_id == external_id)
        if wanted is not None:
            stmt = stmt.where(k.shipper_org_id == wanted)
        with self._uow(write=False) as uow:
            found = builtins.list(uow.session.scalars(stmt.limit(2)))
            if not found:
                raise NotFound("customer", external_id)
            if len(found) > 1:
                raise InvalidInput(
                    {
                        "shipper_org_id": [
                            f"{external_id!r} names customers of several shippers; say which"
                        ]
                    }
                )
            return found[0]

    def actor_for_external_id(
        self,
        kind: ActorKind | str,
        external_id: str,
        *,
        organization: str | None = None,
    ) -> Actor:
        """The actor of the host's own ids: what an identity loader returns.

        ``kind`` ``user`` finds the user with ``external_id`` (in the
        organization whose ``external_id`` is ``organization``, needed when
        the key names users of several); ``customer`` finds a customer the
        same way (``organization`` names the shipper); ``system`` gives the
        API system actor of the organization whose ``external_id`` is
        ``external_id``. NotFound for an unknown key; PermissionDenied for a
        deactivated user, who can no longer act.

        This is the host's call and takes no actor: the host vouches for
        who its own user is.
        """
        try:
            wanted = ActorKind(kind)
        except ValueError:
            raise InvalidInput(
                {"kind": [f"unknown kind {kind!r}; user, customer or system"]}
            ) from None
        with self._uow(write=False) as uow:
            org_id: int | None = None
            if organization is not None or wanted is ActorKind.SYSTEM:
                org = self._org_by_external_id(
                    uow.session, external_id if wanted is ActorKind.SYSTEM else str(organization)
                )
                if org is None:
                    raise NotFound("organization", organization or external_id)
                org_id = org.id
            if wanted is ActorKind.SYSTEM:
                return Actor.system_actor(SystemName.API, org_id=org_id)
            if wanted is ActorKind.USER:
                users = self._users_by_external_id(uow.session, external_id, org_id)
                if len(users) != 1:
                    if users:
                        raise InvalidInput({"organization": ["say which organization"]})
                    raise NotFound("user", external_id)
                refuse_inactive(users[0].id, users[0].active)
                return Actor.of_user(users[0])
            k = tables.customers.c
            stmt = select(Customer).where(k.external_id == external_id)
            if org_id is not None:
                stmt = stmt.where(k.shipper_org_id == org_id)
            customers = builtins.list(uow.session.scalars(stmt.limit(2)))
            if len(customers) != 1:
                if customers:
                    raise InvalidInput({"organization": ["say which shipper"]})
                raise NotFound("customer", external_id)
            return Actor.of_customer(customers[0])

    @asks_about_actor
    def may_act(self, actor: Actor) -> bool:
        """False for a deactivated user: what a web session asks on each request."""
        if actor.user_id is None:
            return True
        with self._uow(write=False) as uow:
            user = uow.session.get(User, actor.user_id)
            return user is None or user.active

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
            acting = _acting_user(uow.session, actor)
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

    # -- helpers ------------------------------------------------------------------------
    def _user_to_manage(self, session: Session, actor: Actor, user_id: int) -> User:
        """The user ``actor`` may change: NotFound across organizations,
        PermissionDenied for a colleague who is not an admin."""
        acting = _acting_user(session, actor)
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

    @staticmethod
    def _user_by_external_id(session: Session, org_id: int, external_id: str) -> User | None:
        u = tables.users.c
        stmt = select(User).where(u.org_id == org_id, u.external_id == external_id)
        return session.scalars(stmt).one_or_none()

    @staticmethod
    def _users_by_external_id(
        session: Session, external_id: str, org_id: int | None
    ) -> builtins.list[User]:
        u = tables.users.c
        stmt = select(User).where(u.external_id == external_id)
        if org_id is not None:
            stmt = stmt.where(u.org_id == org_id)
        return builtins.list(session.scalars(stmt.limit(2)))

    @staticmethod
    def _org_by_external_id(session: object, external_id: str) -> Organization | None:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        stmt = select(Organization).where(tables.organizations.c.external_id == external_id)
        return session.scalars(stmt).one_or_none()
