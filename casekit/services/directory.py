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

    @staticmethod
    def _org_by_external_id(session: object, external_id: str) -> Organization | None:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        stmt = select(Organization).where(tables.organizations.c.external_id == external_id)
        return session.scalars(stmt).one_or_none()
