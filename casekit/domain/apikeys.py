"""API keys: how an organization's systems act through the API."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from datetime import datetime

from attrs import define, field, frozen

from casekit.domain.actor import Actor, SystemName

TOKEN_PREFIX = "ck"


class ApiScope(enum.StrEnum):
    """What a key may do: ``read`` < ``write`` < ``admin``; each includes the ones before."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, wanted: ApiScope) -> bool:
        """True if a key with this scope may do what ``wanted`` allows."""
        return self.rank >= wanted.rank


_RANK = {ApiScope.READ: 0, ApiScope.WRITE: 1, ApiScope.ADMIN: 2}


@define(slots=False, eq=False)
class ApiKey:
    """One organization's API key, as stored: the secret only as a hash.

    ``public_id`` is the token's non-secret part, shown in lists so that a
    key can be told apart and revoked without showing the secret again.
    """

    org_id: int
    name: str
    scope: ApiScope
    public_id: str
    secret_hash: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    #: The key that created this one (through the API), if one did.
    created_by_key_id: int | None = None
    id: int | None = field(default=None, kw_only=True)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def matches(self, secret: str) -> bool:
        """Constant-time check of a token's secret part against the stored hash."""
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)


@frozen
class ApiIdentity:
    """Who a valid token acts as: a system actor for the key's organization."""

    key_id: int
    org_id: int
    scope: ApiScope

    @property
    def actor(self) -> Actor:
        return Actor.system_actor(SystemName.API, org_id=self.org_id)

    def allows(self, wanted: ApiScope | str) -> bool:
        return self.scope.allows(ApiScope(wanted))


def hash_secret(secret: str) -> str:
    """SHA-256 of a key's secret part.

    The secret is 256 random bits, so a fast hash is enough: there is no
    password to guess, only a hash that must not give the key back.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """A fresh key: ``(token, public_id, secret)``; the token is ``ck_<public_id>_<secret>``."""
    public_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}_{public_id}_{secret}", public_id, secret


def split_token(token: str) -> tuple[str, str] | None:
    """``(public_id, secret)`` of a well-formed token, else None."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]
