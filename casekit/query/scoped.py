"""The scoped query layer: the one place that decides what an actor can read.

Every read of cases and entries — by services, exports, search, counts,
dashboards — starts from a :class:`Scope`. It applies the tenant rule (staff
see cases where their organization is a party; a customer sees only their
own cases) and the audience rule (internal entries stay in the author's
organization; a customer reads only ``everyone`` entries). A case the actor
may not see is :class:`~casekit.errors.NotFound`, exactly like a missing one.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import evolve
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience, entry_visible
from casekit.domain.case import (
    Attachment,
    Case,
    CrmNumber,
    Entry,
    EntryKind,
    EventKind,
    Side,
    Watcher,
)
from casekit.domain.directory import Customer, User
from casekit.domain.notify import RecipientKind
from casekit.domain.shipment import SHIPMENT_SNAPSHOT_FIELDS, Order, Shipment
from casekit.domain.sla import ClockKind, ClockState, due_state
from casekit.domain.workflow import status_value_for_carrier
from casekit.errors import NotFound
from casekit.query.custom_fields import values_of
from casekit.query.models import (
    AttachmentView,
    CaseFacts,
    CaseView,
    ClockView,
    ContactView,
    CustomerView,
    EntryView,
    OrderView,
    ShipmentView,
)
from casekit.query.tags import tags_of
from casekit.store import acting, tables
from casekit.store.acting import ACTING_USER
from casekit.store.rows import case_from_row, load_cases, select_cases

c = tables.cases.c
e = tables.entries.c
o = tables.outbox.c


def entry_visibility(
    customer: bool, unrestricted: bool, org: Any, carrier: bool | ColumnElement[bool] = False
) -> ColumnElement[bool]:
    """Which entries of a visible case an actor of that kind reads.

    ``org`` is its organization's id (None: none), or an expression giving it
    (a bound parameter); ``carrier`` says it acts for the case's carrier: a
    bool when the case is known, or an expression on the case's row (NULL
    on a case without a carrier, which counts as false). The carrier reads
    a ``customer`` entry only once the shipper shared it.
    """
    if unrestricted:
        return true()
    if customer:
        return e.audience.in_(CUSTOMER_AUDIENCES)
    staff = or_(e.audience != Audience.INTERNAL.value, e.org_id == org)
    if carrier is False:
        return staff
    hidden = and_(e.audience == Audience.CUSTOMER.value, e.shared_at.is_(None))
    if carrier is True:
        return and_(staff, not_(hidden))
    return and_(staff, or_(not_(func.coalesce(carrier, false())), not_(hidden)))


#: The audiences a customer reads, as stored.
CUSTOMER_AUDIENCES = [a.value for a in Audience if a.reaches_customer]


class Scope:
    """Reads for one actor within one session."""

    def __init__(self, session: Session, actor: Actor, *, now: datetime | None = None) -> None:
        self.session = session
        self.actor = actor
        #: The moment the views' clocks read at (None: the time of the call).
        self.now = now

    # -- the two rules, as SQL ----------------------------------------------
    def case_clause(self) -> ColumnElement[bool]:
        """Which cases the actor can see."""
        return _case_clause(self.actor)

    def entry_clause(self, case: Case) -> ColumnElement[bool]:
        """Which entries of ``case`` (visible to the actor) the actor can read."""
        actor = self.actor
        return entry_visibility(
            actor.is_customer, actor.is_unrestricted, actor.org_id, self._for_carrier(case)
        )

    def delivery_clause(self) -> ColumnElement[bool]:
        """Which notifications of a visible case the actor sees in its delivery log.

        Each is written for one organization (``org_id``): a user's own, a
        side's for its collaborator address and for the addresses Cc'd for
        it on the thread (the shipper's for those its customer, the host or
        an inbound sender Cc'd), the shipper's for its customer. Staff see
        those written for their own organization; a customer sees those to
        itself; the host sees all.
        """
        actor = self.actor
        if actor.is_unrestricted:
            return true()
        if actor.is_customer:
            if actor.customer_id is None:
                return false()
            return and_(
                o.recipient_kind == RecipientKind.CUSTOMER.value,
                o.customer_id == actor.customer_id,
            )
        if actor.org_id is None:
            return false()
        return o.org_id == actor.org_id

    # -- cases ----------------------------------------------------------------
    def case(self, number: str, *, lock: bool = False) -> Case:
        """The case with ``number``, or NotFound. ``lock`` takes its row lock.

        The case comes back detached: a plain domain object (see
        :mod:`casekit.store.rows`), written back only through an edit.
        """
        checked = acting.take_check(self.session)
        stmt = _case_by_number(self.actor, lock)
        connection = self.session.connection()
        found = load_cases(connection, stmt, {"number": number, ACTING_USER: checked})
        if not found:
            acting.refuse_deactivated(connection, checked)
            raise NotFound("case", number)
        return found[0]

    def case_to_post(self, number: str) -> tuple[Case, bool]:
        """:meth:`case` with its row lock, and whether the actor takes part in it already.

        The actor (a user or a customer) is a participant of the case: a
        message need not add them. Read in the same statement as the case.
        """
        checked = acting.take_check(self.session)
        connection = self.session.connection()
        params = {"number": number, ACTING_USER: checked}
        found = connection.execute(_case_to_post(self.actor), params).mappings().first()
        if found is None:
            acting.refuse_deactivated(connection, checked)
            raise NotFound("case", number)
        return case_from_row(found), bool(found[_TAKES_PART])

    def cases(self, *, limit: int = 50, before_id: int | None = None) -> list[Case]:
        """Visible cases, newest first, paged by id (keyset).

        The statement carries the acting user's check (none when they were
        deactivated); an empty page asks whether that was the reason.
        """
        checked = acting.take_check(self.session)
        stmt = select_cases(and_(self.case_clause(), acting.not_deactivated()))
        if before_id is not None:
            stmt = stmt.where(c.id < before_id)
        stmt = stmt.order_by(c.id.desc()).limit(limit)
        connection = self.session.connection()
        found = load_cases(connection, stmt, {ACTING_USER: checked})
        if not found:
            acting.refuse_deactivated(connection, checked)
        return found

    def view(self, case: Case, *, new: bool = False) -> CaseView:
        return self.views([case], new=new)[0]

    def views(self, found: Sequence[Case], *, new: bool = False) -> list[CaseView]:
        """The actor's views of ``found``.

        ``new`` says the cases were created in this very transaction, so they
        have no CRM numbers and no watchers yet: the two lookups are skipped.
        """
        ids = [] if new else [case.id for case in found if case.id is not None]
        crm = self._crm_numbers(ids)
        tags = tags_of(self.session.connection(), self.actor, ids)
        parties = [(_id(c.id), c.shipper_org_id, c.carrier_org_id) for c in found if c.id in ids]
        fields = values_of(self.session.connection(), self.actor, parties)
        watchers = self._watchers(ids)
        contacts = self._contacts(found)
        clocks = self._clocks([case.id for case in found if case.id is not None])
        merged = self.merged_into(found)
        hide_people = self.actor.is_customer
        # A customer's latest message is the latest one meant for them, and
        # who created or solved the case is staff business.
        latest = self._latest_for_customer([_id(case.id) for case in found]) if hide_people else {}
        return [
            CaseView(
                id=_id(case.id),
                number=case.number or "",
                version=case.version,
                type=case.type,
                status=case.carrier_status if self._for_carrier(case) else case.status,
                source=case.source,
                subject=case.subject,
                shipper_org_id=case.shipper_org_id,
                carrier_org_id=case.carrier_org_id,
                carrier_collaborating=case.carrier_collaborating,
                customer_id=None if self._for_carrier(case) else case.customer_id,
                shipment_id=case.shipment_id,
                order_id=case.order_id,
                shipper_owner_id=None if hide_people else case.shipper_owner_id,
                carrier_owner_id=None if hide_people else case.carrier_owner_id,
                created_by="" if hide_people else self._who(case, case.created_by),
                created_at=case.created_at,
                updated_at=(case.carrier_updated_at if self._for_carrier(case) else case.updated_at)
                or case.created_at,
                solved_at=case.carrier_solved_at if self._for_carrier(case) else case.solved_at,
                solved_by=self._solved_by(case),
                latest_message_at=(
                    latest.get(_id(case.id)) if hide_people else self._latest(case)[0]
                ),
                latest_message_user_id=None if hide_people else self._latest(case)[1],
                latest_message_org_id=None if hide_people else self._latest(case)[2],
                crm_number=crm.get(_id(case.id)),
                watcher_ids=tuple(sorted(watchers.get(_id(case.id), ()))),
                contact=contacts.get(case.customer_id or 0) if self._reads_contact(case) else None,
                contact_shared_at=None if hide_people else case.contact_shared_at,
                clocks=clocks.get(_id(case.id), ()),
                priority=case.priority,
                tags=tags.get(_id(case.id), ()),
                custom_fields=fields.get(_id(case.id), ()),
                merged_into=merged.get(case.merged_into_id or 0),
                merged_at=case.merged_at,
            )
            for case in found
        ]

    def merged_into(self, found: Iterable[Case]) -> dict[int, str]:
        """The numbers of the cases those of ``found`` were merged into, by id
        (a number is no secret, and an original has every party of its
        duplicates: whoever sees a duplicate sees its original)."""
        ids = sorted({case.merged_into_id for case in found if case.merged_into_id is not None})
        if not ids:
            return {}
        stmt = select(c.id, c.number).where(c.id.in_(ids))
        return {row.id: row.number or "" for row in self.session.execute(stmt)}

    def _clocks(self, case_ids: list[int]) -> dict[int, tuple[ClockView, ...]]:
        """The service-level clocks of ``case_ids`` the actor may see: its own
        organization's, and a party's that shows its clocks to the actor's
        organization; all of them for the host; none for a customer."""
        actor = self.actor
        if (
            not case_ids
            or actor.is_customer
            or (actor.org_id is None and not actor.is_unrestricted)
        ):
            return {}
        k, t, cal = tables.clocks.c, tables.sla_targets.c, tables.calendars.c
        stmt = (
            select(tables.clocks, t.name.label("target_name"))
            .outerjoin(tables.sla_targets, t.id == k.target_id)
            .where(k.case_id.in_(case_ids))
        )
        if not actor.is_unrestricted:
            shown = (
                select(cal.org_id)
                .where(
                    cal.org_id == k.org_id,
                    cal.partner_org_id == actor.org_id,
                    cal.share_clocks.is_(True),
                )
                .exists()
            )
            stmt = stmt.where(or_(k.org_id == actor.org_id, shown))
        now = self.now or datetime.now(UTC)
        found: dict[int, list[ClockView]] = defaultdict(list)
        for row in self.session.execute(stmt).mappings():
            state = ClockState(row["state"])
            found[row["case_id"]].append(
                ClockView(
                    side=Side(row["side"]),
                    org_id=row["org_id"],
                    kind=ClockKind(row["kind"]),
                    target_id=row["target_id"],
                    target_name=row["target_name"] or "",
                    target_seconds=row["target_seconds"],
                    state=state,
                    due_state=due_state(
                        row["due_at"],
                        row["warn_at"],
                        now,
                        state=state,
                        breached=row["breached_at"] is not None,
                    ),
                    started_at=row["started_at"],
                    stopped_at=row["stopped_at"],
                    due_at=row["due_at"],
                    warn_at=row["warn_at"],
                    breached_at=row["breached_at"],
                    elapsed_seconds=row["elapsed_seconds"],
                    time_zone=row["time_zone"],
                )
            )
        order = list(ClockKind)
        return {
            case_id: tuple(
                sorted(views, key=lambda v: (v.org_id != actor.org_id, v.side, order.index(v.kind)))
            )
            for case_id, views in found.items()
        }

    def _solved_by(self, case: Case) -> str | None:
        """Who solved the case as the actor's side reads it (none for a customer):
        the carrier keeps its own while the shipper reopens with its customer."""
        if self.actor.is_customer:
            return None
        solved_by = case.carrier_solved_by if self._for_carrier(case) else case.solved_by
        return None if solved_by is None else self._who(case, solved_by)

    def _reads_contact(self, case: Case) -> bool:
        """The actor reads the customer's contact details on ``case``: the host, the
        shipper's staff and the customer; the carrier's while the shipper shares them."""
        actor = self.actor
        if case.customer_id is None:
            return False
        if actor.is_customer:
            return actor.customer_id == case.customer_id
        if actor.is_unrestricted or actor.org_id == case.shipper_org_id:
            return True
        return self._for_carrier(case) and case.contact_shared_at is not None

    def _contacts(self, found: Sequence[Case]) -> dict[int, ContactView]:
        """The contact details of the customers of ``found`` the actor reads them on."""
        wanted = {case.customer_id for case in found if self._reads_contact(case)}
        if not wanted:
            return {}
        k = tables.customers.c
        stmt = select(k.id, k.name, k.email, k.phone).where(k.id.in_(sorted(wanted)))
        return {
            row.id: ContactView(name=row.name, email=row.email, phone=row.phone)
            for row in self.session.execute(stmt)
        }

    def _for_carrier(self, case: Case) -> bool:
        """The actor acts for the carrier of ``case``, which never reads the customer's
        account: not its id, name, address or phone, nor who of them wrote or acted."""
        actor = self.actor
        return actor.org_id is not None and actor.org_id == case.carrier_org_id

    def _latest(self, case: Case) -> tuple[datetime | None, int | None, int | None]:
        """The latest message the actor (staff) reads: when, by which user and
        organization; for the carrier, never the shipper's with its customer."""
        if self._for_carrier(case):
            return (
                case.carrier_latest_message_at,
                case.carrier_latest_message_user_id,
                case.carrier_latest_message_org_id,
            )
        return case.latest_message_at, case.latest_message_user_id, case.latest_message_org_id

    def _who(self, case: Case, described: str) -> str:
        """An actor as :meth:`Actor.describe` wrote it; for the carrier a customer is
        ``customer``, without their id."""
        if described.startswith("customer:") and self._for_carrier(case):
            return "customer"
        return described

    def _latest_for_customer(self, case_ids: list[int]) -> dict[int, Any]:
        if not case_ids:
            return {}
        stmt = (
            select(e.case_id, func.max(e.created_at).label("latest"))
            .where(
                e.case_id.in_(case_ids),
                e.kind == EntryKind.MESSAGE.value,
                e.audience.in_(CUSTOMER_AUDIENCES),
            )
            .group_by(e.case_id)
        )
        return {row.case_id: row.latest for row in self.session.execute(stmt)}

    def _crm_numbers(self, case_ids: list[int]) -> dict[int, str]:
        actor = self.actor
        if (
            not case_ids
            or actor.is_customer
            or (actor.org_id is None and not actor.is_unrestricted)
        ):
            return {}
        n = tables.crm_numbers.c
        stmt = select(CrmNumber).where(n.case_id.in_(case_ids))
        if actor.is_unrestricted:
            # The host may read every party's number; a view holds one: the shipper's.
            stmt = stmt.join(tables.cases, c.id == n.case_id).where(n.org_id == c.shipper_org_id)
        else:
            stmt = stmt.where(n.org_id == actor.org_id)
        return {row.case_id: row.number for row in self.session.scalars(stmt)}

    def _watchers(self, case_ids: list[int]) -> dict[int, list[int]]:
        actor = self.actor
        if not case_ids or actor.is_customer:
            return {}
        w = tables.watchers.c
        stmt = select(w.case_id, w.user_id).where(w.case_id.in_(case_ids))
        if not actor.is_unrestricted:
            stmt = stmt.join(tables.users, tables.users.c.id == w.user_id).where(
                tables.users.c.org_id == actor.org_id
            )
        result: dict[int, list[int]] = defaultdict(list)
        for case_id, user_id in self.session.execute(stmt):
            result[case_id].append(user_id)
        return result

    def crm_number_of(self, case: Case, org_id: int) -> CrmNumber | None:
        return self.session.get(CrmNumber, (case.id, org_id))

    def is_watching(self, case: Case, user_id: int) -> Watcher | None:
        return self.session.get(Watcher, (case.id, user_id))

    # -- timeline -------------------------------------------------------------
    def timeline(self, case: Case) -> list[EntryView]:
        stmt = select(Entry).where(e.case_id == case.id, self.entry_clause(case))
        found = list(self.session.scalars(stmt.order_by(e.id)))
        return self.entry_views(case, found)

    def readable(self, case: Case, entry: EntryView) -> EntryView | None:
        """``entry`` of ``case`` as the actor reads it, or None if it may not.

        The audience rule of :meth:`entry_clause`, applied to an entry already
        in hand (one this very change wrote) without reading it back; the
        carrier reads a customer's entry without who wrote it.
        """
        visible = entry_visible(
            entry.audience,
            entry.org_id,
            viewer_org_id=self.actor.org_id,
            viewer_is_customer=self.actor.is_customer,
            viewer_is_carrier=self._for_carrier(case),
            shared=entry.shared_at is not None,
            viewer_unrestricted=self.actor.is_unrestricted,
        )
        if not visible:
            return None
        return self._as_read(case, entry)

    def _as_read(self, case: Case, entry: EntryView) -> EntryView:
        """A readable ``entry`` as the actor reads it: the carrier's way
        (:func:`_as_carrier_reads`); for a customer, without whether the shipper
        shared it with the carrier (staff business)."""
        if self._for_carrier(case):
            return _as_carrier_reads(case, entry)
        if self.actor.is_customer and entry.shared_at is not None:
            return evolve(entry, shared_at=None)
        return entry

    def entry_views(self, case: Case, found: Iterable[Entry]) -> list[EntryView]:
        found = list(found)
        files: dict[int, list[AttachmentView]] = defaultdict(list)
        ids = [_id(entry.id) for entry in found]
        if ids:
            a = tables.attachments.c
            stmt = select(Attachment).where(a.entry_id.in_(ids)).order_by(a.id)
            for att in self.session.scalars(stmt):
                files[att.entry_id].append(
                    AttachmentView(
                        id=_id(att.id),
                        filename=att.filename,
                        content_type=att.content_type,
                        size=att.size,
                        sha256=att.sha256,
                    )
                )
        views = [entry_view(case, entry, tuple(files.get(_id(entry.id), ()))) for entry in found]
        return [self._as_read(case, view) for view in views]

    def attachment(self, case: Case, attachment_id: int) -> Attachment:
        """An attachment of a visible entry of ``case``, or NotFound."""
        a = tables.attachments.c
        stmt = (
            select(Attachment)
            .join(tables.entries, e.id == a.entry_id)
            .where(a.id == attachment_id, a.case_id == case.id, self.entry_clause(case))
        )
        found = self.session.scalars(stmt).one_or_none()
        if found is None:
            raise NotFound("attachment", attachment_id)
        return found

    # -- inbound mail -------------------------------------------------------
    def inbound_clause(self) -> ColumnElement[bool]:
        """Which stored inbound messages the actor may handle: its organization's.

        The host sees every one; staff see those routed to their organization
        (its case address, a case of theirs); customers see none.
        """
        actor = self.actor
        if actor.is_unrestricted:
            return true()
        if actor.is_customer or actor.org_id is None:
            return false()
        return tables.inbound_messages.c.org_id == actor.org_id

    def inbound_items(
        self, outcomes: Sequence[str], *, limit: int, before_id: int | None = None
    ) -> list[Any]:
        """Inbound message rows with one of ``outcomes``, newest first, paged by id."""
        i = tables.inbound_messages.c
        stmt = _inbound_select().where(i.outcome.in_(list(outcomes)), self.inbound_clause())
        if before_id is not None:
            stmt = stmt.where(i.id < before_id)
        return list(self.session.execute(stmt.order_by(i.id.desc()).limit(limit)))

    def inbound_item(self, item_id: int, *, lock: bool = False) -> Any:
        """One inbound message row the actor may handle, or NotFound."""
        i = tables.inbound_messages.c
        stmt = _inbound_select().where(i.id == item_id, self.inbound_clause())
        if lock:
            stmt = stmt.with_for_update(of=tables.inbound_messages)
        row = self.session.execute(stmt).first()
        if row is None:
            raise NotFound("inbound message", item_id)
        return row

    # -- facts beside the case -------------------------------------------------
    def facts(self, case: Case) -> CaseFacts:
        """The shipment, order, customer and names the case page shows to the actor."""
        actor, session = self.actor, self.session
        side = case.side_of(actor.org_id) if actor.is_staff else None
        staff = actor.is_unrestricted or side is not None
        shipment = None
        if staff and case.shipment_id is not None:
            found = session.get(Shipment, case.shipment_id)
            if found is not None:
                shipment = ShipmentView(
                    reference=found.reference,
                    carrier_org_id=found.carrier_org_id,
                    updated_at=found.updated_at,
                    delivery_window_start=found.delivery_window_start,
                    delivery_window_end=found.delivery_window_end,
                    **{name: getattr(found, name) for name in SHIPMENT_SNAPSHOT_FIELDS},
                )
        order = None
        if case.order_id is not None:
            row = session.get(Order, case.order_id)
            if row is not None:
                hide = self._for_carrier(case)
                order = OrderView(
                    number=row.number,
                    customer_email=None if hide else row.customer_email,
                    customer_name=None if hide else row.customer_name,
                    brand=row.brand,
                    placed_at=row.placed_at,
                )
        customer = None
        if case.customer_id is not None and (
            actor.is_unrestricted or side is Side.SHIPPER or actor.customer_id == case.customer_id
        ):
            person = session.get(Customer, case.customer_id)
            if person is not None:
                customer = CustomerView(
                    id=_id(person.id), name=person.name, email=person.email, phone=person.phone
                )
        g = tables.organizations.c
        organizations = {
            row.id: row.name
            for row in session.execute(select(g.id, g.name).where(g.id.in_(case.party_org_ids())))
        }
        people: dict[int, str] = {}
        if staff:
            wanted = {i for i in (case.shipper_owner_id, case.carrier_owner_id) if i is not None}
            wanted.update(self._watchers([_id(case.id)]).get(_id(case.id), ()))
            authors = select(e.user_id).where(
                e.case_id == case.id, e.user_id.is_not(None), self.entry_clause(case)
            )
            wanted.update(uid for uid in session.scalars(authors.distinct()))
            if wanted:
                u = tables.users.c
                stmt = select(u.id, u.name).where(u.id.in_(sorted(wanted)))
                people = {row.id: row.name for row in session.execute(stmt)}
        return CaseFacts(
            shipment=shipment,
            order=order,
            customer=customer,
            organizations=organizations,
            people=people,
        )

    def cases_of_shipment(self, reference: str, *, limit: int = 100) -> list[Case]:
        """The visible cases linked to the shipment ``reference``, newest first."""
        s = tables.shipments.c
        shipment_ids = select(s.id).where(s.reference == reference)
        stmt = (
            select_cases(and_(self.case_clause(), c.shipment_id.in_(shipment_ids)))
            .order_by(c.id.desc())
            .limit(limit)
        )
        return load_cases(self.session.connection(), stmt)

    # -- people ---------------------------------------------------------------
    def colleague(self, org_id: int, user_id: int) -> User:
        """An active user of ``org_id``; NotFound otherwise."""
        user = self.session.get(User, user_id)
        if user is None or user.org_id != org_id or not user.active:
            raise NotFound("user", user_id)
        return user


