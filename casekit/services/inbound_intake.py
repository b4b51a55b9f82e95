"""Inbound mail, taken in: spooled, parsed, stored once, and put where it belongs.

:class:`InboundIntake` is the half of :class:`~casekit.services.inbound.InboundService`
that every transport reaches through ``receive``; the other half (triage, case
addresses, retention) is in :mod:`casekit.services.inbound`.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, BinaryIO

from attrs import frozen
from sqlalchemy import bindparam, func, insert, select, union, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casekit import signals
from casekit.attachments import Upload
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Case, EventKind, Side, Source
from casekit.domain.case_address import CaseAddress, UnknownSenders
from casekit.domain.directory import OrgRole, User
from casekit.mail.parse import MailAttachment, ParsedMail, parse_headers_only, parse_mail
from casekit.mail.spool import split
from casekit.mail.tokens import token_of
from casekit.query.models import CaseView
from casekit.services.base import Edit, Service, handles_nul
from casekit.services.case_addresses import address_for
from casekit.services.inbound_match import Match, is_own_message_id, match, notification_ids
from casekit.services.messages import MAX_ATTACHMENTS, MAX_BODY, MAX_CC, append_message, is_address
from casekit.store import tables
from casekit.store.uow import UnitOfWork

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
#: The start of a message that can't be parsed that is read for its headers.
HEADER_BYTES = 256 * 1024
_i = tables.inbound_messages.c


class Outcome(enum.StrEnum):
    """What became of an inbound message."""

    #: Added to an existing case as a message.
    APPENDED = "appended"
    #: Opened a new case (mail to an organization's case address).
    CREATED = "created"
    #: The same message was received before; nothing changed.
    DUPLICATE = "duplicate"
    #: An automatic reply: recorded, never a message, never a status change.
    AUTO_REPLY = "auto_reply"
    #: A delivery status report: its failed recipients are marked bouncing.
    BOUNCE = "bounce"
    #: Kept in triage with its reason, for staff to file, open or discard.
    TRIAGED = "triaged"
    #: Not a mail casekit can take (too large, no sender).
    REJECTED = "rejected"
    #: A triaged message that staff filed onto a case.
    FILED = "filed"
    #: A triaged message that staff opened a new case from.
    OPENED = "opened"
    #: A triaged message that staff discarded.
    DISCARDED = "discarded"


@frozen(kw_only=True)
class InboundResult:
    """What :meth:`~casekit.services.inbound.InboundService.receive` did with one message."""

    outcome: Outcome
    inbound_id: int | None = None
    case_number: str | None = None
    entry_id: int | None = None
    reason: str | None = None


@frozen(kw_only=True)
class _Opening:
    """Who opens a case from mail to a case address, and with whom."""

    address: CaseAddress
    actor: Actor
    #: The other party named (the actor's own organization is the other one).
    shipper: int | None = None
    carrier: int | None = None
    customer: int | None = None
    audience: Audience = Audience.PARTNERS
    #: The sender becomes their side's owner (not when the address names one for it).
    take_ownership: bool = False

    @property
    def shipper_id(self) -> int | None:
        return self.shipper if self.shipper is not None else self.actor.org_id

    @property
    def party_ids(self) -> tuple[int, ...]:
        other = self.shipper if self.shipper is not None else self.carrier
        return tuple(i for i in (self.actor.org_id, other) if i is not None)


class _Workdir:
    """A temporary folder, made only when something needs it (large mail)."""

    def __init__(self) -> None:
        self._path: Path | None = None

    def __call__(self) -> Path:
        if self._path is None:
            self._path = Path(tempfile.mkdtemp(prefix="casekit-inbound-"))
        return self._path

    def cleanup(self) -> None:
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
            self._path = None


class _Spool:
    """The raw message with its hash and size: in memory when small, else on disk."""

    IN_MEMORY = 1024 * 1024

    def __init__(self, workdir: _Workdir) -> None:
        self.workdir = workdir
        self.data: bytes | None = None
        self.path: Path | None = None
        self.sha256 = ""
        self.size = 0
        self.too_large = False

    def fill(self, source: bytes | BinaryIO, limit: int) -> None:
        if isinstance(source, bytes | bytearray):
            self.size = len(source)
            self.too_large = self.size > limit
            if not self.too_large:
                self.data = bytes(source)
                self.sha256 = hashlib.sha256(self.data).hexdigest()
            return
        digest = hashlib.sha256()
        head = source.read(self.IN_MEMORY + 1)
        self.size = len(head)
        digest.update(head)
        if len(head) <= self.IN_MEMORY:
            self.data = head
            self.sha256 = digest.hexdigest()
            return
        self.path = self.workdir() / "raw.eml"
        with self.path.open("wb") as out:
            out.write(head)
            while chunk := source.read(CHUNK):
                self.size += len(chunk)
                if self.size > limit:
                    self.too_large = True
                    return
                digest.update(chunk)
                out.write(chunk)
        self.too_large = self.size > limit
        self.sha256 = digest.hexdigest()

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


@functools.cache
def _update_row(columns: tuple[str, ...]) -> Any:
    """The UPDATE of an inbound row's ``columns``, built once per set of columns."""
    names = [name for name in columns if name != "row_id"]
    return (
        update(tables.inbound_messages)
        .where(_i.id == bindparam("row_id"))
        .values({name: bindparam(name) for name in names})
    )


