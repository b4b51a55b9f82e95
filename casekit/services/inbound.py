"""Inbound mail: store it, read it, put it on the right case or in triage.

:meth:`InboundService.receive` is the one entry point of every transport
(``casekit inbound serve``, ``casekit inbound read``, a provider's webhook).
It stores the raw message first, then interprets it; it returns an
:class:`InboundResult` and never raises on bad mail.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO

from attrs import frozen
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.mail.parse import ParsedMail
from casekit.query.models import CaseView
from casekit.query.scoped import Scope
from casekit.services.base import Edit, event_entry, refuse_merged
from casekit.services.case_addresses import may_manage
from casekit.services.inbound_intake import (
    InboundIntake,
    InboundResult,
    Outcome,
    close_uploads,
)
from casekit.services.messages import append_message, message_audience
from casekit.store import tables
from casekit.store.uow import UnitOfWork

if TYPE_CHECKING:
    from casekit.kit import CaseKit

__all__ = ["InboundResult", "InboundService", "Outcome", "TriageItem"]

_i = tables.inbound_messages.c
_t = tables.inbound_tokens.c
#: The longest provider token :meth:`InboundService.claim_token` takes.
TOKEN_MAX = 200
#: Every this many claims, the stale tokens are purged.
TOKEN_PURGE_EVERY = 100


@frozen(kw_only=True)
class TriageItem:
    """A stored inbound message as staff see it in triage."""

    id: int
    received_at: datetime
    outcome: Outcome
    reason: str | None
    from_address: str | None
    subject: str
    message_id: str | None
    case_number: str | None
    org_id: int | None
    size: int
    problems: tuple[str, ...]
    handled_by: str | None
    handled_at: datetime | None
    raw_available: bool


class InboundService(InboundIntake):
    """Inbound email. Reach it as ``kit.inbound``."""

    def __init__(self, kit: CaseKit) -> None:
        super().__init__(kit)
        self._claims = itertools.count(1)

    # -- case addresses (shorthands of ``kit.case_addresses``) ------------------------
    def set_case_address(self, actor: Actor, org_id: int, email: str) -> None:
        """Make ``email`` a case address of ``org_id`` with the default options, if
        it is not one already; :meth:`CaseAddressService.add
        <casekit.services.case_addresses.CaseAddressService.add>` takes the options."""
        may_manage(actor, org_id)
        if email.strip().lower() not in self.case_addresses(Actor.host(), org_id):
            self.kit.case_addresses.add(actor, email, org_id=org_id)

    def remove_case_address(self, actor: Actor, org_id: int, email: str) -> bool:
        """Stop opening cases from mail to ``email``; whether it was the org's."""
        try:
            if self.kit.case_addresses.get(actor, email).org_id != org_id:
                return False
            self.kit.case_addresses.remove(actor, email)
        except NotFound:
            return False
        return True

    def case_addresses(self, actor: Actor, org_id: int) -> builtins.list[str]:
        """The organization's case addresses."""
        return [a.email for a in self.kit.case_addresses.list(actor, org_id)]

    def is_bouncing(self, email: str) -> bool:
        """Whether mail to ``email`` came back as permanently undeliverable."""
        b = tables.bouncing_addresses.c
        with self.kit.engine.connect() as conn:
            row = conn.execute(select(b.email).where(b.email == email.strip().lower())).first()
        return row is not None

    # -- triage --------------------------------------------------------------------
    def triage(
        self,
        actor: Actor,
        *,
        limit: int = 50,
        before_id: int | None = None,
        include_handled: bool = False,
    ) -> builtins.list[TriageItem]:
        """Inbound messages in ``actor``'s triage, newest first; staff only.

        ``include_handled`` adds the ones already filed, opened or discarded.
        """
        _staff_only(actor)
        if not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["between 1 and 500"]})
        outcomes = [Outcome.TRIAGED.value]
        if include_handled:
            outcomes += [Outcome.FILED.value, Outcome.OPENED.value, Outcome.DISCARDED.value]
        with self._uow(write=False) as uow:
            rows = Scope(uow.session, actor).inbound_items(
                outcomes, limit=limit, before_id=before_id
            )
            return [_item(row) for row in rows]

    def triage_item(self, actor: Actor, item_id: int) -> TriageItem:
        _staff_only(actor)
        with self._uow(write=False) as uow:
            return _item(Scope(uow.session, actor).inbound_item(item_id))

    def original(self, actor: Actor, item_id: int) -> BinaryIO:
        """The raw message of a triage item (the caller closes it); staff only."""
        _staff_only(actor)
        with self._uow(write=False) as uow:
            row = Scope(uow.session, actor).inbound_item(item_id)
        if row.raw_key is None:
            raise InvalidInput({"item": ["its raw message was purged"]})
        return self.kit.hooks.open_attachment(storage_key=row.raw_key)

    def original_of_entry(self, actor: Actor, number: str, entry_id: int) -> BinaryIO:
        """The raw mail a message on case ``number`` came from; NotFound if unreadable."""
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor)
            case = scope.case(number)
            if not any(entry.id == entry_id for entry in scope.timeline(case)):
                raise NotFound("entry", entry_id)
            raw_key = (
                uow.session.connection()
                .execute(select(_i.raw_key).where(_i.entry_id == entry_id, _i.case_id == case.id))
                .scalar()
            )
        if raw_key is None:
            raise NotFound("original mail of entry", entry_id)
        return self.kit.hooks.open_attachment(storage_key=raw_key)

    def file(
        self,
        actor: Actor,
        item_id: int,
        number: str,
        *,
        audience: Audience | str | None = None,
    ) -> InboundResult:
        """Put a triaged message on case ``number`` as a message for ``audience``."""
        _staff_only(actor)
        with self._reparsed(actor, item_id) as parsed:
            email_actor = Actor.system_actor(SystemName.EMAIL, org_id=actor.org_id)
            if actor.is_unrestricted:
                email_actor = Actor.system_actor(SystemName.EMAIL)
            uploads, refused = self._uploads(parsed)
            try:
                with self._uow() as uow:
                    self._claim(uow, actor, item_id)
                    scope = Scope(uow.session, actor)
                    case = scope.case(number, lock=True)
                    refuse_merged(scope, case)
                    edit = Edit(self.kit, uow, email_actor, case, self._now())
                    entry = append_message(
                        edit,
                        body=self._body(parsed, refused),
                        audience=audience,
                        attachments=uploads,
                        cc=self._cc(uow.session, parsed, case.shipper_org_id, case.party_org_ids()),
                        author_email=parsed.from_address,
                    )
                    # Filed by the staff member, after the message the mail became.
                    edit.append(
                        event_entry(
                            actor,
                            case,
                            EventKind.MAIL_FILED,
                            at=edit.now,
                            new=item_id,
                            audience=Audience.INTERNAL if actor.org_id else Audience.PARTNERS,
                        )
                    )
                    self._mark(
                        uow,
                        item_id,
                        Outcome.FILED,
                        case_id=case.id,
                        entry_id=entry.id,
                        handled_by=actor.describe(),
                    )
                    edit.finish(view=False)
            finally:
                close_uploads(uploads)
        return InboundResult(
            outcome=Outcome.FILED, inbound_id=item_id, case_number=number, entry_id=entry.id
        )

    def open_case(
        self,
        actor: Actor,
        item_id: int,
        *,
        type: str | None = None,
        shipper: int | None = None,
        customer: int | None = None,
        audience: Audience | str | None = None,
    ) -> CaseView:
        """Open a new case (source ``email``) from a triaged message."""
        _staff_only(actor)
        with self._reparsed(actor, item_id) as parsed:
            with self._uow() as uow:
                self._claim(uow, actor, item_id)
            email_actor = Actor.system_actor(SystemName.EMAIL, org_id=actor.org_id)
            chosen = message_audience(email_actor, audience)
            shipper_id = shipper if shipper is not None else actor.org_id
            with self._uow(write=False) as uow:
                parties = [i for i in {actor.org_id, shipper_id} if i is not None]
                cc = self._cc(uow.session, parsed, shipper_id, parties)
            view = self._open_case(
                email_actor,
                parsed,
                type=type or self.kit.settings.inbound_case_type,
                customer=customer,
                audience=chosen,
                shipper=shipper,
                cc=cc,
            )
        with self._uow() as uow:
            self._mark(
                uow,
                item_id,
                Outcome.OPENED,
                case_id=view.id,
                handled_by=actor.describe(),
            )
            uow.commit()
        return view

    def discard(self, actor: Actor, item_id: int) -> None:
        """Take a message out of triage for good; who and when are kept."""
        _staff_only(actor)
        with self._uow() as uow:
            self._claim(uow, actor, item_id)
            self._mark(uow, item_id, Outcome.DISCARDED, handled_by=actor.describe())
            uow.commit()

    def _claim(self, uow: UnitOfWork, actor: Actor, item_id: int) -> None:
        row = Scope(uow.session, actor).inbound_item(item_id, lock=True)
        if row.outcome != Outcome.TRIAGED.value:
            raise InvalidInput({"item": [f"message {item_id} is not in triage ({row.outcome})"]})

    @contextmanager
    def _reparsed(self, actor: Actor, item_id: int) -> Iterator[ParsedMail]:
        with self._uow(write=False) as uow:
            row = Scope(uow.session, actor).inbound_item(item_id)
        if row.outcome != Outcome.TRIAGED.value:
            raise InvalidInput({"item": [f"message {item_id} is not in triage ({row.outcome})"]})
        if row.raw_key is None:
            raise InvalidInput({"item": ["its raw message was purged"]})
        with self._workdir() as workdir:
            source = self.kit.hooks.open_attachment(storage_key=row.raw_key)
            with source:
                yield self._parse(source, workdir, row.envelope_from, [])

    # -- retention -------------------------------------------------------------------
    def replay(self, actor: Actor, item_id: int) -> InboundResult:
        """Interpret a triaged message again (after a case address or user was added).

        The host only; the stored raw message is read back.
        """
        if not actor.is_unrestricted:
            raise PermissionDenied("only the host replays inbound mail")
        with self._uow(write=False) as uow:
            row = Scope(uow.session, actor).inbound_item(item_id)
        if row.outcome != Outcome.TRIAGED.value:
            raise InvalidInput({"item": [f"message {item_id} is not in triage ({row.outcome})"]})
        with self._reparsed(actor, item_id) as parsed:
            return self._interpret(item_id, parsed)

    def purge(self, *, now: datetime | None = None) -> int:
        """Delete raw messages older than ``inbound_retention_days``; returns how many.

        The rows stay (what came, when, what became of it); the raw bytes go.
        """
        days = self.kit.settings.inbound_retention_days
        if days == 0:
            return 0
        cutoff = (now or self._now()) - timedelta(days=days)
        with self.kit.engine.connect() as conn:
            rows = conn.execute(
                select(_i.id, _i.raw_key).where(_i.received_at < cutoff, _i.raw_key.is_not(None))
            ).all()
        for row in rows:
            self.kit.hooks.delete_attachment(storage_key=row.raw_key)
            with self._uow() as uow:
                uow.session.connection().execute(
                    update(tables.inbound_messages).where(_i.id == row.id).values(raw_key=None)
                )
                uow.commit()
        return len(rows)

    # -- provider tokens -------------------------------------------------------------
    def claim_token(self, provider: str, token: str, *, expires_at: datetime) -> bool:
        """Record a provider webhook's signed ``token``; False if it was claimed before.

        A provider (``"mailgun"``) signs each post with a fresh token; a post
        whose token was already claimed is a replay. The claim is one INSERT
        that fails on the table's key, so of two processes claiming the same
        token at once exactly one succeeds. ``expires_at`` is when the token's
        signature goes stale: the row may be purged after that (every
        ``TOKEN_PURGE_EVERY``-th claim purges, as does :meth:`purge_tokens`).
        """
        errors: dict[str, list[str]] = {}
        if not provider or len(provider) > 32:
            errors["provider"] = ["must be 1 to 32 characters"]
        if not token or len(token) > TOKEN_MAX:
            errors["token"] = [f"must be 1 to {TOKEN_MAX} characters"]
        if errors:
            raise InvalidInput(errors)
        if next(self._claims) % TOKEN_PURGE_EVERY == 0:
            self.purge_tokens()
        row = {"provider": provider, "token": token, "expires_at": expires_at}
        try:
            with self._uow() as uow:
                uow.session.connection().execute(insert(tables.inbound_tokens), row)
                uow.commit()
        except IntegrityError:
            return False
        return True

    def release_token(self, provider: str, token: str) -> None:
        """Forget a claimed token: the post it came with could not be taken, and may come again."""
        with self._uow() as uow:
            uow.session.connection().execute(
                delete(tables.inbound_tokens).where(_t.provider == provider, _t.token == token)
            )
            uow.commit()

    def purge_tokens(self, *, now: datetime | None = None) -> int:
        """Delete the claimed tokens whose signatures have gone stale; returns how many."""
        with self._uow() as uow:
            deleted = uow.session.connection().execute(
                delete(tables.inbound_tokens).where(_t.expires_at < (now or self._now()))
            )
            uow.commit()
        return int(deleted.rowcount or 0)