def _case_clause(actor: Actor) -> ColumnElement[bool]:
    """The tenant rule: which cases ``actor`` can see (see :meth:`Scope.case_clause`)."""
    if actor.is_unrestricted:
        return true()
    if actor.is_customer:
        if actor.customer_id is None:
            return false()
        return c.customer_id == actor.customer_id
    if actor.org_id is None:
        return false()
    return or_(c.shipper_org_id == actor.org_id, c.carrier_org_id == actor.org_id)


@functools.lru_cache(maxsize=1024)
def _case_by_number(actor: Actor, lock: bool) -> Select[Any]:
    """:meth:`Scope.case`'s statement for ``actor``, the number left as a parameter.

    Every write starts with it, so it is built once per actor (and lock):
    a reused statement keeps its cache key, which SQLAlchemy would otherwise
    rebuild and recompute on every call. It also carries the check that the
    acting user was not deactivated (:func:`casekit.store.acting.not_deactivated`),
    which the call would otherwise make with a statement of its own.
    """
    where = and_(c.number == bindparam("number"), _case_clause(actor), acting.not_deactivated())
    stmt = select_cases(where)
    return stmt.with_for_update() if lock else stmt


_TAKES_PART = "casekit_actor_takes_part"


@functools.lru_cache(maxsize=1024)
def _case_to_post(actor: Actor) -> Select[Any]:
    """:meth:`Scope.case_to_post`'s statement for ``actor`` (a user or a customer)."""
    p = tables.participants.c
    if actor.user_id is not None:
        mine = p.user_id == actor.user_id
    elif actor.customer_id is not None:
        mine = p.customer_id == actor.customer_id
    else:
        raise ValueError("only a user or a customer takes part in a case by themselves")
    takes_part = exists().where(p.case_id == c.id, mine).label(_TAKES_PART)
    return _case_by_number(actor, True).add_columns(takes_part)


