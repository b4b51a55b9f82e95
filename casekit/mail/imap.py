"""``casekit inbound poll``: take mail from a mailbox people already have, over IMAP.

:class:`ImapPoller` logs in to one folder of one mailbox (a password, or an
OAuth 2.0 token with XOAUTH2 for Gmail and Microsoft 365), hands each new
message to :meth:`~casekit.services.inbound.InboundService.receive` like
every other transport, and then moves it to ``imap_move_to`` or flags it
``\\Seen``. It waits with IDLE where the server offers it (renewed before
the server's 29-minute limit), else looks again every ``imap_poll_seconds``;
a dropped connection is opened again with a growing pause. With
``workers``, the messages of each batch are read and filed by that many
processes (:mod:`casekit.mail.imap_workers`), the poller only fetching,
moving and flagging.

Exactly once: a message's (mailbox, UIDVALIDITY, UID) is recorded in
``casekit_imap_uids`` in the same transaction that stores it. A message that
is stored is recorded, so a poller stopped (or killed) between storing it
and moving or flagging it finds its UID on the next pass and only finishes
the move or the flag. When the server changes the folder's UIDVALIDITY
(the folder was rebuilt), the UIDs recorded before mean nothing: the
messages still in the folder are read again, and those casekit already has
(the same Message-ID, or the same bytes) are recognised as duplicates and
only moved or flagged.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
from attrs import frozen
from sqlalchemy import select

from casekit.errors import ConfigurationError
from casekit.mail.imap_workers import Workers, can_fork, take_message
from casekit.store import tables

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from casekit.kit import CaseKit
    from casekit.mail.oauth import OAuthTokens
    from casekit.settings import Settings

__all__ = ["IDLE_RENEW_SECONDS", "ImapPoller", "Mailbox"]

log = logging.getLogger(__name__)

#: IDLE is issued again after this long (servers drop an IDLE after 29 minutes, RFC 2177).
IDLE_RENEW_SECONDS = 25 * 60
#: The longest pause before connecting again after the server dropped the connection.
MAX_BACKOFF_SECONDS = 300.0
#: The most message bytes fetched in one round trip.
FETCH_BYTES = 16 * 1024 * 1024
_u = tables.imap_uids.c
#: Errors of a connection that is gone or a server that refused a command.
CONNECTION_ERRORS = (OSError, imaplib.IMAP4.error, EOFError)


@frozen(kw_only=True)
class Mailbox:
    """One folder of one mailbox and how to reach it: the ``imap_*`` settings."""

    host: str
    port: int = 0
    security: str = "ssl"
    username: str
    password: str = attrs.field(default="", repr=False)
    auth: str = "password"
    folder: str = "INBOX"
    move_to: str = ""
    idle: bool = True
    poll_seconds: float = 60
    batch_size: int = 100
    timeout: float = 30
    ca_file: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Mailbox:
        """The mailbox the ``imap_*`` settings name; ``overrides`` win (None: not given)."""
        values: dict[str, Any] = {
            name: getattr(settings, f"imap_{name}")
            for name in (
                "host",
                "port",
                "security",
                "username",
                "password",
                "auth",
                "folder",
                "move_to",
                "idle",
                "poll_seconds",
                "batch_size",
                "timeout",
            )
        }
        values["ca_file"] = str(settings.imap_ca_file) if settings.imap_ca_file else None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["host"] or not values["username"]:
            raise ConfigurationError(
                "casekit inbound poll needs imap_host and imap_username "
                "(CASEKIT_IMAP_HOST, CASEKIT_IMAP_USERNAME)"
            )
        if values["auth"] == "password" and not values["password"]:
            raise ConfigurationError("imap_password: set it, or use imap_auth xoauth2")
        return cls(**values)

    @property
    def name(self) -> str:
        """The key its taken UIDs are recorded under: ``user@host/folder``."""
        return f"{self.username}@{self.host}/{self.folder}"[:200]

    @property
    def real_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


class ImapPoller:
    """Takes the mail of one :class:`Mailbox` into ``kit`` until ``stop`` is set."""

    def __init__(
        self,
        kit: CaseKit,
        mailbox: Mailbox,
        *,
        stop: threading.Event | None = None,
        tokens: OAuthTokens | None = None,
        workers: int = 1,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.kit = kit
        self.mailbox = mailbox
        self.stop = stop or threading.Event()
        if mailbox.auth == "xoauth2" and tokens is None:
            from casekit.mail.oauth import OAuthTokens

            tokens = OAuthTokens(kit.settings, kit.engine, kit.clock)
        self.tokens = tokens
        #: The processes messages are taken in, beside the poller (None: the poller alone).
        self.workers: Workers | None = None
        if workers > 1:
            if can_fork(kit):
                self.workers = Workers(kit, workers)
            else:
                log.warning(
                    "IMAP %s: one process takes the mail: worker processes need fork "
                    "and a database they can share (not SQLite in memory)",
                    mailbox.name,
                )
        #: Messages taken (stored, or recognised as stored before) and then moved or flagged.
        self.taken = 0
        #: Connections opened, the first included.
        self.connections = 0
        #: IDLE commands issued.
        self.idles = 0
        self._uidvalidity: int | None = None

    # -- the loop ----------------------------------------------------------------------
    def run(self, *, once: bool = False) -> None:
        """Take mail until :attr:`stop` is set; with ``once``, one pass and return.

        A connection the server drops (or never gives) is opened again after
        a pause that doubles from one second up to :data:`MAX_BACKOFF_SECONDS`;
        each drop is logged. With ``once`` the error is raised instead.
        """
        try:
            self._run(once)
        finally:
            if self.workers is not None:
                self.workers.close()

    def _run(self, once: bool) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            try:
                if self.workers is not None:
                    # Forked before the connection is opened: it stays the poller's alone.
                    self.workers.start()
                with self._session() as client:
                    backoff = 1.0
                    while not self.stop.is_set():
                        failed = self.take(client)
                        if once:
                            return
                        if failed:
                            # casekit could not store a message now (its database is
                            # down?): look again soon rather than wait for new mail.
                            self.stop.wait(min(self.mailbox.poll_seconds, 30))
                        else:
                            self._wait(client)
            except (*CONNECTION_ERRORS, ConfigurationError) as error:
                if once:
                    raise
                log.warning(
                    "IMAP %s: %s; connecting again in %.0f s",
                    self.mailbox.name,
                    _describe(error),
                    backoff,
                )
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    @contextmanager
    def _session(self) -> Iterator[IMAPClient]:
        client = self._connect()
        try:
            yield client
        finally:
            try:
                client.logout()
            except (*CONNECTION_ERRORS, AttributeError):
                try:
                    client.shutdown()
                except (*CONNECTION_ERRORS, AttributeError):
                    pass

    def _connect(self) -> IMAPClient:
        try:
            from imapclient import IMAPClient
        except ImportError as error:  # pragma: no cover - the extra is missing
            raise ConfigurationError(
                "casekit inbound poll needs IMAPClient: pip install 'casekit[imap]'"
            ) from error
        box = self.mailbox
        # Certificates are always verified: against imap_ca_file, or the system's CAs.
        context = ssl.create_default_context(cafile=box.ca_file)
        client = IMAPClient(
            box.host,
            port=box.real_port,
            ssl=box.security == "ssl",
            ssl_context=context,
            timeout=box.timeout,
        )
        try:
            if box.security == "starttls":
                client.starttls(context)
            self._login(client)
            selected = client.select_folder(box.folder)
            self._check_uidvalidity(int(selected[b"UIDVALIDITY"]))
            if box.move_to and not client.folder_exists(box.move_to):
                client.create_folder(box.move_to)
        except BaseException:
            client.shutdown()
            raise
        self.connections += 1
        log.info("IMAP %s: connected", box.name)
        return client

    def _login(self, client: IMAPClient) -> None:
        from imapclient.exceptions import LoginError

        box = self.mailbox
        if self.tokens is None:
            client.login(box.username, box.password)
            return
        try:
            client.oauth2_login(box.username, self.tokens.access_token())
        except LoginError:
            # The server refused a token casekit thought good (revoked, or
            # expired early): once more with a new one.
            log.info("IMAP %s: XOAUTH2 refused; refreshing the access token", box.name)
            client.oauth2_login(box.username, self.tokens.access_token(force=True))

    def _check_uidvalidity(self, uidvalidity: int) -> None:
        """Log a folder whose UIDVALIDITY is not the one its recorded UIDs have."""
        if self._uidvalidity == uidvalidity:
            return
        mine = _u.mailbox == self.mailbox.name
        with self.kit.engine.connect() as conn:
            # Both on the key's first columns: cheap however many UIDs are recorded.
            seen_any = conn.execute(select(_u.uid).where(mine).limit(1)).first()
            seen_this = conn.execute(
                select(_u.uid).where(mine, _u.uidvalidity == uidvalidity).limit(1)
            ).first()
        if seen_any is not None and seen_this is None:
            log.warning(
                "IMAP %s: UIDVALIDITY is now %s; the messages in the folder are read "
                "again, and those casekit has are only moved or flagged",
                self.mailbox.name,
                uidvalidity,
            )
        self._uidvalidity = uidvalidity

    def _wait(self, client: IMAPClient) -> None:
        """Wait for new mail: IDLE where offered (renewed in time), else a pause and NOOP."""
        if not (self.mailbox.idle and client.has_capability("IDLE")):
            self.stop.wait(self.mailbox.poll_seconds)
            client.noop()  # a dropped connection shows here, not in the next pass
            return
        client.idle()
        self.idles += 1
        try:
            renew = time.monotonic() + IDLE_RENEW_SECONDS
            while not self.stop.is_set() and time.monotonic() < renew:
                # Short checks, so a stop is heard within a second.
                responses = client.idle_check(timeout=1)
                if any(_is_new_mail(r) for r in responses):
                    break
                # IMAPClient reads a closed connection as "nothing new": look.
                if any(r[:1] == (b"BYE",) for r in responses) or _closed(client):
                    raise ConnectionAbortedError("the server closed the connection")
        finally:
            client.idle_done()

    # -- one pass ----------------------------------------------------------------------
    def take(self, client: IMAPClient) -> int:
        """Take every message waiting in the folder; the number casekit could not store now.

        Messages are fetched ``batch_size`` at a time in one round trip (fewer
        when they are large: at most :data:`FETCH_BYTES` at once), taken in
        the poller or shared among its :attr:`workers`, and those taken are
        moved or flagged together after each batch. A stop lets the messages
        in hand finish, then moves or flags what was taken.
        """
        box = self.mailbox
        uidvalidity = self._uidvalidity
        assert uidvalidity is not None
        criteria = ["NOT", "DELETED"] if box.move_to else ["UNSEEN", "NOT", "DELETED"]
        waiting = sorted(client.search(criteria))
        failed = 0
        for start in range(0, len(waiting), box.batch_size):
            if self.stop.is_set():
                break
            batch = waiting[start : start + box.batch_size]
            recorded = self._recorded(uidvalidity, batch)
            done = [uid for uid in batch if uid in recorded]
            new = [uid for uid in batch if uid not in recorded]
            try:
                for group in _by_size(client, new):
                    if self.stop.is_set():
                        return failed
                    fetched = client.fetch(group, ["BODY.PEEK[]"])
                    # A message expunged by someone else meanwhile is not fetched.
                    messages = [
                        (uid, raw)
                        for uid in group
                        if (raw := fetched.get(uid, {}).get(b"BODY[]")) is not None
                    ]
                    if self.workers is not None:
                        taken, not_taken = self.workers.take(
                            box.name, uidvalidity, messages, self.stop
                        )
                        done += taken
                        failed += not_taken
                        continue
                    for uid, raw in messages:
                        if self.stop.is_set():
                            return failed
                        if take_message(self.kit, box.name, uidvalidity, uid, raw):
                            done.append(uid)
                        else:
                            failed += 1
            finally:
                self._finish(client, done)
        return failed

    def _recorded(self, uidvalidity: int, uids: Sequence[int]) -> set[int]:
        with self.kit.engine.connect() as conn:
            return set(
                conn.execute(
                    select(_u.uid).where(
                        _u.mailbox == self.mailbox.name,
                        _u.uidvalidity == uidvalidity,
                        _u.uid.in_(uids),
                    )
                ).scalars()
            )

    def _finish(self, client: IMAPClient, uids: list[int]) -> None:
        """Move or flag the messages taken: one round trip for the lot."""
        if not uids:
            return
        box = self.mailbox
        if not box.move_to:
            client.add_flags(uids, [b"\\Seen"], silent=True)
        elif client.has_capability("MOVE"):
            client.move(uids, box.move_to)
        else:
            client.copy(uids, box.move_to)
            client.add_flags(uids, [b"\\Deleted"], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                # Without UIDPLUS, EXPUNGE also removes other messages a person
                # marked deleted in this folder: as their mail program would.
                client.expunge()
        self.taken += len(uids)
        log.info("IMAP %s: %d messages taken", box.name, len(uids))


def _by_size(client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
    """``uids`` in groups of at most :data:`FETCH_BYTES` (a larger message alone)."""
    if not uids:
        return
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    group: list[int] = []
    total = 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if group and total + size > FETCH_BYTES:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def _is_new_mail(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] == b"EXISTS"


def _closed(client: IMAPClient) -> bool:
    """Whether the server closed the connection (a read would give end of file)."""
    try:
        return bool(client.socket().recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"")
    except BlockingIOError:
        return False
    except OSError:
        return True


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
