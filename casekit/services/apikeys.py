"""API keys per organization: created by its managers, shown once, revocable."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta

from attrs import frozen
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.apikeys import (
    ApiIdentity,
    ApiKey,
    ApiScope,
    hash_secret,
    new_token,
    split_token,
)
from casekit.domain.directory import Organization
from casekit.errors import InvalidApiKey, InvalidInput, NotFound, PermissionDenied
from casekit.services.base import Service
from casekit.store import tables

# last_used_at is a hint, not an audit trail: one write a minute per key at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@frozen
class CreatedApiKey:
    """A new key and its token. The token is shown this once; casekit keeps only a hash."""

    key: ApiKey
    token: str


class ApiKeyService(Service):
    """API keys of organizations. Reach it as ``kit.api_keys``.

    An organization's managers and admins (or the host) create, list and
    revoke its keys. :meth:`authenticate` turns a presented token into an
    :class:`~casekit.domain.apikeys.ApiIdentity`, whose ``actor`` acts for the
    key's organization with the same access rules as its staff.
    """

    def create(
        self,
        actor: Actor,
        *,
        org_id: int,
        name: str,
        scope: ApiScope | str = ApiScope.READ,
        by_key: ApiIdentity | None = None,
    ) -> CreatedApiKey:
        """A new key of organization ``org_id``; the returned token is shown this once.

        ``by_key`` is the API key the call came with, if any: an admin key
        creates keys of its own organization only, never with a larger scope
        than its own, and revoking it later revokes the keys it created.
        """
        errors: dict[str, list[str]] = {}
        name = name.strip()
        if not name:
            errors["name"] = ["required"]
        elif len(name) > 100:
            errors["name"] = ["at most 100 characters"]
        try:
            key_scope = ApiScope(scope)
        except ValueError:
            errors["scope"] = [f"unknown scope {scope!r}; read, write or admin"]
        else:
            if by_key is not None and not by_key.scope.allows(key_scope):
                errors["scope"] = [f"at most the scope of the key that creates it ({by_key.scope})"]
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            self._check_manager(uow.session, actor, org_id, by_key)
            token, public_id, secret = new_token()
            key = ApiKey(
                org_id=org_id,
                name=name,
                scope=key_scope,
                public_id=public_id,
                secret_hash=hash_secret(secret),
                created_at=self._now(),
                created_by=actor.describe(),
                created_by_key_id=by_key.key_id if by_key is not None else None,
            )
            uow.session.add(key)
            uow.commit()
            return CreatedApiKey(key=key, token=token)

    def list(
        self, actor: Actor, *, org_id: int, by_key: ApiIdentity | None = None
    ) -> builtins.list[ApiKey]:
        """The organization's keys, newest first, revoked ones included."""
        with self._uow(write=False) as uow:
            self._check_manager(uow.session, actor, org_id, by_key)
            k = tables.api_keys.c
            stmt = select(ApiKey).where(k.org_id == org_id).order_by(k.id.desc())
            return builtins.list(uow.session.scalars(stmt))

    def revoke(self, actor: Actor, key_id: int, *, by_key: ApiIdentity | None = None) -> ApiKey:
        """Revoke a key and the keys it created (and theirs): from now on their tokens
        are refused. Revoking twice changes nothing."""
        with self._uow() as uow:
            key = uow.session.get(ApiKey, key_id)
            if key is None or not self._may_manage(actor, key.org_id, by_key):
                raise NotFound("api key", key_id)
            k = tables.api_keys.c
            now, who = self._now(), actor.describe()
            ids, frontier = {key_id}, [key_id]
            while frontier:  # the keys created by the keys revoked so far
                children = uow.session.execute(
                    select(k.id).where(k.created_by_key_id.in_(frontier))
                ).scalars()
                frontier = [i for i in children if i not in ids]
                ids.update(frontier)
            uow.session.execute(
                update(tables.api_keys)
                .where(k.id.in_(sorted(ids)), k.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=who)
            )
            uow.commit()
        with self._uow(write=False) as uow:
            revoked = uow.session.get(ApiKey, key_id)
            assert revoked is not None
            return revoked

    def authenticate(self, token: str) -> ApiIdentity:
        """Who ``token`` acts as.

        Raises :class:`~casekit.errors.InvalidApiKey` for a malformed, unknown
        or revoked token alike.
        """
        parts = split_token(token)
        if parts is None:
            raise InvalidApiKey("invalid API key")
        public_id, secret = parts
        now = self._now()
        with self._uow(write=False) as uow:
            stmt = select(ApiKey).where(tables.api_keys.c.public_id == public_id)
            key = uow.session.scalars(stmt).one_or_none()
            # Hash even when there is no such key, so timing tells nothing.
            valid = key is not None and key.matches(secret) and key.active
            if not valid:
                hash_secret(secret)
                raise InvalidApiKey("invalid API key")
            assert key is not None
            assert key.id is not None
            identity = ApiIdentity(key_id=key.id, org_id=key.org_id, scope=key.scope)
            stale = key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION
        if stale:
            self._touch(identity.key_id, now)
        return identity

    def _touch(self, key_id: int, now: datetime) -> None:
        k = tables.api_keys.c
        cutoff = now - LAST_USED_RESOLUTION
        with self._uow() as uow:
            uow.session.execute(
                update(tables.api_keys)
                .where(k.id == key_id, or_(k.last_used_at.is_(None), k.last_used_at < cutoff))
                .values(last_used_at=now)
            )
            uow.commit()

    @staticmethod
    def _may_manage(actor: Actor, org_id: int, by_key: ApiIdentity | None = None) -> bool:
        if actor.is_unrestricted:
            return True
        if by_key is not None:  # an admin key, for its own organization only
            return by_key.scope is ApiScope.ADMIN and by_key.org_id == org_id == actor.org_id
        return actor.is_user and actor.org_id == org_id and actor.is_manager

    def _check_manager(
        self, session: Session, actor: Actor, org_id: int, by_key: ApiIdentity | None = None
    ) -> None:
        if session.get(Organization, org_id) is None:
            if actor.is_unrestricted:
                raise InvalidInput({"org_id": [f"no organization {org_id}"]})
            raise PermissionDenied("only the organization's managers and admins manage its keys")
        if not self._may_manage(actor, org_id, by_key):
            raise PermissionDenied("only the organization's managers and admins manage its keys")
