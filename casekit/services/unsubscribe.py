"""Unsubscribing from a case's mail by the token of a notification's link.

Each notification carries the recipient's unsubscribe link (the
``unsubscribe_url`` setting; :func:`casekit.mail.tokens.unsubscribe_url`):
its token names the case and the recipient (a user, the customer, or an
address) and is signed with the ``reply_secrets``. Whoever holds it may
unsubscribe that recipient from that case, or (a customer or an address)
from every case of the case's shipper, and subscribe again. Each change is
an event on the case's timeline that the recipient's own side reads.
Reach it as ``kit.unsubscribe``.
"""

from __future__ import annotations

import logging

from attrs import frozen
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor, ActorKind, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind
from casekit.domain.directory import Customer, Organization, User
from casekit.errors import NotFound
from casekit.mail.tokens import ReplyToken, verify
from casekit.services.base import Edit, Service, event_entry
from casekit.store import tables

__all__ = ["SubscriptionState", "UnsubscribeService"]

log = logging.getLogger(__name__)

_un = tables.unsubscriptions.c
_o = tables.outbox.c
_c = tables.cases.c

#: The ``old_value`` of an event about every case of the shipper.
ALL_CASES = "all_cases"


@frozen(kw_only=True)
class SubscriptionState:
    """Where a recipient stands with one case's mail: what the unsubscribe page shows.

    Only the case number, the recipient's own address and the shipper's name:
    whoever holds the link reads nothing else of the case.
    """

    case_number: str
    email: str
    #: the shipper, whose cases ``all_cases`` is about.
    organization: str
    #: whether the recipient hears of this case.
    subscribed: bool
    #: whether the recipient left every case of the shipper.
    all_cases: bool
    #: whether leaving every case of the shipper is offered (customers and addresses;
    #: users choose what they hear in their own settings).
    offers_all_cases: bool


@frozen
class _Who:
    key: str
    email: str
    actor: Actor
    audience: Audience
    org_id: int
    value: str


