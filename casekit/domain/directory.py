"""Organizations, their users, and the shippers' customers."""

from __future__ import annotations

import enum
import re
from datetime import datetime

from attrs import define, field, frozen


def clean_text(errors: dict[str, list[str]], name: str, value: object, limit: int) -> str:
    """``value`` stripped; a message under ``errors[name]`` when it is empty,
    too long, or not text."""
    if not isinstance(value, str):
        errors[name] = ["a text"]
        return ""
    value = value.strip()
    if not value:
        errors[name] = ["required"]
    elif len(value) > limit:
        errors[name] = [f"at most {limit} characters"]
    return value


def clean_email(errors: dict[str, list[str]], name: str, value: object) -> str:
    """``value`` as a stored address (stripped, lower case); a message under
    ``errors[name]`` when it is not an email address."""
    value = clean_text(errors, name, value, 320).lower()
    if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
        errors[name] = ["not an email address"]
    return value


#: The longest phone number kept, in characters.
MAX_PHONE = 32
_PHONE = re.compile(r"\+?[0-9 ()./-]+")


def clean_phone(errors: dict[str, list[str]], name: str, value: object) -> str | None:
    """``value`` as a stored phone number: free-form but bounded (digits,
    spaces and ``( ) - . /``, a leading ``+``, at least one digit, at most
    :data:`MAX_PHONE` characters, stripped); None for None or blank. A
    message under ``errors[name]`` otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = ["a text"]
        return None
    value = " ".join(value.split())
    if not value:
        return None
    if len(value) > MAX_PHONE:
        errors[name] = [f"at most {MAX_PHONE} characters"]
    elif _PHONE.fullmatch(value) is None or not any(ch.isdigit() for ch in value):
        errors[name] = ["a phone number: digits, spaces, + - ( ) . /"]
    return value


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
    """A person working for an organization (staff).

    A user who left is deactivated, never deleted: ``active`` is false and
    ``deactivated_at`` says since when. Their name stays on the entries they
    wrote; they can no longer act, are not notified, and are offered to no one
    as an owner or a watcher.
    """

    org_id: int
    name: str
    email: str
    role: UserRole = UserRole.AGENT
    external_id: str | None = None
    active: bool = True
    created_at: datetime | None = None
    deactivated_at: datetime | None = None
    id: int | None = field(default=None, kw_only=True)


@define(slots=False, eq=False)
class Customer:
    """A shipper's consumer. Not a user: identified by the host or by email.

    ``phone`` is free-form (see ``clean_phone``). The carrier reads the
    customer's name, email and phone only on a case whose shipper shared them.
    """

    shipper_org_id: int
    email: str
    name: str = ""
    external_id: str | None = None
    created_at: datetime | None = None
    phone: str | None = None
    id: int | None = field(default=None, kw_only=True)


class Subject(enum.StrEnum):
    """What a directory change is about."""

    ORGANIZATION = "organization"
    USER = "user"
    CUSTOMER = "customer"


@frozen
class DirectoryChange:
    """One audited change to the directory: who changed which field of what, from what to what.

    ``change`` is ``created`` when the subject was added (``new`` is its name
    or email), ``active`` for a deactivation (``true`` to ``false``) or a
    reactivation, else the field that changed. ``org_id`` is the
    organization whose directory it is: the organization itself, a user's
    organization or a customer's shipper.
    """

    at: datetime
    actor: str
    org_id: int
    subject: Subject
    subject_id: int
    change: str
    old: str | None
    new: str | None
    id: int | None = None


@frozen
class OrganizationRecord:
    """An organization as the host's user sync states it, keyed by ``external_id``."""

    external_id: str
    name: str
    role: OrgRole | str


@frozen
class UserRecord:
    """A user as the host's user sync states it.

    ``organization`` is the ``external_id`` of the user's organization;
    ``active=False`` says the user left (they are deactivated).
    """

    external_id: str
    organization: str
    name: str
    email: str
    role: UserRole | str = UserRole.AGENT
    active: bool = True


@frozen
class CustomerRecord:
    """A shipper's customer as the host's sync states it; ``shipper`` is the
    shipper's ``external_id``. ``phone`` None (or blank) states none."""

    external_id: str
    shipper: str
    email: str
    name: str = ""
    phone: str | None = None


@frozen
class SyncCounts:
    """What a sync did to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@frozen
class SyncReport:
    """What :meth:`~casekit.services.directory.DirectoryService.sync` did.

    ``deactivated`` counts the users among ``users.updated`` that the sync
    deactivated. A second run with the same records reports only ``unchanged``.
    """

    organizations: SyncCounts
    users: SyncCounts
    customers: SyncCounts
    deactivated: int = 0

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in (self.organizations, self.users, self.customers))