def _may_manage(actor: Actor, org_id: int) -> None:
    if actor.is_unrestricted or (actor.org_id == org_id and actor.is_manager):
        return
    raise PermissionDenied("only the host or the organization's managers set its case addresses")


def _staff_only(actor: Actor) -> None:
    if not (actor.is_unrestricted or (actor.is_staff and actor.org_id is not None)):
        raise PermissionDenied("triage is for staff")


def _item(row: object) -> TriageItem:
    r: object = row
    problems = getattr(r, "problems", None) or ""
    return TriageItem(
        id=r.id,  # type: ignore[attr-defined]
        received_at=r.received_at,  # type: ignore[attr-defined]
        outcome=Outcome(r.outcome),  # type: ignore[attr-defined]
        reason=r.reason,  # type: ignore[attr-defined]
        from_address=r.from_address,  # type: ignore[attr-defined]
        subject=r.subject,  # type: ignore[attr-defined]
        message_id=r.message_id,  # type: ignore[attr-defined]
        case_number=getattr(r, "case_number", None),
        org_id=r.org_id,  # type: ignore[attr-defined]
        size=r.size,  # type: ignore[attr-defined]
        problems=tuple(line for line in problems.split("\n") if line),
        handled_by=r.handled_by,  # type: ignore[attr-defined]
        handled_at=r.handled_at,  # type: ignore[attr-defined]
        raw_available=r.raw_key is not None,  # type: ignore[attr-defined]
    )
