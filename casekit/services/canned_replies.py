"""Canned replies: keep them, render them for a case, apply them, count their use.
Reach it as ``kit.canned_replies``.

An organization's replies are kept by its managers and used by all its staff;
a user's own replies by that user alone. Nobody sees another organization's
(:meth:`CannedReplyService.list`). Rendering a reply for a case reads the case
as the acting user reads it and gives the body only the variables every
reader of the reply's audience may read (:func:`casekit.domain.canned_replies.reply_context`).
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import jinja2
from attrs import frozen
from sqlalchemy import ColumnElement, and_, func, insert, or_, select
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.canned_replies import (
    MAX_BODY,
    MAX_TITLE,
    CannedReply,
    OwnerChoice,
    ReplyActions,
    ReplyUse,
    check_body,
    parse_actions,
    readers_see_customer,
    reply_context,
)
from casekit.domain.case import Case, Side
from casekit.domain.directory import Organization, OrgRole, User
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.labels import label
from casekit.query.models import CaseView, EntryView
from casekit.query.scoped import Scope
from casekit.services.base import Edit, Service
from casekit.services.cases import change_status_of, change_type_of, change_watcher, set_owner_of
from casekit.services.delivery import templates
from casekit.services.messages import append_message, message_audience
from casekit.services.tags import change_tags, set_priority
from casekit.store import tables
from casekit.store.uow import UnitOfWork

__all__ = ["AppliedReply", "CannedReplyService", "CannedReplyView", "RenderedReply"]

logger = logging.getLogger(__name__)

#: Replies an organization (or a user) keeps, at most.
MAX_REPLIES = 500
#: The audiences a carrier's staff write for: never to the shipper's customer.
CARRIER_AUDIENCES = (Audience.INTERNAL, Audience.PARTNERS)

_r = tables.canned_replies.c
_u = tables.canned_reply_uses.c


@frozen(kw_only=True)
class CannedReplyView:
    """A reply as its readers see it; ``personal`` ones are their user's own."""

    id: int
    org_id: int
    user_id: int | None
    title: str
    body: str
    audience: Audience
    actions: ReplyActions
    created_at: datetime
    updated_at: datetime

    @property
    def personal(self) -> bool:
        return self.user_id is not None


@frozen(kw_only=True)
class RenderedReply:
    """A reply's body rendered for one case, its audience and its actions."""

    reply_id: int
    title: str
    audience: Audience
    body: str
    actions: ReplyActions


@frozen(kw_only=True)
class AppliedReply:
    """What applying a reply did: the message posted, and the case after its actions."""

    entry: EntryView
    case: CaseView


def _view(reply: CannedReply) -> CannedReplyView:
    assert reply.id is not None
    return CannedReplyView(
        id=reply.id,
        org_id=reply.org_id,
        user_id=reply.user_id,
        title=reply.title,
        body=reply.body,
        audience=reply.audience,
        actions=ReplyActions.from_json(reply.actions),
        created_at=reply.created_at,
        updated_at=reply.updated_at,
    )