_INSERT_ROW = insert(tables.inbound_messages)
#: How many messages from one sender were filed on one case since a moment
#: (built once: a statement built per message costs more than it runs).
_RECENT_FROM = (
    select(func.count())
    .select_from(tables.inbound_messages)
    .where(
        _i.case_id == bindparam("case_id"),
        _i.from_address == bindparam("sender"),
        _i.outcome == Outcome.APPENDED.value,
        _i.received_at >= bindparam("since"),
    )
)

#: What a transport writes in the transaction that stores a message: it is
#: given the connection and the message's inbound id.
OnStored = Callable[[Connection, int], None]


class InboundIntake(Service):
    """Receiving and interpreting inbound mail (``kit.inbound`` is its subclass)."""

    # -- intake ------------------------------------------------------------------
    @handles_nul
    def receive(
        self,
        message: bytes | BinaryIO,
        *,
        envelope_from: str | None = None,
        envelope_to: str | Sequence[str] | None = None,
        on_stored: OnStored | None = None,
    ) -> InboundResult:
        """Take one raw message (bytes or a binary file) and put it where it belongs.

        ``envelope_from`` and ``envelope_to`` are the SMTP envelope's sender
        and recipients when the transport knows them. ``on_stored(connection,
        inbound_id)`` runs in the transaction that stores the message's row,
        so what it writes commits with the message or not at all (the IMAP
        transport records the UID it took); it is not called for a message
        received before or refused. Never raises on bad mail: the result says
        what happened.
        """
        result = self._receive(message, envelope_from, envelope_to, on_stored)
        signals.send(signals.mail_received, self.kit, outcome=result.outcome.value)
        return result

    def _receive(
        self,
        message: bytes | BinaryIO,
        envelope_from: str | None,
        envelope_to: str | Sequence[str] | None,
        on_stored: OnStored | None,
    ) -> InboundResult:
        recipients = [envelope_to] if isinstance(envelope_to, str) else list(envelope_to or ())
        # No text column takes NUL; the parser drops them from the message too.
        recipients = [r.replace("\x00", "") for r in recipients]
        envelope_from = envelope_from and envelope_from.replace("\x00", "")
        try:
            with self._workdir() as workdir:
                spool = _Spool(workdir)
                spool.fill(message, self.kit.settings.inbound_max_message_bytes)
                if spool.too_large:
                    limit = self.kit.settings.inbound_max_message_bytes
                    return InboundResult(
                        outcome=Outcome.REJECTED,
                        reason=f"the message is larger than the limit of {limit} bytes",
                    )
                try:
                    with spool.open() as raw:
                        parsed = self._parse(raw, workdir, envelope_from, recipients)
                except Exception as error:  # RecursionError and MemoryError too
                    # A message the parser cannot read (nested thousands of
                    # levels deep, say) is kept and triaged: taking it again
                    # would fail the same way, forever.
                    log.warning("inbound mail could not be parsed; triaged as malformed: %r", error)
                    with spool.open() as raw:
                        head = raw.read(HEADER_BYTES)
                    why = f"{type(error).__name__}: {error}"[:300]
                    parsed = parse_headers_only(
                        head, why, envelope_from=envelope_from, envelope_to=recipients
                    )
                return self._store(spool, parsed, envelope_from, recipients, on_stored)
        except Exception as error:  # never raise on bad mail; the log has the traceback
            log.exception("inbound mail could not be processed")
            return InboundResult(
                outcome=Outcome.REJECTED, reason=f"could not be processed: {error}"[:500]
            )

    @contextmanager
    def _workdir(self) -> Iterator[_Workdir]:
        workdir = _Workdir()
        try:
            yield workdir
        finally:
            workdir.cleanup()

    def _parse(
        self, raw: BinaryIO, workdir: _Workdir, envelope_from: str | None, recipients: Sequence[str]
    ) -> ParsedMail:
        skeleton = split(raw, workdir)
        return parse_mail(
            skeleton,
            envelope_from=envelope_from,
            envelope_to=recipients,
            languages=self.kit.settings.inbound_reply_languages,
        )

    def _store(
        self,
        spool: _Spool,
        parsed: ParsedMail,
        envelope_from: str | None,
        recipients: Sequence[str],
        on_stored: OnStored | None,
    ) -> InboundResult:
        """Keep the raw message and its row, once, and put it where it belongs."""
        key = f"mid:{parsed.message_id}" if parsed.message_id else f"sha256:{spool.sha256}"
        key = key[:400]
        with spool.open() as stream:
            stored = self.kit.hooks.store_attachment(
                filename="message.eml",
                content_type="message/rfc822",
                stream=stream,
                max_bytes=self.kit.settings.inbound_max_message_bytes,
            )
        row = {
            "dedupe_key": key,
            "sha256": spool.sha256,
            "message_id": (parsed.message_id or None) and parsed.message_id[:300],
            "received_at": self._now(),
            "envelope_from": (envelope_from or None) and envelope_from[:320],
            "envelope_to": ", ".join(recipients)[:1000] or None,
            "from_address": parsed.from_address,
            "subject": parsed.subject[:300],
            "size": spool.size,
            "raw_key": stored.storage_key,
            "outcome": "received",
            "problems": "\n".join(parsed.problems)[:10_000] or None,
        }
        # The common case, a reply from a known sender, is filed in the same
        # transaction as its row: one commit, and the sender's MTA hears "250"
        # only once both are durable.
        reply = (
            parsed.malformed is None
            and not parsed.bounce
            and parsed.from_address
            and parsed.auto_reply is None
            and not is_own_message_id(self.kit.settings, parsed.message_id)
        )
        try:
            with self._uow() as uow:
                if reply:
                    # The row goes in last, with its outcome: one statement. A
                    # message received twice still fails on its key before
                    # anything commits, and the files it stored go with the
                    # rollback.
                    def insert(case_id: int, entry_id: int) -> int:
                        filed = Outcome.APPENDED.value
                        return self._insert(
                            uow,
                            {**row, "outcome": filed, "case_id": case_id, "entry_id": entry_id},
                            on_stored,
                        )

                    appended = self._append(uow, parsed, insert)
                    if appended is not None:
                        return appended
                inbound_id = self._insert(uow, row, on_stored)
                uow.commit()
        except IntegrityError:
            # Received before (or twice at the same moment): one row, the first.
            self.kit.hooks.delete_attachment(storage_key=stored.storage_key)
            found = self._existing(key)
            if found is None:
                raise
            return found
        except Exception:
            # Filing failed and took the row with it: keep the row, then triage.
            log.exception("inbound message %s could not be filed at once", key)
            with self._uow() as uow:
                inbound_id = self._insert(uow, row, on_stored)
                uow.commit()
        return self._interpret(inbound_id, parsed)

    def _insert(
        self, uow: UnitOfWork, row: Mapping[str, object], on_stored: OnStored | None
    ) -> int:
        connection = uow.session.connection()
        result = connection.execute(_INSERT_ROW, row)
        inbound_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if on_stored is not None:
            on_stored(connection, inbound_id)
        return inbound_id

    def _marking(self, uow: UnitOfWork, inbound_id: int) -> Callable[[int, int], int]:
        """For :meth:`_append`: mark the stored row ``inbound_id`` appended."""

        def mark(case_id: int, entry_id: int) -> int:
            self._mark(uow, inbound_id, Outcome.APPENDED, case_id=case_id, entry_id=entry_id)
            return inbound_id

        return mark

    def _append(
        self, uow: UnitOfWork, parsed: ParsedMail, record: Callable[[int, int], int]
    ) -> InboundResult | None:
        """File a reply from a known sender on its case within ``uow``; None if it has none.

        ``record(case_id, entry_id)`` records the outcome on the message's row
        before the commit and returns the row's id.
        """
        route = self._match(uow.session, parsed, lock=True).route
        if route is None:
            return None
        uploads, refused = self._uploads(parsed)
        now = self._now()
        try:
            edit = Edit(self.kit, uow, route.actor, route.case, now)
            edit.actor_takes_part = route.takes_part
            held = self._burst(uow.session, route.case, parsed.from_address, now)
            edit.hold_notifications = held is not None
            entry = append_message(
                edit,
                body=self._body(parsed, refused),
                audience=route.audience,
                attachments=uploads,
                cc=self._cc(
                    uow.session, parsed, route.case.shipper_org_id, route.case.party_org_ids()
                ),
                author_email=parsed.from_address,
            )
            assert route.case.id is not None
            assert entry.id is not None
            inbound_id = record(route.case.id, entry.id)
            if held is not None:
                values = {"reason": held, "row_id": inbound_id}
                uow.session.connection().execute(_update_row(tuple(sorted(values))), values)
                log.warning("inbound message %s on %s: %s", inbound_id, route.case.number, held)
            edit.finish(view=False)
        finally:
            close_uploads(uploads)
        return InboundResult(
            outcome=Outcome.APPENDED,
            inbound_id=inbound_id,
            case_number=route.case.number,
            entry_id=entry.id,
            reason=held,
        )

    def _cc(
        self,
        session: Session,
        parsed: ParsedMail,
        shipper_org_id: int | None,
        parties: Sequence[int],
    ) -> list[str]:
        """The Cc'd addresses of a mail that become participants of its case.

        ``shipper_org_id`` and ``parties`` are the case's (or the case's to be,
        for a mail that opens one).

        Never casekit's own (the From and reply addresses and their
        plus-addresses, the case addresses), nor an address casekit knows as
        someone already (a user, a customer of the shipper, a collaborator
        address of the case's parties): those hear of the case as who they
        are. Not an address at all: left out, the reply is filed anyway.
        """
        settings = self.kit.settings
        wanted = [
            a
            for a in parsed.cc
            if is_address(a)
            and a != (parsed.from_address or "").lower()
            and a not in (settings.mail_from.lower(), settings.reply_address.lower())
            and not (settings.reply_address and token_of(a, settings.reply_address))
        ]
        if not wanted:
            return []
        parties = list(parties)
        known = union(
            select(tables.case_addresses.c.email).where(tables.case_addresses.c.email.in_(wanted)),
            select(tables.users.c.email).where(func.lower(tables.users.c.email).in_(wanted)),
            select(tables.customers.c.email).where(
                func.lower(tables.customers.c.email).in_(wanted),
                tables.customers.c.shipper_org_id == shipper_org_id,
            ),
            select(tables.collaborator_addresses.c.email).where(
                tables.collaborator_addresses.c.email.in_(wanted),
                tables.collaborator_addresses.c.shipper_org_id.in_(parties)
                | tables.collaborator_addresses.c.carrier_org_id.in_(parties),
            ),
        )
        taken = {str(e).lower() for e in session.execute(known).scalars()}
        return [a for a in wanted if a not in taken][:MAX_CC]

    def _burst(self, session: Session, case: Case, sender: str | None, now: datetime) -> str | None:
        """Why a message from ``sender`` on ``case`` notifies nobody, or None.

        More than ``inbound_burst_limit`` messages from one address on one
        case within ``inbound_burst_minutes`` is a burst: two autoresponders
        answering each other, a mail loop. Such messages are still recorded
        on the case; they just stop causing mail, so no loop can feed itself.
        """
        settings = self.kit.settings
        if not sender or not settings.inbound_burst_limit:
            return None
        since = now - timedelta(minutes=settings.inbound_burst_minutes)
        recent = (
            session.connection()
            .execute(_RECENT_FROM, {"case_id": case.id, "sender": sender, "since": since})
            .scalar_one()
        )
        if recent < settings.inbound_burst_limit:
            return None
        return (
            f"notifications held: {recent + 1} messages from {sender} on this case "
            f"within {settings.inbound_burst_minutes} minutes"
        )

    def _existing(self, key: str) -> InboundResult | None:
        with self.kit.engine.connect() as conn:
            row = conn.execute(
                select(_i.id, tables.cases.c.number)
                .outerjoin(tables.cases, tables.cases.c.id == _i.case_id)
                .where(_i.dedupe_key == key)
            ).first()
        if row is None:
            return None
        return InboundResult(
            outcome=Outcome.DUPLICATE,
            inbound_id=row.id,
            case_number=row.number,
            reason="the same message was received before",
        )

    # -- interpretation ------------------------------------------------------------
    def _interpret(self, inbound_id: int, parsed: ParsedMail) -> InboundResult:
        try:
            return self._route(inbound_id, parsed)
        except Exception as error:
            log.exception("inbound message %s could not be filed", inbound_id)
            return self._finish(
                inbound_id,
                Outcome.TRIAGED,
                reason=f"could not be filed: {error}"[:500],
            )

    def _route(self, inbound_id: int, parsed: ParsedMail) -> InboundResult:
        if parsed.malformed is not None:
            return self._malformed(inbound_id, parsed)
        if parsed.bounce:
            return self._bounce(inbound_id, parsed)
        if is_own_message_id(self.kit.settings, parsed.message_id):
            # casekit's own notification came back (a loop, a forward to itself).
            return self._finish(inbound_id, Outcome.AUTO_REPLY, reason="casekit's own mail")
        if parsed.from_address is None:
            if parsed.auto_reply is not None:
                reason = f"automatic reply ({parsed.auto_reply})"
                return self._finish(inbound_id, Outcome.AUTO_REPLY, reason=reason)
            return self._finish(inbound_id, Outcome.REJECTED, reason="the message has no sender")
        with self._uow() as uow:
            # Matching and appending share one transaction; the case is locked.
            found = self._match(uow.session, parsed, lock=parsed.auto_reply is None)
            route, triage_reason = found.route, found.reason
            triage_case, triage_org = found.case, found.org_id
            if parsed.auto_reply is not None:
                case = route.case if route is not None else triage_case
                reason = f"automatic reply ({parsed.auto_reply})"
                self._mark(
                    uow,
                    inbound_id,
                    Outcome.AUTO_REPLY,
                    reason=reason,
                    case_id=case.id if case is not None else None,
                )
                uow.commit()
                return InboundResult(
                    outcome=Outcome.AUTO_REPLY,
                    inbound_id=inbound_id,
                    case_number=case.number if case is not None else None,
                    reason=reason,
                )
            if route is not None:
                appended = self._append(uow, parsed, self._marking(uow, inbound_id))
                if appended is not None:
                    return appended
            address = None if found.sealed else self._case_address(uow.session, parsed)
            opening = None if address is None else self._opening(uow.session, parsed, address)
            if address is not None and isinstance(opening, str):
                triage_reason, triage_org = opening, address.org_id
            if not isinstance(opening, _Opening):
                self._mark(
                    uow,
                    inbound_id,
                    Outcome.TRIAGED,
                    reason=triage_reason,
                    case_id=triage_case.id if triage_case is not None else None,
                    org_id=triage_org,
                )
                uow.commit()
                return InboundResult(
                    outcome=Outcome.TRIAGED,
                    inbound_id=inbound_id,
                    case_number=triage_case.number if triage_case is not None else None,
                    reason=triage_reason,
                )
            # The mail is the address's organization's: if opening fails, it
            # is in that organization's triage.
            values = {"org_id": opening.address.org_id, "row_id": inbound_id}
            uow.session.connection().execute(_update_row(tuple(sorted(values))), values)
            uow.commit()
        return self._open(inbound_id, parsed, opening)

    def _malformed(self, inbound_id: int, parsed: ParsedMail) -> InboundResult:
        """Triage a message that could not be read, for the organization it was
        sent to when its recipients name a case address (else the host's)."""
        with self._uow() as uow:
            address = self._case_address(uow.session, parsed)
        return self._finish(
            inbound_id,
            Outcome.TRIAGED,
            reason=f"malformed: the message could not be read ({parsed.malformed})"[:500],
            org_id=address.org_id if address is not None else None,
        )

    def _match(self, session: Session, parsed: ParsedMail, *, lock: bool = False) -> Match:
        return match(session, self.kit.settings, parsed, lock=lock)

    def _case_address(self, session: Session, parsed: ParsedMail) -> CaseAddress | None:
        return address_for(session.connection(), parsed.recipients)

    def _opening(
        self, session: Session, parsed: ParsedMail, address: CaseAddress
    ) -> _Opening | str:
        """Who opens a case from ``parsed``, sent to ``address``; else why it is triaged.

        An active user of the address's organization opens it as themselves;
        so does an active user of an organization of the other role, with the
        address's organization as the other party. A customer of a shipper
        writing to its address opens a customer case. Anyone else follows the
        address's ``unknown_senders``.
        """
        sender = parsed.from_address or ""
        own, partner = address.org_id, address.partner_id
        at_shipper = address.role is OrgRole.SHIPPER
        user = self._sender_user(session, sender, address)
        if user is not None:
            actor = Actor.of_user(user)
            if user.org_id != own:  # the other side writes in: a case between the two
                return _Opening(
                    address=address,
                    actor=actor,
                    shipper=own if at_shipper else None,
                    carrier=None if at_shipper else own,
                    take_ownership=True,
                )
            if not at_shipper and partner is None:
                return f"{address.email} names no partner shipper for a case opened by its carrier"
            return _Opening(
                address=address,
                actor=actor,
                shipper=partner if not at_shipper else None,
                carrier=partner if at_shipper else None,
                take_ownership=address.owner_id is None,
            )
        email_actor = Actor.system_actor(SystemName.EMAIL, org_id=own)
        if at_shipper:
            customer = self._customer_of(session, own, sender)
            if customer is not None:
                return _Opening(
                    address=address,
                    actor=email_actor,
                    customer=customer,
                    audience=Audience.CUSTOMER,
                )
        if address.unknown_senders is UnknownSenders.TRIAGE:
            return f"unknown sender: {address.email} keeps mail from unknown senders in triage"
        if not at_shipper and partner is None:
            return f"unknown sender: {address.email} names no partner shipper"
        return _Opening(
            address=address,
            actor=email_actor,
            shipper=partner if not at_shipper else None,
            carrier=partner if at_shipper else None,
        )

    def _sender_user(self, session: Session, sender: str, address: CaseAddress) -> User | None:
        """The active user ``sender`` is, of the address's organization or one of the
        other role (the address's own first)."""
        u, o = tables.users.c, tables.organizations.c
        other = OrgRole.CARRIER if address.role is OrgRole.SHIPPER else OrgRole.SHIPPER
        found = session.execute(
            select(u.id, u.org_id)
            .join(tables.organizations, o.id == u.org_id)
            .where(
                u.email == sender,  # stored lower case, as the sender is
                u.active.is_(True),
                (u.org_id == address.org_id) | (o.role == other.value),
            )
            .order_by(u.id)
        ).all()
        if not found:
            return None
        chosen = next((r for r in found if r.org_id == address.org_id), found[0])
        return session.get(User, chosen.id)

    def _uploads(self, parsed: ParsedMail) -> tuple[list[Upload], list[str]]:
        """The attachments casekit takes, and a line for each one it does not."""
        settings = self.kit.settings
        allowed = settings.inbound_attachment_types
        uploads: list[Upload] = []
        refused: list[str] = []
        for item in parsed.attachments:
            ctype = item.content_type.lower()
            if not any(fnmatchcase(ctype, pattern.lower()) for pattern in allowed):
                refused.append(f"{item.filename} ({ctype}, {item.size} bytes): type not accepted")
            elif item.size > settings.max_attachment_bytes:
                refused.append(
                    f"{item.filename} ({ctype}, {item.size} bytes): larger than the limit "
                    f"of {settings.max_attachment_bytes} bytes"
                )
            elif len(uploads) >= MAX_ATTACHMENTS:
                refused.append(f"{item.filename}: more than {MAX_ATTACHMENTS} attachments")
            else:
                uploads.append(Upload(item.filename, _LazyFile(item), ctype))  # type: ignore[arg-type]
        return uploads, refused

    def _body(self, parsed: ParsedMail, refused: Sequence[str], *, full: bool = False) -> str:
        text = parsed.text if full else parsed.reply_text
        if refused:
            notes = "\n".join(f"- {line}" for line in refused)
            text = f"{text}\n\n[Attachments not accepted:\n{notes}]".strip()
        if not text:
            text = "(no text)"
        return text[:MAX_BODY]

    def _open(self, inbound_id: int, parsed: ParsedMail, opening: _Opening) -> InboundResult:
        address = opening.address

        def default_owner(edit: Edit) -> None:
            side = Side.SHIPPER if address.role is OrgRole.SHIPPER else Side.CARRIER
            owner = address.owner_id
            if owner is None or edit.case.owner_of(side) is not None:
                return
            user = edit.uow.session.get(User, owner)
            if user is None or not user.active or user.org_id != address.org_id:
                return  # left since the address was set up: the case waits for an owner
            edit.case.set_owner(side, owner)
            edit.event(EventKind.OWNER_CHANGED, new=owner, org_id=address.org_id)

        with self._uow(write=False) as uow:
            cc = self._cc(uow.session, parsed, opening.shipper_id, opening.party_ids)
        view = self._open_case(
            opening.actor,
            parsed,
            type=address.case_type or self.kit.settings.inbound_case_type,
            customer=opening.customer,
            audience=opening.audience,
            shipper=opening.shipper,
            carrier=opening.carrier,
            cc=cc,
            take_ownership=opening.take_ownership,
            on_opened=default_owner,
        )
        return self._finish(inbound_id, Outcome.CREATED, case_number=view.number)

    def _open_case(
        self,
        actor: Actor,
        parsed: ParsedMail,
        *,
        type: str,
        customer: int | None,
        audience: Audience,
        shipper: int | None = None,
        carrier: int | None = None,
        cc: Sequence[str] = (),
        take_ownership: bool = True,
        on_opened: Callable[[Edit], None] | None = None,
    ) -> CaseView:
        uploads, refused = self._uploads(parsed)
        try:
            return self.kit.cases.open(
                actor,
                type=type,
                shipper=shipper,
                carrier=carrier,
                customer=customer,
                cc=cc,
                take_ownership=take_ownership,
                _on_opened=on_opened,
                subject=parsed.subject[:300],
                message=self._body(parsed, refused, full=True),
                audience=audience,
                attachments=uploads,
                source=Source.EMAIL,
                author_email=parsed.from_address,
            )
        finally:
            close_uploads(uploads)

    def _customer_of(self, session: Session, shipper_org_id: int, address: str) -> int | None:
        c = tables.customers.c
        row = session.execute(
            select(c.id)
            .where(c.shipper_org_id == shipper_org_id, c.email == address.lower())
            .order_by(c.id)
        ).first()
        return None if row is None else int(row.id)

    def _bounce(self, inbound_id: int, parsed: ParsedMail) -> InboundResult:
        now = self._now()
        b = tables.bouncing_addresses.c
        with self._uow() as uow:
            conn = uow.session.connection()
            addresses = list(parsed.failed_recipients)
            sent = notification_ids(self.kit.settings, parsed.bounced_message_ids)
            if sent and parsed.failed_recipients:
                # The notification that bounced: its recipient is the one to mark.
                o = tables.outbox.c
                addresses += [
                    str(email).lower()
                    for email in conn.execute(
                        select(o.email).where(o.id.in_([n for n, _ in sent]))
                    ).scalars()
                ]
            for address in dict.fromkeys(addresses):
                changed = conn.execute(
                    update(tables.bouncing_addresses)
                    .where(b.email == address)
                    .values(last_at=now, bounces=b.bounces + 1, inbound_id=inbound_id)
                ).rowcount
                if not changed:
                    conn.execute(
                        insert(tables.bouncing_addresses),
                        {
                            "email": address,
                            "first_at": now,
                            "last_at": now,
                            "bounces": 1,
                            "inbound_id": inbound_id,
                        },
                    )
            failed = ", ".join(parsed.failed_recipients) or "no permanent failure named"
            self._mark(uow, inbound_id, Outcome.BOUNCE, reason=f"delivery failed: {failed}")
            uow.commit()
        return InboundResult(
            outcome=Outcome.BOUNCE, inbound_id=inbound_id, reason=f"delivery failed: {failed}"
        )

    def _mark(
        self,
        uow: UnitOfWork,
        inbound_id: int,
        outcome: Outcome,
        *,
        reason: str | None = None,
        case_id: int | None = None,
        entry_id: int | None = None,
        org_id: int | None = None,
        handled_by: str | None = None,
    ) -> None:
        values: dict[str, object] = {"outcome": outcome.value, "reason": reason}
        if case_id is not None:
            values["case_id"] = case_id
        if entry_id is not None:
            values["entry_id"] = entry_id
        if org_id is not None:
            values["org_id"] = org_id
        if handled_by is not None:
            values["handled_by"] = handled_by
            values["handled_at"] = self._now()
        values["row_id"] = inbound_id
        uow.session.connection().execute(_update_row(tuple(sorted(values))), values)

    def _finish(
        self,
        inbound_id: int,
        outcome: Outcome,
        *,
        reason: str | None = None,
        case: Case | None = None,
        case_number: str | None = None,
        org_id: int | None = None,
    ) -> InboundResult:
        case_id = case.id if case is not None else None
        if case_number is not None and case_id is None:
            with self.kit.engine.connect() as conn:
                case_id = conn.execute(
                    select(tables.cases.c.id).where(tables.cases.c.number == case_number)
                ).scalar()
        with self._uow() as uow:
            self._mark(uow, inbound_id, outcome, reason=reason, case_id=case_id, org_id=org_id)
            uow.commit()
        return InboundResult(
            outcome=outcome,
            inbound_id=inbound_id,
            case_number=case_number or (case.number if case is not None else None),
            reason=reason,
        )


class _LazyFile(io.RawIOBase):
    """An attachment's bytes, opened when first read (and closed by the caller)."""

    def __init__(self, item: MailAttachment) -> None:
        self._item = item
        self._file: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._file is None:
            self._file = self._item.open()
        return self._file.read(size)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def close_uploads(uploads: Sequence[Upload]) -> None:
    for upload in uploads:
        upload.stream.close()
