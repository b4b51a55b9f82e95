"""Which case an inbound reply belongs to, as whom, and for which audience.

In order of trust:

1. the reply token in a recipient address (``reply+TOKEN@inbound.example``),
   verified by its signature; the sender must be the recipient the token was
   made for, or a known participant of its case;
2. ``In-Reply-To`` and ``References`` naming a Message-ID casekit issued,
   with the same sender check;
3. a case number in the subject, from a known sender of that case only.

The audience follows the sender and the entry whose notification the mail
answers (named by ``In-Reply-To`` or ``References``): a customer writes to
the shipper (``customer``), and stays ``everyone`` answering an ``everyone``
entry; the shipper's side answering a ``customer`` entry writes to the
customer (``customer``); any other reply of staff or an address is for
partners, and never reaches the customer from the carrier's side.

A reply to a notification of an internal note quotes the note: only the
note's organization may read it. From anyone of that organization it is
internal; from anyone else (the customer, the other party, an address that
acts for no organization) it is never posted but kept in the triage of the
note's organization, even when it was also sent to a case address.

Mail that names a case but fails the sender check is triaged for the
organization it was sent to: the one of the token's recipient, or of the
notification it answers; a case number alone names the case's shipper.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from attrs import evolve, frozen
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor, ActorKind, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Case, Side
from casekit.domain.directory import User
from casekit.domain.notify import NotifyEvent
from casekit.mail.compose import thread_id
from casekit.mail.parse import ParsedMail
from casekit.mail.tokens import InvalidReplyToken, ReplyToken, token_of, verify
from casekit.services.delivery import recipient_key
from casekit.settings import Settings
from casekit.store import tables
from casekit.store.rows import case_from_row, select_cases

__all__ = ["Match", "Route", "is_own_message_id", "match", "notification_ids"]

_NUMBER = re.compile(r"\b([A-Za-z0-9]{1,8}[0-9]{6,})\b")
_OWN_NOTIFICATION = re.compile(r"^casekit\.n(\d{1,19})\.case(\d{1,19})@(.+)$")
_OWN_THREAD = re.compile(r"^casekit\.case(\d{1,19})\.[0-9a-f]{16}@(.+)$")


@frozen
class Route:
    """Where a message goes: onto ``case`` as ``actor`` for ``audience``."""

    case: Case
    actor: Actor
    audience: Audience
    #: The actor is a participant of the case already (the message adds nobody).
    takes_part: bool = False


#: Why a reply to an internal note from outside the note's organization is in triage.
OUTSIDE_INTERNAL_NOTE = "a reply to an internal note from outside the note's organization"


@frozen
class Match:
    """A route, or why there is none (with the case it named and, when it can
    be told, the organization the mail was sent to: whose triage it is in)."""

    route: Route | None = None
    reason: str = "no case matched"
    case: Case | None = None
    org_id: int | None = None
    #: The mail quotes what only ``org_id`` may read: it stays in that
    #: organization's triage even when it was also sent to a case address.
    sealed: bool = False


_p = tables.participants.c
_PARTICIPANT = select(_p.id).where(
    _p.case_id == bindparam("case_id"), _p.email == bindparam("sender")
)
_CUSTOMER_EMAIL = "casekit_customer_email"
_CUSTOMER_TAKES_PART = "casekit_customer_takes_part"


@frozen
class _Found:
    """A case named by the mail, with its customer's address and whether the
    customer takes part in it already (read in the same statement)."""

    case: Case
    customer_email: str | None
    customer_takes_part: bool


@functools.cache
def _find_statement(by_number: bool, lock: bool) -> Any:
    c, cu = tables.cases.c, tables.customers.c
    email = select(cu.email).where(cu.id == c.customer_id).scalar_subquery()
    takes_part = exists().where(_p.case_id == c.id, _p.customer_id == c.customer_id)
    key = c.number if by_number else c.id
    stmt = select_cases(key == bindparam("key")).add_columns(
        email.label(_CUSTOMER_EMAIL), takes_part.label(_CUSTOMER_TAKES_PART)
    )
    return stmt.with_for_update() if lock else stmt


def _find(session: Session, key: int | str, *, lock: bool) -> _Found | None:
    """The case with id (int) or number (str) ``key``, or None; ``lock`` takes its row lock.

    A case merged into another is its original (the original's own original,
    if it was merged on in turn): mail to a duplicate lands where it went.
    """
    stmt = _find_statement(isinstance(key, str), lock)
    row = session.connection().execute(stmt, {"key": key}).mappings().first()
    for _hop in range(_MERGE_HOPS):
        if row is None or row["merged_into_id"] is None:
            break
        stmt = _find_statement(False, lock)
        row = session.connection().execute(stmt, {"key": row["merged_into_id"]}).mappings().first()
    if row is None:
        return None
    return _Found(case_from_row(row), row[_CUSTOMER_EMAIL], bool(row[_CUSTOMER_TAKES_PART]))


#: How many merges a mail follows from the case it names (a guard, not a limit
#: anyone reaches: an original is never merged into its own duplicate).
_MERGE_HOPS = 20


@functools.cache
def _party_user() -> Any:
    # Built on first use: User is mapped when the first kit is made.
    u = tables.users.c
    return (
        select(User)
        .where(
            u.email == bindparam("sender"),
            u.active.is_(True),
            u.org_id.in_(bindparam("orgs", expanding=True)),
        )
        .order_by(u.id)
    )


def _domain(settings: Settings) -> str:
    return settings.mail_from.rpartition("@")[2].lower() or "localhost"


def is_own_message_id(settings: Settings, message_id: str | None) -> bool:
    """Whether ``message_id`` is one casekit's notifications carry."""
    if not message_id:
        return False
    found = _OWN_NOTIFICATION.match(message_id) or _OWN_THREAD.match(message_id)
    return found is not None and found.groups()[-1] == _domain(settings)


