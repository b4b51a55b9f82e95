"""Merging a duplicate case into the original: ``kit.cases.merge``.

Everything on the duplicate's timeline but its opening moves to the
original's, row by row and untouched: messages, notes and events keep their author, organization,
audience and sharing, attachments stay on their messages. The duplicate's
watchers, participants, CRM numbers and tags join the original's where the
original has none of their kind (a CRM number or a tag is its organization's
own, like before); the original takes the duplicate's shipment and order
when it has none. The duplicate is solved and keeps only what says where it
went (``merged_into``); both cases record the merge on their timelines for
everyone who sees them.

The merge mails nobody: the parties read it on the timelines, and a reply to
the duplicate's mail lands on the original (:mod:`casekit.services.inbound_match`).
Its status moves reach webhooks as any others do. The duplicate's clocks stop
as a solved case's do; the original's are computed again with the entries it
gained.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, update

from casekit import signals
from casekit.domain import policy
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import Case, EntryKind, EventKind
from casekit.domain.workflow import Status
from casekit.errors import CaseMerged, InvalidInput
from casekit.query.scoped import Scope
from casekit.services.base import Edit, check_version, deny, set_status
from casekit.store import report_columns, tables

if TYPE_CHECKING:
    from datetime import datetime

    from casekit.query.models import CaseView
    from casekit.services.base import Service

log = logging.getLogger(__name__)


def merge(
    service: Service,
    actor: Actor,
    duplicate: str,
    into: str,
    expected_version: int | None = None,
) -> CaseView:
    """Merge case ``duplicate`` into case ``into``; returns the actor's view of the original."""
    if not isinstance(into, str) or not into.strip():
        raise InvalidInput({"into": ["name the case to merge into by its number"]})
    into = into.strip().upper()
    with service._uow() as uow:
        scope = Scope(uow.session, actor)
        dup = scope.case(duplicate)
        try:
            original = scope.case(into)
        except LookupError:
            raise InvalidInput({"into": [f"no case {into} that you can see"]}) from None
        # Both rows locked, in the order of their ids (two merges the other way round wait).
        first, second = sorted((dup, original), key=lambda case: case.id or 0)
        locked = {first.id: scope.case(first.number or "", lock=True)}
        if second.id != first.id:
            locked[second.id] = scope.case(second.number or "", lock=True)
        dup, original = locked[dup.id], locked[original.id]
        if dup.merged_into_id is not None:
            numbers = scope.merged_into([dup])
            raise CaseMerged(dup.number or "", numbers.get(dup.merged_into_id, ""))
        check_version(dup, expected_version)
        refused = policy.may_merge(actor, dup, original)
        if refused is not None:
            log.info("merge of %s into %s refused: %s", dup.number, original.number, refused)
        deny(refused)
        problem = policy.merge_problem(dup, original)
        if problem is not None:
            raise InvalidInput({"into": [problem]})
        now = service._now()
        kit = service.kit
        gone = Edit(kit, uow, actor, dup, now)
        kept = Edit(kit, uow, actor, original, now)
        gone.hold_notifications = kept.hold_notifications = True
        _move_rows(uow.connection(), dup, original, now)
        _take_links(kept, dup)
        _take_latest(original, dup)
        if dup.status is not Status.SOLVED or dup.carrier_status is not Status.SOLVED:
            set_status(gone, Status.SOLVED)
        dup.merged_into_id = original.id
        dup.merged_at = now
        dup.touch(now)
        original.touch(now)
        gone.event(EventKind.MERGED_INTO, new=original.number, audience=Audience.EVERYONE)
        kept.event(EventKind.MERGED_FROM, new=dup.number, audience=Audience.EVERYONE)
        gone.emit(signals.case_updated, change=EventKind.MERGED_INTO)
        kept.emit(signals.case_updated, change=EventKind.MERGED_FROM)
        gone.finish(view=False, commit=False)
        view: CaseView = kept.finish(commit=False)
        # What the moved entries did to both cases' report columns, from their timelines.
        report_columns.refresh(uow.connection(), [_id(dup), _id(original)])
        uow.commit()
        log.info("case %s merged into %s by %s", dup.number, original.number, actor.describe())
        return view


def _id(case: Case) -> int:
    assert case.id is not None
    return case.id


