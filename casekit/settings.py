"""casekit's settings, from code or from ``CASEKIT_*`` environment variables."""

from __future__ import annotations

import os
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import platformdirs
from attrs import frozen

from casekit.errors import ConfigurationError

PREFIX = "CASEKIT_"
SMTP_SECURITY = ("none", "starttls", "ssl")
#: How casekit logs in to a mail server: a password, or an OAuth 2.0 token (XOAUTH2).
MAIL_AUTH = ("password", "xoauth2")

#: Inbound attachments accepted by default: pictures, PDFs, plain documents,
#: office files, archives and forwarded mail.
DEFAULT_INBOUND_TYPES: tuple[str, ...] = (
    "image/*",
    "application/pdf",
    "text/plain",
    "text/csv",
    "text/calendar",
    "message/rfc822",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.*",
    "application/zip",
)


def user_data_dir() -> Path:
    """The per-user folder of the default database and attachments; not created here.

    ``platformdirs.user_data_path("casekit")``: ``$XDG_DATA_HOME/casekit``
    (``~/.local/share/casekit``) on Linux, ``~/Library/Application
    Support/casekit`` on macOS, ``%LOCALAPPDATA%\\casekit`` on Windows. casekit
    creates it when it first writes there (``casekit db upgrade``,
    :meth:`~casekit.CaseKit.create_schema`, the first attachment stored).
    """
    return platformdirs.user_data_path("casekit", appauthor=False)


def default_database_url() -> str:
    """``database_url``'s default: ``casekit.sqlite3`` in :func:`user_data_dir`."""
    return f"sqlite:///{user_data_dir() / 'casekit.sqlite3'}"


def default_attachment_dir() -> Path:
    """``attachment_dir``'s default: ``attachments`` in :func:`user_data_dir`."""
    return user_data_dir() / "attachments"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _check_prefix(_instance: Any, _attribute: Any, value: str) -> None:
    if not (1 <= len(value) <= 8 and value.isalnum() and value.isascii()):
        raise ConfigurationError(
            f"case_number_prefix {value!r}: use 1 to 8 ASCII letters or digits"
        )