def notification_ids(settings: Settings, ids: tuple[str, ...]) -> list[tuple[int, int]]:
    """``(notification id, case id)`` of each casekit notification Message-ID in ``ids``."""
    domain = _domain(settings)
    found = []
    for value in ids:
        hit = _OWN_NOTIFICATION.match(value)
        if hit is not None and hit.group(3) == domain:
            found.append((int(hit.group(1)), int(hit.group(2))))
    return found


def _thread_case_ids(settings: Settings, ids: tuple[str, ...]) -> list[int]:
    domain = _domain(settings)
    found = []
    for value in ids:
        hit = _OWN_NOTIFICATION.match(value)
        if hit is not None and hit.group(3) == domain:
            found.append(int(hit.group(2)))
            continue
        thread = _OWN_THREAD.match(value)
        if thread is not None and thread.group(2) == domain:
            found.append(int(thread.group(1)))
    return list(dict.fromkeys(found))


def match(session: Session, settings: Settings, parsed: ParsedMail, *, lock: bool) -> Match:
    """Find the route of ``parsed`` (its sender is known)."""
    sender = parsed.from_address
    assert sender is not None
    replied = parsed.in_reply_to + parsed.references
    answered = _answered(session, settings, parsed)
    # 1. the reply token
    if settings.reply_address and settings.reply_secrets:
        for address in parsed.recipients:
            token = token_of(address, settings.reply_address)
            if token is None:
                continue
            try:
                bound = verify(token, settings.reply_secrets)
            except InvalidReplyToken:
                return Match(reason="the reply token is not valid")
            found = _find(session, bound.case_id, lock=lock)
            if found is None:
                return Match(reason="the reply token names no case")
            route = _token_route(session, found, bound, sender)
            addressee = functools.partial(_token_org, session, found.case, bound)
            return _matched(session, found, sender, addressee, route, answered=answered)
    # 2. In-Reply-To / References on casekit's Message-IDs
    for case_id in _thread_case_ids(settings, replied):
        found = _find(session, case_id, lock=lock)
        if found is not None:
            addressee = functools.partial(_notified_org, session, settings, found.case, replied)
            return _matched(session, found, sender, addressee, answered=answered)
    # 3. a case number in the subject, from a known sender only
    for number in dict.fromkeys(_NUMBER.findall(parsed.subject)):
        found = _find(session, number.upper(), lock=lock)
        if found is not None:
            shipper = functools.partial(_shipper_org, found.case)
            return _matched(session, found, sender, shipper, answered=answered)
    return Match()


def _matched(
    session: Session,
    found: _Found,
    sender: str,
    addressee: Callable[[], int | None],
    route: Route | None = None,
    *,
    answered: _Answered | None = None,
) -> Match:
    """The match on ``found``: ``route``, else how ``sender`` writes there, else
    none, in the triage of ``addressee()`` (the organization the mail was sent to,
    looked up only then).

    ``answered`` is what the notifications the mail answers were about. The
    organizations of the internal notes among them: a route from within them
    is internal, one from anyone else is none; either way a mail without a
    route is sealed in the triage of the note's organization. Else the entry
    of the latest one decides whom the route writes to (:func:`_answering`).
    """
    route = route or sender_route(session, found, sender)
    case = found.case
    notes = answered.notes if answered is not None else ()
    if route is None:
        org_id = notes[0] if notes else addressee()
        return Match(reason="sender does not match", case=case, org_id=org_id, sealed=bool(notes))
    if notes:
        actor = route.actor
        org_id = None if actor.kind is ActorKind.CUSTOMER else actor.org_id
        if org_id is None or any(note != org_id for note in notes):
            return Match(reason=OUTSIDE_INTERNAL_NOTE, case=case, org_id=notes[0], sealed=True)
        route = evolve(route, audience=Audience.INTERNAL)
    elif answered is not None:
        route = _answering(route, answered)
    return Match(route, "", case)


