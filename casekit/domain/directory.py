"""Organizations, their users, and the shippers' customers."""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import define, field


class OrgRole(enum.StrEnum):
    """What an organization is to casekit: a shipper (merchant) or a carrier."""

    SHIPPER = "shipper"
    CARRIER = "carrier"


class UserRole(enum.StrEnum):
    """A user's role within their organization."""

    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def is_manager(self) -> bool:
        return self is not UserRole.AGENT


@define(slots=False, eq=False)
class Organization:
    """A company: a shipper or a carrier. ``external_id`` is the host's key.

    ``feedback_portal`` says whether a shipper's customers may send feedback
    (open cases) from the host's customer portal; off until a manager turns it on.
    """

    name: str
    role: OrgRole
    external_id: str | None = None
    created_at: datetime | None = None
    feedback_portal: bool = False
    id: int | None = field(default=None, kw_only=True)


@define(slots=False, eq=False)
class User:
    """A person working for an organization (staff)."""

    org_id: int
    name: str
    email: str
    role: UserRole = UserRole.AGENT
    external_id: str | None = None
    active: bool = True
    created_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)


@define(slots=False, eq=False)
class Customer:
    """A shipper's consumer. Not a user: identified by the host or by email."""

    shipper_org_id: int
    email: str
    name: str = ""
    external_id: str | None = None
    created_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)
