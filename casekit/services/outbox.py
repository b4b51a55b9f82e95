"""The outbox: notifications written with the change that causes them.

:func:`queue_notifications` runs inside ``Edit.finish()``
(:mod:`casekit.services.base`), the one place every change to a case passes
through: it reads the people around the case in one statement (with the party
organizations' webhook subscriptions, when the change is one a webhook
hears of), applies :func:`casekit.domain.notify.recipients`, and writes one
outbox row per recipient in one multi-row INSERT, in the change's own
transaction.
:mod:`casekit.services.worker` delivers them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from attrs import frozen
from sqlalchemy import (
    Select,
    bindparam,
    cast,
    insert,
    literal_column,
    null,
    select,
    union,
    union_all,
)

from casekit import signals
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import Case, Side
from casekit.domain.directory import UserRole
from casekit.domain.notify import (
    Happening,
    NotifyEvent,
    Recipient,
    Surroundings,
    UserInfo,
    recipients,
    template_name,
)
from casekit.domain.workflow import StatusMove
from casekit.store import tables

if TYPE_CHECKING:
    from casekit.services.base import Edit

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
MAX_ERROR = 1000

_o = tables.outbox.c
_w = tables.watchers.c
_p = tables.participants.c
_u = tables.users.c
_s = tables.subscriptions.c
_ca = tables.collaborator_addresses.c
_cu = tables.customers.c
_h = tables.webhooks.c
_un = tables.unsubscriptions.c


class Subscribed(NamedTuple):
    """An active webhook subscription of a party organization (what queueing needs)."""

    id: int
    org_id: int
    events: str  # comma-separated


# -- queueing -------------------------------------------------------------------------

_STATUS_NOTICE = {
    StatusMove.SOLVED: NotifyEvent.CASE_SOLVED,
    StatusMove.REOPENED: NotifyEvent.CASE_REOPENED,
    StatusMove.CHANGED: NotifyEvent.STATUS_CHANGED,
}


def happenings_of(edit: Edit) -> list[Happening]:
    """What the change in ``edit`` was, read from the signals it queued."""
    actor, case = edit.actor, edit.case
    found: list[Happening] = []
    by_name = {str(sig.name): kw for sig, kw in edit.queued_signals()}
    opened = by_name.get(str(signals.case_opened.name))
    posted = by_name.get(str(signals.message_posted.name))
    message = (opened or {}).get("message") or (posted or {}).get("message")
    if opened is not None:
        # The parties hear of an opening, the customer when its message is for
        # them; an opening with a message of the shipper's conversation with
        # its customer is that conversation's, which the carrier is not in.
        audience = Audience.PARTNERS
        if message is not None and message.audience.reaches_customer:
            audience = message.audience
        found.append(
            Happening(
                NotifyEvent.CASE_OPENED,
                audience=audience,
                author_org_id=actor.org_id,
                entry_id=message.id if message is not None else None,
            )
        )
    elif message is not None:
        found.append(
            Happening(
                NotifyEvent.MESSAGE_POSTED,
                audience=message.audience,
                author_org_id=message.org_id,
                entry_id=message.id,
            )
        )
    if actor.is_customer and message is not None:
        found.append(
            Happening(
                NotifyEvent.CUSTOMER_FEEDBACK,
                audience=Audience.EVERYONE,
                author_org_id=None,
                entry_id=message.id,
            )
        )
    for move in edit.status_moves:
        found.append(
            Happening(
                _STATUS_NOTICE[move.kind],
                audience=move.audience,
                # The carrier's own move is for the carrier's staff only.
                author_org_id=case.carrier_org_id if move.carrier else actor.org_id,
                old=move.old.value,
                new=move.new.value,
            )
        )
    carrier = by_name.get(str(signals.carrier_changed.name))
    if (
        carrier is not None
        and case.carrier_org_id is not None
        and case.carrier_collaborating
        and (carrier["old"] != case.carrier_org_id or not carrier["was_collaborating"])
    ):
        # Brought to a carrier (named, or switched to collaborating): it hears
        # the case is its own now.
        found.append(
            Happening(
                NotifyEvent.CARRIER_NAMED,
                audience=Audience.PARTNERS,
                author_org_id=actor.org_id,
                old=None if carrier["old"] is None else str(carrier["old"]),
                new=str(case.carrier_org_id),
            )
        )
    owner = by_name.get(str(signals.owner_changed.name))
    if owner is not None and owner["new"] is not None:
        side_org = case.shipper_org_id if owner["side"] is Side.SHIPPER else case.carrier_org_id
        found.append(
            Happening(
                NotifyEvent.OWNER_ASSIGNED,
                audience=Audience.PARTNERS,
                author_org_id=side_org,
                old=None if owner["old"] is None else str(owner["old"]),
                new=str(owner["new"]),
                user_id=owner["new"],
            )
        )
    return found


@functools.cache
def _people(everyone_of: bool, webhooks: bool = False) -> Select[Any]:
    """Everyone around a case, in ONE statement (a round trip is what a change pays for).

    Rows of six kinds, told apart by ``src``: ``u`` the users involved, with
    their subscriptions to the events at hand (and, with ``everyone_of``,
    every user of the organization bound as ``everyone_of``: the shipper for
    customer feedback, the carrier a case was brought to); ``w`` the
    watchers; ``p`` the subscribed
    participants (an address's organization in ``org_id``, the audience it
    joined on in ``name``); ``a`` the
    collaborator addresses of the case's pair (the side in ``name``); ``c``
    the customer; ``x`` the keys of those who unsubscribed from the case (or
    from every case of its shipper), in ``email``. With ``webhooks``, one more: ``h``
    the active webhook subscriptions of the party organizations (the
    subscription's id in ``user_id``, its events in ``name``), read here
    rather than in a statement of their own.
    """
    case_id: Any = bindparam("case_id")
    # Who is involved, as one index-friendly set of user ids: the named ones
    # (owners, the actor, a new owner), the watchers, the participants, and
    # for customer feedback the shipper's users (the carrier's, for a case
    # brought to it).
    involved_parts = [
        select(_u.id.label("user_id")).where(_u.id.in_(bindparam("ids", expanding=True))),
        select(_w.user_id).where(_w.case_id == case_id),
        select(_p.user_id).where(
            _p.case_id == case_id, _p.subscribed.is_(True), _p.user_id.is_not(None)
        ),
    ]
    if everyone_of:
        involved_parts.append(select(_u.id).where(_u.org_id == bindparam("everyone_of")))
    involved = union(*involved_parts).subquery("involved")
    # The users first: their typed columns give the union its types.
    users = (
        select(
            literal_column("'u'").label("src"),
            _u.id.label("user_id"),
            cast(null(), tables.Id).label("customer_id"),
            _u.email,
            _u.name,
            _u.org_id,
            _u.role,
            _u.active,
            _s.event,
            _s.enabled,
        )
        .select_from(tables.users.join(involved, involved.c.user_id == _u.id))
        .outerjoin(
            tables.subscriptions,
            (_s.user_id == _u.id) & _s.event.in_(bindparam("events", expanding=True)),
        )
    )
    nothing = [null()] * 6
    watchers = select(literal_column("'w'"), _w.user_id, null(), null(), *nothing).where(
        _w.case_id == case_id
    )
    participants = select(
        literal_column("'p'"),
        _p.user_id,
        _p.customer_id,
        _p.email,
        _p.audience,
        _p.org_id,
        *nothing[2:],
    ).where(_p.case_id == case_id, _p.subscribed.is_(True))
    unsubscribed = select(literal_column("'x'"), null(), null(), _un.recipient, *nothing).where(
        (_un.case_id == case_id)
        | (_un.case_id.is_(None) & (_un.org_id == bindparam("shipper_org_id")))
    )
    addresses = select(
        literal_column("'a'"), null(), null(), _ca.email, _ca.side, *nothing[1:]
    ).where(
        _ca.shipper_org_id == bindparam("shipper_org_id"),
        _ca.carrier_org_id == bindparam("carrier_org_id"),
    )
    customer = select(
        literal_column("'c'"), null(), _cu.id, _cu.email, _cu.name, *nothing[1:]
    ).where(_cu.id == bindparam("customer_id"))
    parts = [users, watchers, participants, addresses, customer, unsubscribed]
    if webhooks:
        parts.append(
            select(
                literal_column("'h'"), _h.id, null(), null(), _h.events, _h.org_id, *nothing[2:]
            ).where(_h.org_id.in_(bindparam("orgs", expanding=True)), _h.active.is_(True))
        )
    return union_all(*parts)  # type: ignore[return-value]


def surroundings(edit: Edit, happened: Sequence[Happening]) -> Surroundings:
    """The people around ``edit.case`` for the change, read in one statement."""
    return _surroundings(edit, happened, webhooks=False)[0]


def _surroundings(
    edit: Edit, happened: Sequence[Happening], *, webhooks: bool
) -> tuple[Surroundings, list[Subscribed]]:
    """:func:`surroundings`, and with ``webhooks`` the parties' webhook subscriptions."""
    conn = edit.uow.connection()
    case, actor = edit.case, edit.actor
    feedback = any(h.event is NotifyEvent.CUSTOMER_FEEDBACK for h in happened)
    named = any(h.event is NotifyEvent.CARRIER_NAMED for h in happened)
    ids = {case.shipper_owner_id, case.carrier_owner_id, actor.user_id}
    ids.update(h.user_id for h in happened)
    params: dict[str, Any] = {
        "case_id": case.id,
        "ids": sorted(i for i in ids if i is not None),
        "events": sorted({h.event.value for h in happened}),
        "shipper_org_id": case.shipper_org_id,
        # The pair's collaborator addresses: for a side with no owner, or whose
        # owner was deactivated (the owners are among the users read here).
        "carrier_org_id": case.carrier_org_id,
        "customer_id": case.customer_id,
    }
    # A customer never names a carrier: one change is feedback or a carrier named.
    if feedback or named:
        params["everyone_of"] = case.shipper_org_id if feedback else case.carrier_org_id
    if webhooks:
        params["orgs"] = list(case.party_org_ids())
    hooks: list[Subscribed] = []
    watchers: set[int] = set()
    participants: list[tuple[int | None, int | None, str | None, int | None]] = []
    users: dict[int, UserInfo] = {}
    subscriptions: dict[tuple[int, str], bool] = {}
    shipper_users: list[int] = []
    carrier_users: list[int] = []
    collaborators: dict[Side, str] = {}
    customer_email, customer_name = None, ""
    joined_on: dict[str, Audience] = {}
    unsubscribed: set[str] = set()
    for row in conn.execute(_people(feedback or named, webhooks), params):
        src = row.src
        if src == "u":
            if row.user_id not in users:
                users[row.user_id] = UserInfo(
                    row.user_id,
                    row.org_id,
                    row.email,
                    row.name,
                    UserRole(row.role),
                    bool(row.active),
                )
                if row.org_id == case.shipper_org_id:
                    shipper_users.append(row.user_id)
                elif row.org_id == case.carrier_org_id:
                    carrier_users.append(row.user_id)
            if row.event is not None:
                subscriptions[(row.user_id, row.event)] = bool(row.enabled)
        elif src == "w":
            watchers.add(row.user_id)
        elif src == "p":
            participants.append((row.user_id, row.customer_id, row.email, row.org_id))
            if row.email is not None and row.name is not None:
                joined_on[row.email.lower()] = Audience(row.name)
        elif src == "x":
            unsubscribed.add(row.email.lower())
        elif src == "a":
            collaborators[Side(row.name)] = row.email
        elif src == "h":
            hooks.append(Subscribed(row.user_id, row.org_id, row.name))
        else:
            customer_email, customer_name = row.email, row.name
    if actor.user_id is not None and actor.user_id in users:
        actor_email: str | None = users[actor.user_id].email
    elif actor.customer_id is not None and actor.customer_id == case.customer_id:
        actor_email = customer_email
    else:
        actor_email = edit.author_email
    around = Surroundings(
        users=users,
        watchers=frozenset(watchers),
        participants=participants,
        subscriptions=subscriptions,
        collaborators=collaborators,
        customer_email=customer_email,
        customer_name=customer_name,
        shipper_users=sorted(shipper_users) if feedback else (),
        carrier_users=sorted(carrier_users) if named else (),
        actor_email=actor_email,
        joined_on=joined_on,
        unsubscribed=frozenset(unsubscribed),
    )
    return around, hooks


def author_org(case: Case, actor: Actor) -> int:
    """The organization that caused a change: the actor's, the shipper's for a customer or host."""
    return actor.org_id if actor.org_id is not None else case.shipper_org_id


def outbox_row(edit: Edit, recipient: Recipient) -> dict[str, Any]:
    h = recipient.happening
    return {
        "case_id": edit.case.id,
        "entry_id": h.entry_id,
        "event": recipient.event.value,
        "template": template_name(edit.case, recipient),
        "recipient_kind": recipient.kind.value,
        "user_id": recipient.user_id,
        "customer_id": recipient.customer_id,
        "email": recipient.email,
        "name": recipient.name,
        "org_id": recipient.org_id,
        "author_org_id": author_org(edit.case, edit.actor),
        "actor": edit.actor.describe(),
        "old_value": h.old,
        "new_value": h.new,
        "status": QUEUED,
        "attempts": 0,
        "created_at": edit.now,
        "next_attempt_at": edit.now,
    }


def queue_notifications(edit: Edit) -> list[dict[str, Any]]:
    """Write the outbox rows of the change in ``edit``; returns them (with ids when wanted).

    The webhook requests the change causes are written here too
    (:func:`casekit.services.webhooks.queue_webhooks`), in the same transaction.
    """
    from casekit.services import webhooks

    happened = happenings_of(edit)
    if not happened:
        webhooks.queue_webhooks(edit)
        return []
    # The subscriptions come with the people when a webhook hears of the change.
    hooked = bool(webhooks.webhook_changes(edit))
    around, subscribed = _surroundings(edit, happened, webhooks=hooked)
    if hooked:
        webhooks.queue_webhooks(edit, subscribed=subscribed)
    if edit.hold_notifications:
        return []
    chosen = recipients(edit.case, edit.actor, happened, around)
    rows = [outbox_row(edit, r) for r in chosen]
    if not rows:
        return rows
    insert_rows(
        edit.uow.connection(),
        tables.outbox,
        rows,
        with_ids=bool(signals.notification_queued.receivers),
    )
    return rows


def insert_rows(conn: Any, table: Any, rows: list[dict[str, Any]], *, with_ids: bool) -> None:
    """Write ``rows`` to ``table`` in one statement; ``with_ids`` sets each row's ``id``.

    Only a receiver of the queued signals needs the ids. Where the database
    returns the ids of a multi-row INSERT in the rows' order (SQLite 3.35+,
    PostgreSQL, MariaDB 10.5+) they come back with it; elsewhere each row is
    inserted on its own.
    """
    if not with_ids:
        conn.execute(insert(table), rows)
        return
    if conn.dialect.insert_executemany_returning_sort_by_parameter_order:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        for row, new_id in zip(rows, conn.execute(stmt, rows).scalars(), strict=True):
            row["id"] = int(new_id)
        return
    for row in rows:
        result = conn.execute(insert(table), row)
        row["id"] = int(result.inserted_primary_key[0])


# -- reading --------------------------------------------------------------------------


@frozen(kw_only=True)
class DeliveryAttemptView:
    """One attempt to deliver a notification."""

    attempted_at: datetime
    ok: bool
    error: str | None


@frozen(kw_only=True)
class DeliveryView:
    """A notification in the outbox: whom it is for, and how its delivery goes.

    ``status`` is ``queued`` (waiting, or waiting to be retried), ``sending``
    (a worker has it), ``sent`` or ``failed`` (no more attempts).
    ``id`` is None only for a notification announced before its id was read.
    """

    id: int | None
    case_id: int
    event: str
    template: str
    recipient_kind: str
    email: str
    name: str
    user_id: int | None
    customer_id: int | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    history: tuple[DeliveryAttemptView, ...] = ()


def delivery_view(row: Any, history: Iterable[DeliveryAttemptView]) -> DeliveryView:
    """A :class:`DeliveryView` of an outbox row (a mapping)."""
    return DeliveryView(
        id=row.get("id"),
        case_id=row["case_id"],
        event=row["event"],
        template=row["template"],
        recipient_kind=row["recipient_kind"],
        email=row["email"],
        name=row["name"],
        user_id=row["user_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == QUEUED else None,
        sent_at=row.get("sent_at"),
        last_error=row.get("last_error"),
        history=tuple(history),
    )