def _answering(route: Route, answered: _Answered) -> Route:
    """``route`` answering the notification of an entry for ``answered.audience``.

    The customer stays ``everyone`` answering an ``everyone`` entry (else it
    writes to the shipper, ``customer``). Anyone but the carrier's side
    answering a ``customer`` entry writes to the customer: the shipper's
    users and addresses, and an address acting for no organization that was
    notified in the shipper's name. The carrier's side never writes to the
    customer (a ``customer`` entry it was notified of was shared with it).
    """
    actor, case = route.actor, route.case
    if actor.kind is ActorKind.CUSTOMER:
        if answered.audience is Audience.EVERYONE:
            return evolve(route, audience=Audience.EVERYONE)
        return route
    side = actor.org_id if actor.org_id is not None else answered.sent_to
    if (
        answered.audience is Audience.CUSTOMER
        and case.customer_id is not None
        and (side is None or side != case.carrier_org_id)
    ):
        return evolve(route, audience=Audience.CUSTOMER)
    return route


def _shipper_org(case: Case) -> int:
    """Mail that names a case by its number alone: the case's shipper's."""
    return case.shipper_org_id


def _token_org(session: Session, case: Case, bound: ReplyToken) -> int | None:
    """The organization of the recipient ``bound`` was made for; None if gone.

    A user's own; a customer's shipper; a collaborator address's side; any
    other address was notified in the case's shipper's name.
    """
    if bound.user_id is not None:
        user = session.get(User, bound.user_id)
        return None if user is None else user.org_id
    if bound.customer_id is not None:
        cu = tables.customers.c
        found = session.execute(
            select(cu.shipper_org_id).where(cu.id == bound.customer_id)
        ).scalar()
        return None if found is None else int(found)
    if case.carrier_org_id is not None:
        ca = tables.collaborator_addresses.c
        for side, email in session.execute(
            select(ca.side, ca.email).where(
                ca.shipper_org_id == case.shipper_org_id,
                ca.carrier_org_id == case.carrier_org_id,
            )
        ):
            if bound.matches_address(email):
                return case.carrier_org_id if Side(side) is Side.CARRIER else case.shipper_org_id
    return case.shipper_org_id


def _notified_org(
    session: Session, settings: Settings, case: Case, ids: tuple[str, ...]
) -> int | None:
    """The organization a notification of ``case`` that ``ids`` answers was sent to.

    A notification's Message-ID names its outbox row; a thread's names its
    recipient (by hash). None when they name no notification casekit sent.
    """
    assert case.id is not None
    o = tables.outbox.c
    sent = [n for n, case_id in notification_ids(settings, ids) if case_id == case.id]
    if sent:
        found = session.execute(
            select(o.org_id).where(o.id.in_(sent), o.case_id == case.id).order_by(o.id.desc())
        ).scalar()
        if found is not None:
            return int(found)
    replied = {value.lower() for value in ids}
    recipients = select(o.user_id, o.customer_id, o.email, o.org_id).where(o.case_id == case.id)
    for row in session.execute(recipients.distinct()).mappings():
        if thread_id(settings, case.id, recipient_key(row)).strip("<>").lower() in replied:
            return int(row["org_id"])
    return None


@frozen
class _Answered:
    """What the casekit notifications a mail answers were about."""

    #: The organizations of the internal notes among them, the latest first.
    notes: tuple[int | None, ...]
    #: The audience of the latest one's entry.
    audience: Audience
    #: The organization the latest one was written for.
    sent_to: int | None


