"""Posting messages: audience checks, attachments, participants, automatic status moves."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Insert, Select, bindparam, exists, insert, literal_column, select

from casekit import signals
from casekit.attachments import Upload, safe_filename
from casekit.domain import policy
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import Entry, EntryKind
from casekit.errors import InvalidInput
from casekit.query.models import AttachmentView, EntryView
from casekit.query.scoped import entry_view
from casekit.services.base import Edit, Service, announce_status_change, deny
from casekit.store import tables
from casekit.store.rows import insert_rows

MAX_BODY = 100_000
MAX_ATTACHMENTS = 20
MAX_CC = 20

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


def is_address(value: str) -> bool:
    """Whether ``value`` (lower case, trimmed) looks like one email address."""
    return len(value) <= 320 and _ADDRESS.fullmatch(value) is not None


def split_addresses(values: Iterable[str]) -> list[str]:
    """The addresses typed in form fields, separated by commas, semicolons or spaces."""
    return [a for value in values for a in re.split(r"[,;\s]+", value) if a]


_p = tables.participants.c
_PARTICIPANT_KEYS = ("user_id", "customer_id", "email")


@functools.cache
def _add_participant(key: str) -> Insert:
    """Add a participant to a case unless one with the same ``key`` is there.

    One statement instead of a read and a write; built once per key. The
    case's row lock (every post takes it) keeps two posts from racing.
    """
    names = ("case_id", *_PARTICIPANT_KEYS, "org_id", "audience", "subscribed", "created_at")
    params = [bindparam(name, type_=_p[name].type) for name in names]
    already: Select[Any] = (
        select(literal_column("1"))
        .select_from(tables.participants)
        .where(_p.case_id == bindparam("case_id"), _p[key] == bindparam(key))
    )
    return insert(tables.participants).from_select(
        list(names), select(*params).where(~exists(already))
    )


class MessageService(Service):
    """Post messages on cases. Reach it as ``kit.messages``."""

    def post(
        self,
        actor: Actor,
        number: str,
        body: str,
        *,
        audience: Audience | str | None = None,
        attachments: Sequence[Upload] = (),
        cc: Sequence[str] = (),
        author_email: str | None = None,
    ) -> EntryView:
        """Post a message on the case and return it.

        ``audience`` defaults to ``customer`` for a customer (the shipper's
        staff and the customer) and ``partners`` for staff. Posting never
        conflicts with other changes: it takes the case's row lock instead of
        checking a version. ``cc`` addresses
        become participants of the case.
        """
        with self._posting(actor, number) as edit:
            entry = append_message(
                edit,
                body=body,
                audience=audience,
                attachments=attachments,
                cc=cc,
                author_email=author_email,
            )
            edit.finish(view=False)
            return entry


def message_audience(actor: Actor, value: Audience | str | None) -> Audience:
    """The audience a message by ``actor`` gets: ``value``, or the actor's default."""
    if value is None:
        return Audience.CUSTOMER if actor.is_customer else Audience.PARTNERS
    try:
        return Audience(value)
    except ValueError:
        known = ", ".join(a.value for a in Audience)
        raise InvalidInput({"audience": [f"unknown audience {value!r}; one of {known}"]}) from None