def _move_rows(conn: Connection, dup: Case, original: Case, now: datetime) -> None:
    """Move the duplicate's timeline and people to the original."""
    old, new = _id(dup), _id(original)
    e, a = tables.entries.c, tables.attachments.c
    # All but the duplicate's opening, which stays its own (the original has its own).
    opening = (e.kind == EntryKind.EVENT.value) & (e.event == EventKind.OPENED.value)
    conn.execute(update(tables.entries).where(e.case_id == old, ~opening).values(case_id=new))
    conn.execute(update(tables.attachments).where(a.case_id == old).values(case_id=new))
    # Watchers: the original's, and the duplicate's that were not.
    w = tables.watchers.c
    watching = set(conn.scalars(select(w.user_id).where(w.case_id == new)))
    joining = [
        {"case_id": new, "user_id": row.user_id, "created_at": row.created_at}
        for row in conn.execute(select(w.user_id, w.created_at).where(w.case_id == old))
        if row.user_id not in watching
    ]
    if joining:
        conn.execute(insert(tables.watchers), joining)
    conn.execute(delete(tables.watchers).where(w.case_id == old))
    # Participants: one row per user, customer and address on a case; the
    # original's row stays where both have one (it says what it hears there).
    p = tables.participants.c
    present = conn.execute(select(p.user_id, p.customer_id, p.email).where(p.case_id == new)).all()
    users = {row.user_id for row in present if row.user_id is not None}
    customers = {row.customer_id for row in present if row.customer_id is not None}
    emails = {row.email for row in present if row.email is not None}
    moving = [
        row.id
        for row in conn.execute(
            select(p.id, p.user_id, p.customer_id, p.email).where(p.case_id == old)
        )
        if row.user_id not in users and row.customer_id not in customers and row.email not in emails
    ]
    if moving:
        conn.execute(update(tables.participants).where(p.id.in_(moving)).values(case_id=new))
    conn.execute(delete(tables.participants).where(p.case_id == old))
    # CRM numbers: each organization's own; the original's stays where both have one.
    k = tables.crm_numbers.c
    numbered = set(conn.scalars(select(k.org_id).where(k.case_id == new)))
    taking = [
        org_id
        for org_id in conn.scalars(select(k.org_id).where(k.case_id == old))
        if org_id not in numbered
    ]
    if taking:
        conn.execute(
            update(tables.crm_numbers)
            .where(k.case_id == old, k.org_id.in_(taking))
            .values(case_id=new, updated_at=now)
        )
    # Tags: each organization's own, joined.
    t = tables.case_tags.c
    tagged = set(conn.scalars(select(t.tag_id).where(t.case_id == new)))
    adding: list[dict[str, Any]] = [
        {"case_id": new, "tag_id": row.tag_id, "org_id": row.org_id, "created_at": row.created_at}
        for row in conn.execute(select(t.tag_id, t.org_id, t.created_at).where(t.case_id == old))
        if row.tag_id not in tagged
    ]
    if adding:
        conn.execute(insert(tables.case_tags), adding)
    # The read markers named entries that are the original's now.
    conn.execute(delete(tables.read_markers).where(tables.read_markers.c.case_id == old))
    conn.execute(
        delete(tables.customer_read_markers).where(tables.customer_read_markers.c.case_id == old)
    )


def _take_links(kept: Edit, dup: Case) -> None:
    """The original takes the duplicate's shipment and order when it has none
    (audited like a link by hand); a case has at most one of each."""
    original = kept.case
    session = kept.uow.session
    if original.shipment_id is None and dup.shipment_id is not None:
        reference = session.execute(
            select(tables.shipments.c.reference).where(tables.shipments.c.id == dup.shipment_id)
        ).scalar()
        original.shipment_id = dup.shipment_id
        kept.event(EventKind.SHIPMENT_LINKED, old=None, new=reference)
        report_columns.refresh(
            kept.uow.connection(), [_id(original)], report_columns.SNAPSHOT_COLUMNS
        )
    if original.order_id is None and dup.order_id is not None:
        number = session.execute(
            select(tables.orders.c.number).where(tables.orders.c.id == dup.order_id)
        ).scalar()
        original.order_id = dup.order_id
        kept.event(EventKind.ORDER_LINKED, old=None, new=number)


def _take_latest(original: Case, dup: Case) -> None:
    """The original's latest message, as each side reads it, is the later of the two cases'."""
    if dup.latest_message_at is not None and (
        original.latest_message_at is None or dup.latest_message_at > original.latest_message_at
    ):
        original.latest_message_at = dup.latest_message_at
        original.latest_message_user_id = dup.latest_message_user_id
        original.latest_message_org_id = dup.latest_message_org_id
        original.latest_message_by_customer = dup.latest_message_by_customer
    if dup.carrier_latest_message_at is not None and (
        original.carrier_latest_message_at is None
        or dup.carrier_latest_message_at > original.carrier_latest_message_at
    ):
        original.carrier_latest_message_at = dup.carrier_latest_message_at
        original.carrier_latest_message_user_id = dup.carrier_latest_message_user_id
        original.carrier_latest_message_org_id = dup.carrier_latest_message_org_id