def _inbound_select() -> Select[Any]:
    i = tables.inbound_messages
    return select(i, c.number.label("case_number")).outerjoin(tables.cases, c.id == i.c.case_id)


def entry_view(case: Case, entry: Entry, files: tuple[AttachmentView, ...] = ()) -> EntryView:
    return EntryView(
        id=_id(entry.id),
        case_number=case.number or "",
        kind=entry.kind,
        audience=entry.audience,
        created_at=entry.created_at,
        actor_kind=entry.actor_kind,
        org_id=entry.org_id,
        user_id=entry.user_id,
        customer_id=entry.customer_id,
        system=entry.system,
        author_email=entry.author_email,
        body=entry.body,
        event=entry.event,
        old_value=entry.old_value,
        new_value=entry.new_value,
        attachments=files,
        shared_at=entry.shared_at,
    )


_STATUS_EVENTS = frozenset({EventKind.STATUS_CHANGED, EventKind.SOLVED, EventKind.REOPENED})


def _as_carrier_reads(case: Case, entry: EntryView) -> EntryView:
    """``entry`` as the case's carrier reads it: without the customer who wrote it
    (their id; it still says a customer wrote it), without the address a mail
    came from unless it was written for the carrier itself (a mail filed by the
    shipper, or from an address Cc'd for it, may be the customer's), and a
    status event of both sides in the statuses the carrier sees
    (:func:`status_value_for_carrier`; its own moves are in them already)."""
    if entry.customer_id is not None:
        entry = evolve(entry, customer_id=None)
    if entry.author_email is not None and entry.org_id != case.carrier_org_id:
        entry = evolve(entry, author_email=None)
    if entry.event in _STATUS_EVENTS:
        entry = evolve(
            entry,
            old_value=status_value_for_carrier(entry.old_value),
            new_value=status_value_for_carrier(entry.new_value),
        )
    return entry


def _id(value: int | None) -> int:
    if value is None:
        raise RuntimeError("an unsaved object has no id yet")
    return value


__all__ = ["Scope", "entry_view"]