class UnsubscribeService(Service):
    """Unsubscribe and subscribe again by a notification's unsubscribe token."""

    def state(self, token: str) -> SubscriptionState:
        """Where the token's recipient stands with the token's case.

        Raises :class:`~casekit.mail.tokens.InvalidReplyToken` (a ``ValueError``)
        for a malformed or forged token and :class:`~casekit.errors.NotFound`
        when its case or recipient is gone.
        """
        with self._uow(write=False) as uow:
            number, shipper_org_id, case_id = self._case(uow.session, token)
            # The recipient of the mail, on the case it was about (the duplicate of a merge).
            who = self._who(uow.session, token, self._bound(token).case_id, shipper_org_id)
            return self._state(uow.session, number, case_id, shipper_org_id, who)

    def unsubscribe(self, token: str, *, all_cases: bool = False) -> SubscriptionState:
        """Stop the token's recipient hearing of the case (``all_cases``: of every
        case of its shipper, for a customer or an address). Doing it twice changes nothing."""
        return self._change(token, leave=True, all_cases=all_cases)

    def resubscribe(self, token: str) -> SubscriptionState:
        """Undo :meth:`unsubscribe`: the recipient hears of the case (and, if it had
        left them all, of the shipper's other cases) again."""
        return self._change(token, leave=False, all_cases=False)

    # -- the parts -----------------------------------------------------------------------
    def _bound(self, token: str) -> ReplyToken:
        return verify(token, self.kit.settings.reply_secrets, purpose="unsubscribe")

    def _case(self, session: Session, token: str) -> tuple[str, int, int]:
        """The case the token's mail was about: the case it was merged into, if it was
        (its people moved there, so does what they choose of its mail)."""
        bound = self._bound(token)
        case_id = bound.case_id
        stmt = select(_c.number, _c.shipper_org_id, _c.merged_into_id)
        row = session.execute(stmt.where(_c.id == case_id)).first()
        for _hop in range(20):
            if row is None or row.merged_into_id is None:
                break
            case_id = row.merged_into_id
            row = session.execute(stmt.where(_c.id == case_id)).first()
        if row is None:
            raise NotFound("case", bound.case_id)
        return str(row.number), int(row.shipper_org_id), case_id

    def _who(self, session: Session, token: str, case_id: int, shipper_org_id: int) -> _Who:
        bound = self._bound(token)
        if bound.user_id is not None:
            user = session.get(User, bound.user_id)
            if user is None:
                raise NotFound("recipient", token)
            return _Who(
                f"u{user.id}",
                user.email,
                Actor.of_user(user),
                Audience.INTERNAL,
                user.org_id,
                str(user.id),
            )
        if bound.customer_id is not None:
            customer = session.get(Customer, bound.customer_id)
            if customer is None or customer.shipper_org_id != shipper_org_id:
                raise NotFound("recipient", token)
            return _Who(
                f"c{customer.id}",
                customer.email,
                Actor(ActorKind.CUSTOMER, customer_id=customer.id),
                Audience.CUSTOMER,
                shipper_org_id,
                "customer",
            )
        # An address: the token holds a hash of it; it is one this case's mail went to.
        sent = session.execute(
            select(_o.email, _o.org_id)
            .where(_o.case_id == case_id, _o.user_id.is_(None), _o.customer_id.is_(None))
            .distinct()
        )
        for email, org_id in sent:
            if bound.matches_address(email):
                address = email.strip().lower()
                return _Who(
                    f"a:{address}",
                    address,
                    Actor.system_actor(SystemName.EMAIL),
                    Audience.INTERNAL,
                    int(org_id),
                    address,
                )
        raise NotFound("recipient", token)

    def _rows(self, session: Session, case_id: int, shipper_org_id: int, key: str) -> set[str]:
        """Which unsubscriptions of ``key`` apply to the case: ``case`` and/or ``all``."""
        stmt = select(_un.case_id).where(
            _un.recipient == key,
            (_un.case_id == case_id) | (_un.case_id.is_(None) & (_un.org_id == shipper_org_id)),
        )
        return {"all" if r is None else "case" for r in session.execute(stmt).scalars()}

    def _state(
        self, session: Session, number: str, case_id: int, shipper_org_id: int, who: _Who
    ) -> SubscriptionState:
        found = self._rows(session, case_id, shipper_org_id, who.key)
        shipper = session.get(Organization, shipper_org_id)
        return SubscriptionState(
            case_number=number,
            email=who.email,
            organization=shipper.name if shipper is not None else "",
            subscribed=not found,
            all_cases="all" in found,
            offers_all_cases=not who.key.startswith("u"),
        )

    def _change(self, token: str, *, leave: bool, all_cases: bool) -> SubscriptionState:
        with self._uow(write=False) as uow:
            number, _, _ = self._case(uow.session, token)
        with self.editing(Actor.host(), number) as edit:
            case = edit.case
            assert case.id is not None
            session = edit.uow.session
            who = self._who(session, token, self._bound(token).case_id, case.shipper_org_id)
            all_cases = all_cases and not who.key.startswith("u")
            found = self._rows(session, case.id, case.shipper_org_id, who.key)
            conn = edit.uow.connection()
            scope_all = _un.case_id.is_(None) & (_un.org_id == case.shipper_org_id)
            changed: str | None = None
            if leave:
                wanted = "all" if all_cases else "case"
                if wanted not in found:
                    conn.execute(
                        tables.unsubscriptions.insert(),
                        {
                            "recipient": who.key,
                            "case_id": None if all_cases else case.id,
                            "org_id": case.shipper_org_id if all_cases else None,
                            "created_at": edit.now,
                        },
                    )
                    changed = wanted
            elif found:
                conn.execute(
                    delete(tables.unsubscriptions).where(
                        _un.recipient == who.key, (_un.case_id == case.id) | scope_all
                    )
                )
                changed = "all" if "all" in found else "case"
            if changed is not None:
                self._audit(edit, who, leave=leave, all_cases=changed == "all")
                log.info(
                    "%s %s %s",
                    who.key,
                    "unsubscribed from" if leave else "resubscribed to",
                    f"every case of organization {case.shipper_org_id}"
                    if changed == "all"
                    else f"case {number}",
                )
            edit.finish(view=False)
            return self._state(session, number, case.id, case.shipper_org_id, who)

    @staticmethod
    def _audit(edit: Edit, who: _Who, *, leave: bool, all_cases: bool) -> None:
        entry = event_entry(
            who.actor,
            edit.case,
            EventKind.UNSUBSCRIBED if leave else EventKind.RESUBSCRIBED,
            at=edit.now,
            old=ALL_CASES if all_cases else None,
            new=who.value,
            audience=who.audience,
            org_id=who.org_id,
        )
        if who.key.startswith("a:"):
            entry.author_email = who.email
        edit.append(entry)