def append_message(
    edit: Edit,
    *,
    body: str,
    audience: Audience | str | None,
    attachments: Sequence[Upload] = (),
    cc: Sequence[str] = (),
    author_email: str | None = None,
    opening: bool = False,
) -> EntryView:
    """Add a message to ``edit.case``: the shared path of opening and posting.

    The message that opens a case does not move its status.
    """
    actor, case, now = edit.actor, edit.case, edit.now
    chosen = message_audience(actor, audience)
    body = body.strip()
    errors: dict[str, list[str]] = {}
    if not body and not attachments:
        errors["body"] = ["a message needs text or an attachment"]
    if len(body) > MAX_BODY:
        errors["body"] = [f"at most {MAX_BODY} characters"]
    if len(attachments) > MAX_ATTACHMENTS:
        errors["attachments"] = [f"at most {MAX_ATTACHMENTS} files"]
    addresses = [address.strip().lower() for address in cc if address.strip()]
    bad = [a for a in addresses if not is_address(a)]
    if bad:
        errors["cc"] = [f"not an email address: {a[:80]}" for a in bad[:5]]
    elif len(addresses) > MAX_CC:
        errors["cc"] = [f"at most {MAX_CC} addresses"]
    if errors:
        raise InvalidInput(errors)
    deny(policy.may_post(actor, case, chosen))
    _add_participants(edit, author_email, addresses, chosen)
    if author_email:
        edit.author_email = author_email.strip().lower()
    entry = Entry.by(
        actor,
        case_id=case.id,  # type: ignore[arg-type]
        kind=EntryKind.MESSAGE,
        audience=chosen,
        at=now,
        body=body,
        author_email=author_email,
    )
    edit.append(entry)
    carrier_old = case.carrier_status
    old = case.record_message(actor, chosen, now, move_status=not opening)
    announce_status_change(edit, old, carrier_old, updated=False)
    # The message goes in one statement with what came before it in the
    # change (an opening's event) and the status move it caused.
    edit.write_entries()
    files = tuple(_store(edit, entry, upload) for upload in attachments)
    view = entry_view(case, entry, files)
    edit.emit(signals.message_posted, message=view)
    if not opening:
        edit.emit(signals.case_updated, change="message")
    return view


def _store(edit: Edit, entry: Entry, upload: Upload) -> AttachmentView:
    kit = edit.kit
    filename = safe_filename(upload.filename)
    content_type = (upload.content_type or "application/octet-stream")[:128]
    stored = kit.hooks.store_attachment(
        filename=filename,
        content_type=content_type,
        stream=upload.stream,
        max_bytes=kit.settings.max_attachment_bytes,
    )
    key = stored.storage_key
    edit.uow.on_rollback(lambda: kit.hooks.delete_attachment(storage_key=key))
    result = edit.uow.connection().execute(
        insert(tables.attachments),
        {
            "case_id": entry.case_id,
            "entry_id": entry.id,
            "filename": filename,
            "content_type": content_type,
            "size": stored.size,
            "sha256": stored.sha256,
            "storage_key": stored.storage_key,
            "created_at": edit.now,
        },
    )
    return AttachmentView(
        id=int(result.inserted_primary_key[0]),  # type: ignore[index]
        filename=filename,
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
    )


def _add_participants(
    edit: Edit, author_email: str | None, cc: list[str], audience: Audience
) -> None:
    """The author and every Cc'd address become participants, once each.

    An address is added for the acting staff's organization (it hears what
    that organization reads; a party's collaborator address writing in by
    mail acts for that party), and for the shipper (``NULL``) when a customer,
    another inbound sender or the host adds it. An address hears no more than
    the ``audience`` of the message it joined on. An address already on the
    thread keeps the organization and audience it was first added with.
    """
    actor, case = edit.actor, edit.case
    connection = edit.uow.connection()
    # (user_id, customer_id, email) of each participant the message brings.
    wanted: list[tuple[int | None, int | None, str | None]] = []
    if edit.actor_takes_part:
        pass  # read with the case: nothing to add for the author
    elif actor.user_id is not None:
        wanted.append((actor.user_id, None, None))
    elif actor.customer_id is not None:
        wanted.append((None, actor.customer_id, None))
    emails = {a.lower() for a in cc}
    if author_email and actor.user_id is None and actor.customer_id is None:
        emails.add(author_email.strip().lower())
    wanted.extend((None, None, email) for email in sorted(emails))
    if not wanted:
        return
    address_org = actor.org_id if actor.is_staff else None
    rows = [
        {
            "case_id": case.id,
            "created_at": edit.now,
            "user_id": user_id,
            "customer_id": customer_id,
            "email": email,
            "org_id": address_org if email is not None else None,
            "audience": audience if email is not None else None,
            "subscribed": True,
        }
        for user_id, customer_id, email in dict.fromkeys(wanted)
    ]
    if edit.new:  # a case opened in this transaction has no participants yet
        insert_rows(connection, tables.participants, rows)
        return
    for key in _PARTICIPANT_KEYS:
        batch = [row for row in rows if row[key] is not None]
        if batch:
            connection.execute(_add_participant(key), batch)