def _title(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput({"title": ["text"]})
    clean = " ".join(value.split())
    if not 1 <= len(clean) <= MAX_TITLE:
        raise InvalidInput({"title": [f"1 to {MAX_TITLE} characters"]})
    return clean


def _body(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput({"body": ["text"]})
    body = value.strip()
    if not body:
        raise InvalidInput({"body": ["required"]})
    if len(body) > MAX_BODY:
        raise InvalidInput({"body": [f"at most {MAX_BODY} characters"]})
    check_body(body, lambda text: templates().compile("text", text))
    return body


class CannedReplyService(Service):
    """An organization's and its users' canned replies. Reach it as ``kit.canned_replies``."""

    # -- reading ----------------------------------------------------------------------------
    def list(self, actor: Actor) -> builtins.list[CannedReplyView]:
        """The replies ``actor`` may use: their organization's, then their own, by title."""
        if actor.org_id is None and not actor.is_unrestricted:
            return []
        with self._uow(write=False) as uow:
            stmt = select(CannedReply).order_by(
                _r.user_id.is_not(None), func.lower(_r.title), _r.id
            )
            if not actor.is_unrestricted:
                org_wide = _r.user_id.is_(None)
                visible = (
                    org_wide
                    if actor.user_id is None
                    else or_(org_wide, _r.user_id == actor.user_id)
                )
                stmt = stmt.where(_r.org_id == actor.org_id, visible)
            return [_view(reply) for reply in uow.session.scalars(stmt)]

    def get(self, actor: Actor, reply_id: int) -> CannedReplyView:
        """One reply ``actor`` may use; NotFound for any other."""
        with self._uow(write=False) as uow:
            return _view(self._usable(uow.session, actor, reply_id))

    # -- keeping ----------------------------------------------------------------------------
    def save(
        self,
        actor: Actor,
        reply_id: int | None = None,
        *,
        title: str,
        body: str,
        audience: Audience | str,
        actions: ReplyActions | Mapping[str, Any] | None = None,
        personal: bool = False,
    ) -> CannedReplyView:
        """Create a reply (``reply_id`` None) or change one; returns it as saved.

        An organization's reply is its managers' to keep (an API key's too); a
        ``personal`` one is the acting user's own. ``body`` is a template
        (:data:`~casekit.domain.canned_replies.VARIABLES`); a template that does
        not compile or render on sample values is InvalidInput naming ``body``.
        A carrier's reply is internal or for partners.
        """
        errors: dict[str, list[str]] = {}
        clean: dict[str, Any] = {}
        for name, check, value in (("title", _title, title), ("body", _body, body)):
            try:
                clean[name] = check(value)
            except InvalidInput as error:
                errors.update(error.errors)
        try:
            chosen = message_audience(actor, audience)
        except InvalidInput as error:
            errors.update(error.errors)
            chosen = None
        try:
            parsed = parse_actions(actions, case_types=self.kit.case_types)
        except InvalidInput as error:
            errors.update(error.errors)
            parsed = ReplyActions()
        if errors:
            raise InvalidInput(errors)
        assert chosen is not None
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            if reply_id is None:
                org_id = _org_of(actor)
                user_id = _keeper(actor, personal)
                reply = CannedReply(
                    org_id=org_id,
                    user_id=user_id,
                    title="",
                    body="",
                    audience=chosen,
                    actions="{}",
                    created_at=now,
                    updated_at=now,
                )
                self._check_room(session, org_id, user_id)
            else:
                reply = self._own(session, actor, reply_id)
            org = session.get(Organization, reply.org_id)
            assert org is not None
            if org.role is OrgRole.CARRIER and chosen not in CARRIER_AUDIENCES:
                raise InvalidInput(
                    {"audience": ["a carrier's reply is internal or for partners (the shipper)"]}
                )
            _check_people(session, reply.org_id, parsed)
            _check_tags(session, reply.org_id, parsed)
            reply.title, reply.body, reply.audience = clean["title"], clean["body"], chosen
            reply.actions = json.dumps(parsed.as_json(), sort_keys=True)
            reply.updated_at = now
            if reply.id is None:
                session.add(reply)
            uow.commit()
            return _view(reply)

    def remove(self, actor: Actor, reply_id: int) -> None:
        """Remove a reply (its usage figures go with it)."""
        with self._uow() as uow:
            reply = self._own(uow.session, actor, reply_id)
            uow.session.execute(tables.canned_reply_uses.delete().where(_u.reply_id == reply.id))
            uow.session.delete(reply)
            uow.commit()

    # -- using ------------------------------------------------------------------------------
    def render(
        self,
        actor: Actor,
        reply_id: int,
        number: str,
        *,
        audience: Audience | str | None = None,
        record: bool = True,
    ) -> RenderedReply:
        """Reply ``reply_id`` rendered for case ``number``, as ``actor`` inserts it into
        their composer: for its audience (or ``audience``), with the variables every
        reader of that audience may read. ``record`` counts it as a use (inserted).

        A template that fails on this case's values is InvalidInput naming ``body``.
        """
        with self._uow(write=record) as uow:
            session = uow.session
            reply = self._usable(session, actor, reply_id)
            scope = Scope(session, actor, now=self._now())
            case = scope.case(number)
            chosen = message_audience(actor, audience) if audience is not None else reply.audience
            body = self._rendered(session, scope, case, reply, chosen)
            if record:
                _record(uow, actor, reply, case.id, applied=False, at=self._now())  # type: ignore[arg-type]
                uow.commit()
            return RenderedReply(
                reply_id=reply_id,
                title=reply.title,
                audience=chosen,
                body=body,
                actions=ReplyActions.from_json(reply.actions),
            )

    def apply(
        self,
        actor: Actor,
        reply_id: int,
        number: str,
        *,
        body: str | None = None,
        audience: Audience | str | None = None,
        expected_version: int | None = None,
    ) -> AppliedReply:
        """Post reply ``reply_id`` on case ``number`` and run its actions, in one step:
        all of it or, on any error, nothing.

        The message is the reply rendered for the case (or ``body``, what the agent
        made of it in their composer), for the reply's audience (or ``audience``).
        Then its actions, in the order of :data:`~casekit.domain.canned_replies.ACTIONS`,
        each checked as the case page's control for it is. Counted as a use (applied).
        """
        with self.editing(actor, number, expected_version) as edit:
            session = edit.uow.session
            stored = self._usable(session, actor, reply_id)
            chosen = message_audience(actor, audience) if audience is not None else stored.audience
            text = (
                self._rendered(session, edit.scope, edit.case, stored, chosen)
                if body is None
                else body
            )
            entry = append_message(edit, body=text, audience=chosen)
            run_actions(edit, ReplyActions.from_json(stored.actions))
            _record(edit.uow, actor, stored, edit.case.id, applied=True, at=edit.now)  # type: ignore[arg-type]
            case: CaseView = edit.finish()
            return AppliedReply(entry=entry, case=case)

    # -- usage ------------------------------------------------------------------------------
    def usage(
        self,
        actor: Actor,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[ReplyUse]:
        """How often each reply ``actor`` may use was used (in ``[since, until)``), most
        used first: inserted, applied, when last and by whom, and by each user."""
        replies = {r.id: r for r in self.list(actor)}
        if not replies:
            return []
        where: builtins.list[ColumnElement[bool]] = [_u.reply_id.in_(builtins.list(replies))]
        if since is not None:
            where.append(_u.used_at >= since)
        if until is not None:
            where.append(_u.used_at < until)
        users = tables.users.c
        with self._uow(write=False) as uow:
            rows = uow.session.execute(
                select(_u.reply_id, _u.applied, _u.used_at, users.name)
                .outerjoin(tables.users, users.id == _u.user_id)
                .where(and_(*where))
                .order_by(_u.used_at, _u.id)
            ).all()
        found: dict[int, dict[str, Any]] = {}
        for row in rows:
            seen = found.setdefault(
                row.reply_id, {"inserted": 0, "applied": 0, "last": None, "by": None, "users": {}}
            )
            seen["applied" if row.applied else "inserted"] += 1
            seen["last"], seen["by"] = row.used_at, row.name or "the system"
            seen["users"][seen["by"]] = seen["users"].get(seen["by"], 0) + 1
        out = [
            ReplyUse(
                reply_id=reply_id,
                title=reply.title,
                personal=reply.personal,
                uses=(seen := found.get(reply_id, {})).get("inserted", 0) + seen.get("applied", 0),
                inserted=seen.get("inserted", 0),
                applied=seen.get("applied", 0),
                last_used_at=seen.get("last"),
                last_used_by=seen.get("by"),
                by_user=dict(sorted(seen.get("users", {}).items(), key=lambda kv: -kv[1])),
            )
            for reply_id, reply in replies.items()
        ]
        out.sort(key=lambda use: (-use.uses, use.title.lower()))
        return out

    # -- helpers ----------------------------------------------------------------------------
    def _usable(self, session: Session, actor: Actor, reply_id: int) -> CannedReply:
        known = isinstance(reply_id, int) and 0 < reply_id < 2**63  # ids a table can hold
        reply = session.get(CannedReply, reply_id) if known else None
        if reply is None or not (
            actor.is_unrestricted
            or (
                actor.org_id == reply.org_id
                and (reply.user_id is None or reply.user_id == actor.user_id)
            )
        ):
            raise NotFound("canned reply", reply_id)
        return reply

    def _own(self, session: Session, actor: Actor, reply_id: int) -> CannedReply:
        reply = self._usable(session, actor, reply_id)
        if reply.user_id is None and not (actor.is_manager or actor.is_unrestricted):
            raise PermissionDenied("an organization's canned replies are its managers' to change")
        return reply

    def _check_room(self, session: Session, org_id: int, user_id: int | None) -> None:
        owner = _r.user_id == user_id if user_id is not None else _r.user_id.is_(None)
        count = session.scalar(
            select(func.count())
            .select_from(tables.canned_replies)
            .where(_r.org_id == org_id, owner)
        )
        if (count or 0) >= MAX_REPLIES:
            raise InvalidInput({"title": [f"at most {MAX_REPLIES} canned replies"]})

    def _rendered(
        self, session: Session, scope: Scope, case: Case, reply: CannedReply, audience: Audience
    ) -> str:
        actor = scope.actor
        view = scope.view(case)
        facts = scope.facts(case)
        side = case.side_of(actor.org_id) if actor.is_staff else None
        customer = facts.customer or view.contact
        agent = session.get(User, actor.user_id) if actor.user_id is not None else None
        org = session.get(Organization, actor.org_id) if actor.org_id is not None else None
        types = self.kit.case_types
        context = reply_context(
            audience,
            case={
                "number": view.number,
                "subject": view.subject or "",
                "type": view.type,
                "type_label": types[view.type].label if view.type in types else view.type,
                "status": view.status.value,
                "status_label": label("status", view.status),
            },
            crm_number=view.crm_number,
            order=facts.order,
            shipment=facts.shipment,
            carrier_name=facts.organizations.get(case.carrier_org_id, "")
            if case.carrier_org_id
            else "",
            customer=customer,
            customer_readable=customer is not None
            and readers_see_customer(
                audience,
                author_is_shipper=side is Side.SHIPPER or actor.is_unrestricted,
                shared=case.contact_shared_at is not None,
            ),
            agent_name=agent.name if agent is not None else "casekit",
            organization_name=org.name if org is not None else "",
        )
        try:
            text = templates().compile("text", reply.body).render(**context).strip()
        except jinja2.TemplateError as error:
            logger.info("canned reply %s failed on case %s: %s", reply.id, view.number, error)
            raise InvalidInput({"body": [f"the reply cannot be rendered: {error}"]}) from None
        except Exception as error:  # a filter given a value it cannot take
            logger.info("canned reply %s failed on case %s: %s", reply.id, view.number, error)
            raise InvalidInput({"body": [f"the reply cannot be rendered: {error}"]}) from None
        if len(text) > MAX_BODY:
            raise InvalidInput({"body": [f"the rendered reply is over {MAX_BODY} characters"]})
        return text


def run_actions(edit: Edit, actions: ReplyActions) -> None:
    """Run a reply's actions on ``edit.case`` as its user, in the order of ``ACTIONS``,
    each checked as the case page's control for it is; an error names its action
    (``actions.status``). A tag archived since the reply was saved is not put on (and
    said so in the log); one to take off is taken off, archived or not."""
    actor = edit.actor
    steps: list[tuple[str, Any]] = []
    if actions.type is not None:
        steps.append(("type", lambda: change_type_of(edit, actions.type)))
    if actions.status is not None:
        steps.append(("status", lambda: change_status_of(edit, actions.status)))
    if actions.owner is not None:
        owner = actions.owner
        if owner is OwnerChoice.ME:
            owner = _user_of(actor, "actions.owner")
        chosen = None if owner is OwnerChoice.NOBODY else int(owner)
        steps.append(("owner", lambda: set_owner_of(edit, None, chosen)))
    for watcher in actions.watchers:
        who = _user_of(actor, "actions.watchers") if watcher is OwnerChoice.ME else int(watcher)
        steps.append(("watchers", lambda who=who: change_watcher(edit, who, adding=True)))
    if actions.priority is not None:
        priority = actions.priority
        steps.append(("priority", lambda: set_priority(edit, priority)))
    if actions.add_tags or actions.remove_tags:
        adding = _tags_in_use(edit, actions.add_tags)
        steps.append(
            (
                "add_tags" if adding else "remove_tags",
                lambda: change_tags(edit, add=adding, remove=actions.remove_tags),
            )
        )
    for name, step in steps:
        try:
            step()
        except InvalidInput as error:
            messages = [m for found in error.errors.values() for m in found]
            raise InvalidInput({f"actions.{name}": messages}) from None


def _tags_in_use(edit: Edit, tag_ids: Sequence[int]) -> tuple[int, ...]:
    """The tags of ``tag_ids`` that the acting organization may still put on."""
    if not tag_ids:
        return ()
    t = tables.tags.c
    usable = set(
        edit.uow.connection()
        .execute(
            select(t.id).where(
                t.id.in_(list(tag_ids)), t.org_id == edit.actor.org_id, t.archived_at.is_(None)
            )
        )
        .scalars()
    )
    gone = [i for i in tag_ids if i not in usable]
    if gone:
        logger.info("casekit: a canned reply leaves out the tags %s, archived since", gone)
    return tuple(i for i in tag_ids if i in usable)


def _check_tags(session: Session, org_id: int, actions: ReplyActions) -> None:
    """The tags the actions name are the reply's organization's own (to put on: in use).
    Another organization's tag is refused as an unknown one."""
    named = set(actions.add_tags) | set(actions.remove_tags)
    if not named:
        return
    t = tables.tags.c
    own = {
        row.id: row.archived_at
        for row in session.execute(
            select(t.id, t.archived_at).where(t.id.in_(sorted(named)), t.org_id == org_id)
        )
    }
    errors: dict[str, list[str]] = {}
    for name in ("add_tags", "remove_tags"):
        unknown = [i for i in getattr(actions, name) if i not in own]
        if unknown:
            errors[f"actions.{name}"] = [f"not tags of your organization: {unknown}"]
    archived = [i for i in actions.add_tags if own.get(i) is not None]
    if archived:
        errors.setdefault("actions.add_tags", []).append(f"archived tags: {archived}")
    if errors:
        raise InvalidInput(errors)


def _user_of(actor: Actor, field: str) -> int:
    if actor.user_id is None:
        raise InvalidInput({field: ["'me' needs a user: this caller is none"]})
    return actor.user_id


def _record(
    uow: UnitOfWork, actor: Actor, reply: CannedReply, case_id: int, *, applied: bool, at: datetime
) -> None:
    uow.session.execute(
        insert(tables.canned_reply_uses).values(
            reply_id=reply.id,
            org_id=reply.org_id,
            user_id=actor.user_id,
            case_id=case_id,
            applied=applied,
            used_at=at,
        )
    )


def _org_of(actor: Actor) -> int:
    if actor.org_id is None or not actor.is_staff:
        raise PermissionDenied("canned replies belong to an organization's staff")
    return actor.org_id


def _keeper(actor: Actor, personal: bool) -> int | None:
    """Who keeps a new reply: its user (personal), or the organization's managers."""
    if personal:
        if actor.user_id is None:
            raise PermissionDenied("a personal canned reply belongs to a user")
        return actor.user_id
    if not actor.is_manager:
        raise PermissionDenied("an organization's canned replies are its managers' to keep")
    return None


def _check_people(session: Session, org_id: int, actions: ReplyActions) -> None:
    """The users an action names are active users of the reply's organization."""
    errors: dict[str, list[str]] = {}
    named: Sequence[tuple[str, Any]] = [
        ("actions.owner", actions.owner),
        *(("actions.watchers", w) for w in actions.watchers),
    ]
    for field, who in named:
        if isinstance(who, int) and not isinstance(who, OwnerChoice):
            user = session.get(User, who)
            if user is None or user.org_id != org_id or not user.active:
                errors.setdefault(field, []).append(f"user {who} is not an active user of yours")
    if errors:
        raise InvalidInput(errors)