def _check_language(_instance: Any, _attribute: Any, value: str) -> None:
    from casekit.store.fulltext import check_language

    try:
        check_language(value)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def _check_positive(_instance: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ConfigurationError(f"{attribute.name} {value!r}: must be at least 1")


def _check_security(_instance: Any, _attribute: Any, value: str) -> None:
    if value not in SMTP_SECURITY:
        raise ConfigurationError(f"smtp_security {value!r}: one of {', '.join(SMTP_SECURITY)}")


def _check_auth(_instance: Any, attribute: Any, value: str) -> None:
    if value not in MAIL_AUTH:
        raise ConfigurationError(f"{attribute.name} {value!r}: one of {', '.join(MAIL_AUTH)}")


def _check_imap_security(_instance: Any, _attribute: Any, value: str) -> None:
    if value not in SMTP_SECURITY:
        raise ConfigurationError(f"imap_security {value!r}: one of {', '.join(SMTP_SECURITY)}")


def _check_token_url(_instance: Any, _attribute: Any, value: str) -> None:
    if value and not value.lower().startswith(("https://", "http://")):
        raise ConfigurationError(f"oauth_token_url {value!r}: an absolute http(s) URL")


def _check_address(_instance: Any, attribute: Any, value: str) -> None:
    local, at, domain = value.partition("@")
    if value and (not at or not local or not domain or "+" in local):
        raise ConfigurationError(
            f"{attribute.name} {value!r}: an address like reply@inbound.example "
            "(no '+': casekit adds the token after one)"
            if attribute.name == "reply_address"
            else f"{attribute.name} {value!r}: not an email address"
        )


def _check_secrets(_instance: Any, _attribute: Any, value: tuple[str, ...]) -> None:
    if any(len(secret) < 16 for secret in value):
        raise ConfigurationError("reply_secrets: each secret needs at least 16 characters")


def _check_case_url(_instance: Any, attribute: Any, value: str) -> None:
    if value and not value.lower().startswith(("https://", "http://")):
        raise ConfigurationError(
            f"{attribute.name} {value!r}: an absolute http(s) URL (a mail's links cannot be "
            "relative), with {number} where the case number goes, like "
            "https://shop.example/cases/{number}"
        )


def _check_not_negative(_instance: Any, attribute: Any, value: int) -> None:
    if value < 0:
        raise ConfigurationError(f"{attribute.name} {value!r}: must be 0 or more")


def _check_percent(_instance: Any, attribute: Any, value: int) -> None:
    if not 1 <= value <= 100:
        raise ConfigurationError(f"{attribute.name} {value!r}: must be from 1 to 100")


def _check_unsubscribe_url(_instance: object, attribute: Any, value: str) -> None:
    if value and "{token}" not in value:
        raise ConfigurationError("unsubscribe_url: put {token} where the token goes")
    if value and not value.startswith(("https://", "http://")):
        raise ConfigurationError("unsubscribe_url: an absolute http(s) URL")


def _check_positions(_instance: object, _attribute: Any, value: str) -> None:
    if value not in ("database", "process"):
        raise ConfigurationError(f"replica_read_your_writes: database or process, not {value!r}")


@frozen(kw_only=True)
class Settings:
    """Every setting of the core, each also readable from ``CASEKIT_<NAME>``.

    :param database_url: SQLAlchemy URL of casekit's database; by default a
        SQLite file in the per-user data folder (:func:`casekit.settings.user_data_dir`).
    :param replica_url: SQLAlchemy URL of a PostgreSQL read replica (a hot
        standby streaming from ``database_url``): lists, counts, search,
        exports and reports read from it, except for an actor whose own last
        write it has not replayed yet; empty: every read goes to the database.
    :param replica_max_lag_seconds: a replica further behind than this serves
        no reads until it catches up; they go to the database.
    :param replica_read_your_writes: where the position of each actor's last
        write is kept, so that their reads stay on the database until the
        replica has it: ``database`` (every process reads it there: one small
        statement per read) or ``process`` (each process its own: a user's
        next request served by another process may read behind).
    :param case_number_prefix: prefix of new case numbers (``CV`` gives ``CV000001``).
    :param search_language: the language of full-text search on PostgreSQL (a text
        search configuration: ``english``, ``german``, ``simple``…).
    :param load_entry_points: load plugins from the ``casekit`` entry point group.
    :param plugins_allow: when not empty, only these entry point names load.
    :param plugins_block: entry point names that never load.
    :param attachment_dir: folder of the built-in filesystem attachment store;
        by default ``attachments`` in the per-user data folder.
    :param max_attachment_bytes: largest attachment accepted.
    :param view_window_months: the Case Management views list cases created in
        this many months (All Cases reaches further); 0 lists them all.
    :param inbound_retention_days: days inbound raw mail is kept for replay
        (:meth:`~casekit.services.inbound.InboundService.purge`); 0 keeps it.
    :param inbound_attachment_types: media types inbound attachments may have
        (``image/*`` matches every image); others are reported on the case.
    :param inbound_max_message_bytes: largest inbound message accepted whole.
    :param inbound_case_type: the case type of a case opened by mail.
    :param inbound_reply_languages: languages whose reply headers and
        signatures are recognised when quoted history is stripped.
    :param inbound_burst_limit: messages one address may post on one case within
        ``inbound_burst_minutes`` and notify; later ones are recorded on the
        case without mailing anyone (an autoresponder loop); 0: no limit.
    :param inbound_burst_minutes: the window of ``inbound_burst_limit``.
    :param mail_from: the From address of notifications.
    :param reply_address: the address replies go to; each notification's
        Reply-To adds its reply token after a ``+`` (empty: no Reply-To).
    :param reply_secrets: secrets of the reply tokens: the first signs, all verify.
    :param case_url: a link to a case in the host's staff pages, ``{number}``
        filled in; the mail to users and addresses links to it.
    :param portal_case_url: a link to a case in the customer portal, ``{number}``
        filled in; the mail to a customer links to it (never to ``case_url``).
    :param unsubscribe_url: the page that unsubscribes a recipient from a case,
        ``{token}`` filled in with a token signed by ``reply_secrets``; each
        notification then carries ``List-Unsubscribe`` (one click, RFC 8058)
        and a link to it. Empty (or no ``reply_secrets``): neither. casekit-flask
        serves the page and fills this in when it is empty.
    :param smtp_host: the built-in SMTP plugin's server.
    :param smtp_port: its port (0: 25, or 465 with ``ssl``).
    :param smtp_security: ``none``, ``starttls`` or ``ssl``.
    :param smtp_username: log in with this name (and ``smtp_password``) when set.
    :param smtp_password: the password to log in with.
    :param smtp_timeout: seconds to wait for the server.
    :param smtp_ca_file: a PEM file of the certificate authorities to trust for
        the server's TLS certificate (a company CA); empty: the system's.
    :param smtp_auth: ``password`` (``smtp_password``) or ``xoauth2`` (an
        OAuth 2.0 access token from the ``oauth_*`` settings, for Gmail and
        Microsoft 365).
    :param oauth_token_url: the OAuth 2.0 token endpoint that turns
        ``oauth_refresh_token`` into access tokens (Google's
        ``https://oauth2.googleapis.com/token``, Microsoft's
        ``https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token``).
    :param oauth_client_id: the OAuth client (app registration) id.
    :param oauth_client_secret: its secret.
    :param oauth_refresh_token: the refresh token the mailbox's owner granted.
    :param oauth_scope: scopes asked for with each refresh (space-separated;
        empty: those of the grant).
    :param oauth_token_keys: Fernet keys (``Fernet.generate_key()``) that
        encrypt the access tokens casekit keeps in its database: the first
        encrypts, all decrypt. Required with ``xoauth2``.
    :param imap_host: the IMAP server ``casekit inbound poll`` takes mail from.
    :param imap_port: its port (0: 993 with ``ssl``, else 143).
    :param imap_security: ``ssl``, ``starttls`` or ``none``.
    :param imap_username: the mailbox's login name (its address, for Gmail and
        Microsoft 365).
    :param imap_password: the password for ``imap_auth`` ``password``.
    :param imap_auth: ``password`` or ``xoauth2`` (the ``oauth_*`` settings).
    :param imap_ca_file: a PEM file of the certificate authorities to trust for
        the IMAP server's certificate; empty: the system's.
    :param imap_folder: the folder mail is taken from.
    :param imap_move_to: the folder a taken message is moved to; empty: the
        message stays and is flagged ``\\Seen`` (and only unseen mail is taken).
    :param imap_idle: wait with IDLE where the server offers it.
    :param imap_poll_seconds: the pause between looks at the folder without IDLE.
    :param imap_batch_size: messages fetched in one round trip.
    :param imap_timeout: seconds to wait for the IMAP server.
    :param notify_max_attempts: delivery attempts before a notification fails.
    :param notify_retry_seconds: the wait after the first failed attempt; it
        doubles with each attempt, and each wait is drawn at random between
        half of it and all of it (equal jitter).
    :param notify_retry_max_seconds: the longest wait between attempts.
    :param worker_batch_size: notifications a worker claims at a time.
    :param worker_poll_seconds: a worker's pause when the outbox is empty.
    :param worker_lease_seconds: how long a worker's claim on the rows of its
        batch holds; the worker renews it every third of that while it
        delivers, so a worker that dies leaves its rows to the others at most
        this long after its last renewal.
    :param sla_sweep_seconds: how often ``casekit worker`` sweeps the service-level
        clocks and the freight claims' clocks for warnings due
        (``kit.service_levels.sweep()``, ``kit.claims.sweep()``); 0: never (sweep
        with ``casekit sla sweep`` and ``casekit claims sweep`` from cron instead).
    :param webhook_timeout: seconds to wait for a webhook endpoint's answer.
    :param webhook_allow_http_loopback: allow plain ``http://`` webhook URLs to
        loopback addresses (tests, development); HTTPS is required otherwise.
    :param webhook_allow_private_addresses: allow webhook URLs whose host is, or
        resolves to, a loopback, private, link-local or reserved address (tests,
        local development). Refused otherwise, when subscribing and again at
        each delivery, which connects to the address it checked.
    :param webhook_ca_file: a PEM file of the certificate authorities webhook
        endpoints are verified against; certifi's bundle by default.
    :param network_benchmarks: compute and show network benchmarks: each
        organization's figures beside those of the others of its role, as
        the disclosure rules let them be published (docs/benchmarks-network.rst).
        Off by default; each organization may still opt out.
    :param network_min_organizations: a network figure is published only for
        a group of at least this many contributing organizations.
    :param network_max_share_percent: ... and only when no one organization
        contributes more than this share (in percent) of the group's cases.
    :param network_min_cases: ... and only when the group holds at least this
        many cases (smaller cells are suppressed).
    :param network_months: the latest months ``casekit network compute``
        computes by default, this one included.
    :param health_max_outbox_lag_seconds: the health check fails when a due
        notification or webhook request has waited longer than this for a
        worker; 0 leaves the outbox out of the check.
    """

    database_url: str = attrs.field(factory=default_database_url)
    replica_url: str = ""
    replica_max_lag_seconds: int = attrs.field(default=30, validator=_check_not_negative)
    replica_read_your_writes: str = attrs.field(default="database", validator=_check_positions)
    case_number_prefix: str = attrs.field(default="CV", validator=_check_prefix)
    search_language: str = attrs.field(default="english", validator=_check_language)
    load_entry_points: bool = True
    plugins_allow: tuple[str, ...] = ()
    plugins_block: tuple[str, ...] = ()
    attachment_dir: Path = attrs.field(factory=default_attachment_dir)
    max_attachment_bytes: int = attrs.field(default=25 * 1024 * 1024, validator=_check_positive)
    view_window_months: int = attrs.field(default=13, validator=_check_not_negative)
    inbound_retention_days: int = attrs.field(default=30, validator=_check_not_negative)
    inbound_attachment_types: tuple[str, ...] = DEFAULT_INBOUND_TYPES
    inbound_max_message_bytes: int = attrs.field(
        default=60 * 1024 * 1024, validator=_check_positive
    )
    inbound_case_type: str = "general_status_update"
    inbound_reply_languages: tuple[str, ...] = ("en",)
    inbound_burst_limit: int = attrs.field(default=5, validator=_check_not_negative)
    inbound_burst_minutes: int = attrs.field(default=10, validator=_check_positive)
    mail_from: str = attrs.field(default="casekit@localhost", validator=_check_address)
    reply_address: str = attrs.field(default="", validator=_check_address)
    reply_secrets: tuple[str, ...] = attrs.field(default=(), validator=_check_secrets)
    case_url: str = attrs.field(default="", validator=_check_case_url)
    portal_case_url: str = attrs.field(default="", validator=_check_case_url)
    unsubscribe_url: str = attrs.field(default="", validator=_check_unsubscribe_url)
    smtp_host: str = "localhost"
    smtp_port: int = attrs.field(default=0, validator=_check_not_negative)
    smtp_security: str = attrs.field(default="none", validator=_check_security)
    smtp_username: str = ""
    smtp_password: str = attrs.field(default="", repr=False)
    smtp_timeout: int = attrs.field(default=30, validator=_check_positive)
    smtp_ca_file: Path | None = None
    smtp_auth: str = attrs.field(default="password", validator=_check_auth)
    oauth_token_url: str = attrs.field(default="", validator=_check_token_url)
    oauth_client_id: str = ""
    oauth_client_secret: str = attrs.field(default="", repr=False)
    oauth_refresh_token: str = attrs.field(default="", repr=False)
    oauth_scope: str = ""
    oauth_token_keys: tuple[str, ...] = attrs.field(default=(), repr=False)
    imap_host: str = ""
    imap_port: int = attrs.field(default=0, validator=_check_not_negative)
    imap_security: str = attrs.field(default="ssl", validator=_check_imap_security)
    imap_username: str = ""
    imap_password: str = attrs.field(default="", repr=False)
    imap_auth: str = attrs.field(default="password", validator=_check_auth)
    imap_ca_file: Path | None = None
    imap_folder: str = "INBOX"
    imap_move_to: str = ""
    imap_idle: bool = True
    imap_poll_seconds: int = attrs.field(default=60, validator=_check_positive)
    imap_batch_size: int = attrs.field(default=100, validator=_check_positive)
    imap_timeout: int = attrs.field(default=30, validator=_check_positive)
    notify_max_attempts: int = attrs.field(default=8, validator=_check_positive)
    notify_retry_seconds: int = attrs.field(default=60, validator=_check_positive)
    notify_retry_max_seconds: int = attrs.field(default=6 * 3600, validator=_check_positive)
    worker_batch_size: int = attrs.field(default=50, validator=_check_positive)
    worker_poll_seconds: int = attrs.field(default=5, validator=_check_positive)
    worker_lease_seconds: int = attrs.field(default=60, validator=_check_positive)
    sla_sweep_seconds: int = attrs.field(default=60, validator=_check_not_negative)
    webhook_timeout: int = attrs.field(default=10, validator=_check_positive)
    webhook_allow_http_loopback: bool = False
    webhook_allow_private_addresses: bool = False
    webhook_ca_file: str = ""
    health_max_outbox_lag_seconds: int = attrs.field(default=900, validator=_check_not_negative)
    network_benchmarks: bool = False
    network_min_organizations: int = attrs.field(default=5, validator=_check_positive)
    network_max_share_percent: int = attrs.field(default=50, validator=_check_percent)
    network_min_cases: int = attrs.field(default=10, validator=_check_not_negative)
    network_months: int = attrs.field(default=12, validator=_check_positive)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``CASEKIT_*`` variables; ``overrides`` win over them."""
        return cls.from_mapping(os.environ if environ is None else environ, **overrides)

    @classmethod
    def from_mapping(cls, *sources: Mapping[str, Any], **overrides: Any) -> Settings:
        """Settings from the ``CASEKIT_<NAME>`` keys of ``sources`` (the
        environment, a Flask app's config...), a later source winning over an
        earlier one, and ``overrides`` over them all.

        A string converts as an environment variable does (``"25"``, ``"on"``,
        ``"a, b"``); a value of the setting's own type is taken as it is (an
        ``int``, a ``bool``, a list or tuple of strings, a path); ``None`` counts
        as not set. Other keys are ignored. A bad value raises
        :class:`~casekit.errors.ConfigurationError` naming its key.
        """
        values: dict[str, Any] = {}
        for source in sources:
            for field in attrs.fields(cls):
                key = PREFIX + field.name.upper()
                raw = source.get(key)
                if raw is None:
                    continue
                try:
                    value = _convert(field, raw)
                    if field.validator is not None:
                        field.validator(None, field, value)
                except (ValueError, ConfigurationError) as error:
                    raise ConfigurationError(f"{key}: {error}") from error
                values[field.name] = value
        values.update(overrides)
        return cls(**values)


def setting_keys() -> frozenset[str]:
    """The ``CASEKIT_<NAME>`` key of every core setting."""
    return frozenset(PREFIX + field.name.upper() for field in attrs.fields(Settings))


#: How a setting is read from text (an environment variable); str when not listed.
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "replica_max_lag_seconds": int,
    "load_entry_points": _bool,
    "plugins_allow": _split,
    "plugins_block": _split,
    "attachment_dir": Path,
    "max_attachment_bytes": int,
    "view_window_months": int,
    "inbound_retention_days": int,
    "inbound_attachment_types": _split,
    "inbound_max_message_bytes": int,
    "inbound_reply_languages": _split,
    "inbound_burst_limit": int,
    "inbound_burst_minutes": int,
    "reply_secrets": _split,
    "smtp_port": int,
    "smtp_timeout": int,
    "smtp_ca_file": lambda raw: Path(raw) if raw.strip() else None,
    "oauth_token_keys": _split,
    "imap_port": int,
    "imap_ca_file": lambda raw: Path(raw) if raw.strip() else None,
    "imap_idle": _bool,
    "imap_poll_seconds": int,
    "imap_batch_size": int,
    "imap_timeout": int,
    "notify_max_attempts": int,
    "notify_retry_seconds": int,
    "notify_retry_max_seconds": int,
    "worker_batch_size": int,
    "worker_poll_seconds": int,
    "worker_lease_seconds": int,
    "sla_sweep_seconds": int,
    "webhook_timeout": int,
    "webhook_allow_http_loopback": _bool,
    "webhook_allow_private_addresses": _bool,
    "health_max_outbox_lag_seconds": int,
    "network_benchmarks": _bool,
    "network_min_organizations": int,
    "network_max_share_percent": int,
    "network_min_cases": int,
    "network_months": int,
}


def _convert(field: Any, raw: Any) -> Any:
    """``raw`` as the value of the setting ``field``: a string read as text, else its own type."""
    if isinstance(raw, str):
        return _FROM_TEXT.get(field.name, str)(raw)
    kind = _TYPES[field.name]
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        raise ValueError(f"not a boolean: {raw!r}")
    if kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        raise ValueError(f"not a whole number: {raw!r}")
    if kind == tuple[str, ...]:
        if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
            return tuple(raw)
        raise ValueError(f"not a list of strings: {raw!r}")
    if kind in (Path, Path | None) and isinstance(raw, os.PathLike):
        return Path(raw)
    raise ValueError(f"not a string: {raw!r}")


#: Each setting's type, its annotation resolved.
_TYPES: dict[str, Any] = typing.get_type_hints(Settings)
