"""OAuth 2.0 access tokens for IMAP and SMTP (XOAUTH2), refreshed and kept encrypted.

Gmail and Microsoft 365 take a bearer token instead of a password. The
``oauth_*`` settings name a token endpoint, a client and the refresh token
the mailbox's owner granted; :class:`OAuthTokens` turns that refresh token
into access tokens, renews one :data:`MARGIN` before it expires (or at once
when the server refused it), and keeps it in ``casekit_oauth_tokens``
encrypted with Fernet under ``oauth_token_keys``, so every process on the
same database shares it and a restart does not ask again. A refresh token
the endpoint rotates (Microsoft does) is kept the same way and used from
then on. Neither token is ever logged or stored in plain text.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from casekit.errors import ConfigurationError
from casekit.store import tables

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet
    from sqlalchemy.engine import Engine

    from casekit.clock import Clock
    from casekit.settings import Settings

__all__ = ["MARGIN", "OAuthError", "OAuthTokens", "xoauth2"]

log = logging.getLogger(__name__)

#: An access token is renewed this long before it expires.
MARGIN = timedelta(minutes=5)
_o = tables.oauth_tokens.c


class OAuthError(ConfigurationError):
    """The token endpoint refused to give an access token (a revoked grant, a wrong client)."""


def xoauth2(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64) for ``user``."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError as error:  # pragma: no cover - the extra is missing
        raise ConfigurationError(
            "XOAUTH2 keeps tokens encrypted with the cryptography package: "
            "pip install 'casekit[imap]'"
        ) from error
    if not keys:
        raise ConfigurationError(
            "oauth_token_keys: XOAUTH2 needs a key to encrypt its tokens with; make one with "
            'python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ConfigurationError(
            f"oauth_token_keys: each key is 32 url-safe base64-encoded bytes ({error})"
        ) from error


class OAuthTokens:
    """The access token of the ``oauth_*`` settings' account, shared through the database."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock) -> None:
        missing = [
            name
            for name in ("oauth_token_url", "oauth_client_id", "oauth_refresh_token")
            if not getattr(settings, name)
        ]
        if missing:
            raise ConfigurationError(f"XOAUTH2 needs the settings {', '.join(missing)}")
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self._fernet = _fernet(settings.oauth_token_keys)
        # The account's key: a hash, so the table never holds a token in the clear.
        seed = "\n".join(
            (settings.oauth_token_url, settings.oauth_client_id, settings.oauth_refresh_token)
        )
        self.account = hashlib.sha256(seed.encode()).hexdigest()
        self._lock = threading.Lock()
        #: Access tokens asked of the token endpoint by this object.
        self.refreshes = 0

    def access_token(self, *, force: bool = False) -> str:
        """A usable access token; a new one when ``force`` (the server refused the last)."""
        with self._lock:
            row = self._row()
            now = self.clock.now()
            if row is not None and not force and row.expires_at - MARGIN > now:
                return self._decrypt(row.access_token)
            refresh = self.settings.oauth_refresh_token
            if row is not None and row.refresh_token:
                refresh = self._decrypt(row.refresh_token)
            return self._refresh(refresh, exists=row is not None)

    def sasl(self, user: str, *, force: bool = False) -> bytes:
        """The base64 XOAUTH2 response for ``user`` (SMTP's ``AUTH XOAUTH2``)."""
        return base64.b64encode(xoauth2(user, self.access_token(force=force)).encode())

    # -- internals ---------------------------------------------------------------------
    def _row(self) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(_o.access_token, _o.refresh_token, _o.expires_at).where(
                    _o.account == self.account
                )
            ).first()

    def _decrypt(self, value: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as error:
            raise ConfigurationError(
                "oauth_token_keys: the stored OAuth token was encrypted with another key; "
                "add that key after the new one"
            ) from error

    def _refresh(self, refresh_token: str, *, exists: bool) -> str:
        s = self.settings
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": s.oauth_client_id,
        }
        if s.oauth_client_secret:
            form["client_secret"] = s.oauth_client_secret
        if s.oauth_scope:
            form["scope"] = s.oauth_scope
        try:
            response = httpx.post(s.oauth_token_url, data=form, timeout=s.imap_timeout)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise OAuthError(
                f"oauth_token_url: no answer from the token endpoint: {error}"
            ) from error
        if response.status_code != 200 or "access_token" not in answer:
            # The endpoint's error code and text; never the form, which holds the secrets.
            why = answer.get("error_description") or answer.get("error") or response.status_code
            raise OAuthError(f"oauth_token_url: the token endpoint refused a new token: {why}")
        self.refreshes += 1
        access = str(answer["access_token"])
        now = self.clock.now()
        expires_at = now + timedelta(seconds=int(answer.get("expires_in") or 3600))
        values: dict[str, Any] = {
            "access_token": self._fernet.encrypt(access.encode()).decode(),
            "expires_at": expires_at,
            "updated_at": now,
        }
        if answer.get("refresh_token"):
            values["refresh_token"] = self._fernet.encrypt(
                str(answer["refresh_token"]).encode()
            ).decode()
        try:
            with self.engine.begin() as conn:
                if exists:
                    conn.execute(
                        update(tables.oauth_tokens).where(_o.account == self.account), values
                    )
                else:
                    conn.execute(insert(tables.oauth_tokens), {"account": self.account, **values})
        except IntegrityError:  # another process stored one first: ours is as good
            with self.engine.begin() as conn:
                conn.execute(update(tables.oauth_tokens).where(_o.account == self.account), values)
        log.info("OAuth access token refreshed; valid until %s", _when(expires_at))
        return access


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
