"""Organizations, users and customers: the host's accounts, mapped into casekit."""

from __future__ import annotations

from sqlalchemy import select

from casekit.domain.actor import Actor
from casekit.domain.directory import Customer, Organization, OrgRole, User, UserRole
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.services.base import Service
from casekit.store import tables


def _text(errors: dict[str, list[str]], field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        errors[field] = ["required"]
    elif len(value) > limit:
        errors[field] = [f"at most {limit} characters"]
    return value


def _email(errors: dict[str, list[str]], value: str) -> str:
    value = _text(errors, "email", value, 320).lower()
    if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
        errors["email"] = ["not an email address"]
    return value


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
            user = User(
                org_id=org_id,
                name=name,
                email=email,
                role=user_role,
                external_id=external_id,
                created_at=self._now(),
            )
            uow.session.add(user)
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

    def users(self, actor: Actor, org_id: int | None = None) -> list[User]:
        """The active users of ``org_id`` (the actor's own by default), by name.

        Staff list their own organization's colleagues (to hand a case over or
        add a watcher); the host lists any organization's.
        """
        wanted = org_id if org_id is not None else actor.org_id
        if wanted is None or actor.is_customer:
            raise NotFound("organization", org_id)
        if not (actor.is_unrestricted or actor.org_id == wanted):
            raise NotFound("organization", wanted)
        u = tables.users.c
        stmt = select(User).where(u.org_id == wanted, u.active.is_(True)).order_by(u.name, u.id)
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

    @staticmethod
    def _org_by_external_id(session: object, external_id: str) -> Organization | None:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        stmt = select(Organization).where(tables.organizations.c.external_id == external_id)
        return session.scalars(stmt).one_or_none()
