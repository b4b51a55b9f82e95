"""Opening and working cases: status, type, owners, watchers, CRM numbers, links."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, select, update

from casekit import signals
from casekit.attachments import Upload
from casekit.domain import policy
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import (
    NUMBER_WIDTH,
    Case,
    CrmNumber,
    Entry,
    EntryKind,
    EventKind,
    Side,
    Source,
    Watcher,
)
from casekit.domain.directory import Customer, Organization, OrgRole, User
from casekit.domain.shipment import OrderFacts, ShipmentFacts
from casekit.domain.tags import Priority, parse_priority, parse_tag_ids
from casekit.domain.workflow import Status, can_set_status
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.models import CaseFacts, CaseView, EntryView
from casekit.query.scoped import Scope
from casekit.services import case_carrier, case_contact
from casekit.services import merge as merging
from casekit.services.base import Edit, Service, deny, set_status
from casekit.services.custom_fields import change_values, checks_required, parse_input
from casekit.services.links import resolve_order, resolve_shipment
from casekit.services.messages import append_message, message_audience
from casekit.services.tags import change_tags, set_priority
from casekit.store import acting, tables
from casekit.store.report_columns import Moves
from casekit.store.rows import insert_case
from casekit.store.uow import UnitOfWork

MAX_SUBJECT = 300
MAX_CRM_NUMBER = 200

# Statements of the opening path, built once: a reused statement keeps its
# cache key, so SQLAlchemy neither rebuilds nor re-keys it for every case.
_SET_NUMBER = (
    update(tables.cases)
    .where(tables.cases.c.id == bindparam("case_id"))
    .values(number=bindparam("new_number"))
)


@functools.cache
def _organizations_by_id() -> Select[Organization, Customer]:
    """The organizations ``ids``, each with the customer ``customer_id`` if it is theirs;
    none if the acting user was deactivated (:func:`casekit.store.acting.not_deactivated`).

    Built on first use: the classes are mapped when the first kit is made.
    """
    id_ = tables.organizations.c.id
    cu = tables.customers.c
    mine = and_(cu.id == bindparam("customer_id"), cu.shipper_org_id == id_)
    return (
        select(Organization, Customer)
        .outerjoin(tables.customers, mine)
        .where(id_.in_(bindparam("ids", expanding=True)), acting.not_deactivated())
    )


class CaseService(Service):
    """Open, read and work cases. Reach it as ``kit.cases``."""

    # -- opening --------------------------------------------------------------
    def open(
        self,
        actor: Actor,
        *,
        type: str | None = None,
        shipper: int | None = None,
        carrier: int | None = None,
        carrier_collaborating: bool = True,
        customer: int | None = None,
        shipment: str | ShipmentFacts | None = None,
        order: str | OrderFacts | None = None,
        subject: str = "",
        message: str | None = None,
        audience: Audience | str | None = None,
        attachments: Sequence[Upload] = (),
        source: Source | str | None = None,
        take_ownership: bool = True,
        author_email: str | None = None,
        cc: Sequence[str] = (),
        priority: Priority | str | None = None,
        tags: Sequence[int] = (),
        custom_fields: Mapping[str, Any] | None = None,
        _on_opened: Callable[[Any], None] | None = None,
    ) -> CaseView:
        """Open a case and return it as ``actor`` sees it.

        Staff open cases for their own organization: a shipper's staff may
        name a carrier; a carrier's staff must name the shipper. A customer
        opens a case with their own shipper (type ``customer_feedback`` and
        source ``portal`` by default). The creating user becomes their side's
        owner unless ``take_ownership`` is false. ``message`` becomes the
        first entry (audience ``partners`` for staff unless given). Linking a
        ``shipment`` whose carrier is known makes that carrier a party.
        ``author_email`` (a case opened by mail) makes that address a
        participant and the message's author; ``cc`` addresses become
        participants too, hearing no more than the message's audience.

        Only the shipper's side (or the host) names the customer. A customer
        names one of their own orders (by its customer email), never a
        shipment: the shipper's staff link that.

        ``priority`` is the case's to begin with (``normal`` unless given;
        staff's and the host's to choose); ``tags`` are ids of the acting
        staff's organization's tags to put on it. ``custom_fields`` holds
        values of the acting staff's organization's custom fields by key; a
        user or an API key gives those its organization requires on the type.
        """
        kit = self.kit
        case_type = (
            type if type is not None else ("customer_feedback" if actor.is_customer else None)
        )
        errors: dict[str, list[str]] = {}
        if actor.is_customer and shipment is not None:
            errors["shipment"] = ["a customer names an order; the shipper links the shipment"]
        if case_type is None:
            errors["type"] = ["a case type is required"]
        elif case_type not in kit.case_types:
            errors["type"] = [f"unknown case type {case_type!r}"]
        subject = subject.strip()
        if len(subject) > MAX_SUBJECT:
            errors["subject"] = [f"at most {MAX_SUBJECT} characters"]
        resolved_source = _source_for(actor, source, errors)
        first_priority = Priority.NORMAL
        if priority is not None:
            if actor.is_customer:
                errors["priority"] = ["the staff choose a case's priority"]
            else:
                try:
                    first_priority = parse_priority(priority)
                except InvalidInput as error:
                    errors.update(error.errors)
        tag_ids: tuple[int, ...] = ()
        if tags:
            try:
                tag_ids = parse_tag_ids(tags)
            except InvalidInput as error:
                errors.update(error.errors)
        try:
            field_values = parse_input(custom_fields)
        except InvalidInput as error:
            field_values = {}
            errors.update(error.errors)
        if errors:
            raise InvalidInput(errors)
        assert case_type is not None
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            shipper_org, carrier_org, customer_row = _parties(
                uow, actor, shipper=shipper, carrier=carrier, customer=customer
            )
            assert shipper_org.id is not None
            case = Case(
                type=case_type,
                source=resolved_source,
                shipper_org_id=shipper_org.id,
                carrier_org_id=carrier_org.id if carrier_org else None,
                carrier_collaborating=carrier_collaborating,
                customer_id=customer_row.id if customer_row else None,
                subject=subject,
                created_at=now,
                created_by=actor.describe(),
                priority=first_priority,
            )
            if shipment is not None:
                snapshot = resolve_shipment(kit, session, actor, shipper_org, shipment, at=now)
                if case.carrier_org_id is None:
                    case.carrier_org_id = snapshot.carrier_org_id
                elif snapshot.carrier_org_id not in (None, case.carrier_org_id):
                    raise InvalidInput({"carrier": ["the shipment has another carrier"]})
                session.flush()
                case.shipment_id = snapshot.id
            if order is not None:
                order_row = resolve_order(kit, session, shipper_org, order, at=now)
                if customer_row is not None and actor.is_customer:
                    # A customer's own orders only, and a stranger's reads as missing.
                    mine = (order_row.customer_email or "").lower() == customer_row.email.lower()
                    if not mine:
                        raise NotFound("order", order_row.number)
                session.flush()
                case.order_id = order_row.id
            side = case.side_of(actor.org_id) if actor.is_user else None
            if side is not None and take_ownership:
                case.set_owner(side, actor.user_id)
            has_message = message is not None or bool(attachments)
            moves = Moves.for_new_case(case)
            if has_message:
                # The opening message's dates and report columns go into the
                # INSERT, not a second UPDATE.
                chosen = message_audience(actor, audience)
                case.record_message(actor, chosen, now, move_status=False)
                moves.message(actor.org_id, chosen, now)
            connection = uow.connection()
            case_id = insert_case(connection, case, moves)
            case.number = f"{kit.settings.case_number_prefix}{case_id:0{NUMBER_WIDTH}d}"
            connection.execute(_SET_NUMBER, {"case_id": case_id, "new_number": case.number})
            edit = Edit(kit, uow, actor, case, now, new=True, moves=moves)
            edit.event(EventKind.OPENED, new=case_type, audience=Audience.EVERYONE)
            opened = edit.emit(signals.case_opened, message=None)
            if tag_ids:
                edit.write_entries()
                change_tags(edit, tags=tag_ids)
            if field_values or checks_required(actor):
                edit.write_entries()
                change_values(edit, field_values, case_type=case_type)
            if has_message:
                opened["message"] = append_message(
                    edit,
                    body=message or "",
                    audience=audience,
                    attachments=attachments,
                    author_email=author_email,
                    cc=cc,
                    opening=True,
                )
            if _on_opened is not None:
                # casekit's own callers (rules) finish the opening in the same
                # transaction: what they write commits or rolls back with it.
                _on_opened(edit)
            view: CaseView = edit.finish()
            return view

    # -- reading --------------------------------------------------------------
    def get(self, actor: Actor, number: str) -> CaseView:
        """The case with ``number`` as ``actor`` sees it; NotFound if it may not."""
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor, now=self._now())
            return scope.view(scope.case(number))

    def list(
        self, actor: Actor, *, limit: int = 50, before_id: int | None = None
    ) -> builtins.list[CaseView]:
        """The cases ``actor`` can see, newest first; page with ``before_id``."""
        if not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["between 1 and 500"]})
        with self._uow(write=False, replica=True) as uow:
            scope = Scope(uow.session, actor, now=self._now())
            return scope.views(scope.cases(limit=limit, before_id=before_id))

    def timeline(self, actor: Actor, number: str) -> builtins.list[EntryView]:
        """The case's entries that ``actor`` may read, oldest first."""
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor, now=self._now())
            return scope.timeline(scope.case(number))

    def facts(self, actor: Actor, number: str) -> CaseFacts:
        """The shipment, order and customer facts and the names the case page shows.

        Cut to the viewer: a carrier's staff never see the shipper's customer;
        a customer sees the order and themselves, no shipment and no staff names.
        """
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor, now=self._now())
            return scope.facts(scope.case(number))

    def allowed(self, actor: Actor, number: str) -> policy.Allowed:
        """What ``actor`` may do on the case: the controls a page offers them
        (:class:`~casekit.domain.policy.Allowed`), from the same rules the
        services apply. NotFound if the actor may not see the case."""
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor, now=self._now())
            case = scope.case(number)
            watchers = scope.view(case).watcher_ids if actor.is_staff else ()
            return policy.allowed(actor, case, watchers)

    def of_shipment(
        self, actor: Actor, reference: str, *, limit: int = 100
    ) -> builtins.list[CaseView]:
        """The cases linked to shipment ``reference`` that ``actor`` can see, newest first."""
        if not 1 <= limit <= 500:
            raise InvalidInput({"limit": ["between 1 and 500"]})
        with self._uow(write=False, replica=True) as uow:
            scope = Scope(uow.session, actor, now=self._now())
            return scope.views(scope.cases_of_shipment(reference.strip(), limit=limit))

    # -- changing ---------------------------------------------------------------
    def change_status(
        self,
        actor: Actor,
        number: str,
        status: Status | str,
        *,
        expected_version: int | None = None,
    ) -> CaseView:
        """Move the case to ``status`` by hand; solving and reopening included."""
        target = _status(status)
        with self.editing(actor, number, expected_version) as edit:
            _change_status(edit, target)
            result: CaseView = edit.finish()
            return result

    def solve(self, actor: Actor, number: str, *, expected_version: int | None = None) -> CaseView:
        """Mark the case solved for every party; records who and when."""
        return self.change_status(actor, number, Status.SOLVED, expected_version=expected_version)

    def reopen(
        self,
        actor: Actor,
        number: str,
        *,
        status: Status | str = Status.OPEN,
        expected_version: int | None = None,
    ) -> CaseView:
        """Make a solved case active again (``open`` unless told otherwise)."""
        target = _status(status)
        with self.editing(actor, number, expected_version) as edit:
            _reopen(edit, target)
            result: CaseView = edit.finish()
            return result

    def change_type(
        self, actor: Actor, number: str, type: str, *, expected_version: int | None = None
    ) -> CaseView:
        """Change the case type (reason code)."""
        return self.change(actor, number, {"type": type}, expected_version=expected_version)

    def change(
        self,
        actor: Actor,
        number: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> CaseView:
        """Change several things of a case at once: all of them or, on any error, none.

        ``changes`` holds some of ``type``, ``status`` (an active status on a
        solved case reopens it), ``carrier`` (a carrier organization's id, or
        None to remove it), ``carrier_collaborating`` (a bool), ``shipment``
        (a reference or facts: links it), ``crm_number`` (the actor's
        organization's; None clears it), ``priority`` (low, normal, high or
        urgent) and the actor's organization's tags: ``tags`` (the ids it
        should carry, exactly) or ``add_tags`` and ``remove_tags``;
        ``custom_fields`` (the actor's organization's fields by key; None
        clears one; a new type asks for the values it requires). The carrier and whether it
        collaborates are the shipper's staff's to change (see
        ``casekit.services.case_carrier`` for what a carrier that leaves
        takes with it); a case linked to a shipment that names its carrier
        keeps it unless the change links another shipment too.
        They apply in that order, each its own event on the timeline, in one
        transaction that holds the case's row lock: without
        ``expected_version`` the change waits for any other change to the
        case and applies to the version current then; with it, a case at
        another version is a :class:`~casekit.errors.Conflict` and nothing is
        written.
        """
        unknown = sorted(set(changes) - set(CHANGES))
        if unknown:
            raise InvalidInput({name: ["not something a change sets"] for name in unknown})
        if not changes:
            raise InvalidInput({"changes": [f"give {', '.join(CHANGES)}"]})
        if "type" in changes and not (
            isinstance(changes["type"], str) and changes["type"] in self.kit.case_types
        ):
            raise InvalidInput({"type": [f"unknown case type {changes['type']!r}"]})
        target = _status(changes["status"]) if "status" in changes else None
        crm = _crm_number(changes["crm_number"]) if "crm_number" in changes else None
        priority = parse_priority(changes["priority"]) if "priority" in changes else None
        tagging = {
            key: parse_tag_ids(changes[key], key)
            for key in ("tags", "add_tags", "remove_tags")
            if key in changes
        }
        field_values = parse_input(changes["custom_fields"]) if "custom_fields" in changes else {}
        if "tags" in tagging and len(tagging) > 1:
            raise InvalidInput({"tags": ["give tags, or add_tags and remove_tags, not both"]})
        carrier = case_carrier.carrier_id(changes["carrier"]) if "carrier" in changes else None
        collaborating = (
            case_carrier.collaborating(changes["carrier_collaborating"])
            if "carrier_collaborating" in changes
            else None
        )
        with self.editing(actor, number, expected_version) as edit:
            case = edit.case
            before = (case.carrier_org_id, case.carrier_collaborating)
            retyped = "type" in changes and changes["type"] != case.type
            if "type" in changes:
                change_type_of(edit, changes["type"])
            if target is not None:
                change_status_of(edit, target)
            if "carrier" in changes:
                case_carrier.change_carrier(edit, carrier, relinking="shipment" in changes)
            if collaborating is not None:
                case_carrier.set_collaborating(edit, collaborating)
            if "shipment" in changes:
                _link_shipment(edit, changes["shipment"])
            if "crm_number" in changes:
                deny(policy.may_set_crm_number(actor, case))
                _store_crm_number(edit, crm)
            if priority is not None:
                set_priority(edit, priority)
            if tagging:
                change_tags(
                    edit,
                    tags=tagging.get("tags"),
                    add=tagging.get("add_tags", ()),
                    remove=tagging.get("remove_tags", ()),
                )
            if field_values or retyped:
                change_values(edit, field_values, case_type=case.type if retyped else None)
            case_carrier.announce(edit, *before)
            result: CaseView = edit.finish()
            return result

    # -- owners and watchers ----------------------------------------------------------
    def set_owner(
        self,
        actor: Actor,
        number: str,
        user_id: int | None,
        *,
        side: Side | str | None = None,
        expected_version: int | None = None,
    ) -> CaseView:
        """Give a side's owner slot to ``user_id`` (a user of that side), or empty it.

        ``side`` defaults to the actor's own. An empty slot may be filled by
        anyone on that side; a held one changes hands only by its owner or a
        manager.
        """
        with self.editing(actor, number, expected_version) as edit:
            which = _side(side) if side is not None else None
            set_owner_of(edit, which, user_id)
            result: CaseView = edit.finish()
            return result

    def take(self, actor: Actor, number: str, *, expected_version: int | None = None) -> CaseView:
        """The acting user becomes their side's owner."""
        if not actor.is_user:
            raise PermissionDenied("only a user can take ownership of a case")
        return self.set_owner(actor, number, actor.user_id, expected_version=expected_version)

    def watch(
        self,
        actor: Actor,
        number: str,
        user_id: int | None = None,
        *,
        expected_version: int | None = None,
    ) -> CaseView:
        """Add ``user_id`` (the actor by default) to the case's watchers."""
        return self._watcher(actor, number, user_id, expected_version, adding=True)

    def unwatch(
        self,
        actor: Actor,
        number: str,
        user_id: int | None = None,
        *,
        expected_version: int | None = None,
    ) -> CaseView:
        """Remove ``user_id`` (the actor by default) from the case's watchers."""
        return self._watcher(actor, number, user_id, expected_version, adding=False)

    def _watcher(
        self,
        actor: Actor,
        number: str,
        user_id: int | None,
        expected_version: int | None,
        *,
        adding: bool,
    ) -> CaseView:
        who = user_id if user_id is not None else actor.user_id
        if who is None:
            raise InvalidInput({"user_id": ["say which user"]})
        with self.editing(actor, number, expected_version) as edit:
            change_watcher(edit, who, adding=adding)
            result: CaseView = edit.finish()
            return result

    # -- CRM numbers -----------------------------------------------------------------
    def set_crm_number(self, actor: Actor, number: str, crm_number: str | None) -> CaseView:
        """Record (or clear, with None) the actor's organization's CRM case number."""
        return self.change(actor, number, {"crm_number": crm_number})

    def link_crm(self, actor: Actor, number: str) -> CaseView:
        """Ask the organization's CRM plugin to link the case; record the number it returns."""
        with self.editing(actor, number) as edit:
            deny(policy.may_set_crm_number(actor, edit.case))
            org = edit.uow.session.get(Organization, actor.org_id)
            assert org is not None
            value = self.kit.hooks.link_crm(case=edit.case, organization=org)
            if value is None:
                raise InvalidInput({"crm": [f"no CRM plugin answers for {org.name}"]})
            _store_crm_number(edit, str(value)[:MAX_CRM_NUMBER])
            result: CaseView = edit.finish()
            return result

    # -- sharing -------------------------------------------------------------------------
    def share_with_carrier(self, actor: Actor, number: str, entry_id: int) -> EntryView:
        """Share one message of the shipper's conversation with its customer (an
        entry for ``customer``) with the case's carrier, attachments included.

        The shipper's staff (or the host) only. From then on the carrier reads
        that entry; an ``entry_shared`` event for partners records who shared
        which entry and when. Sharing an entry already shared changes nothing.
        Returns the entry as the actor reads it.
        """
        with self.editing(actor, number) as edit:
            case = edit.case
            deny(policy.may_share(actor, case))
            session = edit.uow.session
            entry = session.get(Entry, entry_id)
            if entry is None or entry.case_id != case.id:
                raise NotFound("entry", str(entry_id))
            if entry.kind is not EntryKind.MESSAGE or entry.audience is not Audience.CUSTOMER:
                raise InvalidInput(
                    {"entry": ["only a message for the customer audience can be shared"]}
                )
            if entry.shared_at is None:
                entry.shared_at = edit.now
                edit.moves.shared(entry)
                case.record_shared(entry)
                case.touch(edit.now)
                edit.event(EventKind.ENTRY_SHARED, new=entry_id, audience=Audience.PARTNERS)
                edit.emit(signals.case_updated, change=EventKind.ENTRY_SHARED)
            [view] = edit.scope.entry_views(case, [entry])
            edit.finish(view=False)
            return view

    def share_contact(
        self, actor: Actor, number: str, *, expected_version: int | None = None
    ) -> CaseView:
        """Share the case's customer's contact details (name, email, phone) with the
        case's carrier: the shipper's staff (or the host). The carrier reads them
        on this case only, until they are withdrawn; a ``contact_shared`` event
        for partners records it. See ``casekit.services.case_contact``."""
        return self._contact(actor, number, True, expected_version)

    def withdraw_contact(
        self, actor: Actor, number: str, *, expected_version: int | None = None
    ) -> CaseView:
        """Stop sharing the customer's contact details with the carrier (a
        ``contact_withdrawn`` event); the carrier reads none of them from then on."""
        return self._contact(actor, number, False, expected_version)

    def _contact(
        self, actor: Actor, number: str, shared: bool, expected_version: int | None
    ) -> CaseView:
        with self.editing(actor, number, expected_version) as edit:
            case_contact.set_shared(edit, shared)
            result: CaseView = edit.finish()
            return result

    # -- links --------------------------------------------------------------------------
    def link_shipment(
        self,
        actor: Actor,
        number: str,
        shipment: str | ShipmentFacts,
        *,
        expected_version: int | None = None,
    ) -> CaseView:
        """Link the case to a shipment (looked up through the hooks); replaces any link."""
        return self.change(actor, number, {"shipment": shipment}, expected_version=expected_version)

    def merge(
        self,
        actor: Actor,
        duplicate: str,
        *,
        into: str,
        expected_version: int | None = None,
    ) -> CaseView:
        """Merge case ``duplicate`` into case ``into`` (the original); returns the
        actor's view of the original.

        The duplicate's timeline (messages, notes, events, attachments) moves
        with its audiences intact, with its watchers, participants, CRM numbers,
        tags, and its shipment and order where the original has none; the
        duplicate is solved, says where it went (``merged_into``) and takes no
        more changes (:class:`~casekit.errors.CaseMerged`). Staff of the same
        party on both cases may merge (``casekit.domain.policy.may_merge``);
        the original must have every party of the duplicate, else
        :class:`~casekit.errors.InvalidInput` on ``into``. See :doc:`/merge`.
        """
        return merging.merge(self, actor, duplicate, into, expected_version)

    def link_order(
        self,
        actor: Actor,
        number: str,
        order: str | OrderFacts,
        *,
        expected_version: int | None = None,
    ) -> CaseView:
        """Link the case to one of its shipper's orders; the shipper's staff only."""
        with self.editing(actor, number, expected_version) as edit:
            case = edit.case
            if not actor.is_unrestricted and policy.side_of_actor(actor, case) is not Side.SHIPPER:
                deny(policy.may_work(actor, case))
                raise PermissionDenied("only the shipper's staff may link an order")
            session = edit.uow.session
            shipper = session.get(Organization, case.shipper_org_id)
            assert shipper is not None
            order_row = resolve_order(self.kit, session, shipper, order, at=edit.now)
            session.flush()
            if case.order_id != order_row.id:
                old = case.order_id
                case.order_id = order_row.id
                case.touch(edit.now)
                edit.event(EventKind.ORDER_LINKED, old=old, new=order_row.number)
                edit.emit(signals.case_updated, change=EventKind.ORDER_LINKED)
            result: CaseView = edit.finish()
            return result


def set_owner_of(edit: Edit, which: Side | None, user_id: int | None) -> None:
    """Give ``which`` side's owner slot (the actor's own side by default) to
    ``user_id``, a user of that side, or empty it: the change of
    :meth:`CaseService.set_owner`, in ``edit``."""
    actor, case = edit.actor, edit.case
    if which is None:
        which = policy.side_of_actor(actor, case)
    if which is None:
        raise InvalidInput({"side": ["say which side's owner to set"]})
    deny(policy.may_set_owner(actor, case, which, user_id))
    side_org = case.shipper_org_id if which is Side.SHIPPER else case.carrier_org_id
    if side_org is None:
        raise InvalidInput({"side": ["the case has no carrier"]})
    if user_id is not None:
        try:
            edit.scope.colleague(side_org, user_id)
        except NotFound:
            raise InvalidInput(
                {"user_id": [f"user {user_id} is not an active user of the {which}"]}
            ) from None
    old = case.owner_of(which)
    if old != user_id:
        case.set_owner(which, user_id)
        case.touch(edit.now)
        edit.event(EventKind.OWNER_CHANGED, old=old, new=user_id, org_id=side_org)
        edit.emit(signals.owner_changed, side=which, old=old, new=user_id)
        edit.emit(signals.case_updated, change=EventKind.OWNER_CHANGED)


def change_watcher(edit: Edit, who: int, *, adding: bool) -> None:
    """Add user ``who`` to the case's watchers (or remove them): the change of
    :meth:`CaseService.watch` and :meth:`CaseService.unwatch`, in ``edit``."""
    actor, case = edit.actor, edit.case
    deny(policy.may_change_watcher(actor, case, who, adding=adding))
    user = edit.uow.session.get(User, who)
    if (
        user is None
        or user.org_id not in case.party_org_ids()
        or (not actor.is_unrestricted and user.org_id != actor.org_id)
    ):
        raise InvalidInput({"user_id": [f"user {who} is not a user of your organization"]})
    if adding and not user.active:
        raise InvalidInput({"user_id": [f"user {who} is deactivated"]})
    existing = edit.scope.is_watching(case, who)
    changed = False
    if adding and existing is None:
        edit.uow.session.add(Watcher(case_id=case.id, user_id=who, created_at=edit.now))  # type: ignore[arg-type]
        changed = True
    elif not adding and existing is not None:
        edit.uow.session.delete(existing)
        changed = True
    if changed:
        case.touch(edit.now)
        kind = EventKind.WATCHER_ADDED if adding else EventKind.WATCHER_REMOVED
        edit.event(kind, new=who, audience=Audience.INTERNAL, org_id=user.org_id)
        edit.emit(signals.watcher_changed, user_id=who, watching=adding)
        edit.emit(signals.case_updated, change=kind)


def change_status_of(edit: Edit, target: Status) -> None:
    """Move the case to ``target`` as :meth:`CaseService.change` does: an active status
    on a solved case reopens it; the status it has already changes nothing."""
    case = edit.case
    if case.status is Status.SOLVED and target is not Status.SOLVED:
        _reopen(edit, target)
    elif case.status is not target:
        _change_status(edit, target)


#: What :meth:`CaseService.change` sets, in the order it applies them.
CHANGES = (
    "type",
    "status",
    "carrier",
    "carrier_collaborating",
    "shipment",
    "crm_number",
    "priority",
    "tags",
    "add_tags",
    "remove_tags",
    "custom_fields",
)


def change_type_of(edit: Edit, type: str) -> None:
    """Change the case type (a code of the catalogue, checked by the caller), in ``edit``."""
    case = edit.case
    deny(policy.may_work(edit.actor, case))
    if case.type != type:
        old, case.type = case.type, type
        case.touch(edit.now)
        edit.event(EventKind.TYPE_CHANGED, old=old, new=type)
        edit.emit(signals.case_updated, change=EventKind.TYPE_CHANGED)


def _change_status(edit: Edit, target: Status) -> None:
    case = edit.case
    deny(policy.may_set_status(edit.actor, case, target))
    current = _status_seen(edit)
    if current is target and current is not case.status:
        return  # what the carrier sees already, while the shipper talks with its customer
    if not can_set_status(current, target):
        raise InvalidInput({"status": [f"a {current} case cannot be set to {target} by hand"]})
    set_status(edit, target)


def _reopen(edit: Edit, target: Status) -> None:
    if not target.is_active or target is Status.NEW:
        raise InvalidInput({"status": ["reopen to open, reply_received or waiting"]})
    deny(policy.may_set_status(edit.actor, edit.case, target))
    if _status_seen(edit) is not Status.SOLVED:
        raise InvalidInput({"status": [f"case {edit.case.number} is not solved"]})
    set_status(edit, target)


def _status_seen(edit: Edit) -> Status:
    """The status of the actor's side: the carrier's own for its staff."""
    if policy.side_of_actor(edit.actor, edit.case) is Side.CARRIER:
        return edit.case.carrier_status
    return edit.case.status


def _link_shipment(edit: Edit, shipment: str | ShipmentFacts) -> None:
    case = edit.case
    deny(policy.may_work(edit.actor, case))
    session = edit.uow.session
    shipper = session.get(Organization, case.shipper_org_id)
    assert shipper is not None
    snapshot = resolve_shipment(edit.kit, session, edit.actor, shipper, shipment, at=edit.now)
    session.flush()
    if snapshot.carrier_org_id not in (None, case.carrier_org_id):
        if case.carrier_org_id is not None:
            raise InvalidInput({"shipment": ["the shipment has another carrier"]})
        case_carrier.name_carrier(edit, snapshot.carrier_org_id, old=None)
    if case.shipment_id != snapshot.id:
        old = case.shipment_id
        case.shipment_id = snapshot.id
        case.touch(edit.now)
        edit.event(EventKind.SHIPMENT_LINKED, old=old, new=snapshot.reference)
        edit.emit(signals.case_updated, change=EventKind.SHIPMENT_LINKED)


def _crm_number(value: str | None) -> str | None:
    """A CRM number as stored: stripped, None for blank; InvalidInput when too long."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput({"crm_number": ["text, or None to clear it"]})
    stripped = (value or "").strip() or None
    if stripped is not None and len(stripped) > MAX_CRM_NUMBER:
        raise InvalidInput({"crm_number": [f"at most {MAX_CRM_NUMBER} characters"]})
    return stripped


def _store_crm_number(edit: Edit, value: str | None) -> None:
    case, org_id = edit.case, edit.actor.org_id
    assert org_id is not None
    existing = edit.scope.crm_number_of(case, org_id)
    old = existing.number if existing else None
    if old == value:
        return
    if existing is not None and value is None:
        edit.uow.session.delete(existing)
    elif existing is not None and value is not None:
        existing.number = value
        existing.updated_at = edit.now
    elif value is not None:
        edit.uow.session.add(
            CrmNumber(case_id=case.id, org_id=org_id, number=value, updated_at=edit.now)  # type: ignore[arg-type]
        )
    case.touch(edit.now)
    edit.event(EventKind.CRM_NUMBER_SET, old=old, new=value, audience=Audience.INTERNAL)
    edit.emit(signals.case_updated, change=EventKind.CRM_NUMBER_SET)


def _status(value: Status | str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise InvalidInput({"status": [f"unknown status {value!r}"]}) from None


def _side(value: Side | str) -> Side:
    try:
        return Side(value)
    except ValueError:
        raise InvalidInput({"side": [f"unknown side {value!r}; shipper or carrier"]}) from None


def _source_for(actor: Actor, source: Source | str | None, errors: dict[str, list[str]]) -> Source:
    if actor.is_customer:
        default = Source.PORTAL
    elif actor.is_system:
        default = Source(actor.system.value) if actor.system else Source.API
    else:
        default = Source.USER
    if source is None:
        return default
    try:
        chosen = Source(source)
    except ValueError:
        errors["source"] = [f"unknown source {source!r}"]
        return default
    # A user's own mail to a case address opens a case as that user.
    by_mail = chosen is Source.EMAIL and actor.is_user
    if chosen is not default and not (actor.is_system or by_mail):
        errors["source"] = [f"a {actor.kind} opens cases with source {default}"]
    return chosen


def _parties(
    uow: UnitOfWork, actor: Actor, *, shipper: int | None, carrier: int | None, customer: int | None
) -> tuple[Organization, Organization | None, Customer | None]:
    """Check and load the parties of a new case as ``actor`` may name them."""
    session = uow.session
    errors: dict[str, list[str]] = {}

    def org(org_id: int | None, role: OrgRole, field: str) -> Organization | None:
        if org_id is None:
            return None
        found = orgs.get(org_id)
        if found is None or found.role is not role:
            errors[field] = [f"organization {org_id} is not a {role}"]
            return None
        return found

    if actor.is_customer:
        if shipper is not None or carrier is not None or customer not in (None, actor.customer_id):
            errors["customer"] = ["a customer opens cases for themselves only"]
            raise InvalidInput(errors)
        row = session.get(Customer, actor.customer_id)
        if row is None:
            raise NotFound("customer", actor.customer_id)
        own = session.get(Organization, row.shipper_org_id)
        assert own is not None
        return own, None, row

    # Every organization named, with the customer if it is one of theirs, in
    # one query rather than one each.
    named = list(dict.fromkeys(i for i in (actor.org_id, shipper, carrier) if i is not None))
    orgs: dict[int | None, Organization] = {}
    customers: dict[int | None, Customer] = {}
    if named:
        # The statement checks that the acting user may still act.
        checked = acting.take_check(session)
        params = {"ids": named, "customer_id": customer, acting.ACTING_USER: checked}
        for found, theirs in session.execute(_organizations_by_id(), params):
            orgs[found.id] = found
            if theirs is not None:
                customers[found.id] = theirs
        if not orgs:
            acting.refuse_deactivated(uow.connection(), checked)
    own_org = orgs.get(actor.org_id) if actor.org_id is not None else None
    if own_org is not None and own_org.role is OrgRole.SHIPPER:
        if shipper not in (None, own_org.id):
            errors["shipper"] = ["you open cases for your own organization"]
        shipper_org: Organization | None = own_org
        carrier_org = org(carrier, OrgRole.CARRIER, "carrier")
    elif own_org is not None:
        if carrier not in (None, own_org.id):
            errors["carrier"] = ["you open cases for your own organization"]
        carrier_org = own_org
        shipper_org = org(shipper, OrgRole.SHIPPER, "shipper")
        if shipper is None:
            errors["shipper"] = ["a carrier names the shipper of the case"]
        if customer is not None:
            # The customer is the shipper's to name; checking the id here would
            # tell a carrier which ids are that shipper's customers.
            errors["customer"] = ["only the shipper names the customer of a case"]
            customer = None
    else:
        shipper_org = org(shipper, OrgRole.SHIPPER, "shipper")
        carrier_org = org(carrier, OrgRole.CARRIER, "carrier")
        if shipper is None:
            errors["shipper"] = ["the shipper is required"]
    customer_row = None
    if customer is not None:
        customer_row = customers.get(shipper_org.id) if shipper_org is not None else None
        if customer_row is None:
            errors["customer"] = [f"customer {customer} is not a customer of the shipper"]
    if errors:
        raise InvalidInput(errors)
    assert shipper_org is not None
    return shipper_org, carrier_org, customer_row
