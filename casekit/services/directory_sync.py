"""The directory's audit trail, and the host's bulk upsert (its user sync).

:func:`record` writes :class:`~casekit.domain.directory.DirectoryChange` rows
in the unit of work of the change they describe; :func:`sync` upserts
organizations, users and customers keyed by the host's ``external_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.directory import (
    Customer,
    CustomerRecord,
    DirectoryChange,
    Organization,
    OrganizationRecord,
    OrgRole,
    Subject,
    SyncCounts,
    SyncReport,
    User,
    UserRecord,
    UserRole,
    clean_email,
    clean_phone,
    clean_text,
)
from casekit.errors import InvalidInput, PermissionDenied
from casekit.store import tables

log = logging.getLogger(__name__)

R = TypeVar("R", OrganizationRecord, UserRecord, CustomerRecord)

#: How many keys one ``IN`` list carries when a sync reads what exists.
CHUNK = 500


class Changes:
    """The directory changes of one unit of work, written together by :meth:`write`."""

    def __init__(self, actor: Actor, now: datetime) -> None:
        self.who = actor.describe()
        self.now = now
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        org_id: int,
        subject: Subject,
        subject_id: int,
        change: str,
        old: object = None,
        new: object = None,
    ) -> None:
        self.rows.append(
            {
                "at": self.now,
                "actor": self.who,
                "org_id": org_id,
                "subject": subject.value,
                "subject_id": subject_id,
                "change": change,
                "old_value": _stored(old),
                "new_value": _stored(new),
            }
        )

    def set(
        self, record: Any, org_id: int, subject: Subject, attribute: str, value: object
    ) -> bool:
        """Give ``record`` (a user, customer or organization) ``value`` as its
        ``attribute`` and record the change; False when it had that value."""
        old = getattr(record, attribute)
        if old == value:
            return False
        self.add(org_id, subject, record.id, attribute, old, value)
        setattr(record, attribute, value)
        return True

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(insert(tables.directory_changes), self.rows)
            self.rows = []


def _stored(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def change_from_row(row: Any) -> DirectoryChange:
    return DirectoryChange(
        at=row.at,
        actor=row.actor,
        org_id=row.org_id,
        subject=Subject(row.subject),
        subject_id=row.subject_id,
        change=row.change,
        old=row.old_value,
        new=row.new_value,
        id=row.id,
    )


def revoke_keys_of(session: Session, user_id: int, actor: Actor, now: datetime) -> int:
    """Revoke the API keys ``user_id`` created, and the keys those created; how many."""
    k = tables.api_keys.c
    ids = set(session.scalars(select(k.id).where(k.created_by == f"user:{user_id}")))
    frontier = list(ids)
    while frontier:
        children = session.scalars(select(k.id).where(k.created_by_key_id.in_(frontier)))
        frontier = [i for i in children if i not in ids]
        ids.update(frontier)
    if not ids:
        return 0
    result = session.execute(
        update(tables.api_keys)
        .where(k.id.in_(sorted(ids)), k.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor.describe())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def deactivate(session: Session, user: User, actor: Actor, now: datetime, log_: Changes) -> None:
    """Deactivate ``user`` (already loaded): audited, their API keys revoked."""
    assert user.id is not None
    user.active = False
    user.deactivated_at = now
    log_.add(user.org_id, Subject.USER, user.id, "active", True, False)
    revoked = revoke_keys_of(session, user.id, actor, now)
    log.info(
        "user %s of organization %s deactivated by %s; %d API keys revoked",
        user.id,
        user.org_id,
        actor.describe(),
        revoked,
    )


def reactivate(user: User, log_: Changes) -> None:
    assert user.id is not None
    user.active = True
    user.deactivated_at = None
    log_.add(user.org_id, Subject.USER, user.id, "active", False, True)


# -- the bulk upsert ------------------------------------------------------------


def records(kind: type[R], items: Iterable[R | Mapping[str, Any]], section: str) -> list[R]:
    """``items`` as records of ``kind``; a mapping with unknown or missing keys is
    InvalidInput naming ``section.N``."""
    out: list[R] = []
    names = {f.name for f in attrs.fields(kind)}
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        if isinstance(item, kind):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            errors[f"{section}.{index}"] = [f"a {kind.__name__} or a mapping"]
            continue
        unknown = sorted(set(item) - names)
        if unknown:
            errors[f"{section}.{index}"] = [f"unknown fields: {', '.join(map(str, unknown))}"]
            continue
        try:
            out.append(kind(**item))
        except TypeError:
            wanted = [
                f.name
                for f in attrs.fields(kind)
                if f.default is attrs.NOTHING and f.name not in item
            ]
            errors[f"{section}.{index}"] = [f"missing fields: {', '.join(wanted)}"]
    if errors:
        raise InvalidInput(errors)
    return out


class Sync:
    """One run of the host's sync, in one unit of work; see :func:`sync`."""

    def __init__(self, session: Session, actor: Actor, now: datetime) -> None:
        self.session = session
        self.actor = actor
        self.now = now
        self.changes = Changes(actor, now)
        self.errors: dict[str, list[str]] = {}
        self.orgs: dict[str, Organization] = {}
        self.deactivated = 0

    def fail_if_errors(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def _external_id(self, path: str, value: object, seen: set[Any], key: Any = None) -> str:
        external_id = clean_text(self.errors, f"{path}.external_id", value, tables.KEY)
        if external_id:
            key = (key, external_id)
            if key in seen:
                self.errors[f"{path}.external_id"] = [f"{external_id!r} is given twice"]
            seen.add(key)
        return external_id

    # organizations -------------------------------------------------------------
    def organizations(self, items: Sequence[OrganizationRecord]) -> SyncCounts:
        if items and not self.actor.is_unrestricted:
            raise PermissionDenied("only the host syncs organizations")
        wanted: list[tuple[str, str, OrgRole]] = []
        seen: set[Any] = set()
        for index, item in enumerate(items):
            path = f"organizations.{index}"
            external_id = self._external_id(path, item.external_id, seen)
            name = clean_text(self.errors, f"{path}.name", item.name, tables.NAME)
            try:
                role = OrgRole(item.role)
            except ValueError:
                self.errors[f"{path}.role"] = [f"unknown role {item.role!r}; shipper or carrier"]
                continue
            wanted.append((external_id, name, role))
        self.fail_if_errors()
        g = tables.organizations.c
        found = self._load(Organization, g.external_id, [w[0] for w in wanted])
        created = updated = unchanged = 0
        for index, (external_id, name, role) in enumerate(wanted):
            org = found.get(external_id)
            if org is None:
                org = Organization(
                    name=name, role=role, external_id=external_id, created_at=self.now
                )
                self.session.add(org)
                self.session.flush()
                assert org.id is not None
                self.changes.add(org.id, Subject.ORGANIZATION, org.id, "created", None, name)
                created += 1
            elif org.role is not role:
                self.errors[f"organizations.{index}.role"] = [
                    f"{external_id!r} is a {org.role}; an organization's role does not change"
                ]
            elif org.name != name:
                assert org.id is not None
                self.changes.add(org.id, Subject.ORGANIZATION, org.id, "name", org.name, name)
                org.name = name
                updated += 1
            else:
                unchanged += 1
            self.orgs[external_id] = org
        self.fail_if_errors()
        return SyncCounts(created, updated, unchanged)

    def _org(self, path: str, external_id: object, *, shipper: bool = False) -> Organization | None:
        if not isinstance(external_id, str) or not external_id.strip():
            self.errors[path] = ["required"]
            return None
        external_id = external_id.strip()
        org = self.orgs.get(external_id)
        if org is None:
            stmt = select(Organization).where(tables.organizations.c.external_id == external_id)
            org = self.session.scalars(stmt).one_or_none()
            if org is not None:
                self.orgs[external_id] = org
        if org is None:
            self.errors[path] = [f"no organization with external_id {external_id!r}"]
            return None
        if not (self.actor.is_unrestricted or self.actor.org_id == org.id):
            raise PermissionDenied(
                "an organization syncs its own users and customers only; "
                f"{path} names another organization"
            )
        if shipper and org.role is not OrgRole.SHIPPER:
            self.errors[path] = [f"{external_id!r} is not a shipper"]
            return None
        return org

    def _load(self, kind: type[Any], column: Any, keys: list[Any]) -> dict[Any, Any]:
        """The stored rows of ``kind`` whose ``column`` is among ``keys``, by key."""
        found: dict[Any, Any] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            for row in self.session.scalars(select(kind).where(column.in_(chunk))):
                found[_key_of(row, column)] = row
        return found

    # users ---------------------------------------------------------------------
    def users(self, items: Sequence[UserRecord]) -> SyncCounts:
        wanted: list[tuple[int, str, str, str, UserRole, bool]] = []
        seen: set[Any] = set()
        for index, item in enumerate(items):
            path = f"users.{index}"
            org = self._org(f"{path}.organization", item.organization)
            external_id = self._external_id(path, item.external_id, seen, org and org.id)
            name = clean_text(self.errors, f"{path}.name", item.name, tables.NAME)
            email = clean_email(self.errors, f"{path}.email", item.email)
            try:
                role = UserRole(item.role)
            except ValueError:
                self.errors[f"{path}.role"] = [
                    f"unknown role {item.role!r}; agent, manager or admin"
                ]
                continue
            if not isinstance(item.active, bool):
                self.errors[f"{path}.active"] = ["true or false"]
            if org is not None and org.id is not None:
                wanted.append((org.id, external_id, name, email, role, bool(item.active)))
        self.fail_if_errors()
        u = tables.users.c
        found = self._load(User, tuple_(u.org_id, u.external_id), [(w[0], w[1]) for w in wanted])
        created = updated = unchanged = 0
        for org_id, external_id, name, email, role, active in wanted:
            user = found.get((org_id, external_id))
            if user is None:
                user = User(
                    org_id=org_id,
                    name=name,
                    email=email,
                    role=role,
                    external_id=external_id,
                    active=active,
                    created_at=self.now,
                    deactivated_at=None if active else self.now,
                )
                self.session.add(user)
                self.session.flush()
                assert user.id is not None
                self.changes.add(org_id, Subject.USER, user.id, "created", None, name)
                if not active:
                    self.changes.add(org_id, Subject.USER, user.id, "active", True, False)
                created += 1
                continue
            assert user.id is not None
            changed = False
            for attribute, value in (("name", name), ("email", email), ("role", role)):
                changed |= self.changes.set(user, org_id, Subject.USER, attribute, value)
            if user.active and not active:
                deactivate(self.session, user, self.actor, self.now, self.changes)
                self.deactivated += 1
                changed = True
            elif active and not user.active:
                reactivate(user, self.changes)
                changed = True
            if changed:
                updated += 1
            else:
                unchanged += 1
        return SyncCounts(created, updated, unchanged)

    # customers -----------------------------------------------------------------
    def customers(self, items: Sequence[CustomerRecord]) -> SyncCounts:
        wanted: list[tuple[int, str, str, str, str | None, str]] = []
        seen: set[Any] = set()
        emails: dict[tuple[int, str], str] = {}
        for index, item in enumerate(items):
            path = f"customers.{index}"
            org = self._org(f"{path}.shipper", item.shipper, shipper=True)
            external_id = self._external_id(path, item.external_id, seen, org and org.id)
            email = clean_email(self.errors, f"{path}.email", item.email)
            name = item.name.strip() if isinstance(item.name, str) else ""
            if not isinstance(item.name, str):
                self.errors[f"{path}.name"] = ["a text"]
            elif len(name) > tables.NAME:
                self.errors[f"{path}.name"] = [f"at most {tables.NAME} characters"]
            phone = clean_phone(self.errors, f"{path}.phone", item.phone)
            if org is not None and org.id is not None and email:
                other = emails.setdefault((org.id, email), path)
                if other != path:
                    self.errors[f"{path}.email"] = [f"{email!r} is also given at {other}"]
                wanted.append((org.id, external_id, email, name, phone, path))
        self.fail_if_errors()
        k = tables.customers.c
        keys = [(w[0], w[1]) for w in wanted]
        found = self._load(Customer, tuple_(k.shipper_org_id, k.external_id), keys)
        # Addresses already used by customers this sync does not name.
        synced = {c.id for c in found.values()}
        taken = self._load(
            Customer, tuple_(k.shipper_org_id, k.email), [(w[0], w[2]) for w in wanted]
        )
        created = updated = unchanged = 0
        for org_id, external_id, email, name, phone, path in wanted:
            holder = taken.get((org_id, email))
            customer = found.get((org_id, external_id))
            if holder is not None and holder.id not in synced and holder is not customer:
                self.errors[f"{path}.email"] = [
                    f"{email!r} belongs to another customer of this shipper"
                ]
                continue
            if customer is None:
                customer = Customer(
                    shipper_org_id=org_id,
                    email=email,
                    name=name,
                    external_id=external_id,
                    created_at=self.now,
                    phone=phone,
                )
                self.session.add(customer)
                self.session.flush()
                assert customer.id is not None
                self.changes.add(org_id, Subject.CUSTOMER, customer.id, "created", None, email)
                created += 1
                continue
            assert customer.id is not None
            changed = False
            for attribute, value in (("email", email), ("name", name), ("phone", phone)):
                changed |= self.changes.set(customer, org_id, Subject.CUSTOMER, attribute, value)
            if changed:
                updated += 1
            else:
                unchanged += 1
        self.fail_if_errors()
        return SyncCounts(created, updated, unchanged)


def _key_of(row: Any, column: Any) -> Any:
    if hasattr(column, "clauses"):  # a tuple_ of columns
        return tuple(getattr(row, c.name) for c in column.clauses)
    return getattr(row, column.name)


def sync(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    organizations: Sequence[OrganizationRecord],
    users: Sequence[UserRecord],
    customers: Sequence[CustomerRecord],
) -> SyncReport:
    """Upsert the records in ``session`` (the caller commits); see
    :meth:`~casekit.services.directory.DirectoryService.sync`."""
    run = Sync(session, actor, now)
    orgs = run.organizations(organizations)
    user_counts = run.users(users)
    customer_counts = run.customers(customers)
    session.flush()
    run.changes.write(session)
    return SyncReport(orgs, user_counts, customer_counts, run.deactivated)
