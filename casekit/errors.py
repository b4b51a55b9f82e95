"""casekit's exceptions.

Every exception casekit raises on purpose derives from :class:`CaseKitError`,
and also from the builtin exception a caller would naturally catch, so
``except LookupError`` keeps working for code that does not know casekit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CaseKitError(Exception):
    """The root of casekit's exceptions."""


class ConfigurationError(CaseKitError, RuntimeError):
    """casekit was set up wrongly: a setting, a plugin or the database schema."""


class DatabaseUnavailable(ConfigurationError):
    """casekit cannot use its database: the URL, the server, the login, or missing tables.

    ``reason`` says what is wrong and how to fix it, on one line and
    without the password, for a caller that names the setting its own way
    (the ``casekit`` command names ``--database-url`` or
    ``CASEKIT_DATABASE_URL``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"database_url: {reason}")
        self.reason = reason


class NotFound(CaseKitError, LookupError):
    """The thing does not exist, *or the actor may not see it*.

    Both cases give the same answer on purpose, so that the type of an error
    never tells an actor that something it may not see exists.
    """

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class PermissionDenied(CaseKitError, PermissionError):
    """The actor may see the case but may not make this change to it."""


class InvalidApiKey(CaseKitError, PermissionError):
    """An API token is malformed, unknown or revoked: one answer for all three."""


class Conflict(CaseKitError, RuntimeError):
    """The case changed since the caller read it; reload it and try again."""

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class CaseMerged(Conflict):
    """The case was merged into another as a duplicate: it takes no more
    changes. ``number`` is the duplicate's, ``merged_into`` the original's,
    where the change belongs."""

    def __init__(self, number: str, merged_into: str) -> None:
        super().__init__(
            f"case {number} was merged into {merged_into} and takes no more changes; "
            f"make them on {merged_into}"
        )
        self.number = number
        self.merged_into = merged_into


class InvalidInput(CaseKitError, ValueError):
    """Input was rejected; ``errors`` maps each bad field to its messages."""

    def __init__(self, errors: Mapping[str, Any], message: str | None = None) -> None:
        self.errors = dict(errors)
        if message is None:
            fields = ", ".join(sorted(self.errors)) or "input"
            message = f"invalid {fields}: {self.errors}"
        super().__init__(message)
