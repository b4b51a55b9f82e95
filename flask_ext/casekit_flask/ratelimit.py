"""Rate limits that hold across web processes, counted by the ``limits`` library.

Each limit is a moving window: at most ``limit`` events in any ``window``
seconds for one key (a customer, an API key). The counts live in the storage
that ``CASEKIT_RATE_LIMIT_STORAGE_URI`` names: ``memory://`` (the default)
counts in this process only; ``redis://host:6379/0`` counts for every process
that names the same Redis. casekit calls the limiter where it limits; it
registers no app-wide limiter, so a host's own Flask-Limiter
(``app.extensions["limiter"]``) and its default limits stay the host's.

A storage that fails (Redis down or slow) lets the request through and logs a
warning: a rate limit guards against floods, and refusing every customer
while the storage is away would be the larger harm.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import limits.errors
from limits import RateLimitItemPerSecond
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from casekit.errors import ConfigurationError

__all__ = ["RateLimiter", "RateLimits", "open_storage"]

log = logging.getLogger(__name__)

#: Seconds a Redis storage may take to connect or answer before the request
#: goes on without it (``socket_connect_timeout`` / ``socket_timeout`` in the
#: URI's query override them).
REDIS_TIMEOUT = 0.5

_REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix"})


def open_storage(uri: str, *, setting: str = "CASEKIT_RATE_LIMIT_STORAGE_URI") -> Storage:
    """The ``limits`` storage ``uri`` names; it connects on first use.

    Raises :class:`~casekit.errors.ConfigurationError` naming ``setting``
    when the scheme is unknown, its client library is missing, or the
    storage cannot keep a moving window.
    """
    options: dict[str, Any] = {"wrap_exceptions": True}
    if urlsplit(uri).scheme in _REDIS_SCHEMES:
        options.update(socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    try:
        storage = storage_from_string(uri, **options)
    except limits.errors.ConfigurationError as error:
        raise ConfigurationError(
            f"{setting}={uri!r}: {error} (use memory:// for one process, or "
            "redis://host:6379/0 with casekit-flask[redis] installed for several)"
        ) from None
    if not isinstance(storage, Storage) or not isinstance(storage, MovingWindowSupport):
        raise ConfigurationError(
            f"{setting}={uri!r}: this storage cannot count a moving window; "
            "use memory://, redis://, redis+sentinel://, redis+cluster:// or mongodb://"
        )
    return storage


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds for each key.

    A moving window counted in ``storage`` (a ``limits`` storage or its URI;
    by default this process's memory). ``name`` keeps this limiter's counts
    apart from other limiters on the same storage.
    """

    def __init__(
        self,
        limit: int,
        window: int,
        *,
        storage: Storage | str = "memory://",
        name: str = "casekit",
    ) -> None:
        if isinstance(storage, str):
            storage = open_storage(storage)
        self.limit = limit
        self.window = window
        self.name = name
        self.storage = storage
        self._item = RateLimitItemPerSecond(limit, window, namespace=name)
        self._strategy = MovingWindowRateLimiter(storage)

    def hit(self, key: object) -> bool:
        """Count one event for ``key``; False when the limit is already reached.

        True, with a warning logged, when the storage fails.
        """
        try:
            return self._strategy.hit(self._item, str(key))
        except limits.errors.StorageError as error:
            log.warning(
                "rate limit %s not checked for %s, let through: the storage failed (%s)",
                self.name,
                key,
                error.storage_error,
            )
            return True

    def retry_after(self, key: object) -> int:
        """Whole seconds until ``key`` may have one more event (at least 1)."""
        try:
            reset, _remaining = self._strategy.get_window_stats(self._item, str(key))
        except limits.errors.StorageError:
            return self.window
        return max(1, math.ceil(reset - time.time()))


def _count(config: Mapping[str, Any], key: str, *, least: int) -> int:
    """``config[key]`` as a whole number of at least ``least``; a ConfigurationError
    naming ``key`` otherwise."""
    raw = config[key]
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
    if value is None or value < least:
        raise ConfigurationError(f"{key} must be a whole number of at least {least}, not {raw!r}")
    return value


class RateLimits:
    """The limiters of one app, on the storage its config names.

    ``portal``: feedback and replies per customer
    (``CASEKIT_PORTAL_RATE_LIMIT`` per ``CASEKIT_PORTAL_RATE_WINDOW``).
    ``api``: requests per API key (``CASEKIT_API_RATE_LIMIT`` per
    ``CASEKIT_API_RATE_WINDOW``), or None when that limit is off.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.storage = open_storage(str(config["CASEKIT_RATE_LIMIT_STORAGE_URI"]))
        prefix = str(config["CASEKIT_RATE_LIMIT_KEY_PREFIX"])
        self.portal = RateLimiter(
            _count(config, "CASEKIT_PORTAL_RATE_LIMIT", least=0),
            _count(config, "CASEKIT_PORTAL_RATE_WINDOW", least=1),
            storage=self.storage,
            name=f"{prefix}/portal",
        )
        self.api: RateLimiter | None = None
        if config["CASEKIT_API_RATE_LIMIT"] is not None:
            self.api = RateLimiter(
                _count(config, "CASEKIT_API_RATE_LIMIT", least=1),
                _count(config, "CASEKIT_API_RATE_WINDOW", least=1),
                storage=self.storage,
                name=f"{prefix}/api",
            )
