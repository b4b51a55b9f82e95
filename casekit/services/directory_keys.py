"""The host's own keys: organizations, users and customers found by ``external_id``,
and the actor an identity loader gets for them."""

from __future__ import annotations

import builtins

from sqlalchemy import select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor, ActorKind, SystemName
from casekit.domain.directory import Customer, Organization, User
from casekit.errors import InvalidInput, NotFound
from casekit.services.base import Service, asks_about_actor
from casekit.store import acting, tables
from casekit.store.acting import refuse_inactive


def org_with_key(session: Session, external_id: str) -> Organization | None:
    """The organization whose ``external_id`` is ``external_id``."""
    stmt = select(Organization).where(tables.organizations.c.external_id == external_id)
    return session.scalars(stmt).one_or_none()


def user_with_key(session: Session, org_id: int, external_id: str) -> User | None:
    """The user of ``org_id`` whose ``external_id`` is ``external_id``."""
    u = tables.users.c
    stmt = select(User).where(u.org_id == org_id, u.external_id == external_id)
    return session.scalars(stmt).one_or_none()


def users_with_key(session: Session, external_id: str, org_id: int | None) -> list[User]:
    """At most two users with ``external_id`` (of ``org_id``, if given): two say it is ambiguous."""
    u = tables.users.c
    stmt = select(User).where(u.external_id == external_id)
    if org_id is not None:
        stmt = stmt.where(u.org_id == org_id)
    return list(session.scalars(stmt.limit(2)))


class DirectoryKeys(Service):
    """The part of ``kit.directory`` that finds by the host's keys."""

    def organization_by_external_id(self, actor: Actor, external_id: str) -> Organization:
        with self._uow(write=False) as uow:
            org = org_with_key(uow.session, external_id)
            if org is None or actor.is_customer:
                raise NotFound("organization", external_id)
            return org

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
            found = users_with_key(uow.session, external_id, wanted)
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
                org = org_with_key(
                    uow.session, external_id if wanted is ActorKind.SYSTEM else str(organization)
                )
                if org is None:
                    raise NotFound("organization", organization or external_id)
                org_id = org.id
            if wanted is ActorKind.SYSTEM:
                return Actor.system_actor(SystemName.API, org_id=org_id)
            if wanted is ActorKind.USER:
                users = users_with_key(uow.session, external_id, org_id)
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
            allowed = user is None or user.active
            if allowed:  # the check of the reads that share this transaction, done
                acting.checked(uow.session, actor.user_id)
            return allowed
