"""Who performs an operation."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from attrs import frozen

if TYPE_CHECKING:
    from casekit.domain.directory import Customer, User


class ActorKind(enum.StrEnum):
    USER = "user"
    CUSTOMER = "customer"
    SYSTEM = "system"


class SystemName(enum.StrEnum):
    """The systems that act on their own: the API, inbound email, rules, and the
    service levels' sweep (a breach's escalation)."""

    API = "api"
    EMAIL = "email"
    RULE = "rule"
    SLA = "sla"


@frozen
class Actor:
    """Who performs an operation; every service call takes one.

    Build one with :meth:`of_user`, :meth:`of_customer` or :meth:`system_actor`.
    A system actor with an ``org_id`` acts for that organization only (an API
    key, a shipper's rule); without one it is the host itself and may act on
    any case.
    """

    kind: ActorKind
    user_id: int | None = None
    customer_id: int | None = None
    org_id: int | None = None
    is_manager: bool = False
    system: SystemName | None = None

    @classmethod
    def of_user(cls, user: User) -> Actor:
        return cls(
            ActorKind.USER,
            user_id=user.id,
            org_id=user.org_id,
            is_manager=user.role.is_manager,
        )

    @classmethod
    def of_customer(cls, customer: Customer) -> Actor:
        return cls(ActorKind.CUSTOMER, customer_id=customer.id, org_id=None)

    @classmethod
    def system_actor(cls, name: SystemName | str, *, org_id: int | None = None) -> Actor:
        return cls(ActorKind.SYSTEM, system=SystemName(name), org_id=org_id, is_manager=True)

    @classmethod
    def host(cls) -> Actor:
        """The host application itself, trusted with every case."""
        return cls.system_actor(SystemName.API)

    @property
    def is_user(self) -> bool:
        return self.kind is ActorKind.USER

    @property
    def is_customer(self) -> bool:
        return self.kind is ActorKind.CUSTOMER

    @property
    def is_system(self) -> bool:
        return self.kind is ActorKind.SYSTEM

    @property
    def is_unrestricted(self) -> bool:
        """The host acting as itself: a system actor bound to no organization."""
        return self.kind is ActorKind.SYSTEM and self.org_id is None

    @property
    def is_staff(self) -> bool:
        """A user, or a system acting for one organization."""
        return self.org_id is not None and self.kind is not ActorKind.CUSTOMER

    def describe(self) -> str:
        if self.kind is ActorKind.USER:
            return f"user:{self.user_id}"
        if self.kind is ActorKind.CUSTOMER:
            return f"customer:{self.customer_id}"
        suffix = f"@org:{self.org_id}" if self.org_id is not None else ""
        return f"system:{self.system}{suffix}"