def _answered(session: Session, settings: Settings, parsed: ParsedMail) -> _Answered | None:
    """What the notifications ``parsed`` answers were about; None when it names
    no notification of an entry.

    A notification's Message-ID names its outbox row, but the opening mail's is
    its recipient's thread id: a mail in reply to it (its In-Reply-To) answers
    the case's opening notification to that recipient.
    """
    sent = [n for n, _ in notification_ids(settings, parsed.in_reply_to + parsed.references)]
    sent += _opening_notifications(session, settings, parsed.in_reply_to)
    if not sent:
        return None
    o, e = tables.outbox.c, tables.entries.c
    rows = session.execute(
        select(e.audience, e.org_id, o.org_id.label("sent_to"))
        .join(tables.outbox, o.entry_id == e.id)
        .where(o.id.in_(sent))
        .order_by(o.id.desc())
    ).all()
    if not rows:
        return None
    # Only a notification written for the note's organization told the note (a
    # case opened with an internal note tells the other side that it opened).
    notes = (
        row.org_id
        for row in rows
        if Audience(row.audience) is Audience.INTERNAL and row.sent_to == row.org_id
    )
    latest = rows[0]
    return _Answered(tuple(dict.fromkeys(notes)), Audience(latest.audience), latest.sent_to)


def _opening_notifications(session: Session, settings: Settings, ids: tuple[str, ...]) -> list[int]:
    """The outbox ids of the case-opened notifications whose thread ids are in ``ids``."""
    domain = _domain(settings)
    found: list[int] = []
    o = tables.outbox.c
    for value in ids:
        hit = _OWN_THREAD.match(value)
        if hit is None or hit.group(2) != domain:
            continue
        case_id = int(hit.group(1))
        opened = select(o.id, o.user_id, o.customer_id, o.email).where(
            o.case_id == case_id, o.event == NotifyEvent.CASE_OPENED.value
        )
        for row in session.execute(opened).mappings():
            thread = thread_id(settings, case_id, recipient_key(row)).strip("<>")
            if thread.lower() == value.lower():
                found.append(int(row["id"]))
    return found


def _token_route(session: Session, found: _Found, bound: ReplyToken, sender: str) -> Route | None:
    """The route when ``sender`` is the recipient ``bound`` was made for."""
    case = found.case
    if bound.user_id is not None:
        user = session.get(User, bound.user_id)
        if user is None or not user.active or user.email.lower() != sender:
            return None
        if user.org_id not in case.party_org_ids():
            return None
        return Route(case, Actor.of_user(user), Audience.PARTNERS)
    if bound.customer_id is not None:
        if bound.customer_id != case.customer_id:
            return None
        return _customer_route(found, sender)
    if not bound.matches_address(sender):
        return None
    return _address_route(session, case, sender)


def _address_route(session: Session, case: Case, sender: str) -> Route:
    """An email-only recipient: a side's collaborator address, or a participant address."""
    ca = tables.collaborator_addresses.c
    row: Any = None
    if case.carrier_org_id is not None:
        row = session.execute(
            select(ca.side).where(
                ca.shipper_org_id == case.shipper_org_id,
                ca.carrier_org_id == case.carrier_org_id,
                ca.email == sender,
            )
        ).first()
    if row is not None:
        side = Side(row.side)
        org_id = case.shipper_org_id if side is Side.SHIPPER else case.carrier_org_id
        return Route(case, Actor.system_actor(SystemName.EMAIL, org_id=org_id), Audience.PARTNERS)
    return Route(case, Actor.system_actor(SystemName.EMAIL), Audience.PARTNERS)


def _customer_route(found: _Found, sender: str) -> Route | None:
    """The route when ``sender`` is the case's customer."""
    case, email = found.case, found.customer_email
    if case.customer_id is None or email is None or email.lower() != sender:
        return None
    customer = Actor(ActorKind.CUSTOMER, customer_id=case.customer_id)
    return Route(case, customer, Audience.CUSTOMER, takes_part=found.customer_takes_part)


def sender_route(session: Session, found: _Found, sender: str) -> Route | None:
    """How ``sender`` writes on the case: as its customer, a party's user or a participant."""
    route = _customer_route(found, sender)
    if route is not None:
        return route
    case = found.case
    user = session.scalars(
        _party_user(), {"sender": sender, "orgs": list(case.party_org_ids())}
    ).first()
    if user is not None:
        return Route(case, Actor.of_user(user), Audience.PARTNERS)
    participant = session.execute(_PARTICIPANT, {"case_id": case.id, "sender": sender}).first()
    if participant is not None:
        return _address_route(session, case, sender)
    ca = tables.collaborator_addresses.c
    if case.carrier_org_id is not None:
        collaborator = session.execute(
            select(ca.side).where(
                ca.shipper_org_id == case.shipper_org_id,
                ca.carrier_org_id == case.carrier_org_id,
                ca.email == sender,
            )
        ).first()
        if collaborator is not None:
            return _address_route(session, case, sender)
    return None
